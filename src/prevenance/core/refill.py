"""Recompute columns derived from others (the folded search keys) in batches, on a live database.

Used by the migrations that change how a key is folded and by `prevenance refresh-search-keys`
(cases written by app servers of the previous release while a migration ran, or any key
found out of date). Rows are read in id order, BATCH at a time; the keys are computed in
Python by the same function the models use; a batch's changed rows are written by one
`UPDATE ... FROM (VALUES ...)` (SQLite 3.33+, PostgreSQL) in its own short transaction, so
nothing holds a lock over the whole table. A row whose source columns changed since it was
read is left alone: whoever changed it wrote its key too.
"""

from collections.abc import Callable, Sequence

from django.db import connections, transaction
from django.db.models import Q

from prevenance.core.sql import chunks

BATCH = 2000


def refill_derived_columns(
    model,
    *,
    sources: Sequence[str],
    targets: Sequence[str],
    compute: Callable[..., tuple],
    using: str = "default",
    only: Q | None = None,
    batch: int = BATCH,
) -> int:
    """Set `targets` to `compute(*sources)` wherever they differ; the number of rows changed.

    `only` narrows the rows read (e.g. those containing a character whose folding changed).
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    rows = model._base_manager.using(using).order_by("pk").values_list("pk", *sources, *targets)
    if only is not None:
        rows = rows.filter(only)
    width = 1 + len(targets) + len(sources)
    assignments = ", ".join(f"{quote(column)} = v.column{2 + i}" for i, column in enumerate(targets))
    unchanged_sources = " AND ".join(
        f"{table}.{quote(column)} = v.column{2 + len(targets) + i}" for i, column in enumerate(sources)
    )
    # SQLite caps a statement's parameters (999 on old builds); PostgreSQL has no such cap.
    per_statement = max(1, (connection.features.max_query_params or batch * width) // width)
    changed_total, last = 0, None
    while chunk := list((rows if last is None else rows.filter(pk__gt=last))[:batch]):
        last = chunk[-1][0]
        changed = []
        for pk, *values in chunk:
            source_values, stored = tuple(values[:len(sources)]), tuple(values[len(sources):])
            keys = tuple(compute(*source_values))
            if keys != stored:
                changed.append((pk, *keys, *source_values))
        if not changed:
            continue
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for part in chunks(changed, per_statement):
                placeholders = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM (VALUES {placeholders}) AS v "
                    f"WHERE {table}.{quote(model._meta.pk.column)} = v.column1 AND {unchanged_sources}",
                    [value for row in part for value in row],
                )
                changed_total += cursor.rowcount
    return changed_total
