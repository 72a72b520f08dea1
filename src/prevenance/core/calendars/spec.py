"""The in-memory calendar every computation works on, and the rules for weekly periods.

Nothing here touches the database: a spec is built once (see selectors.calendar_spec) and
then shared by every SLA computation, so thousands of cases cost no query each.
"""

import datetime as dt
import zoneinfo
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from prevenance.core.models import MIDNIGHT, Weekday, validate_time_zone

DAY_SECONDS = 24 * 60 * 60


class PeriodInput(NamedTuple):
    """One opening period as services take it: weekday 0 (Monday) to 6, local times.

    An end of 00:00 means midnight at the end of the day.
    """

    weekday: int
    start: dt.time
    end: dt.time


def default_calendar_periods() -> tuple[PeriodInput, ...]:
    """A typical French customer service: Monday to Friday, 09:00–12:30 and 13:30–18:00."""
    morning, afternoon = (dt.time(9), dt.time(12, 30)), (dt.time(13, 30), dt.time(18))
    return tuple(
        PeriodInput(day, *hours) for day in range(Weekday.FRIDAY + 1) for hours in (morning, afternoon)
    )


def _parse_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        if value.tzinfo is not None or value.microsecond:
            raise ValueError(_("use a local time to the second, without a time zone"))
        return value
    text = str(value).strip()
    # Forms and CSV files write the end of the day as 24:00, which `time` cannot hold.
    if text in ("24:00", "24:00:00"):
        return MIDNIGHT
    try:
        parsed = dt.time.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None or parsed.microsecond or len(text) not in (5, 8):
        raise ValueError(_("“%(value)s” is not a time (expected HH:MM)") % {"value": text[:20]})
    return parsed


def _parse_weekday(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(_("the weekday must be a number from 0 (Monday) to 6 (Sunday)"))
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 6:
        raise ValueError(_("the weekday must be a number from 0 (Monday) to 6 (Sunday)"))
    return number


def _parse_period(raw: Any) -> PeriodInput:
    if isinstance(raw, Mapping):
        raw = (raw.get("weekday"), raw.get("start"), raw.get("end"))
    if isinstance(raw, str) or not isinstance(raw, Iterable) or len(raw := tuple(raw)) != 3:
        raise ValueError(_("expected a weekday, a start time and an end time"))
    period = PeriodInput(_parse_weekday(raw[0]), _parse_time(raw[1]), _parse_time(raw[2]))
    if period.end != MIDNIGHT and period.start >= period.end:
        raise ValueError(_("it must start before it ends"))
    return period


def _seconds(moment: dt.time, *, end: bool = False) -> int:
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return DAY_SECONDS if end and seconds == 0 else seconds


def _label(period: PeriodInput) -> str:
    return f"{Weekday(period.weekday).label} {period.start:%H:%M}–{period.end:%H:%M}"


def clean_periods(raw_periods: Iterable[Any]) -> tuple[PeriodInput, ...]:
    """Validate weekly periods, all errors at once under "periods"; sorted by day and start.

    Periods of one day may touch (12:30–13:30 after 09:00–12:30) but never overlap.
    """
    if isinstance(raw_periods, str | bytes | Mapping) or not isinstance(raw_periods, Iterable):
        raise ValidationError({"periods": [_("Expected a list of opening periods.")]})
    errors: list[str] = []
    periods: list[PeriodInput] = []
    for number, raw in enumerate(raw_periods, start=1):
        try:
            periods.append(_parse_period(raw))
        except ValueError as exc:
            errors.append(_("Period %(number)d: %(reason)s.") % {"number": number, "reason": exc})
    periods.sort(key=lambda p: (p.weekday, _seconds(p.start)))
    for before, after in zip(periods, periods[1:], strict=False):
        if before.weekday == after.weekday and _seconds(before.end, end=True) > _seconds(after.start):
            errors.append(
                _("%(first)s overlaps %(second)s.") % {"first": _label(before), "second": _label(after)}
            )
    if errors:
        raise ValidationError({"periods": errors})
    return tuple(periods)


def clean_time_zone(value: Any) -> str:
    try:
        validate_time_zone(value)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from exc
    return str(value)


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar as immutable data: local opening seconds per weekday and closed dates.

    Build it with `build_spec`; equal specs hash alike, so per-day results can be cached.
    """

    time_zone: str
    # week[weekday] = ((start, end), ...) in seconds since local midnight, end up to 86,400.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[dt.date]
    name: str = field(default="", compare=False)
    tz: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)
    holiday_dates: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    weekly_open: dt.timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A frozen dataclass can only set its derived fields through object.__setattr__.
        object.__setattr__(self, "tz", zoneinfo.ZoneInfo(self.time_zone))
        object.__setattr__(self, "holiday_dates", tuple(sorted(self.holidays)))
        seconds = sum(end - start for day in self.week for start, end in day)
        object.__setattr__(self, "weekly_open", dt.timedelta(seconds=seconds))

    @property
    def has_opening(self) -> bool:
        return self.weekly_open > dt.timedelta(0)

    def holiday_between(self, first: dt.date, last: dt.date) -> bool:
        """Whether a holiday falls on a date from `first` to `last`, both included."""
        index = bisect_left(self.holiday_dates, first)
        return index < len(self.holiday_dates) and self.holiday_dates[index] <= last


def build_spec(
    *, time_zone: str, periods: Iterable[Any], holidays: Iterable[dt.date] = (), name: str = ""
) -> CalendarSpec:
    """Validate and freeze a calendar; raises ValidationError keyed by field."""
    time_zone = clean_time_zone(time_zone)
    week: list[list[tuple[int, int]]] = [[] for _day in range(7)]
    for period in clean_periods(periods):
        week[period.weekday].append((_seconds(period.start), _seconds(period.end, end=True)))
    return CalendarSpec(
        time_zone=time_zone,
        week=tuple(tuple(day) for day in week),
        holidays=frozenset(holidays),
        name=name,
    )
