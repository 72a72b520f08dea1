from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RefuseDeletionMixin, admin.ModelAdmin):
    list_display = ("name", "time_zone", "updated_at")
    search_fields = ("name",)
    inlines = (OpeningPeriodInline, HolidayInline)

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
