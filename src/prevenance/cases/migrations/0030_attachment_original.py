from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

# The raw original of an inbound email was told apart by its name alone ("message.eml"), which
# a customer's own forwarded email can have too. The intake always stored it first, before the
# message's other files (email_intake._store_files): the rows named so, of type message/rfc822,
# that are the first attachment of their message, are the originals. Re-runnable, in batches.

BATCH = 5_000


def mark_originals(apps, schema_editor):
    Attachment = apps.get_model("cases", "Attachment")
    first = Attachment.objects.filter(message=OuterRef("message")).order_by("pk").values("pk")[:1]
    candidates = Attachment.objects.filter(
        filename="message.eml", content_type="message/rfc822", is_original=False,
    ).annotate(first_of_message=Subquery(first)).filter(pk=F("first_of_message"))
    last = 0
    while True:
        ids = list(candidates.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        Attachment.objects.filter(pk__in=ids).update(is_original=True)
        last = ids[-1]


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0029_survey_due_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="is_original",
            field=models.BooleanField(default=False, editable=False, verbose_name="original email"),
        ),
        migrations.RunPython(mark_originals, migrations.RunPython.noop, elidable=True),
    ]
