from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from prevenance.customers.services import confirm_consent as confirm_consent_service
from prevenance.web.selectors import consent_request_language, dashboard_stats, recent_interactions


@login_required
@require_GET
def home(request):
    # A user without a role still lands somewhere: the page says what they may not see.
    stats = dashboard_stats(request.user) if request.user.has_perm("customers.view_customer") else None
    recent = recent_interactions(request.user) if request.user.has_perm("interactions.view_interaction") else []
    return render(request, "web/home.html", {"stats": stats, "recent": recent})


@require_GET
def confirm_consent(request, token: str):
    """Public page behind the link in the double opt-in email, in the customer's language."""
    language = consent_request_language(token) or translation.get_language()
    with translation.override(language):
        try:
            event = confirm_consent_service(token=token)
            context, status = {"ok": True, "event": event}, 200
        except ValidationError as exc:
            context, status = {"ok": False, "message": exc.messages[0]}, 400
        response = render(request, "web/confirm_consent.html", context, status=status)
    response["Content-Language"] = language
    return response
