import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.core.calendars.services import (
    calendar_in_use,
    clean_calendar_name,
    create_business_calendar,
    delete_business_calendar,
    holiday_date_taken,
    holidays_taken,
    save_holidays,
    update_business_calendar,
)
from prevenance.core.calendars.spec import clean_periods
from prevenance.core.models import (
    AuditEvent,
    BusinessCalendar,
    Holiday,
    OpeningPeriod,
    TaskEffect,
    UserPreferences,
)
from prevenance.core.permission_labels import PermissionPickersMixin
from prevenance.core.preferences.services import set_user_language
from prevenance.core.roles import ROLE_LABELS
from prevenance.core.webhooks import admin as webhooks_admin  # noqa: F401 - registers endpoints and the delivery log


class RefuseDeletionMixin:
    """For a ModelAdmin whose objects may be in a state that forbids deleting them: what
    `deletion_refusal(obj)` says (None: deletable) is listed as "protected" on the confirmation
    page and the bulk delete action's, shown as an error, and nothing is deleted."""

    def deletion_refusal(self, obj) -> str | None:
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        reasons = [reason for reason in map(self.deletion_refusal, objs) if reason]
        for reason in reasons:
            self.message_user(request, reason, messages.ERROR)
        return deleted, model_count, perms_needed, [*protected, *reasons]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "actor", "subject_type", "subject_id")
    list_filter = ("kind",)
    readonly_fields = ("kind", "actor", "subject_type", "subject_id", "payload", "occurred_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OpeningPeriodFormSet(forms.BaseInlineFormSet):
    """Refuse overlapping periods in the admin with the very rule the services apply."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # each bad row already shows its own error
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            clean_periods((data["weekday"], data["start_time"], data["end_time"]) for data in kept)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["periods"]) from exc
        if not kept and self.instance.pk is not None and calendar_in_use(self.instance):
            # As update_business_calendar refuses it: SLA clocks on it would run around the clock.
            raise ValidationError(_("This calendar is used by a team or an SLA policy: it needs at least one opening period."))


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    formset = OpeningPeriodFormSet
    extra = 0


class HolidayFormSet(forms.BaseInlineFormSet):
    """The holidays as the save leaves them, checked whole (one a date) rather than row by row:
    rows may swap dates, rotate, or take a date a row deleted or moved on the page frees. A row
    added or moved onto a date another row of the page ends on is refused on its date; so is
    one on a date the calendar has a holiday on that is not on this page (added since the page
    was opened, by someone else or in another tab), as the services word it."""

    def validate_unique(self) -> None:
        # Instead of Django's check among the forms, which names no row's field.
        ending: dict[dt.date, list[forms.Form]] = {}
        for form in self.forms:
            if form.is_valid() and form.cleaned_data and form not in self.deleted_forms:
                ending.setdefault(form.cleaned_data["date"], []).append(form)
        for date, rows in ending.items():
            if len(rows) < 2:
                continue
            # The rows that came onto the date, not one that keeps it (all, if none did).
            for form in [form for form in rows if "date" in form.changed_data] or rows:
                form.add_error("date", _("Another holiday on this page is on %(date)s too: a calendar has one "
                                         "holiday a date.") % {"date": date.isoformat()})

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        kept = [form for form in self.forms
                if form.has_changed() and form.cleaned_data and not form.cleaned_data.get("DELETE")]
        on_page = [form.instance.pk for form in self.initial_forms if form.instance.pk is not None]
        taken = holidays_taken(self.instance, [form.cleaned_data["date"] for form in kept], besides=on_page)
        for form in kept:
            if (date := form.cleaned_data["date"]) in taken:
                form.add_error("date", holiday_date_taken(date).messages)


class HolidayInline(admin.TabularInline):
    """Newest first: the coming holidays on top, the past ones below, kept as the history the
    SLA clocks ran on (docs/calendars.md)."""

    model = Holiday
    formset = HolidayFormSet
    extra = 0
    ordering = ("-date",)


def local_today(calendar: BusinessCalendar) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(calendar.time_zone)).date()


def past_holiday_warnings(calendar: BusinessCalendar, formset) -> list[str]:
    """What to tell about the holidays just saved that fall on a day already past in the
    calendar's zone: one entered there is most often a wrong year, and one deleted there
    changes the business time later recalculations count for the cases open since."""
    today = local_today(calendar)
    entered = [*formset.new_objects, *(holiday for holiday, fields in formset.changed_objects if "date" in fields)]
    warnings = [
        _("The holiday “%(name)s” on %(date)s is a day already past: check the year. Due times already "
          "computed do not move; for a closure that really happened, recalculate the due times of the open "
          "cases on this calendar.") % {"name": holiday.name, "date": date_format(holiday.date)}
        for holiday in entered if holiday.date < today
    ]
    warnings += [
        _("The holiday “%(name)s” on %(date)s was a day already past: due times recalculated from now on count "
          "it as open for the cases open since. Past holidays are best kept.") % {
            "name": holiday.name, "date": date_format(holiday.date)}
        for holiday in formset.deleted_objects if holiday.date < today
    ]
    return warnings


def holiday_days_touched(formset) -> set[dt.date]:
    """The days on which the holiday inline just saved opened or closed the calendar: the dates
    of the holidays added and removed, the old and new dates of those moved. The old dates are
    the ones stored when the page was sent (its forms' initial values)."""
    stored = {form.instance.pk: form.initial.get("date") for form in formset.initial_forms}
    moved = [holiday for holiday, fields in formset.changed_objects if "date" in fields]
    days = {holiday.date for holiday in [*formset.new_objects, *moved]}
    days |= {stored.get(holiday.pk) or holiday.date for holiday in [*formset.deleted_objects, *moved]}
    return days


def days_touched(form, formsets) -> tuple[dt.date, dt.date] | None:
    """The first and the last local day whose open time the save changed, for the cases app to
    count only the open cases whose clocks ran or run over them; None when it is every day (new
    opening hours or a new zone: every due time counts differently)."""
    if "time_zone" in form.changed_data or any(formset.model is not Holiday for formset in formsets):
        return None
    days = {day for formset in formsets for day in holiday_days_touched(formset)}
    return min(days), max(days)


def moves_clocks(formset) -> bool:
    """Whether the inline just saved changed when the calendar is open: a period added, changed
    or removed, a holiday added, moved or removed (renaming one changes nothing)."""
    if formset.model is Holiday:
        return bool(formset.new_objects or formset.deleted_objects
                    or any("date" in fields for _holiday, fields in formset.changed_objects))
    return bool(formset.new_objects or formset.changed_objects or formset.deleted_objects)


class RefusedWhileSaving(Exception):
    """A service refused a write once the page had passed its checks: another person's change
    reached the database in between (a holiday on the same date). Raised through the admin's
    transaction, which rolls back with it: nothing of the page is written."""


@contextmanager
def refusals_roll_back() -> Iterator[None]:
    try:
        yield
    except ValidationError as refused:
        raise RefusedWhileSaving(" ".join(refused.messages)) from refused


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone"]

    def clean_name(self) -> str:
        # As the services store it ("Paris  office" is "Paris office"): a name another calendar
        # has is refused here, on the field, rather than by the service once saving.
        try:
            return clean_calendar_name(self.cleaned_data.get("name"), calendar=self.instance)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["name"]) from None


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RefuseDeletionMixin, admin.ModelAdmin):
    """Saved through the calendar services (core/calendars/services.py): every change to the
    calendar, its opening periods or its holidays leaves an audit row naming who made it and
    what changed; a new calendar is created with the page's periods and holidays in one call.
    A service's refusal once the page passed its checks (someone else's change in between) rolls
    the whole save back and shows the page again. The cases app adds the recalculation of its
    open cases' due times (cases/admin_calendars.py)."""

    form = BusinessCalendarForm
    list_display = ("name", "time_zone", "next_holiday", "updated_at")
    search_fields = ("name",)
    inlines = (OpeningPeriodInline, HolidayInline)

    @admin.display(description=gettext_lazy("next holiday"))
    def next_holiday(self, calendar: BusinessCalendar) -> str:
        # Holidays are entered year by year: "none ahead" says this calendar's have run out.
        holiday = calendar.holidays.filter(date__gte=local_today(calendar)).order_by("date").first()
        return f"{date_format(holiday.date)} {holiday.name}" if holiday else _("none ahead")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RefusedWhileSaving:
            pass  # rolled back: the page again, its checks now seeing what the other change wrote
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RefusedWhileSaving as refused:
            # Changed again meanwhile, or a refusal the page's checks do not foresee.
            self.message_user(request, _("Nothing was saved: %(reasons)s The page now shows the calendar as it is.") % {
                "reasons": refused}, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            return  # created in save_related, with its periods and holidays: one service call, one audit row
        fields = {field: form.cleaned_data[field] for field in ("name", "time_zone") if field in form.changed_data}
        if fields:
            with refusals_roll_back():
                update_business_calendar(calendar=obj, actor=request.user, **fields)

    def save_related(self, request, form, formsets, change) -> None:
        with refusals_roll_back():
            if change:
                super().save_related(request, form, formsets, change)
            else:
                self._create_calendar(request, form, formsets)
        for formset in formsets:
            if formset.model is Holiday:
                for warning in past_holiday_warnings(form.instance, formset):
                    self.message_user(request, warning, messages.WARNING)
        moved = [formset for formset in formsets if moves_clocks(formset)]
        if change and ("time_zone" in form.changed_data or moved):
            self.opening_hours_changed(request, form.instance, days=days_touched(form, moved))

    @staticmethod
    def _create_calendar(request, form, formsets) -> None:
        for formset in formsets:
            formset.save(commit=False)  # lists the rows (the admin's change message reads them); writes nothing
        rows = {formset.model: formset.new_objects for formset in formsets}
        saved = create_business_calendar(
            name=form.cleaned_data["name"], time_zone=form.cleaned_data["time_zone"], actor=request.user,
            periods=[(period.weekday, period.start_time, period.end_time) for period in rows.get(OpeningPeriod, ())],
            holidays=[(holiday.date, holiday.name) for holiday in rows.get(Holiday, ())])
        obj = form.instance
        obj.pk, obj.name, obj.created_at, obj.updated_at = saved.pk, saved.name, saved.created_at, saved.updated_at
        obj._state.adding = False

    def save_formset(self, request, form, formset, change) -> None:
        # commit=False lists the new, changed and deleted rows (the admin's change message reads
        # them) and writes nothing: the services write, each with its audit row.
        formset.save(commit=False)
        calendar = form.instance
        if formset.model is OpeningPeriod:
            if moves_clocks(formset):
                kept = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
                update_business_calendar(calendar=calendar, actor=request.user,
                                         periods=[(row["weekday"], row["start_time"], row["end_time"]) for row in kept])
        elif formset.model is Holiday:
            self._save_holidays(request, calendar, formset)
        else:
            formset.save()

    @staticmethod
    def _save_holidays(request, calendar: BusinessCalendar, formset) -> None:
        # One call: the rows as the page leaves them are checked whole, so rows may swap dates.
        # It sets the removed rows as stored (a form may hold a date typed before ticking "Delete").
        added = save_holidays(
            calendar=calendar, actor=request.user, removed=formset.deleted_objects,
            changed=[(holiday, {field: getattr(holiday, field) for field in ("date", "name") if field in fields})
                     for holiday, fields in formset.changed_objects],
            added=[(holiday.date, holiday.name) for holiday in formset.new_objects])
        for holiday, saved in zip(formset.new_objects, added, strict=True):
            holiday.pk = saved.pk

    def opening_hours_changed(self, request, calendar: BusinessCalendar, *,
                              days: tuple[dt.date, dt.date] | None) -> None:
        """Called after a save that changed when `calendar` is open (its periods, holidays or
        zone); `days`, the first and last local day it changed (None: every day; days_touched).
        Due times already stored do not move by themselves: the cases app, whose SLA clocks run
        on calendars, says here how many open cases that concerns."""

    def deletion_refusal(self, calendar: BusinessCalendar) -> str | None:
        # As emptying it is refused: the SLA clocks of its teams and policies would run around the clock.
        if not calendar_in_use(calendar):
            return None
        return _("The calendar “%(name)s” is used by a team or an SLA policy: give them another calendar first.") % {
            "name": calendar.name}

    def delete_model(self, request, obj) -> None:
        with refusals_roll_back():
            delete_business_calendar(calendar=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        with refusals_roll_back():
            for calendar in queryset.order_by("pk"):
                delete_business_calendar(calendar=calendar, actor=request.user)

    # A team or a policy can take a calendar between the confirmation's check (deletion_refusal)
    # and the service's, made again under the calendar's lock: the refusal rolls the whole delete
    # back (the admin's log rows and every calendar of a bulk delete) and is shown, not a 500.

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except RefusedWhileSaving as refused:
            self.message_user(request, _("Nothing was deleted: %(reasons)s") % {"reasons": refused}, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:core_businesscalendar_change", args=[object_id]))

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        try:
            with transaction.atomic():  # Django's delete action logs, then deletes: both or neither
                return super().changelist_view(request, extra_context)
        except RefusedWhileSaving as refused:
            self.message_user(request, _("Nothing was deleted: %(reasons)s") % {"reasons": refused}, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(TaskEffect)
class TaskEffectAdmin(admin.ModelAdmin):
    """Read-only: whether a background effect (an email, a call-out) ran, and when."""

    list_display = ("key", "claimed_at", "done_at")
    search_fields = ("key",)
    readonly_fields = ("key", "claimed_at", "done_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class UserPreferencesInline(admin.TabularInline):
    """A user's language (docs/dashboard.md, "My language"), for an administrator to set it for
    someone: the pages at their next login, and the emails sent to them. Tabular: one row, with
    no "#1" heading over a preference not saved yet."""

    model = UserPreferences
    fields = ("language",)
    can_delete = False  # blank is "as the browser or the site says": nothing to delete
    max_num = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "language":  # the blank choice named, as on the user's own page
            formfield.choices = [("", _("As their browser says")), *(choice for choice in formfield.choices if choice[0])]
        return formfield


User = get_user_model()
# Django's own User and Group admins: the permissions pickers name each permission in the
# reader's language (permission_labels.py), and the user's preferences are below the user.
admin.site.unregister(User)
admin.site.unregister(Group)


def role_name(group: Group) -> str:
    """A role's group as people call it ("Supervisor", « Superviseur »); another group by its name."""
    return str(ROLE_LABELS.get(group.name, group.name))


@admin.register(Group)
class PrevenanceGroupAdmin(PermissionPickersMixin, GroupAdmin):
    # The four roles' groups are named by key ("supervisor"), which the code looks them up by.
    list_display = ("shown_name", "name")

    @admin.display(description=gettext_lazy("Role or group"), ordering="name")
    def shown_name(self, group: Group) -> str:
        return role_name(group)


@admin.register(User)
class PrevenanceUserAdmin(PermissionPickersMixin, UserAdmin):
    inlines = (*UserAdmin.inlines, UserPreferencesInline)

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups":
            formfield.label_from_instance = role_name
        return formfield

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not UserPreferences:
            super().save_formset(request, form, formset, change)
            return
        # commit=False lists what changed (the admin's change message reads it) and writes
        # nothing: the service writes, as the user's own page does.
        for preferences in formset.save(commit=False):
            set_user_language(user=form.instance, language=preferences.language)
