"""The approval queue of commercial gestures, /cases/gestures/approvals/: the gestures above
their requester's delegation limit that this supervisor may grant or refuse. The case page's
Approve / Refuse buttons post to the same `decide`, with `next` to come back to the case."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from prevenance.cases.selectors import (
    APPROVE_GESTURE,
    delegation_limits,
    gesture_approval_queue,
    gestures_beyond_my_limit,
)
from prevenance.cases.selectors.gestures import gesture_to_decide
from prevenance.cases.services import approve_gesture, refuse_gesture
from prevenance.core.validation import is_row_id


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Grant")), ("refuse", gettext_lazy("Refuse"))])
    reason = forms.CharField(label=gettext_lazy("Reason (required to refuse)"), required=False, max_length=2000)


def _require_approver(user) -> None:
    if not user.has_perm(APPROVE_GESTURE):
        raise PermissionDenied


@login_required
@require_GET
def approval_queue(request):
    _require_approver(request.user)
    return render(request, "cases/gesture_approvals.html", {
        "gestures": gesture_approval_queue(request.user)[:200], "limits": delegation_limits(request.user), "beyond": gestures_beyond_my_limit(request.user), "form": DecisionForm(),
    })


@login_required
@require_POST
def decide(request, gesture_id: int):
    _require_approver(request.user)
    # Only a gesture this user may decide on (their limit covers it, not their own, a case they
    # can see); granting it also needs the case's granted total covered, which the service checks.
    # One decided meanwhile is kept for the service to say so (gesture_to_decide).
    gesture = gesture_to_decide(request.user, gesture_id) if is_row_id(gesture_id) else None
    if gesture is None:
        raise Http404
    form = DecisionForm(request.POST)
    reference = gesture.case.reference
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                approve_gesture(gesture=gesture, actor=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, _("Gesture on case %(reference)s granted.") % {"reference": reference})
            else:
                refuse_gesture(gesture=gesture, actor=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, _("Gesture on case %(reference)s refused.") % {"reference": reference})
        except ValidationError as exc:
            for error in exc.messages:
                form.add_error(None, error)
    # Back to the queue, or to the page the form came from (`next`: the case page), whatever
    # happened (post/redirect/get): a reload never posts again, and a refusal says why above
    # the page, naming the case.
    for errors in form.errors.values():
        for error in errors:
            # Worded as the success messages ("Gesture on case C-… granted."), in French too.
            messages.error(request, _("Gesture on case %(reference)s not decided: %(error)s") % {"reference": reference, "error": error})
    return redirect(_back_to(request))


def _back_to(request) -> str:
    """`next` when it is an address of this site (never another host, nor a scheme such as
    javascript:), else the queue."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("cases:gesture_approvals")
