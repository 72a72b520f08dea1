"""Case.subject_key folds "œ", "æ", "ø", "ł"… as people type them ("coeur" finds "cœur").

core.text.search_key now writes those letters out; only the subjects holding one of them
need a new key, read and written in batches (core.refill), each batch its own transaction.
Re-runnable: a row whose key is already right is not written.
"""

import functools
import operator

from django.db import migrations
from django.db.models import Q

from prevenance.core.refill import refill_derived_columns
from prevenance.core.text import UNDECOMPOSED_LETTERS, search_key


def subject_key(subject: str) -> tuple[str]:
    return (search_key(subject)[:300],)


def refill(apps, schema_editor):
    refill_derived_columns(
        apps.get_model("cases", "Case"), sources=("subject",), targets=("subject_key",), compute=subject_key,
        using=schema_editor.connection.alias,
        only=functools.reduce(operator.or_, (Q(subject__contains=letter) for letter in UNDECOMPOSED_LETTERS)),
    )


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own

    dependencies = [("cases", "0016_case_subject_key")]

    operations = [migrations.RunPython(refill, migrations.RunPython.noop, elidable=False)]
