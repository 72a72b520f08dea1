"""Identity conflicts and the merge screen: a person decides whether two records are one."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prevenance.customers.selectors import access_customer
from prevenance.customers.services import dismiss_conflict, merge_customers
from prevenance.web.forms import MergeForm
from prevenance.web.selectors import access_conflict, conflict_queue, merge_side

MERGE = "customers.merge_customer"


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge(request, first_id: int, second_id: int):
    # follow_merge=False: the screen shows these two records as they are, tombstones included.
    first = access_customer(request.user, first_id, perm=MERGE, follow_merge=False)
    second = access_customer(request.user, second_id, perm=MERGE, follow_merge=False)
    form = MergeForm(request.POST or None, pair=(first.pk, second.pk))
    if request.method == "POST" and form.is_valid():
        survivor, loser = (first, second) if form.cleaned_data["survivor"] == first.pk else (second, first)
        try:
            merge_customers(survivor=survivor, loser=loser, actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("web:customer", customer_id=survivor.pk)
    context = {"form": form, "sides": [merge_side(first), merge_side(second)]}
    return render(request, "web/customer_merge.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def conflict_list(request):
    return render(request, "web/conflicts.html", {"conflicts": conflict_queue(request.user)})


@login_required
@require_POST
def conflict_dismiss(request, conflict_id: int):
    # Deciding "two different people" is the same responsibility as deciding "one person".
    conflict = access_conflict(request.user, conflict_id, perm=MERGE)
    dismiss_conflict(conflict=conflict, actor=request.user)
    return redirect("web:conflicts")
