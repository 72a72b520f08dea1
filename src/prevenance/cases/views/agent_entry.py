"""Agent entry (/cases/new/): an agent records a request taken by phone, in a store, on a visit."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from prevenance.cases.forms import AgentEntryForm
from prevenance.cases.selectors.customer_history import last_visible_cases
from prevenance.cases.services.agent_entry import record_agent_contact
from prevenance.cases.views.out_of_sight import RECORDED, out_of_sight
from prevenance.customers.selectors import access_customer, load_contact_details, search_customers

SEARCH_LIMIT = 10


def _chosen_customer(user, raw):
    """The customer picked in the search (a merged record leads to its survivor), or None."""
    if raw in (None, ""):
        return None
    try:
        return access_customer(user, raw)
    except Http404:
        return None


def _results(user, query: str) -> list:
    return search_customers(user, query, limit=SEARCH_LIMIT) if query.strip() else []


def _choices(results: list, chosen) -> list:
    # The customer already picked stays on offer (and checked) whatever the search shows now.
    if chosen is not None and all(customer.pk != chosen.pk for customer in results):
        return [chosen, *results]
    return results


def _described(user, customers: list) -> list:
    """The customers offered, each with what tells namesakes apart: their email, their phone and
    their newest case the agent may see (`last_case`). Two queries however many are offered."""
    load_contact_details(customers)
    last = last_visible_cases(user, customers)
    for customer in customers:
        customer.last_case = last.get(customer.pk)
    return customers


def _page(request, form, *, query="", chosen=None, status=200):
    results = _described(request.user, _choices(_results(request.user, query), chosen))
    context = {"form": form, "query": query, "results": results, "chosen": chosen}
    return render(request, "cases/agent_entry.html", context, status=status)


@login_required
@permission_required("cases.add_case", raise_exception=True)
@require_http_methods(["GET", "POST"])
def agent_entry(request):
    if request.method == "GET":
        return _page(request, AgentEntryForm(), query=request.GET.get("q", ""))
    form = AgentEntryForm(request.POST)
    query = request.POST.get("q", "")
    chosen = _chosen_customer(request.user, request.POST.get("customer"))
    if "search" in request.POST:
        # Without JavaScript the search button posts the whole form: show the matches, keep what was typed.
        return _page(request, AgentEntryForm(request.POST), query=query, chosen=chosen)
    if not form.is_valid():
        return _page(request, form, query=query, chosen=chosen, status=400)
    data = form.cleaned_data
    if data["customer"] is not None and chosen is None:
        form.add_error(None, _("This customer can no longer be found; search again."))
        return _page(request, form, query=query, status=400)
    try:
        intake = record_agent_contact(
            actor=request.user, channel=data["channel"], subject=data["subject"], body=data["body"], type=data["type"],
            customer=chosen, email=data["email"], phone=data["phone"], first_name=data["first_name"],
            last_name=data["last_name"], order_reference=data["order"], resolved=data["resolved"], note=data["note"],
            submission_id=data["submission_id"],  # sent twice: the first case again (services/submissions.py)
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _page(request, form, query=query, chosen=chosen, status=400)
    elsewhere = out_of_sight(request.user, intake.case, RECORDED)
    if elsewhere is not None:  # routed to a team the agent is not in: its page would say "not found"
        messages.success(request, elsewhere)
        return redirect("cases:inbox")
    messages.success(request, _("Case %(reference)s recorded.") % {"reference": intake.case.reference})
    return redirect("cases:case", case_id=intake.case.pk)


@login_required
@permission_required("cases.add_case", raise_exception=True)
@require_GET
def agent_entry_customers(request):
    """The search results as a fragment (HTMX, as the agent types)."""
    query = request.GET.get("q", "")
    context = {"query": query, "results": _described(request.user, _results(request.user, query)), "chosen": None}
    return render(request, "cases/agent_entry_customers.html", context)
