"""Admin for webhook endpoints (with "send a test event") and the delivery log (with "retry now")."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from prevenance.core.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from prevenance.core.webhooks import destinations, services
from prevenance.core.webhooks.events import WebhookEvent

# Generated secrets are far longer (signing.new_webhook_secret): 43 random URL-safe characters.
MIN_SECRET_LENGTH = 24


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "active", "secret")

    def clean_secret(self) -> str:
        # Anyone who guesses the secret can sign events the integrator will trust.
        secret = self.cleaned_data["secret"].strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise forms.ValidationError(
                _("At least %(n)d characters: the receiver trusts whatever is signed with it. Leave the one "
                  "generated for you unless the receiver gives its own.") % {"n": MIN_SECRET_LENGTH}
            )
        return secret

    def clean_url(self) -> str:
        # http(s) only, and no internal address (SSRF); each call checks the address again.
        url = self.cleaned_data["url"]
        try:
            destinations.check_url(url)
        except destinations.RefusedDestination as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "active", "events", "delivery_log", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "url")
    actions = ["send_test_event"]

    @admin.display(description=_("delivery log"))
    def delivery_log(self, endpoint) -> str:
        url = reverse("admin:core_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("deliveries"))

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            services.send_test_event(endpoint=endpoint, actor=request.user)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("A test event was sent to %(count)d endpoint; see the delivery log.",
                     "A test event was sent to %(count)d endpoints; see the delivery log.", count) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, one row per event and endpoint."""

    list_display = ("created_at", "event", "endpoint", "status", "attempts", "response_code", "next_attempt_at", "delivered_at")
    list_filter = ("status", "event", "endpoint")
    search_fields = ("event_id",)
    readonly_fields = (
        "endpoint", "event", "event_id", "payload", "status", "attempts", "next_attempt_at", "queued_until", "last_attempt_at",
        "attempt_started_at", "response_code", "error", "created_at", "delivered_at",
    )
    actions = ["retry_now"]
    list_select_related = ("endpoint",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("core.change_webhookendpoint")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        retried = running = 0
        for delivery in queryset.exclude(status=WebhookDeliveryStatus.SUCCEEDED):
            if services.retry_now(delivery=delivery):
                retried += 1
            else:
                running += 1
        self.message_user(
            request,
            ngettext("%(count)d delivery retried.", "%(count)d deliveries retried.", retried) % {"count": retried},
            messages.SUCCESS,
        )
        if running:
            self.message_user(
                request,
                ngettext("%(count)d delivery is being attempted right now: retry it once the attempt ends.",
                         "%(count)d deliveries are being attempted right now: retry them once the attempts end.", running)
                % {"count": running},
                messages.WARNING,
            )
