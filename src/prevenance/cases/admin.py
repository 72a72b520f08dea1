from django.contrib import admin

from prevenance.cases.models import (
    Attachment,
    Case,
    CaseCounter,
    DelegationLimit,
    Gesture,
    Message,
    RootCause,
    SLAEvent,
    SLAPolicy,
    Tag,
    Team,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services (threads, counters): shown, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
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


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    """The most specific active policy applies to a new case (docs/cases.md); changing one does
    not move the due times already stored on open cases."""

    list_display = ("name", "active", "case_type", "priority", "customer_tier", "first_response_target", "resolution_target", "calendar")
    list_filter = ("active", "case_type", "priority")
    search_fields = ("name",)


@admin.register(SLAEvent)
class SLAEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "due_at", "notified_at")
    list_filter = ("kind",)
    search_fields = ("case__reference",)
    raw_id_fields = ("case",)
    show_full_result_count = False
