"""Loading calendars into CalendarSpec objects, in a fixed number of queries, and keeping them.

A spec is kept per process, under the calendar's id and `updated_at`: every change to a
calendar, its opening periods or its holidays moves `updated_at` (the signals below, and the
services), so a process that reads the calendar row sees the change at once, whichever
process made it, and builds the spec again. The same process also forgets its specs on those
signals. A change made in raw SQL, bypassing the ORM, is seen once `updated_at` moves.
"""

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

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


_CACHE_SIZE = 256
_cache: OrderedDict[tuple, CalendarSpec] = OrderedDict()
_cache_lock = threading.Lock()


def _key(calendar: BusinessCalendar) -> tuple:
    return calendar.pk, calendar.updated_at, calendar.time_zone, calendar.name


def calendar_spec(calendar: BusinessCalendar) -> CalendarSpec:
    """The calendar as an immutable spec: kept from an earlier call while the calendar row's
    `updated_at` is the same, else two queries (its periods, its holidays)."""
    key = _key(calendar)
    with _cache_lock:
        if (spec := _cache.get(key)) is not None:
            _cache.move_to_end(key)
            return spec
    spec = _specs([calendar])[calendar.pk]
    if calendar.updated_at is not None:  # an unsaved or hand-built row has no version to key on
        with _cache_lock:
            _cache[key] = spec
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return spec


def forget_calendar_specs() -> None:
    """Drop this process's specs (the signals do it; tests may too)."""
    with _cache_lock:
        _cache.clear()


def touch_calendar(calendar_id: int):
    """Move the calendar's `updated_at` (returned): its periods or holidays changed, so every
    process builds its spec again."""
    now = timezone.now()
    current = BusinessCalendar.objects.filter(pk=calendar_id).values_list("updated_at", flat=True).first()
    if current is not None and now <= current:
        now = current + timedelta(microseconds=1)  # a clock that did not move (or moved back) must still change the version
    BusinessCalendar.objects.filter(pk=calendar_id).update(updated_at=now)
    forget_calendar_specs()
    return now


def _part_changed(sender, instance, **kwargs) -> None:
    touch_calendar(instance.calendar_id)


def _calendar_changed(sender, instance, **kwargs) -> None:
    forget_calendar_specs()


for _model, _handler in ((OpeningPeriod, _part_changed), (Holiday, _part_changed), (BusinessCalendar, _calendar_changed)):
    for _signal in (post_save, post_delete):
        _signal.connect(_handler, sender=_model, dispatch_uid=f"prevenance-calendar-spec-{_model.__name__}-{_signal is post_save}")


def calendar_specs(calendar_ids: Iterable[int]) -> dict[int, CalendarSpec]:
    """Specs of many calendars by id in three queries, whatever their number; unknown ids are left out.

    An SLA run loads the calendars of every team once, then computes without querying.
    """
    return _specs(BusinessCalendar.objects.filter(pk__in=set(calendar_ids)))
