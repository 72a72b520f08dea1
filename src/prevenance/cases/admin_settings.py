"""Admin pages for the case settings (one row), the trust-without-proof thresholds and the
priority score's figures (one row; imported by admin.py); saved through their services
(cases/services/case_settings.py), audit rows included."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from prevenance.cases.models import CaseSettings, PrioritySettings, TrustThreshold
from prevenance.cases.selectors.case_settings import cases_to_rescore
from prevenance.cases.services import priority as priority_services
from prevenance.cases.services.case_settings import (
    remove_trust_threshold,
    set_trust_threshold,
    update_case_settings,
    update_priority_settings,
)
from prevenance.core.admin import RefusedWhileSaving, refusals_roll_back
from prevenance.core.choices import Channel
from prevenance.core.currencies import money_column


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

    list_display = ("currency", money_column("max_amount", gettext_lazy("largest gesture without proof")))
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


class _ShownChoices(forms.MultipleHiddenInput):
    """The choices a page showed, hidden: none is sent as one empty value rather than nothing,
    else the page shown again for an error would take the boxes ticked since for what it showed."""

    def format_value(self, value):
        return [choice for choice in super().format_value(value) if choice] or [""]


class _ChannelsField(forms.MultipleChoiceField):
    hidden_widget = _ShownChoices

    def to_python(self, value) -> list[str]:
        return [choice for choice in super().to_python(value) if choice]


class PrioritySettingsForm(forms.ModelForm):
    public_channels = _ChannelsField(
        label=gettext_lazy("Public channels"), choices=Channel.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=PrioritySettings._meta.get_field("public_channels").help_text,
    )

    class Meta:
        model = PrioritySettings
        fields = PrioritySettings.FIGURES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The page sends each figure as it showed it too: what it changed is then told apart
        # from what another administrator saved since it was opened (PrioritySettingsAdmin.save_model).
        for field in self.fields.values():
            field.show_hidden_initial = True


def _steps(prefix: str, limit: str) -> tuple:
    return tuple((f"{prefix}_step{number}_{limit}", f"{prefix}_step{number}_points") for number in (1, 2, 3))


@admin.register(PrioritySettings)
class PrioritySettingsAdmin(admin.ModelAdmin):
    """One row, as the case settings: the list opens it, it is never added or deleted. Each
    group of figures says, in the reader's words, what the rule does with them."""

    form = PrioritySettingsForm
    change_form_template = "admin/cases/prioritysettings/change_form.html"
    readonly_fields = ("updated_at",)
    fieldsets = (
        (gettext_lazy("Customer value"), {
            "description": gettext_lazy(
                "The customer's orders of the last 12 months, in the currency below, are added up (cancelled and "
                "returned orders left out). From the first step's amount the case gets the first step's points, "
                "from the second step's the second step's points, and so on: only the highest step reached counts. "
                "Give a step 0 points to leave it out."),
            "fields": ("currency", *_steps("value", "amount")),
        }),
        (gettext_lazy("Customer and case type"), {
            "description": gettext_lazy("Points for a VIP customer, and for the type of the case."),
            "fields": ("vip_points", ("complaint_points", "incident_points", "request_points", "question_points")),
        }),
        (gettext_lazy("Public channels"), {
            "description": gettext_lazy(
                "A customer who writes where everyone can read them (a social network, a forum) should get a fast "
                "answer: a case from one of the ticked channels gets these points."),
            "fields": ("public_channels", "public_points"),
        }),
        (gettext_lazy("Tone of the message"), {
            "description": gettext_lazy(
                "The subject and the first message are read for negative and positive words, in French and English "
                "(“pas content” and “not happy” are negative). Each unit of negative tone adds points, up to the "
                "maximum; a clearly positive message takes points away, up to its own maximum."),
            "fields": (("negative_points_per_unit", "negative_max"), ("positive_points_per_unit", "positive_max"),
                       "exclamation_points", "capitals_points"),
        }),
        (gettext_lazy("Threats"), {
            "description": gettext_lazy(
                "A customer who says they will leave, or take legal action, gets these points (a threat denied, "
                "“je ne veux pas résilier”, is none)."),
            "fields": ("churn_points", "legal_points"),
        }),
        (gettext_lazy("Waiting time and SLA"), {
            "description": gettext_lazy(
                "Points for a case waiting since it was opened: from the first step's number of days the first "
                "step's points, and so on; only the highest step reached counts. And points when the SLA due time "
                "is near or past. Open cases get these every 5 minutes."),
            "fields": (*_steps("age", "days"), ("sla_near_points", "sla_breached_points")),
        }),
        (gettext_lazy("Levels"), {
            "description": gettext_lazy(
                "The score is the sum of the points above. A case is urgent from the urgent score, high from the "
                "high score, normal from the normal score, and low below it. A level a person chose, or an SLA "
                "breach raised, is never lowered by the score."),
            "fields": (("urgent_threshold", "high_threshold", "normal_threshold"), "updated_at"),
        }),
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_rescore"
        return [path("rescore/", self.admin_site.admin_view(self.rescore_view), name=name), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row, _created = PrioritySettings.objects.get_or_create(pk=PrioritySettings.SINGLETON_ID)
        return HttpResponseRedirect(reverse("admin:cases_prioritysettings_change", args=[row.pk]))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RefusedWhileSaving as refused:  # rolled back: nothing of the page is written
            self.message_user(request, _("Nothing was saved: %(reasons)s The page now shows the figures as they are, "
                                         "with the changes saved meanwhile.") % {"reasons": refused}, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        # Only the figures this page changed: another administrator's save since it was opened
        # keeps theirs. Together they may no longer hold (steps that rise, levels in order): the
        # service refuses them and the page is shown again as the figures are.
        with refusals_roll_back():
            update_priority_settings(actor=request.user, **{
                name: form.cleaned_data[name] for name in form.changed_data if name in PrioritySettings.FIGURES})
        if form.changed_data:
            self._offer_rescore(request)

    def response_change(self, request, obj):
        # Back to the admin's index, as the case settings: the list of one row would only open this page again.
        response = super().response_change(request, obj)
        if "_continue" not in request.POST:
            return HttpResponseRedirect(reverse("admin:app_list", args=[obj._meta.app_label]))
        return response

    def _offer_rescore(self, request) -> None:
        if not (count := cases_to_rescore()):
            return
        text = ngettext(
            "%(count)d open case keeps the score it was given with the previous figures.",
            "%(count)d open cases keep the score they were given with the previous figures.", count) % {"count": count}
        url = reverse("admin:cases_prioritysettings_rescore")
        self.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, _("Score them again")),
                          messages.WARNING)

    def rescore_view(self, request):
        """GET: how many open cases would be scored again, and a button; POST: queue it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            count = priority_services.request_rescore(actor=request.user)
            if count:
                text = ngettext(
                    "The %(count)d open case is being scored again with the figures as they are now.",
                    "The %(count)d open cases are being scored again with the figures as they are now.",
                    count) % {"count": count}
            else:
                text = _("There is no open case to score again.")
            self.message_user(request, text, messages.SUCCESS if count else messages.INFO)
            return HttpResponseRedirect(reverse("admin:cases_prioritysettings_change", args=[PrioritySettings.SINGLETON_ID]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "count": cases_to_rescore(), "settings_id": PrioritySettings.SINGLETON_ID,
            "title": _("Score the open cases again"),
        }
        return TemplateResponse(request, "admin/cases/rescore_open_cases.html", context)
