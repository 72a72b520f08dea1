"""Calendar specs kept per process: a change to a calendar, its periods or its holidays is seen
at once, whether it was made here (signals) or by another process (the `updated_at` version)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prevenance.core.calendars import (
    add_business_time,
    add_holiday,
    calendar_spec,
    create_business_calendar,
    default_calendar_periods,
    remove_holiday,
    update_business_calendar,
)
from prevenance.core.calendars.selectors import forget_calendar_specs, touch_calendar
from prevenance.core.models import BusinessCalendar, Holiday, OpeningPeriod

pytestmark = pytest.mark.django_db

UTC = dt.UTC
CHRISTMAS_EVE_17H = dt.datetime(2026, 12, 24, 16, tzinfo=UTC)  # Thursday 17:00 in Paris
H = dt.timedelta(hours=1)


@pytest.fixture
def calendar():
    forget_calendar_specs()
    return create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())


def fresh(calendar: BusinessCalendar) -> BusinessCalendar:
    """The row as another request (or process) would read it."""
    return BusinessCalendar.objects.get(pk=calendar.pk)


def due_in_two_hours(calendar: BusinessCalendar) -> dt.datetime:
    return add_business_time(calendar_spec(fresh(calendar)), CHRISTMAS_EVE_17H, 2 * H)


def test_a_spec_is_read_once_then_kept_while_the_calendar_is_unchanged(calendar):
    first = calendar_spec(fresh(calendar))
    with CaptureQueriesContext(connection) as queries:
        again = calendar_spec(fresh(calendar))
    assert again is first
    assert len(queries) == 1  # the calendar row itself; not its periods nor its holidays


def test_a_holiday_added_or_removed_is_seen_at_once(calendar):
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 25, 9, tzinfo=UTC)  # Friday 10:00
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 28, 9, tzinfo=UTC)  # Monday 10:00
    remove_holiday(calendar=calendar, date="2026-12-25")
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 25, 9, tzinfo=UTC)


def test_a_holiday_written_through_the_orm_or_the_admin_is_seen_at_once(calendar):
    due_in_two_hours(calendar)
    holiday = Holiday.objects.create(calendar=calendar, date=dt.date(2026, 12, 25), name="Noël")
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 28, 9, tzinfo=UTC)
    holiday.delete()
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 25, 9, tzinfo=UTC)


def test_new_opening_hours_are_seen_at_once(calendar):
    due_in_two_hours(calendar)
    # Open from 08:00 to 20:00 every day instead: Thursday 17:00 + 2 h is 19:00 the same day.
    update_business_calendar(calendar=calendar, periods=[(day, "08:00", "20:00") for day in range(7)])
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 24, 18, tzinfo=UTC)
    period = OpeningPeriod.objects.filter(calendar=calendar, weekday=3).get()
    period.end_time = dt.time(17, 30)
    period.save()
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 25, 8, 30, tzinfo=UTC)  # 30 min Thursday, then Friday 08:00


def test_a_change_made_by_another_process_is_seen_through_the_version(calendar):
    due_in_two_hours(calendar)
    # Another process adds the holiday: no signal reaches this one, only the rows change.
    # (bulk_create and a queryset update send no signal, as nothing reaches this process's handlers.)
    Holiday.objects.bulk_create([Holiday(calendar=calendar, date=dt.date(2026, 12, 25), name="Noël")])
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=calendar.updated_at + dt.timedelta(seconds=1))
    stale = calendar_spec(calendar)  # the old row still gives the old spec...
    assert add_business_time(stale, CHRISTMAS_EVE_17H, 2 * H) == dt.datetime(2026, 12, 25, 9, tzinfo=UTC)
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 28, 9, tzinfo=UTC)  # ...the row read now, the new one


def test_the_version_moves_even_when_the_clock_does_not(calendar, monkeypatch):
    stamp = fresh(calendar).updated_at
    monkeypatch.setattr(timezone, "now", lambda: stamp)  # tests freeze time; a clock can step back
    assert touch_calendar(calendar.pk) > stamp
    assert fresh(calendar).updated_at > stamp


def test_a_new_time_zone_is_seen_at_once(calendar):
    due_in_two_hours(calendar)
    update_business_calendar(calendar=calendar, time_zone="America/New_York")
    # Thursday 24 December 11:00 in New York when it is 17:00 in Paris: 1 h 30 to the lunch
    # break, then 30 min from 13:30: 14:00 there, the same day.
    assert due_in_two_hours(calendar) == dt.datetime(2026, 12, 24, 19, tzinfo=UTC)
