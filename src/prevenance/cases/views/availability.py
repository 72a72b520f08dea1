"""/cases/me/availability/: an agent says whether routing gives them new cases now, and their caps."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from prevenance.cases.selectors import VIEW_CASE, agent_settings
from prevenance.cases.services import set_agent_settings
from prevenance.core.forms import ServiceErrorsMixin

CAP_HELP = gettext_lazy("Empty: no cap. At the cap, routing gives you no new case; the ones you have stay yours.")


class AvailabilityForm(ServiceErrorsMixin, forms.Form):
    available = forms.BooleanField(label=gettext_lazy("Available for new cases"), required=False,
                                   help_text=gettext_lazy("Untick it when you step away: your cases stay yours, new ones go to others."))
    max_open_cases = forms.IntegerField(label=gettext_lazy("Most open cases at once"), required=False, min_value=0, max_value=10_000,
                                        help_text=CAP_HELP)
    max_chats = forms.IntegerField(label=gettext_lazy("Most live chats at once"), required=False, min_value=0, max_value=1_000,
                                   help_text=gettext_lazy("Empty: no cap. At the cap, routing gives you no new live chat."))


@login_required
@require_http_methods(["GET", "POST"])
def my_availability(request):
    if not request.user.has_perm(VIEW_CASE):
        raise PermissionDenied
    current = agent_settings(request.user)
    if request.method == "POST":
        form = AvailabilityForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                set_agent_settings(user=request.user, available=data["available"], max_open_cases=data["max_open_cases"],
                                   max_chats=data["max_chats"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Your availability is saved."))
                return redirect("cases:my_availability")
    else:
        form = AvailabilityForm(initial={
            "available": current.available, "max_open_cases": current.max_open_cases, "max_chats": current.max_chats,
        })
    return render(request, "cases/availability.html", {"form": form, "current": current},
                  status=400 if form.is_bound else 200)
