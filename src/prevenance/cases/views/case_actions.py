"""What an agent does on the case page: each POST parses a form, calls one service, and
answers with the re-rendered main column (HTMX) or a redirect; errors go next to the field.

The reply, note and gesture forms carry a submission id: the same POST sent twice answers as
the first did, with nothing written twice (cases/services/submissions.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prevenance.cases.models import Message
from prevenance.cases.selectors.case_page import reply_templates_for
from prevenance.cases.selectors.inbox import searched_references
from prevenance.cases.selectors.visibility import access_case, visible_cases
from prevenance.cases.services import (
    add_note,
    add_reply,
    assign_case,
    change_case_copies,
    change_status,
    classify_case,
    merge_cases,
    reply_and_set_status,
    request_gesture,
    route_again,
    split_message,
    take_case,
)
from prevenance.cases.services.spam import mark_as_spam, mark_not_spam
from prevenance.cases.views.case_forms import (
    AssignForm,
    CopiesForm,
    GestureForm,
    LabelsForm,
    MergeForm,
    NoteForm,
    ReplyForm,
)
from prevenance.cases.views.case_page import render_case
from prevenance.cases.views.out_of_sight import SPLIT, out_of_sight
from prevenance.core.htmx import htmx_partial
from prevenance.core.validation import is_row_id


def _done(request, case, anchor: str = ""):
    """Success: the fresh main column for HTMX, else back to the page (POST-redirect-GET).
    A case the agent moved to a team they are not in leaves their sight: back to the inbox."""
    if not visible_cases(request.user).filter(pk=case.pk).exists():
        messages.success(request, _("Case %(reference)s moved: it is out of your teams' cases now.") % {"reference": case.reference})
        return _redirect(request, reverse("cases:inbox"))
    if htmx_partial(request):
        return render_case(request, case)
    return redirect(reverse("cases:case", kwargs={"case_id": case.pk}) + (f"#{anchor}" if anchor else ""))


def _redirect(request, url: str):
    if htmx_partial(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _failed(request, case, **forms):
    # 400 either way; the page's htmx config swaps 400 answers so the errors show in place.
    return render_case(request, case, status=400, **forms)


def _run(request, case, form, form_name: str, call, anchor: str = ""):
    """Validate `form`, run the service `call(cleaned_data)`, answer; service errors land on the form."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _done(request, case, anchor)
    return _failed(request, case, **{form_name: form})


@login_required
@require_POST
def case_reply(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.add_message")
    if request.POST.get("then_status") and not request.user.has_perm("cases.change_case"):
        raise PermissionDenied  # "Send and resolve" moves the case too: the status buttons' permission
    form = ReplyForm(request.POST, request.FILES, templates=reply_templates_for(case))

    def reply(data):
        fields = {"case": case, "author": request.user, "body": data["body"], "files": data["attachments"],
                  "submission_id": data["submission_id"], "language": _language_of(data["template"])}
        if data["then_status"]:  # "Send and wait for the customer", "Send and resolve": one transaction
            return reply_and_set_status(status=data["then_status"], **fields)
        return add_reply(**fields)

    return _run(request, case, form, "reply_form", reply, "thread-end")


def _language_of(template) -> str | None:
    """The language a reply written from `template` is in (signed in it), None when written freely."""
    return template.language if template is not None else None


@login_required
@require_POST
def case_note(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.add_message")
    form = NoteForm(request.POST, request.FILES)
    return _run(request, case, form, "note_form",
                lambda data: add_note(case=case, author=request.user, body=data["body"], files=data["attachments"],
                                      submission_id=data["submission_id"]), "thread-end")


@login_required
@require_POST
def case_status(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.change_case")
    try:
        change_status(case=case, status=request.POST.get("status", ""), actor=request.user)
    except ValidationError as exc:
        return render_case(request, case, status=400, status_errors=exc.messages)
    return _done(request, case)


@login_required
@require_POST
def case_spam(request, case_id: int):
    """Close as spam and block the sender: whoever may close a case (cases.change_case)."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    try:
        mark_as_spam(case=case, actor=request.user)
    except ValidationError as exc:
        return render_case(request, case, status=400, status_errors=exc.messages)
    messages.success(request, _("Case %(reference)s closed as spam; its sender's address is blocked.") % {"reference": case.reference})
    return _done(request, case)


@login_required
@require_POST
def case_not_spam(request, case_id: int):
    """Undo "Mark as spam": the case opens again and its sender is unblocked."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    try:
        mark_not_spam(case=case, actor=request.user)
    except ValidationError as exc:
        return render_case(request, case, status=400, status_errors=exc.messages)
    messages.success(request, _("Case %(reference)s is not spam: it is open again and its sender is unblocked.")
                     % {"reference": case.reference})
    return _done(request, case)


@login_required
@require_POST
def case_assign(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.change_case")
    form = AssignForm(request.POST, current_team_id=case.team_id)
    return _run(request, case, form, "assign_form", lambda data: assign_case(
        case=case, assignee=data["assignee"], team=data["team"], actor=request.user), "assign")


@login_required
@require_POST
def case_take(request, case_id: int):
    """Assign to me (shortcut a): the case keeps the team it has once locked; the service checks
    I belong to it, and that nobody took it since my page showed `seen_assignee`."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    form = AssignForm({"team": case.team_id or "", "assignee": request.user.pk}, current_team_id=case.team_id)  # where refusals are shown
    seen = _seen_assignee(request, case)
    return _run(request, case, form, "assign_form", lambda _data: take_case(
        case=case, actor=request.user, seen_assignee_id=seen), "assign")


def _seen_assignee(request, case) -> int | None:
    """The assignee the page showed when "Assign to me" was clicked (empty: nobody); a page
    rendered before the field existed sends none: the assignee as read now."""
    if "seen_assignee" not in request.POST:
        return case.assignee_id
    seen = request.POST["seen_assignee"].strip()
    return int(seen) if seen.isascii() and seen.isdigit() and len(seen) <= 19 and is_row_id(int(seen)) else None


@login_required
@require_POST
def case_route(request, case_id: int):
    """Route again by the rules (after the type or channel was corrected); refusals land on the assignment form."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    # The team alone: a current assignee the form would refuse (deactivated since) is the very
    # case routing again is for.
    form = AssignForm({"team": case.team_id or "", "assignee": ""}, current_team_id=case.team_id)
    return _run(request, case, form, "assign_form", lambda _data: route_again(case=case, actor=request.user), "assign")


@login_required
@require_POST
def case_labels(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.change_case")
    form = LabelsForm(request.POST, current_root_cause_id=case.root_cause_id)
    renames = "subject" in request.POST  # a page rendered before the form had the field leaves it
    return _run(request, case, form, "labels_form", lambda data: classify_case(
        case=case, subject=data["subject"] if renames else None, type=data["type"], language=data["language"],
        channel=data["channel"], tags=list(data["tags"]), root_cause=data["root_cause"], actor=request.user), "labels")


@login_required
@require_POST
def case_copies(request, case_id: int):
    """Put people in copy of the case's replies, or take one out; the next reply copies the new list."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    form = CopiesForm(request.POST)
    return _run(request, case, form, "copies_form", lambda data: change_case_copies(
        case=case, actor=request.user, add=data["add"], remove=[data["remove"]] if data["remove"] else []), "reply")


def _case_typed(user, typed: str):
    """The visible case an agent typed: its reference, or its number as the inbox's search box
    reads one ("65", "#65", "C-2026-65": selectors.inbox.searched_references)."""
    references = searched_references(typed) or [typed.strip().upper()]
    found = list(visible_cases(user).filter(reference__in=references)[:2])
    if len(found) != 1:
        message = _("Several cases have this number: type the whole reference (C-2026-000065).") if found else _(
            "No case you can see has this reference.")
        raise ValidationError({"loser": [message]})
    return found[0]


@login_required
@require_POST
def case_merge(request, case_id: int):
    """Merge another case (by its reference) into this one; both must be visible to the user."""
    case = access_case(request.user, case_id, perm="cases.merge_case")
    form = MergeForm(request.POST)

    def merge(data):
        loser = _case_typed(request.user, data["loser"])
        merge_cases(survivor=case, loser=loser, actor=request.user)
        messages.success(request, _("Case %(loser)s merged into this one: its messages are in the conversation below.")
                         % {"loser": loser.reference})

    return _run(request, case, form, "merge_form", merge, "merge")


@login_required
@require_POST
def case_split(request, case_id: int, message_id: int):
    """A customer message becomes its own case; the agent lands on the new case."""
    case = access_case(request.user, case_id, perm="cases.change_case")
    message = get_object_or_404(Message, pk=message_id, case=case) if is_row_id(message_id) else None
    if message is None:
        raise Http404
    try:
        new_case = split_message(message=message, actor=request.user)
    except ValidationError as exc:
        return render_case(request, case, status=400, split_errors=exc.messages)
    elsewhere = out_of_sight(request.user, new_case, SPLIT)
    if elsewhere is not None:  # its page would say "not found": stay on the case it came from
        messages.success(request, elsewhere)
        return _done(request, case)
    response = redirect("cases:case", case_id=new_case.pk)
    if htmx_partial(request):
        response = _done(request, case)
        response["HX-Redirect"] = reverse("cases:case", kwargs={"case_id": new_case.pk})
    return response


@login_required
@require_POST
def case_gesture(request, case_id: int):
    case = access_case(request.user, case_id, perm="cases.add_gesture")
    form = GestureForm(request.POST, case=case)

    def grant(data):
        gesture = request_gesture(case=case, type=data["type"], amount=data["amount"], currency=data["currency"],
                                  reason=data["reason"], actor=request.user, submission_id=data["submission_id"])
        if gesture.case_id != case.pk:  # a merged case's gesture goes to its survivor: say where, or it is made twice
            messages.success(request, _("Gesture recorded on %(reference)s, the case this one was merged into.")
                             % {"reference": gesture.case.reference})

    return _run(request, case, form, "gesture_form", grant, "gestures")
