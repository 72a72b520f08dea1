"""The suspended queue, /cases/suspended/: inbound messages kept aside because they could not
become a case on their own (no usable sender address, the contact form's anti-robot field
filled in). A supervisor recovers each into a case, giving the sender's address, or discards it."""

from email.utils import parseaddr

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from prevenance.cases.selectors.suspended import (
    VIEW_SUSPENDED,
    recently_recovered,
    suspended_original,
    waiting_suspended,
)
from prevenance.cases.services.suspended import discard_suspended, recover_suspended

PAGE_SIZE = 100
RECOVER_SUSPENDED = "cases.change_suspendedmessage"
DISCARD_SUSPENDED = "cases.delete_suspendedmessage"


class RecoverForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("Sender's email address"), max_length=254, required=False)


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


@login_required
@require_GET
def suspended_queue(request):
    _require(request.user, VIEW_SUSPENDED)
    waiting = waiting_suspended(request.user)
    rows = list(waiting[:PAGE_SIZE])
    for row in rows:
        row.prefill = _address_given(row)
    return render(request, "cases/suspended.html", {
        "rows": rows, "total": waiting.count(), "page_size": PAGE_SIZE, "retention_days": settings.PREVENANCE_SUSPENDED_RETENTION_DAYS,
        "recovered": recently_recovered(request.user),
        "may_recover": request.user.has_perm(RECOVER_SUSPENDED), "may_discard": request.user.has_perm(DISCARD_SUSPENDED),
    })


def _address_given(row) -> str:
    """The address the message gave, to start the recovery from (the form's field, or From)."""
    if row.form_data:
        return row.form_data.get("email", "")
    return parseaddr(row.sender)[1] if "@" in row.sender else ""


@login_required
@require_POST
def suspended_recover(request, suspended_id: int):
    _require(request.user, RECOVER_SUSPENDED)
    form = RecoverForm(request.POST)
    if form.is_valid():
        try:
            case = recover_suspended(suspended_id=suspended_id, actor=request.user, email=form.cleaned_data["email"])
        except ValidationError as exc:
            messages.error(request, _("Message not recovered: %(reasons)s") % {"reasons": " ".join(exc.messages)})
        else:
            messages.success(request, _("Message recovered into case %(reference)s.") % {"reference": case.reference})
            return redirect("cases:case", case.pk)
    else:
        messages.error(request, _("Message not recovered: %(reasons)s") % {"reasons": " ".join(form.errors["email"])})
    return redirect("cases:suspended")


@login_required
@require_POST
def suspended_discard(request):
    _require(request.user, DISCARD_SUSPENDED)
    ids = [int(value) for value in request.POST.getlist("selected") if value.isdigit()]
    if not ids:
        messages.error(request, _("Select the messages to discard."))
        return redirect("cases:suspended")
    count = discard_suspended(suspended_ids=ids, actor=request.user)
    messages.success(request, ngettext("%(count)d message discarded.", "%(count)d messages discarded.", count) % {"count": count})
    return redirect("cases:suspended")


@login_required
@require_GET
def suspended_download(request, suspended_id: int):
    _require(request.user, VIEW_SUSPENDED)
    row = suspended_original(request.user, suspended_id)
    if row is None:
        raise Http404
    try:
        raw = row.raw_bytes()
    except FileNotFoundError as exc:
        raise Http404 from exc
    if raw is None:
        raise Http404
    response = HttpResponse(raw, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="suspended-{row.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
