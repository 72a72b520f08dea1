"""Email identities with a domain in Unicode (`x@exämple.com`) take the form normalize_email
now gives: the domain in A-labels (`x@xn--exmple-cua.com`), which is the form ASCII
addresses of that domain already had, so both name one customer. International local parts
were refused until now, so only the domain changes; ASCII addresses are left as they are.

An identity whose new value another one already holds (the same mailbox stored in both
forms, on two customers) is left as it is and named in the output: two customers to merge
by hand (the customer page's merge), not something a migration decides.
"""

from django.core.exceptions import ValidationError
from django.db import migrations

from prevenance.customers.normalize import normalize_email


def renormalize(apps, schema_editor):
    Identity = apps.get_model("customers", "Identity")
    rows = Identity.objects.using(schema_editor.connection.alias).filter(kind="email").exclude(normalized__regex=r"^[\x00-\x7f]*$")
    for identity in rows.iterator():
        try:
            new = normalize_email(identity.normalized)
        except ValidationError:
            continue  # stored under older rules; nothing better to write
        if new == identity.normalized:
            continue
        if Identity.objects.using(schema_editor.connection.alias).filter(kind="email", normalized=new).exists():
            print(f"\n  email identity {identity.pk} ({identity.normalized}) left as it is: {new} is another identity's; merge the two customers")
            continue
        identity.normalized = new
        identity.save(update_fields=["normalized"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_fold_undecomposed_letters")]

    operations = [migrations.RunPython(renormalize, migrations.RunPython.noop, elidable=False)]
