"""The blocked senders list in the admin: see who is blocked, since when, from which case, and
unblock (delete) them; blocking is done on the case page ("Mark as spam"). Unblocking goes
through the service (cases/services/spam.py), which audits it."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from prevenance.cases.models import BlockedSender
from prevenance.cases.services.spam import unblock_sender
from prevenance.customers.normalize import display_email


@admin.register(BlockedSender)
class BlockedSenderAdmin(admin.ModelAdmin):
    list_display = ("shown_address", "blocked_at", "blocked_by", "case_link")
    search_fields = ("address", "from_case__reference")
    list_select_related = ("blocked_by", "from_case")
    readonly_fields = ("address", "blocked_at", "blocked_by", "case_link")
    fields = readonly_fields
    ordering = ("-blocked_at", "-id")
    actions = ["delete_selected"]

    @admin.display(description=_("address"), ordering="address")
    def shown_address(self, obj: BlockedSender) -> str:
        return display_email(obj.address)

    @admin.display(description=_("from case"))
    def case_link(self, obj: BlockedSender):
        if obj.from_case_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("cases:case", kwargs={"case_id": obj.from_case_id}), obj.from_case.reference)

    def get_search_results(self, request, queryset, search_term):
        # The address as stored (lower case): "Spam@Example.com" finds spam@example.com.
        return super().get_search_results(request, queryset, search_term.strip().lower())

    def has_add_permission(self, request) -> bool:
        return False  # blocked from the case page, where the reason (the case) is known

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        unblock_sender(address=obj.address, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for row in queryset:
            unblock_sender(address=row.address, actor=request.user)
