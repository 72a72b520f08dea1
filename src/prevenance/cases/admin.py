from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from prevenance.cases import admin_templates  # noqa: F401 - registers templates, signatures, surveys
from prevenance.cases import tasks as case_tasks
from prevenance.cases.models import (
    AgentProfile,
    Attachment,
    Case,
    CaseCounter,
    ChannelCost,
    DelegationLimit,
    Gesture,
    Message,
    RootCause,
    RoutingRule,
    Skill,
    SLAEvent,
    SLAPolicy,
    Tag,
    Team,
)
from prevenance.cases.services import sla_policies
from prevenance.core.calendars import require_opening_hours
from prevenance.core.queue import enqueue_on_commit


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services (threads, counters): shown, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TeamForm(forms.ModelForm):
    def clean_calendar(self):
        calendar = self.cleaned_data.get("calendar")
        if calendar is not None:
            try:
                require_opening_hours(calendar)  # as an SLA policy's (services/sla_policies.py)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["calendar"]) from exc
        return calendar


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "calendar")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "active")
    list_filter = ("active",)
    search_fields = ("name",)


@admin.register(CaseCounter)
class CaseCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "kind", "channel", "author", "sender_address", "body_text")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Labels (subject, type, priority, tags, root cause) are edited here; the workflow,
    assignment, merge and thread change only through the services, which check them."""

    list_display = ("reference", "subject", "customer", "type", "status", "priority", "team", "assignee", "created_at")
    list_filter = ("status", "type", "priority", "channel", "team")
    search_fields = ("reference", "subject")
    show_full_result_count = False
    fields = (
        "reference", "customer", "subject", "type", "priority", "tags", "root_cause", "channel", "status", "team",
        "assignee", "order", "merged_into", "reopened_from", "split_from", "reopen_count", "created_at",
        "first_response_at", "last_customer_message_at", "resolved_at", "closed_at",
    )
    readonly_fields = tuple(f for f in fields if f not in ("subject", "type", "priority", "tags", "root_cause"))
    autocomplete_fields = ("tags",)
    raw_id_fields = ("root_cause",)
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "channel", "author", "sender_address")
    list_filter = ("kind", "channel")
    search_fields = ("case__reference", "message_id")
    raw_id_fields = ("case",)
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("filename", "content_type", "size", "message")
    search_fields = ("filename",)


@admin.register(DelegationLimit)
class DelegationLimitAdmin(admin.ModelAdmin):
    """Per group (a role, or e.g. a "senior agent" group) or per user; a user's limit is the
    highest that applies to them. Set 0 rather than deleting a default: missing defaults are
    created again after the next migrate."""

    list_display = ("group", "user", "currency", "max_amount")
    list_filter = ("currency", "group")
    raw_id_fields = ("user",)


@admin.register(Gesture)
class GestureAdmin(ReadOnlyAdmin):
    """Gestures are decided through the services (limits, four eyes, audit), never edited here."""

    list_display = ("created_at", "case", "type", "amount", "currency", "status", "without_proof", "requested_by", "decided_by")
    list_filter = ("status", "type", "currency", "without_proof")
    search_fields = ("case__reference", "voucher_code")
    raw_id_fields = ("case", "customer")
    show_full_result_count = False


# Changing these moves the due times of the open cases on the policy (docs/cases.md).
SLA_TIMING_FIELDS = frozenset({"first_response_target", "resolution_target", "calendar"})  # as services.sla_policies.TIMING_FIELDS


class SLAPolicyForm(forms.ModelForm):
    """The API's rules (targets up to MAX_TARGET, a calendar with opening hours...), not a copy."""

    def clean(self):
        cleaned = super().clean()
        for field, errors in sla_policies.policy_errors(cleaned).items():
            if field in cleaned:  # a field that failed its own validation already shows why
                self.add_error(field, errors)
        return cleaned


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    """The most specific active policy applies to a new case (docs/cases.md). Saving new targets
    or a new calendar recalculates the due times of its open cases not yet breached, after
    commit; the action also moves those already breached."""

    form = SLAPolicyForm

    list_display = ("name", "active", "case_type", "priority", "customer_tier", "first_response_target", "resolution_target", "calendar")
    list_filter = ("active", "case_type", "priority")
    search_fields = ("name",)
    actions = ["recalculate_due_times"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and SLA_TIMING_FIELDS & set(form.changed_data):
            enqueue_on_commit(case_tasks.recalculate_due_times, obj.pk)

    @admin.action(description=_("Recalculate the due times of open cases (breached ones included)"), permissions=["change"])
    def recalculate_due_times(self, request, queryset) -> None:
        for policy in queryset:
            enqueue_on_commit(case_tasks.recalculate_due_times, policy.pk, True)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "The due times of %(count)d policy's open cases are being recalculated.",
                "The due times of %(count)d policies' open cases are being recalculated.", count,
            ) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(SLAEvent)
class SLAEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "due_at", "notified_at")
    list_filter = ("kind",)
    search_fields = ("case__reference",)
    raw_id_fields = ("case",)
    show_full_result_count = False


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Skills, availability and caps that routing reads (docs/routing-and-priority.md)."""

    list_display = ("user", "available", "max_open_cases", "max_chats")
    list_filter = ("available", "skills")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    filter_horizontal = ("skills",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The first active rule in position order that matches a new case names its team."""

    list_display = ("position", "name", "active", "channel", "case_type", "language", "team", "required_skill")
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("active", "channel", "case_type", "team")
    search_fields = ("name", "keywords")
    ordering = ("position", "id")


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ("channel", "unit_cost", "currency")
