

from django.db import migrations, models


class Migration(migrations.Migration):
    """The new constraint is in place before the old one goes: never a moment without one."""


    dependencies = [
        ('customers', '0002_name_search_indexes'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='identity',
            constraint=models.UniqueConstraint(fields=('normalized', 'kind'), name='identity_unique_value_kind', violation_error_message='This identity already belongs to a customer.'),
        ),
        migrations.RemoveConstraint(
            model_name='identity',
            name='identity_unique_kind_value',
        ),
    ]
