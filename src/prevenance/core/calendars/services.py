"""Every write to business calendars, one transaction each."""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from prevenance.core.audit import record_audit
from prevenance.core.calendars.selectors import calendar_spec, touch_calendar
from prevenance.core.calendars.spec import clean_periods, clean_time_zone
from prevenance.core.choices import CalendarAuditKind
from prevenance.core.models import BusinessCalendar, Holiday, OpeningPeriod

_NAME_LIMIT = 100


def _clean_name(value: Any, field: str = "name") -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationError({field: [_("A name is required.")]})
    if len(text) > _NAME_LIMIT:
        raise ValidationError(
            {field: [_("At most %(limit)d characters (got %(length)d).") % {"limit": _NAME_LIMIT, "length": len(text)}]}
        )
    return text


def _clean_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValidationError({"date": [_("Give a date, not a date and time.")]})
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationError({"date": [_("Not a date (expected YYYY-MM-DD).")]}) from exc


def _clean_fields(cleaners: Mapping[str, Callable[[Any], Any]], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Clean the fields given, each with its cleaner, reporting every bad one at once."""
    cleaned, errors = {}, {}
    for field, value in fields.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_holiday(**fields: Any) -> dict[str, Any]:
    return _clean_fields({"date": _clean_date, "name": _clean_name}, fields)


def _clean_holidays(holidays: Iterable[Any]) -> list[tuple[dt.date, str]]:
    """A new calendar's holidays as (date, name), by date; every bad one said at once, by its
    position, under "holidays"."""
    rows: dict[dt.date, str] = {}
    errors = []
    for number, holiday in enumerate(holidays, start=1):
        try:
            date, name = (holiday["date"], holiday["name"]) if isinstance(holiday, Mapping) else holiday
            row = _clean_holiday(date=date, name=name)
        except (KeyError, TypeError, ValueError):
            errors.append(_("Holiday %(number)d: %(reason)s") % {"number": number, "reason": _("expected a date and a name.")})
            continue
        except ValidationError as exc:
            errors += [_("Holiday %(number)d: %(reason)s") % {"number": number, "reason": message} for message in exc.messages]
            continue
        if row["date"] in rows:
            errors += holiday_date_taken(row["date"]).messages
        rows[row["date"]] = row["name"]
    if errors:
        raise ValidationError({"holidays": errors})
    return sorted(rows.items())


def holiday_date_taken(date: dt.date) -> ValidationError:
    """The refusal of a second holiday on `date` in one calendar, on the "date" field: the
    services' and the admin's (core/admin.py) alike."""
    return ValidationError({"date": [_("This calendar already has a holiday on %(date)s.") % {"date": date.isoformat()}]})


def holidays_taken(calendar: BusinessCalendar, dates: Iterable[dt.date], *, besides: Iterable[int] = ()) -> set[dt.date]:
    """Which of `dates` the calendar has a holiday on already, leaving out the holidays `besides`
    (the one being moved; those a form is moving or removing itself)."""
    return set(Holiday.objects.filter(calendar=calendar, date__in=set(dates)).exclude(pk__in=list(besides))
               .values_list("date", flat=True))


def _clean_calendar(**fields: Any) -> dict[str, Any]:
    """Clean the fields given, reporting every bad one at once."""
    cleaners = {"name": _clean_name, "time_zone": clean_time_zone, "periods": clean_periods, "holidays": _clean_holidays}
    return _clean_fields(cleaners, fields)


def _name_taken(name: str) -> ValidationError:
    return ValidationError({"name": [_("A business calendar named “%(name)s” already exists.") % {"name": name}]})


def clean_calendar_name(value: Any, *, calendar: BusinessCalendar | None = None) -> str:
    """A calendar's name as the services store it (spaces collapsed), refused when another
    calendar has it: for a form to say so on the field before anything is saved."""
    name = _clean_name(value)
    others = BusinessCalendar.objects.filter(name=name)
    if calendar is not None and calendar.pk is not None:
        others = others.exclude(pk=calendar.pk)
    if others.exists():
        raise _name_taken(name)
    return name


def _save_calendar(calendar: BusinessCalendar) -> None:
    # The savepoint lets a lost race on the unique name become a clear error, not a 500.
    try:
        with transaction.atomic():
            calendar.save()
    except IntegrityError as exc:
        raise _name_taken(calendar.name) from exc


def _period_rows(periods) -> list[dict]:
    """Periods (weekday, start, end) as the audit rows keep them, in week order."""
    return [{"weekday": weekday, "start": start.isoformat(timespec="minutes"), "end": end.isoformat(timespec="minutes")}
            for weekday, start, end in sorted(periods)]


def _replace_periods(calendar: BusinessCalendar, periods) -> dict[str, list]:
    """Replace the week; returns the periods added and removed, for the audit row (empty when
    the week is the same)."""
    before = set(OpeningPeriod.objects.filter(calendar=calendar).values_list("weekday", "start_time", "end_time"))
    after = {(p.weekday, p.start, p.end) for p in periods}
    OpeningPeriod.objects.filter(calendar=calendar).delete()
    OpeningPeriod.objects.bulk_create(
        OpeningPeriod(calendar=calendar, weekday=p.weekday, start_time=p.start, end_time=p.end)
        for p in periods
    )
    # bulk_create sends no signal: move the version the cached specs are kept under ourselves.
    calendar.updated_at = touch_calendar(calendar.pk)
    changes = {"periods_added": _period_rows(after - before), "periods_removed": _period_rows(before - after)}
    return {key: rows for key, rows in changes.items() if rows}


def _never_open(name: str) -> str:
    return _("The calendar “%(name)s” has no opening hours: an SLA clock on it could never run. Add opening periods first.") % {
        "name": name
    }


def require_opening_hours(calendar: BusinessCalendar, *, field: str = "calendar") -> None:
    """Refuse, under `field`, a calendar without any opening period where a team or an SLA
    policy is to use it (nothing could ever be due on it; docs/calendars.md)."""
    if not calendar_spec(calendar).has_opening:
        raise ValidationError({field: [_never_open(calendar.name)]})


def calendar_in_use(calendar: BusinessCalendar) -> bool:
    """Whether a row of another app (a team, an SLA policy) points to the calendar.

    Read through the reverse relations, so that core does not import the apps above it."""
    own_parts = (OpeningPeriod, Holiday)
    for relation in BusinessCalendar._meta.related_objects:
        if relation.related_model in own_parts or not relation.field.concrete:
            continue
        if relation.related_model._default_manager.filter(**{relation.field.name: calendar.pk}).exists():
            return True
    return False


@transaction.atomic
def create_business_calendar(
    *, name: str, time_zone: str = "Europe/Paris", periods: Iterable[Any] = (), holidays: Iterable[Any] = (), actor=None
) -> BusinessCalendar:
    """A calendar with its weekly opening periods (see spec.clean_periods for their form) and
    its holidays ((date, name) pairs or mappings with `date` and `name`), in one audit row.
    `actor`, here and in the services below: who made the change, named in its audit row
    (None: the system, such as the demo's load)."""
    cleaned = _clean_calendar(name=name, time_zone=time_zone, periods=periods, holidays=holidays)
    if BusinessCalendar.objects.filter(name=cleaned["name"]).exists():
        raise _name_taken(cleaned["name"])
    calendar = BusinessCalendar(name=cleaned["name"], time_zone=cleaned["time_zone"])
    _save_calendar(calendar)
    # A new calendar: no date can be taken. _replace_periods then moves the version once for both.
    Holiday.objects.bulk_create(Holiday(calendar=calendar, date=date, name=name) for date, name in cleaned["holidays"])
    _replace_periods(calendar, cleaned["periods"])
    record_audit(kind=CalendarAuditKind.CREATED, actor=actor, subject=calendar, payload={
        "name": calendar.name, "time_zone": calendar.time_zone,
        "periods": _period_rows((p.weekday, p.start, p.end) for p in cleaned["periods"]),
        "holidays": [{"date": date.isoformat(), "name": name} for date, name in cleaned["holidays"]]})
    return calendar


@transaction.atomic
def update_business_calendar(
    *,
    calendar: BusinessCalendar,
    name: str | None = None,
    time_zone: str | None = None,
    periods: Iterable[Any] | None = None,
    actor=None,
) -> BusinessCalendar:
    """Change the fields given; `periods`, when given, replaces the whole week. A calendar a
    team or an SLA policy uses cannot be left without opening periods. The audit row says
    what changed (old and new name or zone, the periods added and removed); none when nothing did."""
    given = {"name": name, "time_zone": time_zone, "periods": periods}
    cleaned = _clean_calendar(**{field: value for field, value in given.items() if value is not None})
    # The lock serialises two editors so the week is never a mix of both of their edits.
    locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    if "name" in cleaned and BusinessCalendar.objects.filter(name=cleaned["name"]).exclude(pk=locked.pk).exists():
        raise _name_taken(cleaned["name"])
    if "periods" in cleaned and not cleaned["periods"] and calendar_in_use(locked):
        # Emptied, nothing could ever be due on it (the SLA code would count around the clock).
        raise ValidationError({"periods": [_("This calendar is used by a team or an SLA policy: it needs at least one opening period.")]})
    changes: dict[str, Any] = {field: [getattr(locked, field), cleaned[field]] for field in ("name", "time_zone")
                               if field in cleaned and cleaned[field] != getattr(locked, field)}
    locked.name = cleaned.get("name", locked.name)
    locked.time_zone = cleaned.get("time_zone", locked.time_zone)
    _save_calendar(locked)
    if "periods" in cleaned:
        changes |= _replace_periods(locked, cleaned["periods"])
    if changes:
        record_audit(kind=CalendarAuditKind.CHANGED, actor=actor, subject=locked, payload=changes)
    calendar.name, calendar.time_zone, calendar.updated_at = locked.name, locked.time_zone, locked.updated_at
    return calendar


@transaction.atomic
def delete_business_calendar(*, calendar: BusinessCalendar, actor=None) -> None:
    """Delete a calendar with its periods and holidays; refused while a team or an SLA policy
    uses it (their clocks would count around the clock)."""
    locked = BusinessCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
    if locked is None:
        return  # deleted meanwhile: nothing left to do
    if calendar_in_use(locked):
        raise ValidationError({"calendar": [
            _("The calendar “%(name)s” is used by a team or an SLA policy: give them another calendar first.") % {
                "name": locked.name}]})
    record_audit(kind=CalendarAuditKind.DELETED, actor=actor, subject=locked,
                 payload={"name": locked.name, "time_zone": locked.time_zone})
    locked.delete()


def _save_holiday(holiday: Holiday, **kwargs: Any) -> None:
    # The check before it cannot see a holiday another transaction has not committed yet: the
    # savepoint lets the unique constraint's refusal of that date become the same clear error.
    try:
        with transaction.atomic():
            holiday.save(**kwargs)
    except IntegrityError as exc:
        raise holiday_date_taken(holiday.date) from exc


@transaction.atomic
def add_holiday(*, calendar: BusinessCalendar, date: Any, name: str, actor=None) -> Holiday:
    """Close the calendar for the whole of `date` (a local date in its time zone)."""
    cleaned = _clean_holiday(date=date, name=name)
    if holidays_taken(calendar, [cleaned["date"]]):
        raise holiday_date_taken(cleaned["date"])
    holiday = Holiday(calendar=calendar, **cleaned)
    _save_holiday(holiday)
    record_audit(kind=CalendarAuditKind.HOLIDAY_ADDED, actor=actor, subject=calendar,
                 payload={"date": holiday.date.isoformat(), "name": holiday.name})
    return holiday


@transaction.atomic
def change_holiday(*, holiday: Holiday, date: Any = None, name: Any = None, actor=None) -> Holiday:
    """Move a holiday to another date or rename it (the fields given); the audit row gives the
    holiday as it is now and, under "before", the old value of what changed (no row when
    nothing did)."""
    given = {field: value for field, value in (("date", date), ("name", name)) if value is not None}
    cleaned = _clean_holiday(**given)
    locked = Holiday.objects.select_for_update().select_related("calendar").filter(pk=holiday.pk).first()
    if locked is None:
        raise ValidationError({"date": [_("This holiday no longer exists: it was removed meanwhile.")]})
    if "date" in cleaned and holidays_taken(locked.calendar, [cleaned["date"]], besides=[locked.pk]):
        raise holiday_date_taken(cleaned["date"])
    _write_holiday_change(locked, cleaned, actor=actor)
    holiday.date, holiday.name = locked.date, locked.name
    return holiday


def _write_holiday_change(locked: Holiday, cleaned: Mapping[str, Any], *, actor) -> None:
    """Give the stored holiday the cleaned fields that differ, with its audit row (none when
    nothing does)."""
    before = {field: getattr(locked, field) for field, value in cleaned.items() if getattr(locked, field) != value}
    if before:
        for field in before:
            setattr(locked, field, cleaned[field])
        _save_holiday(locked, update_fields=list(before))
        if "date" in before:
            before["date"] = before["date"].isoformat()
        record_audit(kind=CalendarAuditKind.HOLIDAY_CHANGED, actor=actor, subject=locked.calendar,
                     payload={"date": locked.date.isoformat(), "name": locked.name, "before": before})


@transaction.atomic
def remove_holiday(*, calendar: BusinessCalendar, date: Any, actor=None) -> None:
    """Open the calendar again on `date`; refused when there is no holiday on it."""
    date = _clean_date(date)
    holiday = Holiday.objects.select_for_update().filter(calendar=calendar, date=date).first()
    if holiday is None:
        raise ValidationError(
            {"date": [_("This calendar has no holiday on %(date)s.") % {"date": date.isoformat()}]}
        )
    holiday.delete()
    record_audit(kind=CalendarAuditKind.HOLIDAY_REMOVED, actor=actor, subject=calendar,
                 payload={"date": date.isoformat(), "name": holiday.name})


def _merge_errors(errors: dict[str, list[str]], refused: ValidationError) -> None:
    for field, messages in refused.message_dict.items():
        errors.setdefault(field, []).extend(messages)


def _unused_dates(calendar: BusinessCalendar, count: int) -> list[dt.date]:
    """`count` dates the calendar has no holiday on, from 1 January of year 1 (no one enters a
    holiday there): where the holidays a save moves wait while the others leave their dates."""
    taken = set(Holiday.objects.filter(calendar=calendar).values_list("date", flat=True))
    dates, day = [], dt.date.min
    while len(dates) < count:
        if day not in taken:
            dates.append(day)
        day += dt.timedelta(days=1)
    return dates


@transaction.atomic
def save_holidays(
    *,
    calendar: BusinessCalendar,
    removed: Iterable[Holiday] = (),
    changed: Iterable[tuple[Holiday, Mapping[str, Any]]] = (),
    added: Iterable[tuple[Any, Any]] = (),
    actor=None,
) -> list[Holiday]:
    """Remove holidays, change some (move or rename: `{"date": ..., "name": ...}`, the fields
    given) and add some ((date, name) pairs) on `calendar` at once, as its admin page saves
    them. The calendar as the save leaves it is checked whole, one holiday a date, rather than
    each holiday against the others' old dates: holidays may swap dates, rotate, or take a date
    another one leaves or a removed one frees. Refused under `date` with nothing written: a date
    it would leave two holidays on, a holiday changed that was removed meanwhile (one to remove
    that is gone already is left at that; one both removed and changed is removed). The audit rows are those remove_holiday,
    change_holiday and add_holiday write, in that order. The holidays given are set as stored;
    returns the ones added, in their order."""
    removed = list(removed)
    errors: dict[str, list[str]] = {}
    changes, additions = [], []
    for holiday, fields in changed:
        try:
            changes.append((holiday, _clean_holiday(**fields)))
        except ValidationError as refused:
            _merge_errors(errors, refused)
    for date, name in added:
        try:
            additions.append(_clean_holiday(date=date, name=name))
        except ValidationError as refused:
            _merge_errors(errors, refused)
    # The calendar's lock serialises two such saves, so that neither checks a state the other is changing.
    locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    removed_ids = {holiday.pk for holiday in removed}
    stored = {row.pk: row for row in Holiday.objects.select_for_update().filter(
        calendar=locked, pk__in=removed_ids | {holiday.pk for holiday, _fields in changes}).order_by("pk")}
    for row in stored.values():
        row.calendar = locked
    if any(holiday.pk not in stored for holiday, _fields in changes):
        errors.setdefault("date", []).append(_("This holiday no longer exists: it was removed meanwhile."))
    changes = [(holiday, stored[holiday.pk], fields) for holiday, fields in changes
               if holiday.pk in stored and holiday.pk not in removed_ids]
    ending = [fields.get("date", row.date) for _holiday, row, fields in changes] + [row["date"] for row in additions]
    twice = {date for date in ending if ending.count(date) > 1} | holidays_taken(locked, ending, besides=stored)
    for date in sorted(twice):
        _merge_errors(errors, holiday_date_taken(date))
    if errors:
        raise ValidationError(errors)

    for holiday in removed:
        if (row := stored.get(holiday.pk)) is None:
            continue  # removed meanwhile by someone else: nothing left to remove
        holiday.date, holiday.name = row.date, row.name  # as stored, not as a form may have retyped them
        row.delete()
        record_audit(kind=CalendarAuditKind.HOLIDAY_REMOVED, actor=actor, subject=locked,
                     payload={"date": holiday.date.isoformat(), "name": holiday.name})
    moving = [row for _holiday, row, fields in changes if fields.get("date", row.date) != row.date]
    if len(moving) > 1:
        # The unique constraint is checked row by row (SQLite cannot defer it): a holiday moved
        # onto the date of another that moves away later in the loop would be refused. Each
        # first waits on a date no holiday is on; then each takes its own.
        for row, date in zip(moving, _unused_dates(locked, len(moving)), strict=True):
            Holiday.objects.filter(pk=row.pk).update(date=date)
    for holiday, row, fields in changes:
        _write_holiday_change(row, fields, actor=actor)  # `row` still holds its old date: the audit's "before"
        holiday.date, holiday.name = row.date, row.name
    new = []
    for fields in additions:
        holiday = Holiday(calendar=locked, **fields)
        _save_holiday(holiday)
        record_audit(kind=CalendarAuditKind.HOLIDAY_ADDED, actor=actor, subject=locked,
                     payload={"date": holiday.date.isoformat(), "name": holiday.name})
        new.append(holiday)
    return new
