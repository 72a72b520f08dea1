"""The case page: thread, reply and note boxes, workflow, assignment, gestures, customer 360.

The actions (POSTs) are in case_actions.py; each re-renders the main column through
`render_case` here, as an HTMX fragment or the whole page.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_GET

from prevenance.cases import downloads
from prevenance.cases.choices import CaseStatus, GestureStatus, MessageKind
from prevenance.cases.selectors import (
    APPROVE_GESTURE,
    case_thread,
    delegation_limits,
    granted_on_case,
    remaining_delegation,
)
from prevenance.cases.selectors.case_page import (
    access_attachment,
    case_gestures,
    customer_open_cases,
    customer_sender_addresses,
    merge_candidates,
    merge_record,
    reply_templates_for,
)
from prevenance.cases.selectors.customer_history import (
    customer_gesture_totals,
    hidden_customer_cases,
    last_csat_answer,
)
from prevenance.cases.selectors.inbox import sla_times
from prevenance.cases.selectors.reply_recipients import reply_recipients
from prevenance.cases.selectors.visibility import access_case, visible_cases
from prevenance.cases.services.common import live_case_id
from prevenance.cases.services.gestures import may_decide
from prevenance.cases.services.handling import default_reply_channel, status_after_reply
from prevenance.cases.services.spam import first_customer_message, spam_refusal
from prevenance.cases.services.templates import (
    case_language,
    render_template,
    sign_off_for,
    signature_for,
)
from prevenance.cases.views.case_forms import (
    AssignForm,
    CopiesForm,
    GestureForm,
    LabelsForm,
    MergeForm,
    NoteForm,
    ReplyForm,
)
from prevenance.cases.workflow import TRANSITIONS, can_transition
from prevenance.core.choices import Channel
from prevenance.core.currencies import format_money
from prevenance.core.htmx import htmx_partial
from prevenance.customers.selectors import (
    bounced_addresses,
    consent_states,
    customer_orders,
    customer_since,
    load_nameless_addresses,
)
from prevenance.interactions.selectors import customer_timeline

TIMELINE_SHOWN = 8
ORDERS_SHOWN = 5


# The status buttons say what they do, not the status they lead to (the status shows as its
# name in the badge, the inbox and the filters).
STATUS_ACTIONS = {
    CaseStatus.OPEN: pgettext_lazy("case status action", "Mark as open"),
    CaseStatus.PENDING_CUSTOMER: pgettext_lazy("case status action", "Mark as waiting for the customer"),
    CaseStatus.PENDING_INTERNAL: pgettext_lazy("case status action", "Mark as waiting for an internal answer"),
    CaseStatus.RESOLVED: pgettext_lazy("case status action", "Resolve"),
    CaseStatus.CLOSED: pgettext_lazy("case status action", "Close"),
}
REOPEN = pgettext_lazy("case status action", "Reopen")  # resolved → open
# Asked by Close, whatever the status: nothing leaves closed (workflow.TRANSITIONS), so one
# stray click would end the conversation for good. Closing straight from new or open stays
# allowed (spam, a duplicate), only asked.
CLOSE_QUESTION = gettext_lazy(
    "Close this case for good? No reply can be sent on it any more, and the customer's next message will open a new case."
)
# Asked by "Mark as spam": it closes the case and blocks the address, both undone by "Not spam".
SPAM_QUESTION = gettext_lazy(
    "Mark this case as spam? It will be closed without a reply, and the sender's next messages will be kept aside "
    "in the suspended messages instead of opening cases. “Not spam” undoes both."
)


def _status_choices(case) -> list[tuple[str, str]]:
    """The moves the workflow allows from the case's status, in the workflow's order, each with
    the button's label."""
    allowed = TRANSITIONS.get(case.status, frozenset())
    return [(value, REOPEN if case.status == CaseStatus.RESOLVED and value == CaseStatus.OPEN else STATUS_ACTIONS[value])
            for value in CaseStatus.values if value in allowed]


# The reply box's "Send and …" buttons (reply_and_set_status): the case waiting for the customer's
# answer to a question, or resolved, with the reply. "Record and …" where no reply is emailed
# (a phone or visit case: the agent answers by that channel and records it here).
SEND_AND = {
    CaseStatus.PENDING_CUSTOMER: (pgettext_lazy("reply box action", "Send and wait for the customer"),
                                  pgettext_lazy("reply box action", "Record and wait for the customer")),
    CaseStatus.RESOLVED: (pgettext_lazy("reply box action", "Send and resolve"),
                          pgettext_lazy("reply box action", "Record and resolve")),
}


def _send_and_choices(case) -> list[tuple[str, str, str]]:
    """The "Send and …" buttons the workflow allows from the status the reply leaves the case in:
    (status, label when the reply is emailed, label when it is only recorded)."""
    after = status_after_reply(case)
    return [(value, *labels) for value, labels in SEND_AND.items() if can_transition(after, value)]


def _resolve_question(gestures) -> str:
    """What the Resolve buttons ask while a gesture of the case waits for approval, naming it
    ("" when none does): resolving sends the satisfaction survey at once, before the customer
    knows the gesture's fate. The services allow it: a supervisor may still decide afterwards."""
    waiting = [gesture for gesture in gestures if gesture.status == GestureStatus.REQUESTED]
    if not waiting:
        return ""
    amounts = ", ".join(f"{format_money(gesture.amount, gesture.currency)}\u00a0{gesture.currency}" for gesture in waiting)
    return ngettext(
        "A gesture of %(amounts)s is still waiting for approval: resolve anyway?",
        "%(count)d gestures (%(amounts)s) are still waiting for approval: resolve anyway?", len(waiting),
    ) % {"amounts": amounts, "count": len(waiting)}


def _mark_decisions(user, case, gestures) -> list:
    """Mark each gesture with `may_approve` / `may_refuse`: whether this user may grant or
    refuse it here, by the services' own rule (services.gestures.may_decide). Their limits and
    the case's granted total are read once: two queries whatever the number of gestures, none
    when no gesture waits or the user may not approve gestures at all."""
    waiting = [gesture for gesture in gestures if gesture.status == GestureStatus.REQUESTED]
    limits = granted = {}
    if waiting and user.has_perm(APPROVE_GESTURE):
        limits, granted = delegation_limits(user), granted_on_case(case.pk)
    for gesture in gestures:
        decidable = gesture.status == GestureStatus.REQUESTED and bool(limits)
        gesture.may_approve = decidable and may_decide(gesture, user, granting=True, limits=limits, granted=granted)
        gesture.may_refuse = decidable and may_decide(gesture, user, granting=False, limits=limits, granted=granted)
    return gestures


def _forms(case, user, given: dict) -> dict:
    templates = reply_templates_for(case)
    initial_labels = {"subject": case.subject, "type": case.type, "language": case_language(case), "channel": case.channel, "tags": list(case.tags.all()), "root_cause": case.root_cause_id}
    forms = {
        "reply_form": ReplyForm(templates=templates),
        "note_form": NoteForm(),
        "assign_form": AssignForm(initial={"team": case.team, "assignee": case.assignee}, current_team_id=case.team_id),
        "labels_form": LabelsForm(initial=initial_labels, current_root_cause_id=case.root_cause_id),
        "merge_form": MergeForm(),
        "gesture_form": GestureForm(case=case),
        "copies_form": CopiesForm(),
    }
    forms.update(given)
    return forms


def _sidebar(user, case) -> dict:
    """The customer 360 beside the case: what the user's permissions let them see."""
    customer = case.customer
    if customer is None or not user.has_perm("customers.view_customer"):
        return {}
    load_nameless_addresses([customer])
    side = {"other_cases": customer_open_cases(user, case), "bounced": bounced_addresses(customer), "since": customer_since(customer)}
    # How many of the customer's other open cases are another team's, as on the 360 page: a short
    # "Other open cases" list is not the whole story (one query, none for who sees every case).
    side["hidden_cases"] = hidden_customer_cases(user, customer, other_than=case)
    if user.has_perm("customers.view_order"):
        side["orders"] = customer_orders(customer, limit=ORDERS_SHOWN)
    if user.has_perm("customers.view_consentevent"):
        side["consents"] = list(consent_states(customer).values())
    if user.has_perm("cases.view_gesture"):
        # What the customer already got, next to the gesture form: two queries at most.
        side["gestures"] = customer_gesture_totals(user, customer)
    side["last_csat"] = last_csat_answer(user, customer)
    if user.has_perm("interactions.view_interaction"):
        side["timeline"] = customer_timeline(customer, viewer=user, limit=TIMELINE_SHOWN)
    return side


def _signature(case, user):
    signature = signature_for(case, user)
    if signature is not None:
        signature.sign_off = sign_off_for(case, user, signature=signature)  # filled for this case and agent
    return signature


def _merge_candidates(user, case) -> list:
    """The cases the merge box offers, read only when it is shown (merge_candidates)."""
    if case.status == CaseStatus.CLOSED or not user.has_perm("cases.merge_case"):
        return []
    return merge_candidates(user, case)


def case_context(request, case, **given) -> dict:
    user = request.user
    return {
        "case": case,
        # A merged case's clock stopped with it: its matter is timed on the case it went to.
        "clock": None if case.merged_into_id else sla_times([case]).get(case.pk),
        "close_question": CLOSE_QUESTION,
        "spam_question": SPAM_QUESTION,
        # The language replies are written in (the case's, else the customer's): the template
        # picker lists that language's templates first.
        "reply_language": case_language(case),
        "thread": (thread := list(case_thread(case))),
        # Split is offered while another customer message would stay (split_message refuses otherwise);
        # an auto-reply or a bounce is not one.
        "customer_messages": sum(message.kind == MessageKind.INBOUND and not message.automatic for message in thread),
        # A nameless email from the customer is shown under their name (case_tags.inbound_sender).
        "customer_addresses": customer_sender_addresses(case, thread),
        "status_choices": _status_choices(case),
        # "Mark as spam" where the service would take it (read from the thread: no query of its own).
        "spam_offered": user.has_perm("cases.change_case") and not spam_refusal(case, first_customer_message(thread)),
        "send_and_choices": _send_and_choices(case) if user.has_perm("cases.change_case") else [],
        # Each with whether this user may approve or refuse it here (its Approve / Refuse buttons).
        "gestures": (gestures := _mark_decisions(user, case, case_gestures(case)) if user.has_perm("cases.view_gesture") else []),
        # Asked by Resolve and "Send and resolve" while a gesture waits (someone who may not see
        # the gestures is not asked: the question would name them).
        "resolve_question": _resolve_question(gestures),
        # A gesture on a merged case goes to its survivor (request_gesture): that case's delegation.
        "limits": remaining_delegation(user, live_case_id(case.pk) if case.merged_into_id else case.pk),
        "side": _sidebar(user, case),
        # The tone guidance of the signature the reply will carry, above the reply box (issue item 8).
        "signature": _signature(case, user),
        # Who the next reply goes to, read as the sending addresses it; add_reply signs email replies only.
        "recipients": (recipients := reply_recipients(case)),
        "signed_by_email": recipients.channel == Channel.EMAIL,
        # The survivor's reference only for someone who may open it.
        "merged_into": visible_cases(user).filter(pk=case.merged_into_id).first() if case.merged_into_id else None,
        # Who merged it, when (the banner of a merged case).
        "merge_record": merge_record(case),
        # The case it was split from, named and linked for someone who may open it.
        "split_from": visible_cases(user).filter(pk=case.split_from_id).only("pk", "reference").first() if case.split_from_id else None,
        # The customer's other cases the merge box offers to pick from (typing stays possible).
        "merge_candidates": _merge_candidates(user, case),
        **_forms(case, user, given),
    }


def render_case(request, case, *, status: int = 200, **given):
    """After an action: the case as the services left it, as the main column for HTMX, else
    the whole page; `given` replaces bound forms."""
    case.refresh_from_db()
    return _render(request, case, status=status, **given)


def _render(request, case, *, status: int = 200, **given):
    context = case_context(request, case, **given)
    context["fragment"] = htmx_partial(request)  # the page's own messages list is not swapped in: the fragment shows them
    template = "cases/partials/case_main_htmx.html" if context["fragment"] else "cases/case.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_GET
def case_page(request, case_id: int):
    case = access_case(request.user, case_id)
    return _render(request, case)  # as access_case read it, related rows included


@login_required
@require_GET
def reply_template(request, case_id: int):
    """The reply box filled from the picked template (HTMX swaps it in; the agent edits before sending)."""
    case = access_case(request.user, case_id, perm="cases.add_message")
    templates = reply_templates_for(case)
    form = ReplyForm(request.GET, templates=templates)
    body, template = "", form.cleaned_data.get("template") if form.is_valid() else None
    if template is not None:
        _subject, body = render_template(template=template, case=case, agent=request.user)
    form = ReplyForm(initial={"template": template, "body": body}, templates=templates)
    # The sign-off shown above the box follows the language the reply will be signed in (the
    # template's: case_actions.case_reply), swapped out of band.
    signed = default_reply_channel(case) == Channel.EMAIL
    sign_off = sign_off_for(case, request.user, language=template.language if template else None) if signed else ""
    # Marked as a template's text: the page asks before replacing a draft, not this (template_picker.js).
    context = {"case": case, "reply_form": form, "sign_off": sign_off, "from_template": template is not None}
    return render(request, "cases/partials/reply_body.html", context)


@login_required
@require_GET
def attachment_download(request, case_id: int, attachment_id: int):
    """A file of the thread, always as a download (never rendered in our origin)."""
    return downloads.attachment_download(access_attachment(request.user, case_id, attachment_id))
