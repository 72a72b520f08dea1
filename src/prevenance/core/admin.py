from django.contrib import admin

from prevenance.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "actor", "subject_type", "subject_id")
    list_filter = ("kind",)
    readonly_fields = ("kind", "actor", "subject_type", "subject_id", "payload", "occurred_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
