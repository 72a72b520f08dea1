from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render

from prevenance.customers.services import confirm_consent as confirm_consent_service


@login_required
def home(request):
    return HttpResponse("Prévenance")


def confirm_consent(request, token: str):
    """Placeholder page replaced by the web UI work: appends the double opt-in grant."""
    try:
        confirm_consent_service(token=token)
        ok = True
    except ValidationError:
        ok = False
    return render(request, "web/confirm_consent.html", {"ok": ok}, status=200 if ok else 400)
