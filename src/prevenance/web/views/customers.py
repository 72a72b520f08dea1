"""The customer pages: search, 360 view with its timeline, profile, consents, GDPR."""


from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prevenance.cases.selectors.case_page import customer_cases
from prevenance.cases.selectors.customer_history import (
    customer_gestures,
    customer_survey_answers,
    hidden_customer_cases,
)
from prevenance.core.choices import Channel
from prevenance.core.htmx import render_page_or_fragment
from prevenance.core.pagination import InvalidCursor
from prevenance.customers.choices import ConsentPurpose
from prevenance.customers.downloads import customer_archive_response
from prevenance.customers.selectors import (
    access_customer,
    consent_history,
    consent_states,
    customer_identities,
    customer_orders,
    customer_since,
    qualification,
    search_customers,
)
from prevenance.customers.services import (
    clear_bounce_by_hand,
    erase_customer,
    grant_consent,
    update_customer,
    withdraw_consent,
)
from prevenance.interactions.selectors import customer_timeline
from prevenance.web.forms import ConsentForm, CustomerForm, EraseForm
from prevenance.web.selectors import current_wording

TIMELINE_PAGE = 20


@login_required
@require_GET
def customer_search(request):
    query = request.GET.get("q", "")
    results = search_customers(request.user, query, limit=25)
    context = {"query": query, "results": results}
    return render_page_or_fragment(request, "web/customer_search.html", "web/partials/search_results.html", context)


def _channels(request) -> list[str]:
    return [c for c in request.GET.getlist("channel") if c in Channel.values]


def _wordings(customer) -> dict:
    return {p: current_wording(p, customer.language) for p in ConsentPurpose.values}


CASES_SHOWN = 20


def _detail_context(request, customer, *, consent_form=None) -> dict:
    user = request.user
    context = {
        "customer": customer,
        "qualification": qualification(customer),
        "customer_since": customer_since(customer),
        "identities": customer_identities(customer) if user.has_perm("customers.view_identity") else None,
        "orders": customer_orders(customer) if user.has_perm("customers.view_order") else None,
        "channels": Channel.choices,
        "selected_channels": [],
    }
    if user.has_perm("customers.view_consentevent"):
        context["consents"] = list(consent_states(customer).values())
        context["consent_history"] = consent_history(customer)
        context["consent_form"] = consent_form or ConsentForm()
        context["wordings"] = _wordings(customer)
    if user.has_perm("interactions.view_interaction"):
        context["timeline"] = customer_timeline(customer, viewer=request.user, limit=TIMELINE_PAGE)
    if user.has_perm("cases.view_case"):
        context["cases"] = customer_cases(user, customer, limit=CASES_SHOWN)
        # How many of the customer's cases are another team's: the list (and the timeline, which
        # leaves out their messages) is not the whole story.
        context["hidden_cases"] = hidden_customer_cases(user, customer)
        # Answers about the cases the reader sees, as the cases' messages are.
        context["answers"] = customer_survey_answers(user, customer)
    if user.has_perm("cases.view_gesture"):
        context["gestures"] = customer_gestures(user, customer)
    return context


@login_required
@require_GET
def customer_detail(request, customer_id: int):
    customer = access_customer(request.user, customer_id)
    if customer.pk != customer_id:
        # A merged record's old link leads to the survivor.
        return redirect("web:customer", customer_id=customer.pk)
    return render(request, "web/customer_detail.html", _detail_context(request, customer))


@login_required
@require_GET
def customer_timeline_page(request, customer_id: int):
    """The timeline fragment: a channel filter replaces it, "load more" appends to it."""
    customer = access_customer(request.user, customer_id, perm="interactions.view_interaction")
    channels = _channels(request)
    try:
        page = customer_timeline(customer, viewer=request.user, cursor=request.GET.get("cursor"), limit=TIMELINE_PAGE,
                                 channels=channels)
    except InvalidCursor:
        return HttpResponseBadRequest(_("This page link is not valid; reload the page."))
    context = {"customer": customer, "timeline": page, "selected_channels": channels}
    return render(request, "web/partials/timeline_items.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request, customer_id: int):
    customer = access_customer(request.user, customer_id, perm="customers.change_customer", follow_merge=False)
    form = CustomerForm(request.POST or None, initial=CustomerForm.initial_for(customer))
    if request.method == "POST" and form.is_valid():
        try:
            update_customer(customer=customer, data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("web:customer", customer_id=customer.pk)
    status = 400 if form.errors else 200
    return render(request, "web/customer_edit.html", {"customer": customer, "form": form}, status=status)


@login_required
@require_POST
def customer_consent(request, customer_id: int):
    customer = access_customer(request.user, customer_id, perm="customers.add_consentevent", follow_merge=False)
    form = ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        common = {"customer": customer, "purpose": data["purpose"], "channel": data["channel"],
                  "method": data["method"], "source": data["source"], "actor": request.user}
        try:
            if data["action"] == ConsentForm.GRANT:
                grant_consent(wording=current_wording(data["purpose"], customer.language), **common)
            else:
                withdraw_consent(**common)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect(_consents_anchor(customer))
    context = _detail_context(request, customer, consent_form=form)
    return render(request, "web/customer_detail.html", context, status=400)


@login_required
@require_POST
def customer_address_works(request, customer_id: int, identity_id: int):
    """'Try this address again': clear the bounce flag of one of the customer's email addresses."""
    customer = access_customer(request.user, customer_id, perm="customers.change_customer", follow_merge=False)
    identity = get_object_or_404(customer.identities, pk=identity_id)
    clear_bounce_by_hand(identity=identity, actor=request.user)
    return redirect(reverse("web:customer", kwargs={"customer_id": customer.pk}) + "#identities")


def _consents_anchor(customer) -> str:
    return reverse("web:customer", kwargs={"customer_id": customer.pk}) + "#consents"


@login_required
@require_POST
def customer_export(request, customer_id: int):
    # POST, not GET: the export writes an audit row, and a prefetching browser must not.
    customer = access_customer(request.user, customer_id, perm="customers.export_customer_data")
    return customer_archive_response(customer=customer, actor=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def customer_erase(request, customer_id: int):
    customer = access_customer(request.user, customer_id, perm="customers.erase_customer", follow_merge=False)
    form = EraseForm(request.POST or None, customer_id=customer.pk)
    if request.method == "POST" and form.is_valid():
        try:
            erase_customer(customer=customer, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return redirect("web:customer", customer_id=customer.pk)
    status = 400 if form.errors else 200
    return render(request, "web/customer_erase.html", {"customer": customer, "form": form}, status=status)
