"""The demo's office hours close on France's eleven public holidays, for the years its story
and its due times fall in, whatever day it is loaded for."""

from datetime import UTC, date, datetime

import pytest

from prevenance.core.models import BusinessCalendar, Holiday
from prevenance.demo.cases import OFFICE_HOURS, _office_hours, easter_sunday, french_public_holidays


def test_easter_falls_where_the_calendar_puts_it():
    assert [easter_sunday(year) for year in (2024, 2025, 2026, 2027, 2038, 2285)] == [
        date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28), date(2038, 4, 25), date(2285, 3, 22)]


def test_the_eleven_french_public_holidays_of_a_year():
    assert french_public_holidays(2026) == [
        (date(2026, 1, 1), "Jour de l'an"), (date(2026, 4, 6), "Lundi de Pâques"), (date(2026, 5, 1), "Fête du travail"),
        (date(2026, 5, 8), "Victoire 1945"), (date(2026, 5, 14), "Ascension"), (date(2026, 5, 25), "Lundi de Pentecôte"),
        (date(2026, 7, 14), "Fête nationale"), (date(2026, 8, 15), "Assomption"), (date(2026, 11, 1), "Toussaint"),
        (date(2026, 11, 11), "Armistice 1918"), (date(2026, 12, 25), "Noël"),
    ]


@pytest.mark.django_db
def test_a_demo_loaded_for_any_year_has_the_holidays_around_it_and_a_reload_keeps_what_is_there():
    # A demo loaded for 2029 (holidays were written for 2025 to 2027 only before)
    calendar = _office_hours(datetime(2029, 3, 2, tzinfo=UTC))
    years = sorted({day.year for day in calendar.holidays.values_list("date", flat=True)})
    assert years == [2028, 2029, 2030]
    assert calendar.holidays.count() == 33
    assert calendar.holidays.filter(date=date(2029, 4, 2), name="Lundi de Pâques").exists()

    # Loaded again a year later: the year already there is kept as it is (a holiday the
    # administrator removed stays removed), the missing year is added.
    Holiday.objects.filter(calendar=calendar, date=date(2030, 5, 8)).delete()
    again = _office_hours(datetime(2030, 1, 5, tzinfo=UTC))
    assert again.pk == calendar.pk and BusinessCalendar.objects.filter(name=OFFICE_HOURS).count() == 1
    assert calendar.holidays.count() == 32 + 11
    assert not calendar.holidays.filter(date=date(2030, 5, 8)).exists()
    assert calendar.holidays.filter(date__year=2031).count() == 11
