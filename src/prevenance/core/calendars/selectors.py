"""Loading calendars into CalendarSpec objects, in a fixed number of queries."""

from collections import defaultdict
from collections.abc import Iterable

from prevenance.core.calendars.spec import CalendarSpec, PeriodInput, build_spec
from prevenance.core.models import BusinessCalendar, Holiday, OpeningPeriod


def _specs(calendars: Iterable[BusinessCalendar]) -> dict[int, CalendarSpec]:
    calendars = {calendar.pk: calendar for calendar in calendars}
    periods: dict[int, list[PeriodInput]] = defaultdict(list)
    for calendar_id, weekday, start, end in OpeningPeriod.objects.filter(
        calendar_id__in=calendars
    ).values_list("calendar_id", "weekday", "start_time", "end_time"):
        periods[calendar_id].append(PeriodInput(weekday, start, end))
    holidays = defaultdict(list)
    for calendar_id, date in Holiday.objects.filter(calendar_id__in=calendars).values_list(
        "calendar_id", "date"
    ):
        holidays[calendar_id].append(date)
    return {
        pk: build_spec(
            time_zone=calendar.time_zone, periods=periods[pk], holidays=holidays[pk], name=calendar.name
        )
        for pk, calendar in calendars.items()
    }


def calendar_spec(calendar: BusinessCalendar) -> CalendarSpec:
    """The calendar as an immutable spec: two queries (its periods, its holidays)."""
    return _specs([calendar])[calendar.pk]


def calendar_specs(calendar_ids: Iterable[int]) -> dict[int, CalendarSpec]:
    """Specs of many calendars by id in three queries, whatever their number; unknown ids are left out.

    An SLA run loads the calendars of every team once, then computes without querying.
    """
    return _specs(BusinessCalendar.objects.filter(pk__in=set(calendar_ids)))
