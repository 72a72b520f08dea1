"""Admin pages for the case settings (one row) and the trust-without-proof thresholds (imported
by admin.py); saved through their services (cases/services/case_settings.py), audit rows included."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from prevenance.cases.models import CaseSettings, TrustThreshold
from prevenance.cases.services.case_settings import (
    remove_trust_threshold,
    set_trust_threshold,
    update_case_settings,
)


@admin.register(CaseSettings)
class CaseSettingsAdmin(admin.ModelAdmin):
    """One row: the list opens it, it is never added or deleted."""

    fields = ("reopen_days", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row, _created = CaseSettings.objects.get_or_create(pk=CaseSettings.SINGLETON_ID)
        return HttpResponseRedirect(reverse("admin:cases_casesettings_change", args=[row.pk]))

    def save_model(self, request, obj, form, change) -> None:
        update_case_settings(actor=request.user, reopen_days=form.cleaned_data["reopen_days"])

    def response_change(self, request, obj):
        # Back to the admin's index: the list of one row would only open this page again.
        response = super().response_change(request, obj)
        if "_continue" not in request.POST:
            return HttpResponseRedirect(reverse("admin:app_list", args=[obj._meta.app_label]))
        return response


@admin.register(TrustThreshold)
class TrustThresholdAdmin(admin.ModelAdmin):
    """Gestures up to the amount, in its currency, are made without asking for proof. No row for
    a currency: proof is always asked."""

    list_display = ("currency", "max_amount")
    ordering = ("currency",)

    def get_readonly_fields(self, request, obj=None):
        # A row is one currency's: another currency is another row (added), not this one renamed.
        return ("currency",) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        saved = set_trust_threshold(actor=request.user, currency=obj.currency, max_amount=obj.max_amount)
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        remove_trust_threshold(actor=request.user, threshold=obj)

    def delete_queryset(self, request, queryset) -> None:
        for threshold in queryset:
            remove_trust_threshold(actor=request.user, threshold=threshold)
