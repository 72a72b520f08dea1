"""The approval queue of commercial gestures, /cases/gestures/approvals/: the gestures above
their requester's delegation limit that this supervisor may grant or refuse."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from prevenance.cases.selectors import (
    APPROVE_GESTURE,
    delegation_limits,
    gesture_approval_queue,
    gestures_beyond_my_limit,
    refusable_gestures,
)
from prevenance.cases.services import approve_gesture, refuse_gesture


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
    gesture = refusable_gestures(request.user).filter(pk=gesture_id).first()
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
    # Back to the queue whatever happened (post/redirect/get): a reload never posts again, and
    # a refusal says why above the queue, naming the case.
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, _("Gesture on case %(reference)s: %(error)s") % {"reference": reference, "error": error})
    return redirect("cases:gesture_approvals")
