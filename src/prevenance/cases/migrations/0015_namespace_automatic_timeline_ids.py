"""The timeline entries of automatic emails kept off the cases move from "email:<Message-ID>"
to "cases.email:<Message-ID>" (cases/choices.py, AUTOMATIC_TIMELINE_PREFIX): the intake and
the dashboard then know them by one prefix, and "email:" is left to integrations.

Only the intake's own entries move: no case reference, and the summary it writes ("Delivery
failure: …", "Automatic reply: …", in English or French, the languages it may write in).
"""

from django.db import migrations
from django.db.models import Q

# The intake's labels (cases/services/common.py, AUTOMATIC_LABELS) as the catalogues say them.
LABELS = ("Delivery failure", "Automatic reply", "Échec de remise", "Réponse automatique")


def rename(apps, schema_editor):
    Interaction = apps.get_model("interactions", "Interaction")
    written_by_the_intake = Q()
    for label in LABELS:
        written_by_the_intake |= Q(summary=label) | Q(summary__startswith=f"{label}: ")
    legacy = Interaction.objects.filter(written_by_the_intake, external_id__startswith="email:", ref_type="")
    for pk, external_id in legacy.values_list("pk", "external_id").iterator():
        renamed = f"cases.{external_id}"[:100]
        if not Interaction.objects.filter(external_id=renamed).exists():
            Interaction.objects.filter(pk=pk).update(external_id=renamed)


def rename_back(apps, schema_editor):
    Interaction = apps.get_model("interactions", "Interaction")
    for pk, external_id in Interaction.objects.filter(external_id__startswith="cases.email:").values_list("pk", "external_id").iterator():
        original = external_id.removeprefix("cases.")
        if not Interaction.objects.filter(external_id=original).exists():
            Interaction.objects.filter(pk=pk).update(external_id=original)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0014_first_resolved_at"),
        ("interactions", "0003_index_links_only_where_set"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
