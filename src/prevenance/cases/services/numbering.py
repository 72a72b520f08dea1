"""Case numbers from a PostgreSQL sequence per year: no lock held until commit (the default
on PostgreSQL).

The counter numbering (common.next_reference) increments the year's CaseCounter row, whose
lock is held until the intake commits: intakes are serialised, one commit (one WAL flush,
about 4 ms on the benchmark machine) after the other, which caps the intake rate at a few
hundred cases per second however many processes serve it (docs/benchmarks.md, "API case
creation"). With a sequence (PREVENANCE_CASE_NUMBERS=auto, the default, or =sequence on
PostgreSQL), PostgreSQL hands the numbers out with `nextval`, which never waits and is never
rolled back: intakes run side by side, and an intake that fails leaves a gap in the numbers
(C-2026-000041, then C-2026-000043). PREVENANCE_CASE_NUMBERS=counter keeps the gap-free
counter on PostgreSQL too.

The sequence of a year is created by the first intake of that year in each process that
does not know it yet, starting after the year's CaseCounter value, so turning the setting on
mid-year continues the numbering. The switch is one-way: going back to the counter would
hand out numbers the sequence already gave (set the counter to the sequence's value first).
SQLite lets one writer at a time anyway, so it always uses the counter.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction

from prevenance.cases.models import CaseCounter

AUTO, COUNTER, SEQUENCE = "auto", "counter", "sequence"
_known_years: set[tuple[str, int]] = set()


def numbering() -> str:
    """COUNTER or SEQUENCE for the database in use ("auto": a sequence on PostgreSQL)."""
    mode = getattr(settings, "PREVENANCE_CASE_NUMBERS", AUTO)
    if mode not in (AUTO, COUNTER, SEQUENCE):
        raise ImproperlyConfigured(f"PREVENANCE_CASE_NUMBERS must be {AUTO!r}, {COUNTER!r} or {SEQUENCE!r}, not {mode!r}")
    if mode == AUTO:
        return SEQUENCE if connection.vendor == "postgresql" else COUNTER
    return mode


def uses_sequence() -> bool:
    return connection.vendor == "postgresql" and numbering() == SEQUENCE


def sequence_name(year: int) -> str:
    return f"cases_case_number_{int(year)}"


def _create_sequence(year: int) -> None:
    start = (CaseCounter.objects.filter(year=year).values_list("last", flat=True).first() or 0) + 1
    try:
        with transaction.atomic():  # a savepoint: a creator racing us leaves our transaction usable
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {connection.ops.quote_name(sequence_name(year))} START WITH {int(start)}")
    except DatabaseError:
        # Two processes creating it at the same instant: PostgreSQL refuses the second one's
        # catalog row; the sequence exists now either way.
        pass


def next_number(year: int) -> int:
    """The year's next case number from its sequence (created on first use)."""
    key = (connection.settings_dict["NAME"], year)
    if key not in _known_years:
        _create_sequence(year)
        # Known once committed: the CREATE is undone with a transaction that fails.
        transaction.on_commit(lambda: _known_years.add(key))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [sequence_name(year)])
        return cursor.fetchone()[0]
