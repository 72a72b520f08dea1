"""Plans made for the values a statement runs with, where a cached generic plan goes wrong.

With prepared statements (settings.database_config), PostgreSQL plans a statement for its
values five times, then may keep one *generic* plan that ignores them. For most statements
that saves planning time. For a capped count of one status it is a disaster: without the
value, the planner expects tens of thousands of matching rows (a status like "closed" holds
95 % of the table, "new" 0.2 %), reads the table in its order hoping to reach the cap early,
and scans a million rows where the index holds a few hundred (docs/benchmarks.md,
"Nineteenth session": the inbox's tab counts, 293 ms p50 as generic plans, 18 ms planned for
their values, at 1,000,000 cases).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def planned_for_their_values() -> Iterator[None]:
    """Statements run inside are planned for their values on PostgreSQL; nothing elsewhere.

    The setting is local to a transaction (opened here if none is), so it never outlives
    the block on a connection the next request reuses. Inside a caller's transaction the block
    is a savepoint, whose release keeps a SET LOCAL: the setting is put back on leaving."""
    if connection.vendor != "postgresql":
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
        if nested:  # (on an error, rolling back to the savepoint undoes the SET LOCAL itself)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL plan_cache_mode = DEFAULT")
