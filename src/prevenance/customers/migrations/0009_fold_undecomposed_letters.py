"""Customers' name keys fold "œ", "æ", "ø", "ł"… as people type them ("Loeuvre" finds
"Lœuvre", "lukasz" finds "Łukasz").

core.text.search_key now writes those letters out; only the customers whose name holds one
of them need new keys, read and written in batches (core.refill), each its own transaction.
Re-runnable: a row whose keys are already right is not written.
"""

import functools
import operator

from django.db import migrations
from django.db.models import Q

from prevenance.core.refill import refill_derived_columns
from prevenance.core.text import UNDECOMPOSED_LETTERS, name_search_keys

NAMES = ("kind", "first_name", "last_name", "company_name")


def name_keys(kind: str, first_name: str, last_name: str, company_name: str) -> tuple[str, str]:
    return name_search_keys(first_name, last_name, company_name, company=kind == "company")


def refill(apps, schema_editor):
    refill_derived_columns(
        apps.get_model("customers", "Customer"), sources=NAMES, targets=("sort_key", "alt_key"), compute=name_keys,
        using=schema_editor.connection.alias,
        only=functools.reduce(
            operator.or_,
            (Q(**{f"{field}__contains": letter}) for field in NAMES[1:] for letter in UNDECOMPOSED_LETTERS),
        ),
    )


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own

    dependencies = [("customers", "0008_name_search_indexes_again")]

    operations = [migrations.RunPython(refill, migrations.RunPython.noop, elidable=False)]
