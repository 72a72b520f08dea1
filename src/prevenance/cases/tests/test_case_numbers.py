"""Case numbers from a PostgreSQL sequence, no lock held (PREVENANCE_CASE_NUMBERS=auto, the
default, or =sequence on PostgreSQL)."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from prevenance.cases.models import Case, CaseCounter
from prevenance.cases.services import numbering
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.testing import run_concurrently

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="sequences are PostgreSQL's; SQLite always uses the counter"),
]


def _forget_sequence(year: int) -> None:
    # Earlier tests that committed cases (the default numbering on PostgreSQL) left the sequence.
    numbering._known_years.clear()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SEQUENCE IF EXISTS {numbering.sequence_name(year)}")


@pytest.fixture(params=["sequence", "auto"])
def sequence_numbers(settings, request):
    settings.PREVENANCE_CASE_NUMBERS = request.param
    year = timezone.localtime().year
    _forget_sequence(year)
    yield year
    _forget_sequence(year)


def number(case: Case) -> int:
    return int(case.reference.rsplit("-", 1)[1])


def test_numbers_continue_after_the_counter_and_never_repeat(sequence_numbers):
    CaseCounter.objects.create(year=sequence_numbers, last=41)

    first = open_email_case("a@example.com").case
    second = open_email_case("b@example.com").case

    assert (first.reference, second.reference) == (f"C-{sequence_numbers}-000042", f"C-{sequence_numbers}-000043")


def test_a_failed_intake_leaves_a_gap_not_a_duplicate(sequence_numbers):
    first = open_email_case("a@example.com").case
    with pytest.raises(RuntimeError), transaction.atomic():
        open_email_case("b@example.com")
        raise RuntimeError("the intake's transaction fails after numbering")
    third = open_email_case("c@example.com").case

    assert number(third) == number(first) + 2
    assert Case.objects.count() == 2


def test_concurrent_intakes_get_distinct_numbers(sequence_numbers):
    results, errors = run_concurrently(*(lambda n=n: open_email_case(f"c{n}@example.com").case.reference for n in range(6)))

    assert errors == []
    assert len(set(results)) == 6
    assert set(Case.objects.values_list("reference", flat=True)) == set(results)


def test_counter_numbering_on_postgresql_when_asked(settings):
    settings.PREVENANCE_CASE_NUMBERS = "counter"
    assert numbering.numbering() == numbering.COUNTER
    first, second = open_email_case("a@example.com").case, open_email_case("b@example.com").case
    assert number(second) == number(first) + 1
    assert CaseCounter.objects.get(year=timezone.localtime(first.created_at).year).last == number(second)
