"""Business-time arithmetic on a CalendarSpec: pure functions, no database.

Aware datetimes in (any zone), aware datetimes out in UTC. Python compares and subtracts
two datetimes of the same zone by their wall clocks, ignoring `fold`: across a fall-back,
02:15 (second time) would sort before 02:30 (first time). UTC has no such hour, so results
are safe to compare, store and subtract; convert with .astimezone(spec.tz) only to display.

A period is open from the first moment the wall clock shows its start to the last moment
it shows its end; a time skipped by a spring-forward is taken at the moment of the jump.
"""

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from django.utils.translation import gettext as _

from prevenance.core.calendars.spec import CalendarSpec

UTC = dt.UTC
ZERO = dt.timedelta(0)
ONE_DAY = dt.timedelta(days=1)
ONE_WEEK = dt.timedelta(days=7)


class CalendarError(ValueError):
    """A computation that cannot have an answer (no opening at all, naive datetime...)."""


class _Span(NamedTuple):
    """Open time met while walking forward: one open interval, or a whole plain week."""

    start: dt.datetime
    end: dt.datetime
    open: dt.timedelta
    week: dt.date | None  # first local date of a whole week, which `_intervals` expands


def _utc(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise CalendarError(_("Business-time computations need aware datetimes (with a time zone)."))
    return moment.astimezone(UTC)


def _require_opening(spec: CalendarSpec) -> None:
    # Without this, looking for the next open minute would walk the calendar forever.
    if not spec.has_opening:
        raise CalendarError(
            _("The calendar “%(name)s” has no opening period: it is never open.") % {"name": spec.name}
        )


def _transition(spec: CalendarSpec, before: dt.datetime, after: dt.datetime) -> dt.datetime:
    """The instant the clock jumps, knowing it lies in (before, after]: bisect to the second."""
    target = after.astimezone(spec.tz).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, spec.tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, UTC)


def _instant(spec: CalendarSpec, day: dt.date, seconds: int, *, last: bool) -> dt.datetime:
    """The UTC instant the local clock shows `seconds` after midnight on `day`.

    `last` picks the second showing when a fall-back repeats the hour (fold=1).
    """
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    instant = wall.replace(tzinfo=spec.tz, fold=int(last)).astimezone(UTC)
    if instant.astimezone(spec.tz).replace(tzinfo=None) == wall:
        return instant
    # The wall time does not exist (spring-forward): fold=1 maps it before the jump, fold=0 after.
    before = wall.replace(tzinfo=spec.tz, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=spec.tz, fold=0).astimezone(UTC)
    return _transition(spec, before, after)


@lru_cache(maxsize=8192)
def _day_intervals(spec: CalendarSpec, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    # Cached: SLA runs over thousands of cases meet the same few weeks again and again.
    if day in spec.holidays:
        return ()
    intervals: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spec.week[day.weekday()]:  # in order of start, never overlapping (clean_periods)
        opens = _instant(spec, day, start, last=False)
        closes = _instant(spec, day, end, last=True)
        if intervals:
            # Two periods touching inside an hour a fall-back repeats (00:00–02:30, 02:30–05:00):
            # the first ends at the second 02:30, the second starts at the first one. The
            # repeated stretch is open once: this period opens where the one before closed.
            opens = max(opens, intervals[-1][1])
        if closes > opens:
            intervals.append((opens, closes))
    return tuple(intervals)


def _plain_week(spec: CalendarSpec, first: dt.date) -> bool:
    """No holiday and no change of UTC offset from `first` to the midnight a week later.

    In such a week every period lasts exactly its wall-clock length, so the week's open time
    is spec.weekly_open and it can be skipped in one step.
    """
    if spec.holiday_between(first, first + dt.timedelta(days=6)):
        return False
    offsets = {
        dt.datetime.combine(first + dt.timedelta(days=n), dt.time(), tzinfo=spec.tz).utcoffset()
        for n in range(8)
    }
    return len(offsets) == 1


def _spans(spec: CalendarSpec, moment: dt.datetime, until: dt.datetime | None = None) -> Iterator[_Span]:
    """Open time after `moment` (UTC), in order; stops after the day holding `until`."""
    # A day's periods end by the next midnight, so open time after `moment` starts on its own day.
    today = moment.astimezone(spec.tz).date()
    for opens, closes in _day_intervals(spec, today):
        if closes > moment:
            start = max(opens, moment)
            yield _Span(start, closes, closes - start, None)
    day = today + ONE_DAY
    while until is None or _instant(spec, day, 0, last=False) <= until:
        if spec.has_opening and _plain_week(spec, day):
            week_start = _instant(spec, day, 0, last=False)
            yield _Span(week_start, week_start + ONE_WEEK, spec.weekly_open, day)
            day += ONE_WEEK
        else:
            for opens, closes in _day_intervals(spec, day):
                yield _Span(opens, closes, closes - opens, None)
            day += ONE_DAY


def _intervals(spec: CalendarSpec, span: _Span) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    if span.week is None:
        yield span.start, span.end
        return
    for n in range(7):
        yield from _day_intervals(spec, span.week + dt.timedelta(days=n))


def is_open(spec: CalendarSpec, moment: dt.datetime) -> bool:
    """Whether `moment` falls inside an opening period (a period's end is already closed)."""
    instant = _utc(moment)
    today = instant.astimezone(spec.tz).date()
    return any(opens <= instant < closes for opens, closes in _day_intervals(spec, today))


def next_opening(spec: CalendarSpec, moment: dt.datetime) -> dt.datetime:
    """`moment` itself when open, else the start of the next opening period."""
    _require_opening(spec)
    for span in _spans(spec, _utc(moment)):
        for opens, _closes in _intervals(spec, span):
            return opens
    raise AssertionError("unreachable: a calendar with opening hours opens again")


def add_business_time(spec: CalendarSpec, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """The moment `duration` of open time has elapsed after `start`.

    Counting begins at the next opening when `start` is closed, so a zero duration gives
    next_opening(start). A target met exactly at a closing time is that closing time.
    """
    if not isinstance(duration, dt.timedelta) or duration < ZERO:
        raise CalendarError(_("A business duration must be a timedelta of zero or more."))
    _require_opening(spec)
    remaining = duration
    try:
        for span in _spans(spec, _utc(start)):
            if span.week is not None and remaining > span.open:
                remaining -= span.open
                continue
            for opens, closes in _intervals(spec, span):
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
    except OverflowError as exc:
        raise CalendarError(_("The result would fall after the year 9999.")) from exc
    raise AssertionError("unreachable: a calendar with opening hours opens again")


def business_time_between(spec: CalendarSpec, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Open time from `start` to `end`; zero when `end` is not after `start`."""
    start, end = _utc(start), _utc(end)
    if end <= start or not spec.has_opening:
        return ZERO
    total = ZERO
    for span in _spans(spec, start, until=end):
        if span.start >= end:
            break
        if span.week is not None and span.end <= end:
            total += span.open
            continue
        for opens, closes in _intervals(spec, span):
            if opens >= end:
                return total
            total += min(closes, end) - opens
    return total
