from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from prevenance.core.currencies import money_column
from prevenance.customers.models import (
    ConsentEvent,
    ConsentWording,
    Customer,
    Identity,
    IdentityConflict,
    Order,
)


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("kind", "value", "normalized", "network", "verified", "source_channel", "first_seen_at", "last_seen_at")
    readonly_fields = ("normalized", "first_seen_at", "last_seen_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "display_name", "kind", "language", "city", "country", "lifecycle_state", "created_at")
    list_filter = ("kind", "language", "lifecycle_state", "country")
    search_fields = ("sort_key", "alt_key", "identities__normalized")
    readonly_fields = ("merged_into", "merged_at", "erased_at", "created_at", "updated_at")
    inlines = [IdentityInline]
    show_full_result_count = False


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("normalized", "kind", "customer", "verified", "source_channel", "last_seen_at")
    list_filter = ("kind", "verified", "source_channel")
    search_fields = ("normalized",)
    raw_id_fields = ("customer",)
    readonly_fields = ("normalized",)
    show_full_result_count = False


@admin.register(ConsentWording)
class ConsentWordingAdmin(admin.ModelAdmin):
    list_display = ("purpose", "language", "version", "created_at")
    list_filter = ("purpose", "language")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a wording the ledger points at must never change; add a new version


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    """Read-only: the ledger is written by the consent services, never edited."""

    list_display = ("customer", "purpose", "action", "method", "channel", "occurred_at")
    list_filter = ("purpose", "action", "method", "channel")
    raw_id_fields = ("customer",)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "customer", "ordered_at", money_column("amount", _("amount")), "currency", "channel", "status")
    list_filter = ("channel", "status", "currency")
    search_fields = ("reference",)
    raw_id_fields = ("customer",)
    date_hierarchy = "ordered_at"
    show_full_result_count = False


@admin.register(IdentityConflict)
class IdentityConflictAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_a", "customer_b", "status", "channel", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("customer_a", "customer_b", "resolved_by")
