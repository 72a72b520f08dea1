from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0004_webhooks'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookdelivery',
            name='queued_until',
            field=models.DateTimeField(blank=True, null=True, verbose_name='queued until'),
        ),
    ]
