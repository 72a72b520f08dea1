"""Business-hours calendars: opening periods per weekday, holidays, and business-time arithmetic.

Load a calendar once with `calendar_spec` (or `calendar_specs` for many), then compute with
the pure functions on the spec. See docs/calendars.md.
"""

from prevenance.core.calendars.compute import (
    CalendarError,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
)
from prevenance.core.calendars.selectors import calendar_spec, calendar_specs
from prevenance.core.calendars.services import (
    add_holiday,
    calendar_in_use,
    change_holiday,
    create_business_calendar,
    delete_business_calendar,
    remove_holiday,
    require_opening_hours,
    save_holidays,
    update_business_calendar,
)
from prevenance.core.calendars.spec import (
    CalendarSpec,
    PeriodInput,
    build_spec,
    clean_periods,
    default_calendar_periods,
)

__all__ = [
    "CalendarError",
    "CalendarSpec",
    "PeriodInput",
    "add_business_time",
    "add_holiday",
    "build_spec",
    "business_time_between",
    "calendar_in_use",
    "calendar_spec",
    "calendar_specs",
    "change_holiday",
    "clean_periods",
    "create_business_calendar",
    "default_calendar_periods",
    "delete_business_calendar",
    "is_open",
    "next_opening",
    "remove_holiday",
    "require_opening_hours",
    "save_holidays",
    "update_business_calendar",
]
