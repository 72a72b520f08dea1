from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from prevenance.api.models import ApiKey
from prevenance.api.services import revoke_api_key


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are made by their owner (shown once) and only ever revoked."""

    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke"])
    def revoke(self, request, queryset):
        for key in queryset:
            revoke_api_key(key=key, actor=request.user)
        count = queryset.count()
        self.message_user(
            request, ngettext("%(n)d key revoked.", "%(n)d keys revoked.", count) % {"n": count}, messages.SUCCESS
        )

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("api.change_apikey")
