import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.core.calendars.services import calendar_in_use
from prevenance.core.calendars.spec import clean_periods
from prevenance.core.models import AuditEvent, BusinessCalendar, Holiday, OpeningPeriod, TaskEffect
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


class HolidayInline(admin.TabularInline):
    """Newest first: the coming holidays on top, the past ones below, kept as the history the
    SLA clocks ran on (docs/calendars.md)."""

    model = Holiday
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
          "computed do not move; for a closure that really happened, recalculate the due times of the SLA "
          "policies on this calendar.") % {"name": holiday.name, "date": date_format(holiday.date)}
        for holiday in entered if holiday.date < today
    ]
    warnings += [
        _("The holiday “%(name)s” on %(date)s was a day already past: due times recalculated from now on count "
          "it as open for the cases open since. Past holidays are best kept.") % {
            "name": holiday.name, "date": date_format(holiday.date)}
        for holiday in formset.deleted_objects if holiday.date < today
    ]
    return warnings


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RefuseDeletionMixin, admin.ModelAdmin):
    list_display = ("name", "time_zone", "next_holiday", "updated_at")
    search_fields = ("name",)
    inlines = (OpeningPeriodInline, HolidayInline)

    @admin.display(description=gettext_lazy("next holiday"))
    def next_holiday(self, calendar: BusinessCalendar) -> str:
        # Holidays are entered year by year: "none ahead" says this calendar's have run out.
        holiday = calendar.holidays.filter(date__gte=local_today(calendar)).order_by("date").first()
        return f"{date_format(holiday.date)} {holiday.name}" if holiday else _("none ahead")

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Holiday:
            for warning in past_holiday_warnings(form.instance, formset):
                self.message_user(request, warning, messages.WARNING)

    def deletion_refusal(self, calendar: BusinessCalendar) -> str | None:
        # As emptying it is refused: the SLA clocks of its teams and policies would run around the clock.
        if not calendar_in_use(calendar):
            return None
        return _("The calendar “%(name)s” is used by a team or an SLA policy: give them another calendar first.") % {
            "name": calendar.name}


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
