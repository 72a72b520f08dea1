"""SLA targets as people type and read them: business hours and minutes, never days.

A target is business time (cases/sla.py): it counts only the opening hours of the clock's
calendar, so on a calendar open 8 hours a day "24 h" is three working days. Days are refused
and never shown: a stored day is 24 hours of business time, three such working days, which
is not what anyone typing "3 days" meant. The database keeps a duration (a timedelta), as
the API reads and writes it (ISO 8601, docs/api.md); only what people type and read changes.
"""

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MIN_TARGET = timedelta(minutes=1)
MAX_TARGET = timedelta(days=365)  # 8,760 business hours: due times stay before the year 9999
MAX_HOURS = int(MAX_TARGET.total_seconds()) // 3600

_HOURS = r"(?:h|hr|hrs|hour|hours|heure|heures)"
_MINUTES = r"(?:m|mn|min|mins|minute|minutes)"
_NUMBER = r"(\d{1,9}(?:[.,]\d{1,6})?)"
# What a person may add around the figure, as the page shows it back ("24 h ouvrées",
# "24 business hours", "1 h 30 min of business time"): dropped before reading.
_QUALIFIERS = re.compile(r"\b(?:ouvr[ée]e?s?|business|working|of|time|de|temps)\b")
_DAYS = re.compile(r"\d\s*(?:d|j|days?|jours?)\b|^\d+\s+\d{1,2}:\d{2}")
_FORMS = (
    # "8", "8 h", "8h", "1,5 h", "8 hours", "8 heures"
    (re.compile(rf"^{_NUMBER}\s*{_HOURS}?$"), ("hours",)),
    # "8 h 30", "8h30", "1 h 30 min", "1 hour 30 minutes", "1 heure et 30 minutes"
    (re.compile(rf"^(\d{{1,9}})\s*{_HOURS}\s*(?:(?:et|and)\s+)?(\d{{1,9}})\s*{_MINUTES}?$"), ("hours", "minutes")),
    # "90 min", "90 minutes"
    (re.compile(rf"^{_NUMBER}\s*{_MINUTES}$"), ("minutes",)),
    # "8:30", "08:00:00" (the admin's former format, without days)
    (re.compile(r"^(\d{1,9}):(\d{2})(?::(\d{2}))?$"), ("hours", "minutes", "seconds")),
)


def range_message() -> str:
    return _("A target of at least one minute and at most %(hours)d business hours.") % {"hours": MAX_HOURS}


def _invalid() -> ValidationError:
    return ValidationError(
        _("Write the target in business hours and minutes: “8 h”, “24 h”, “1 h 30 min” or “90 min”."), code="invalid")


def parse_target(text: str) -> timedelta:
    """A target typed by a person, in French or English: "8", "8h", "8 h 30", "1 h 30 min",
    "90 min", "24 h ouvrées", "24 business hours", "8:30". Raises ValidationError, translated,
    for anything else: days ("3 j", "2 days", "2 00:00:00"), minutes past 59 after hours,
    seconds, a target out of range."""
    value = str(text or "").replace("\u202f", " ").replace("\xa0", " ").casefold()
    value = " ".join(_QUALIFIERS.sub(" ", value).split())
    if _DAYS.search(value):
        raise ValidationError(
            _("A target is counted in business hours, not in days: on a calendar open 8 hours a day, "
              "three working days are “24 h”."), code="days")
    for pattern, names in _FORMS:
        if (match := pattern.match(value)) is None:
            continue
        parts = {name: Decimal(found.replace(",", ".")) for name, found in zip(names, match.groups(), strict=True)
                 if found is not None}
        if len(names) > 1 and parts.get("minutes", 0) > 59:
            raise ValidationError(_("The minutes after the hours go from 0 to 59: “1 h 30”, or “90 min”."), code="minutes")
        seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
        if seconds % 60:
            raise ValidationError(_("A target is counted in whole minutes."), code="precision")
        try:
            target = timedelta(seconds=int(seconds))
        except (OverflowError, InvalidOperation):
            raise ValidationError(range_message(), code="range") from None
        if not MIN_TARGET <= target <= MAX_TARGET:
            raise ValidationError(range_message(), code="range")
        return target
    raise _invalid()


def _hours_minutes(value: timedelta) -> tuple[int, int]:
    minutes = int(abs(value.total_seconds()) // 60)
    return divmod(minutes, 60)


def format_target(value: timedelta | None) -> str:
    """"24 h", "1 h 30 min", "45 min": hours and minutes, never days (seconds dropped); what the
    admin's field shows, and reads back. The sign is left to the caller."""
    if value is None:
        return ""
    hours, minutes = _hours_minutes(value)
    if hours and minutes:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


def target_label(value: timedelta | None) -> str:
    """A target as a person reads it: "24 business hours", "1 h 30 min of business time"."""
    if value is None:
        return ""
    hours, minutes = _hours_minutes(value)
    if not minutes:
        return ngettext("%(hours)d business hour", "%(hours)d business hours", hours) % {"hours": hours}
    return _("%(duration)s of business time") % {"duration": format_target(value)}
