"""The suspended queue, /cases/suspended/: inbound messages kept aside because they could not
become a case on their own (no usable sender address, the contact form's anti-robot field
filled in). A supervisor recovers each into a case, giving the sender's address, or discards
it (many at once in the background: the page then says how many are left)."""

from email.utils import parseaddr
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from prevenance.cases.choices import SuspensionReason
from prevenance.cases.downloads import stored_file_download
from prevenance.cases.selectors.suspended import (
    VIEW_SUSPENDED,
    discards_under_way,
    recently_recovered,
    suspended_form_file,
    suspended_original,
    waiting_suspended,
)
from prevenance.cases.services.suspended import recover_suspended
from prevenance.cases.services.suspended_discard import (
    discard_suspended,
    request_discard_all_suspended,
)
from prevenance.core.choices import Channel

PAGE_SIZE = 100
RECOVER_SUSPENDED = "cases.change_suspendedmessage"
DISCARD_SUSPENDED = "cases.delete_suspendedmessage"


class RecoverForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("Sender's email address"), max_length=254, required=False)
    # Offered on a message kept because its sender is blocked as spam (services/spam.py).
    unblock = forms.BooleanField(label=gettext_lazy("Unblock this sender too"), required=False)


class QueueFilter(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why"), required=False,
                               choices=[("", gettext_lazy("All reasons")), *SuspensionReason.choices])
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False,
                                choices=[("", gettext_lazy("All channels")), *Channel.choices])


class DiscardAllForm(QueueFilter):
    # The newest message counted on the page: one that comes in after is not discarded unseen.
    up_to = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField()


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


@login_required
@require_GET
def suspended_queue(request):
    _require(request.user, VIEW_SUSPENDED)
    filters = QueueFilter(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {"reason": "", "channel": ""}
    waiting = waiting_suspended(request.user, **chosen)
    rows = list(waiting[:PAGE_SIZE])
    for row in rows:
        row.prefill = _address_given(row)
    discarding = discards_under_way(request.user)
    return render(request, "cases/suspended.html", {
        "rows": rows, "total": waiting.count(), "page_size": PAGE_SIZE, "retention_days": settings.PREVENANCE_SUSPENDED_RETENTION_DAYS,
        "filters": filters, "filtered": any(chosen.values()), "chosen": chosen,
        "up_to": waiting.aggregate(newest=Max("id"))["newest"] if rows else None,
        "recovered": recently_recovered(request.user), "discarding": discarding,
        # What this filter would discard is already being discarded: no second identical discard.
        "discarding_these": any((job.reason, job.channel) == (chosen["reason"], chosen["channel"]) for job in discarding),
        "may_recover": request.user.has_perm(RECOVER_SUSPENDED), "may_discard": request.user.has_perm(DISCARD_SUSPENDED),
    })


def _queue_url(chosen: dict) -> str:
    query = urlencode({name: value for name, value in chosen.items() if value})
    return f"{reverse('cases:suspended')}?{query}" if query else reverse("cases:suspended")


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
            case = recover_suspended(suspended_id=suspended_id, actor=request.user, email=form.cleaned_data["email"],
                                     unblock=form.cleaned_data["unblock"])
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
@require_POST
def suspended_discard_all(request):
    """Every waiting message matching the page's filter, once the count shown is confirmed: at
    once, or when they are many in the background (request_discard_all_suspended)."""
    _require(request.user, DISCARD_SUSPENDED)
    form = DiscardAllForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was discarded: tick the box to confirm, then press the button again."))
        return redirect(_queue_url({name: request.POST.get(name, "") for name in QueueFilter.base_fields}))
    data = form.cleaned_data
    done = request_discard_all_suspended(actor=request.user, up_to_id=data["up_to"], reason=data["reason"], channel=data["channel"])
    count = done.count
    if done.already:
        messages.info(request, ngettext(
            "These messages are already being discarded in the background: %(count)d left.",
            "These messages are already being discarded in the background: %(count)d left.", count) % {"count": count})
    elif done.job is not None:
        messages.success(request, ngettext(
            "%(count)d message is being discarded in the background.",
            "%(count)d messages are being discarded in the background.", count) % {"count": count})
    else:
        messages.success(request, ngettext("%(count)d message discarded.", "%(count)d messages discarded.", count) % {"count": count})
    return redirect(_queue_url({"reason": data["reason"], "channel": data["channel"]}))


@login_required
@require_GET
def suspended_file(request, suspended_id: int, index: int):
    """A file a contact form kept aside came with, as a download (never shown in our origin)."""
    _require(request.user, VIEW_SUSPENDED)
    item = suspended_form_file(request.user, suspended_id, index)
    if item is None:
        raise Http404
    return stored_file_download(path=item["path"], filename=item["name"])


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
