"""Business-hours calendars: the services, the 2-query spec, and business-time arithmetic.

Dates are in 2026: Europe/Paris springs forward on Sunday 29 March (02:00 → 03:00) and falls
back on Sunday 25 October (03:00 → 02:00). Easter Monday is 6 April.
"""

import datetime as dt
import random
from dataclasses import FrozenInstanceError
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from prevenance.core.calendars import (
    CalendarError,
    PeriodInput,
    add_business_time,
    add_holiday,
    build_spec,
    business_time_between,
    calendar_spec,
    calendar_specs,
    create_business_calendar,
    default_calendar_periods,
    is_open,
    next_opening,
    remove_holiday,
    update_business_calendar,
)
from prevenance.core.calendars.compute import _day_intervals
from prevenance.core.models import BusinessCalendar, Holiday, OpeningPeriod

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
FRENCH_HOLIDAYS_2026 = [dt.date(2026, m, d) for m, d in [(1, 1), (4, 6), (5, 1), (5, 8), (5, 14), (5, 25),
                                                          (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]]
OFFICE = build_spec(time_zone="Europe/Paris", periods=default_calendar_periods(),
                    holidays=FRENCH_HOLIDAYS_2026, name="Service client")
ALWAYS = build_spec(time_zone="Europe/Paris", periods=[(day, "00:00", "24:00") for day in range(7)])
# A night desk open on Sundays across the hour that daylight saving skips or repeats.
NIGHTS = build_spec(time_zone="Europe/Paris", periods=[(6, "00:00", "06:00"), (6, "22:00", "24:00")])
NEVER = build_spec(time_zone="Europe/Paris", periods=[], name="Empty")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


# --- The default week -----------------------------------------------------------------


def test_default_periods_are_a_french_customer_service_week():
    assert default_calendar_periods()[:2] == (PeriodInput(0, dt.time(9), dt.time(12, 30)),
                                              PeriodInput(0, dt.time(13, 30), dt.time(18)))
    assert [p.weekday for p in default_calendar_periods()] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert OFFICE.weekly_open == 40 * H


# --- add_business_time ---------------------------------------------------------------


@pytest.mark.parametrize(("start", "duration", "expected"), [
    (paris(2026, 11, 23, 10), H, paris(2026, 11, 23, 11)),                # inside a period
    (paris(2026, 11, 23, 12), H, paris(2026, 11, 23, 14)),                # across the lunch break
    (paris(2026, 11, 23, 17), 2 * H, paris(2026, 11, 24, 10)),            # across a night
    (paris(2026, 11, 27, 17), 2 * H, paris(2026, 11, 30, 10)),            # Friday to Monday
    (paris(2026, 11, 28, 10), H, paris(2026, 11, 30, 10)),                # starts on a Saturday
    (paris(2026, 11, 23, 7), 30 * M, paris(2026, 11, 23, 9, 30)),         # starts before opening
    (paris(2026, 11, 23, 12, 45), 15 * M, paris(2026, 11, 23, 13, 45)),   # starts during lunch
    (paris(2026, 11, 23, 9), 30 * M, paris(2026, 11, 23, 9, 30)),         # starts at an opening
    (paris(2026, 11, 23, 18), H, paris(2026, 11, 24, 10)),                # starts at a closing
    (paris(2026, 11, 23, 17), H, paris(2026, 11, 23, 18)),                # met exactly at closing
    (paris(2026, 12, 24, 17), 2 * H, paris(2026, 12, 28, 10)),            # Christmas on a Friday
    (paris(2026, 4, 3, 17), 2 * H, paris(2026, 4, 7, 10)),                # Easter Monday after a weekend
])
def test_add_business_time_counts_only_open_time(start, duration, expected):
    assert add_business_time(OFFICE, start, duration) == expected


@pytest.mark.parametrize(("start", "expected"), [
    (paris(2026, 11, 23, 10, 15), paris(2026, 11, 23, 10, 15)),   # open: the moment itself
    (paris(2026, 11, 23, 12, 30), paris(2026, 11, 23, 13, 30)),   # a period's end is closed
    (paris(2026, 11, 23, 20), paris(2026, 11, 24, 9)),
])
def test_zero_duration_is_the_next_opening(start, expected):
    assert add_business_time(OFFICE, start, dt.timedelta(0)) == expected == next_opening(OFFICE, start)


def test_multi_week_durations_skip_whole_weeks_and_still_meet_holidays():
    start = paris(2026, 11, 2, 9)
    # Three 40-hour weeks, less Armistice Day (Wednesday 11 November), leave 8 hours for Monday.
    assert add_business_time(OFFICE, start, 120 * H) == paris(2026, 11, 23, 18)
    without_holidays = build_spec(time_zone="Europe/Paris", periods=default_calendar_periods())
    assert add_business_time(without_holidays, start, 120 * H) == paris(2026, 11, 20, 18)


def test_a_year_of_business_time_is_found_without_walking_every_day():
    _day_intervals.cache_clear()
    # 52 weeks of 40 hours less the 8 public holidays on weekdays after 5 January 2026.
    result = add_business_time(OFFICE, paris(2026, 1, 5, 9), (52 * 40 - 8 * 8) * H)
    assert result == paris(2027, 1, 1, 18)
    info = _day_intervals.cache_info()
    # Days are computed one by one only in weeks with a holiday or a clock change: 10 of 52.
    assert info.hits + info.misses < 120


def test_results_are_utc_instants_whatever_the_input_zone():
    result = add_business_time(OFFICE, dt.datetime(2026, 11, 23, 9, tzinfo=UTC), H)
    assert (result, result.tzinfo) == (dt.datetime(2026, 11, 23, 10, tzinfo=UTC), UTC)
    assert next_opening(OFFICE, paris(2026, 11, 28)).tzinfo == UTC


# --- Daylight saving in Europe/Paris --------------------------------------------------


def test_spring_forward_weekend_keeps_local_opening_hours():
    result = add_business_time(OFFICE, paris(2026, 3, 27, 17), 2 * H)
    assert result == paris(2026, 3, 30, 10) == dt.datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert business_time_between(OFFICE, paris(2026, 3, 27, 17), paris(2026, 3, 30, 10)) == 2 * H


def test_fall_back_weekend_keeps_local_opening_hours():
    result = add_business_time(OFFICE, paris(2026, 10, 23, 17), 2 * H)
    assert result == paris(2026, 10, 26, 10) == dt.datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_day_across_a_change_is_23_or_25_hours_long():
    assert business_time_between(ALWAYS, paris(2026, 3, 28), paris(2026, 3, 30)) == 47 * H
    assert business_time_between(ALWAYS, paris(2026, 10, 24), paris(2026, 10, 26)) == 49 * H
    assert business_time_between(ALWAYS, paris(2026, 11, 2), paris(2026, 11, 30)) == 28 * 24 * H


def test_night_periods_across_the_skipped_and_the_repeated_hour():
    assert business_time_between(NIGHTS, paris(2026, 3, 29), paris(2026, 3, 29, 6)) == 5 * H
    assert business_time_between(NIGHTS, paris(2026, 10, 25), paris(2026, 10, 25, 6)) == 7 * H
    assert add_business_time(NIGHTS, paris(2026, 3, 29), 3 * H) == paris(2026, 3, 29, 4)
    # Three hours after midnight in October, the clock shows 02:00 for the second time.
    fall = add_business_time(NIGHTS, paris(2026, 10, 25), 3 * H)
    assert fall == dt.datetime(2026, 10, 25, 1, tzinfo=UTC)
    local = fall.astimezone(PARIS)
    assert (local.hour, local.fold, local.utcoffset()) == (2, 1, H)


def test_a_period_starting_in_the_skipped_hour_opens_when_the_clock_jumps():
    spec = build_spec(time_zone="Europe/Paris", periods=[(6, "02:30", "05:00")])
    assert next_opening(spec, paris(2026, 3, 29)) == dt.datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert business_time_between(spec, paris(2026, 3, 29), paris(2026, 3, 30)) == 2 * H
    assert business_time_between(spec, paris(2026, 3, 22), paris(2026, 3, 23)) == 2.5 * H


# --- business_time_between, is_open, next_opening -------------------------------------


@pytest.mark.parametrize(("start", "end", "expected"), [
    (paris(2026, 11, 23, 10), paris(2026, 11, 23, 10), dt.timedelta(0)),
    (paris(2026, 11, 23, 11), paris(2026, 11, 23, 10), dt.timedelta(0)),
    (paris(2026, 11, 23, 12), paris(2026, 11, 23, 14), H),
    (paris(2026, 11, 27, 17), paris(2026, 11, 30, 10), 2 * H),
    (paris(2026, 11, 28, 0), paris(2026, 11, 29, 23), dt.timedelta(0)),
    (paris(2026, 11, 10, 18), paris(2026, 11, 12, 9), dt.timedelta(0)),   # Armistice Day
    (paris(2026, 11, 2, 9), paris(2026, 11, 30, 9), 4 * 40 * H - 8 * H),
])
def test_business_time_between(start, end, expected):
    assert business_time_between(OFFICE, start, end) == expected


@pytest.mark.parametrize(("moment", "expected"), [
    (paris(2026, 11, 23, 9), True),
    (paris(2026, 11, 23, 12, 29, 59), True),
    (paris(2026, 11, 23, 12, 30), False),
    (paris(2026, 11, 23, 18), False),
    (paris(2026, 11, 28, 10), False),      # Saturday
    (paris(2026, 11, 11, 10), False),      # Armistice Day
    (dt.datetime(2026, 11, 23, 8, tzinfo=UTC), True),   # 09:00 in Paris
])
def test_is_open(moment, expected):
    assert is_open(OFFICE, moment) is expected


def test_next_opening_skips_a_holiday_monday():
    assert next_opening(OFFICE, paris(2026, 4, 4, 10)) == paris(2026, 4, 7, 9)


def test_a_calendar_with_no_opening_period_is_refused_not_looped_on():
    with pytest.raises(CalendarError) as excinfo:
        add_business_time(NEVER, paris(2026, 11, 23, 10), H)
    assert str(excinfo.value) == "The calendar “Empty” has no opening period: it is never open."
    with pytest.raises(CalendarError):
        next_opening(NEVER, paris(2026, 11, 23, 10))
    assert is_open(NEVER, paris(2026, 11, 23, 10)) is False
    assert business_time_between(NEVER, paris(2026, 1, 1), paris(2027, 1, 1)) == dt.timedelta(0)


def test_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(CalendarError, match="aware datetimes"):
        add_business_time(OFFICE, dt.datetime(2026, 11, 23, 10), H)
    with pytest.raises(CalendarError, match="aware datetimes"):
        is_open(OFFICE, dt.datetime(2026, 11, 23, 10))
    with pytest.raises(CalendarError, match="zero or more"):
        add_business_time(OFFICE, paris(2026, 11, 23, 10), -M)


def test_a_spec_cannot_be_changed_once_built():
    with pytest.raises(FrozenInstanceError):
        OFFICE.time_zone = "UTC"


# --- Properties -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", [OFFICE, ALWAYS, NIGHTS], ids=["office", "always", "nights"])
def test_elapsed_business_time_is_the_duration_added(spec):
    rng = random.Random(20261123)
    for _ in range(300):
        start = paris(2026, 1, 1) + dt.timedelta(seconds=rng.randrange(365 * 24 * 3600))
        duration = dt.timedelta(seconds=rng.choice([0, rng.randrange(3600), rng.randrange(12 * 7 * 24 * 3600)]))
        end = add_business_time(spec, start, duration)
        assert business_time_between(spec, start, end) == duration, (start, duration)
        assert end >= start


@pytest.mark.parametrize("spec", [OFFICE, ALWAYS, NIGHTS], ids=["office", "always", "nights"])
@pytest.mark.parametrize("first_day", [dt.date(2026, 3, 23), dt.date(2026, 10, 19)], ids=["spring", "fall"])
def test_between_matches_a_quarter_hour_count_across_dst_and_holidays(spec, first_day):
    # An independent count, step by step, over a fortnight with a clock change (and Easter Monday).
    first, step = paris(*first_day.timetuple()[:3]).astimezone(UTC), dt.timedelta(minutes=15)
    steps = [first + n * step for n in range(16 * 96)]
    open_steps = [is_open(spec, moment) for moment in steps]
    rng = random.Random(7)
    pairs = [(0, len(steps) - 1)] + [tuple(sorted(rng.sample(range(len(steps)), 2))) for _ in range(40)]
    for i, j in pairs:
        open_time = sum(open_steps[i:j]) * step
        assert business_time_between(spec, steps[i], steps[j]) == open_time, (i, j)
        if open_time:
            # The duration is used up on a quarter-hour mark no later than the window's end.
            reached = add_business_time(spec, steps[i], open_time)
            assert reached <= steps[j] and (reached - first) % step == dt.timedelta(0)


def test_a_period_ending_in_the_repeated_hour_lasts_until_its_second_showing():
    spec = build_spec(time_zone="Europe/Paris", periods=[(6, "00:00", "02:30")])
    assert business_time_between(spec, paris(2026, 10, 25), paris(2026, 10, 26)) == 3.5 * H
    assert is_open(spec, dt.datetime(2026, 10, 25, 1, 15, tzinfo=UTC)) is True  # 02:15, second time


def test_two_periods_touching_inside_the_repeated_hour_count_it_once():
    # Given 00:00–02:30 and 02:30–05:00 on the fall-back Sunday: the first ends at the second
    # 02:30 (01:30 UTC), the second starts at the first 02:30 (00:30 UTC)
    spec = build_spec(time_zone="Europe/Paris", periods=[(6, "00:00", "02:30"), (6, "02:30", "05:00")])
    # Then the day's intervals do not overlap, and 00:00–05:00 local (22:00–04:00 UTC) is 6 hours
    assert _day_intervals(spec, dt.date(2026, 10, 25)) == (
        (dt.datetime(2026, 10, 24, 22, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 4, tzinfo=UTC)),
    )
    start, end = dt.datetime(2026, 10, 24, 22, tzinfo=UTC), dt.datetime(2026, 10, 25, 4, tzinfo=UTC)
    assert business_time_between(spec, start, end) == 6 * H
    # and 30 minutes from 01:10 UTC are 20 minutes to 01:30 UTC, then 10 more
    assert add_business_time(spec, dt.datetime(2026, 10, 25, 1, 10, tzinfo=UTC), 30 * M) == dt.datetime(
        2026, 10, 25, 1, 40, tzinfo=UTC)


# --- Services and loading -------------------------------------------------------------


@pytest.mark.django_db
class TestServices:
    def test_create_then_load_in_two_queries(self, django_assert_num_queries):
        calendar = create_business_calendar(name="  Service  client ", time_zone="Europe/Paris",
                                            periods=default_calendar_periods())
        add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
        with django_assert_num_queries(2):
            spec = calendar_spec(calendar)
        assert (calendar.name, spec.name, spec.time_zone) == ("Service client", "Service client", "Europe/Paris")
        assert spec == build_spec(time_zone="Europe/Paris", periods=default_calendar_periods(),
                                  holidays=[dt.date(2026, 12, 25)])
        assert OpeningPeriod.objects.filter(calendar=calendar).count() == 10

    def test_many_calendars_load_in_three_queries(self, django_assert_num_queries):
        office = create_business_calendar(name="Office", periods=default_calendar_periods())
        desk = create_business_calendar(name="Desk", time_zone="America/Montreal", periods=[(5, "10:00", "24:00")])
        with django_assert_num_queries(3):
            specs = calendar_specs([office.pk, desk.pk, desk.pk + 1000])
        assert sorted(specs) == [office.pk, desk.pk]
        assert specs[desk.pk].week[5] == ((36000, 86400),)
        assert specs[desk.pk].tz == ZoneInfo("America/Montreal")

    def test_overlapping_periods_are_refused_and_nothing_is_written(self):
        with pytest.raises(ValidationError) as excinfo:
            create_business_calendar(name="Office", periods=[(0, "09:00", "12:30"), (0, "12:00", "14:00"),
                                                             (1, "09:00", "12:00"), (1, "12:00", "14:00")])
        assert excinfo.value.message_dict == {"periods": ["Monday 09:00–12:30 overlaps Monday 12:00–14:00."]}
        assert BusinessCalendar.objects.count() == OpeningPeriod.objects.count() == 0

    def test_every_bad_field_is_reported_at_once(self):
        with pytest.raises(ValidationError) as excinfo:
            create_business_calendar(name="", time_zone="Europe/Pariss", periods=[
                (7, "09:00", "12:00"), (0, "14:00", "13:00"), (0, "9h", "12:00"), ("x",), {"weekday": 2, "start": "10:00"},
            ])
        assert excinfo.value.message_dict == {
            "name": ["A name is required."],
            "time_zone": ["“Europe/Pariss” is not a known IANA time zone (such as Europe/Paris)."],
            "periods": [
                "Period 1: the weekday must be a number from 0 (Monday) to 6 (Sunday).",
                "Period 2: it must start before it ends.",
                "Period 3: “9h” is not a time (expected HH:MM).",
                "Period 4: expected a weekday, a start time and an end time.",
                "Period 5: “None” is not a time (expected HH:MM).",
            ],
        }
        assert BusinessCalendar.objects.count() == 0

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"])
    def test_bad_time_zones_are_refused(self, zone):
        with pytest.raises(ValidationError) as excinfo:
            create_business_calendar(name="Office", time_zone=zone)
        assert list(excinfo.value.message_dict) == ["time_zone"]
        assert BusinessCalendar.objects.count() == 0

    def test_midnight_ends_and_touching_periods_are_accepted(self):
        calendar = create_business_calendar(name="Late", periods=[{"weekday": 4, "start": "18:00", "end": "24:00"},
                                                                  (4, dt.time(9), dt.time(18))])
        assert calendar_spec(calendar).week[4] == ((32400, 64800), (64800, 86400))

    def test_a_duplicate_name_is_refused(self):
        create_business_calendar(name="Office")
        with pytest.raises(ValidationError) as excinfo:
            create_business_calendar(name="Office", time_zone="UTC")
        assert excinfo.value.message_dict == {"name": ["A business calendar named “Office” already exists."]}
        assert list(BusinessCalendar.objects.values_list("time_zone", flat=True)) == ["Europe/Paris"]

    def test_update_replaces_the_week_and_keeps_what_is_not_given(self):
        calendar = create_business_calendar(name="Office", periods=default_calendar_periods())
        update_business_calendar(calendar=calendar, time_zone="Europe/Brussels", periods=[(5, "10:00", "12:00")])
        calendar.refresh_from_db()
        assert (calendar.name, calendar.time_zone) == ("Office", "Europe/Brussels")
        assert list(calendar.periods.values_list("weekday", "start_time", "end_time")) == [
            (5, dt.time(10), dt.time(12))]

    def test_a_refused_update_changes_nothing(self):
        calendar = create_business_calendar(name="Office", periods=default_calendar_periods())
        create_business_calendar(name="Shop")
        for bad in ({"periods": [(0, "09:00", "18:00"), (0, "17:00", "19:00")]}, {"time_zone": "Paris"},
                    {"name": "Shop", "periods": []}):
            with pytest.raises(ValidationError):
                update_business_calendar(calendar=calendar, **bad)
        calendar.refresh_from_db()
        assert (calendar.name, calendar.time_zone, calendar.periods.count()) == ("Office", "Europe/Paris", 10)

    def test_holidays_are_added_once_and_removed(self):
        calendar = create_business_calendar(name="Office", periods=default_calendar_periods())
        add_holiday(calendar=calendar, date=dt.date(2026, 5, 1), name="Fête du travail")
        with pytest.raises(ValidationError) as excinfo:
            add_holiday(calendar=calendar, date="2026-05-01", name="Other")
        assert excinfo.value.message_dict == {"date": ["This calendar already has a holiday on 2026-05-01."]}
        assert list(Holiday.objects.values_list("name", flat=True)) == ["Fête du travail"]
        assert calendar_spec(calendar).holidays == {dt.date(2026, 5, 1)}
        remove_holiday(calendar=calendar, date="2026-05-01")
        assert Holiday.objects.count() == 0
        with pytest.raises(ValidationError) as excinfo:
            remove_holiday(calendar=calendar, date=dt.date(2026, 5, 1))
        assert excinfo.value.message_dict == {"date": ["This calendar has no holiday on 2026-05-01."]}

    def test_bad_holidays_are_refused(self):
        calendar = create_business_calendar(name="Office")
        with pytest.raises(ValidationError) as excinfo:
            add_holiday(calendar=calendar, date="25/12/2026", name=" ")
        assert excinfo.value.message_dict == {"date": ["Not a date (expected YYYY-MM-DD)."],
                                              "name": ["A name is required."]}
        with pytest.raises(ValidationError):
            add_holiday(calendar=calendar, date=paris(2026, 12, 25), name="Noël")
        assert Holiday.objects.count() == 0

    def test_the_database_refuses_a_period_that_ends_before_it_starts(self):
        calendar = create_business_calendar(name="Office")
        with pytest.raises(IntegrityError), transaction.atomic():
            OpeningPeriod.objects.create(calendar=calendar, weekday=0, start_time=dt.time(12), end_time=dt.time(9))
        with pytest.raises(IntegrityError), transaction.atomic():
            OpeningPeriod.objects.create(calendar=calendar, weekday=7, start_time=dt.time(9), end_time=dt.time(12))
        assert OpeningPeriod.objects.count() == 0


@pytest.mark.django_db
def test_the_admin_refuses_overlapping_periods_with_the_services_rule(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@staff.example", "pw"))
    form = {"name": "Office", "time_zone": "Europe/Paris",
            "holidays-TOTAL_FORMS": "0", "holidays-INITIAL_FORMS": "0",
            "periods-TOTAL_FORMS": "2", "periods-INITIAL_FORMS": "0",
            "periods-0-weekday": "0", "periods-0-start_time": "09:00", "periods-0-end_time": "12:30",
            "periods-1-weekday": "0", "periods-1-start_time": "12:00", "periods-1-end_time": "14:00"}
    response = client.post("/admin/core/businesscalendar/add/", form)
    assert response.status_code == 200
    assert "Monday 09:00–12:30 overlaps Monday 12:00–14:00." in response.content.decode()
    assert BusinessCalendar.objects.count() == 0
    response = client.post("/admin/core/businesscalendar/add/", form | {"periods-1-start_time": "13:30"})
    assert response.status_code == 302
    assert calendar_spec(BusinessCalendar.objects.get()).week[0] == ((32400, 45000), (48600, 50400))


@pytest.mark.django_db
def test_supervisors_manage_calendars_and_agents_do_not(agent, supervisor):
    assert supervisor.has_perm("core.change_businesscalendar")
    assert supervisor.has_perm("core.add_holiday")
    assert not agent.has_perm("core.change_businesscalendar")
