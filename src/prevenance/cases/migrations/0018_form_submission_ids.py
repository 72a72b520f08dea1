"""Case, Message, Gesture.submission_id: the case page's and the agent entry's form
submissions, each stored once (cases/services/submissions.py, docs/cases.md "Double submissions").

Cheap on a million rows: each column is nullable without a default (a plain ALTER TABLE ADD
COLUMN on SQLite and PostgreSQL, no row rewritten, the table locked for an instant). Their
unique indexes come in 0019, built without blocking writes.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0017_fold_undecomposed_letters'),
        ('customers', '0009_fold_undecomposed_letters'),
        ('interactions', '0003_index_links_only_where_set'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='submission_id',
            field=models.UUIDField(blank=True, editable=False, null=True, verbose_name='form submission'),
        ),
        migrations.AddField(
            model_name='gesture',
            name='submission_id',
            field=models.UUIDField(blank=True, editable=False, null=True, verbose_name='form submission'),
        ),
        migrations.AddField(
            model_name='message',
            name='submission_id',
            field=models.UUIDField(blank=True, editable=False, null=True, verbose_name='form submission'),
        ),
    ]
