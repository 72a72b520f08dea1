"""What agents do on a case: reply, write a note, move it through the workflow, assign it."""

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, CaseStatus, MessageKind
from prevenance.cases.models import Case, Message, Team
from prevenance.cases.services.attachments import (
    check_uploads,
    store_attachments,
)
from prevenance.cases.services.common import (
    add_thread_entry,
    clean_body,
    clean_channel,
    clean_html,
    lock_case,
    refuse_closed,
)
from prevenance.cases.services.outbound import queue_delivery, reaches_customer
from prevenance.cases.services.sla import (
    pause_clock,
    restart_resolution_clock,
    resume_clock,
    stop_reply_clock,
)
from prevenance.cases.services.submissions import (
    clean_submission_id,
    earlier_submission,
    file_names,
)
from prevenance.cases.services.surveys import schedule_survey
from prevenance.cases.services.templates import sign_reply
from prevenance.cases.workflow import check_transition
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.core.files import files_discarded_on_failure
from prevenance.core.validation import invalid


def _clean_text_body(body) -> str:
    text = clean_body(body)
    if not text.strip():
        raise ValidationError({"body": [_("Write something first.")]})
    return text


def _checked_files(files: Sequence) -> list:
    """An agent's files for a reply or a note, checked (count, each size, total, kind) at once."""
    return check_uploads(list(files), max_files=settings.PREVENANCE_REPLY_MAX_FILES,
                         max_total_bytes=settings.PREVENANCE_REPLY_MAX_TOTAL_BYTES)


def _earlier_message(submission: uuid.UUID | None, *, author, kind: str) -> Message | None:
    """The reply or note this form submission already stored (submissions.py), else None."""
    return earlier_submission(Message.objects.all(), submission, author_id=getattr(author, "pk", None), kind=kind)


def default_reply_channel(case: Case) -> str:
    """Where an answer goes when the agent does not say: the case's channel when Prévenance can
    send on it (email), else email when the customer has an address (a phone, store or web-form
    case is answered in writing), else the case's channel (then the reply says it was not sent)."""
    if case.channel == Channel.EMAIL:
        return case.channel
    return Channel.EMAIL if reaches_customer(case) else case.channel


def add_reply(
    *, case: Case, author, body: str, body_html: str = "", channel: str | None = None, sign: bool = True, files: Sequence = (),
    submission_id: uuid.UUID | str | None = None, language: str | None = None,
) -> Message:
    """An answer to the customer: on their timeline too; the first one stamps first_response_at,
    and any one stops the reply clock of a reopened case (services/sla.py).

    Answering a new case opens it. An email reply is sent after commit (outbound.queue_delivery),
    with the team's (else the brand's) signature added unless `sign` is False (templates.sign_reply),
    in `language` when the reply is written in another language than the case's (a template's),
    and with `files` attached (uploads, checked as the contact form's are: at most
    PREVENANCE_REPLY_MAX_FILES, each within the size limit and all within
    PREVENANCE_REPLY_MAX_TOTAL_BYTES, of an accepted kind; all refused at once, with nothing
    written, when one is wrong).

    `submission_id` (the case page's form): the same submission sent again returns the reply
    it stored, with nothing stored or sent twice, also when both arrive at once (the second
    waits for the case lock, then finds the first).
    """
    submission = clean_submission_id(submission_id, MessageKind.OUTBOUND, case.pk, body, body_html, *file_names(files))
    if (earlier := _earlier_message(submission, author=author, kind=MessageKind.OUTBOUND)) is not None:
        return earlier
    text = _clean_text_body(body)
    html = clean_html(body_html)
    checked = _checked_files(files)
    with files_discarded_on_failure(), transaction.atomic():
        locked = lock_case(case.pk)
        if (earlier := _earlier_message(submission, author=author, kind=MessageKind.OUTBOUND)) is not None:
            return earlier  # the same submission, committed while this one waited for the lock
        refuse_closed(locked)
        if locked.customer_id is None:
            raise invalid("case", _("This case's customer was erased: there is no one to answer."), "customer_erased")
        now = timezone.now()
        reply_channel = clean_channel(channel or default_reply_channel(locked))
        if sign and reply_channel == Channel.EMAIL:
            text, html = sign_reply(text, html, case=locked, agent=author, language=language)
        message = add_thread_entry(
            locked, kind=MessageKind.OUTBOUND, channel=reply_channel, body_text=text,
            body_html=html, author=author, created_at=now, submission_id=submission,
        )
        store_attachments(message, checked)
        changed = ["updated_at"]
        if locked.first_response_at is None:
            locked.first_response_at = now
            changed.append("first_response_at")
        changed += stop_reply_clock(locked)
        opened = locked.status == CaseStatus.NEW
        if opened:
            locked.status = CaseStatus.OPEN
            changed.append("status")
        locked.save(update_fields=changed)
        record_audit(kind=CaseAuditKind.REPLIED, actor=author, subject=locked,
                     payload={"message": message.pk, **({"attachments": len(checked)} if checked else {})})
        queue_delivery(message)  # sent after commit; a channel we cannot send on gets send_error
        case_events.message_added(locked, message, status=case_events.change(CaseStatus.NEW, CaseStatus.OPEN) if opened else None)
    return message


def add_note(*, case: Case, author, body: str, files: Sequence = (), submission_id: uuid.UUID | str | None = None) -> Message:
    """An internal note: never shown to the customer, never on their timeline. Allowed on any
    case. `files` are attached as on a reply (an invoice, a photo for a colleague);
    `submission_id` makes a form sent twice store it once, as for add_reply."""
    submission = clean_submission_id(submission_id, MessageKind.NOTE, case.pk, body, *file_names(files))
    if (earlier := _earlier_message(submission, author=author, kind=MessageKind.NOTE)) is not None:
        return earlier
    text = _clean_text_body(body)
    checked = _checked_files(files)
    with files_discarded_on_failure(), transaction.atomic():
        locked = lock_case(case.pk)
        if (earlier := _earlier_message(submission, author=author, kind=MessageKind.NOTE)) is not None:
            return earlier
        message = add_thread_entry(locked, kind=MessageKind.NOTE, channel=locked.channel, body_text=text, author=author,
                                   submission_id=submission)
        store_attachments(message, checked)
        record_audit(kind=CaseAuditKind.NOTE_ADDED, actor=author, subject=locked,
                     payload={"message": message.pk, **({"attachments": len(checked)} if checked else {})})
    return message


def change_status(*, case: Case, status: str, actor) -> Case:
    """Move a case along the workflow (workflow.TRANSITIONS); refused moves raise with the reason."""
    with transaction.atomic():
        locked = lock_case(case.pk)
        previous = locked.status
        check_transition(previous, status)
        now = timezone.now()
        changed = ["status", "updated_at"]
        if status == CaseStatus.RESOLVED:
            locked.resolved_at = now
            changed.append("resolved_at")
            if locked.first_resolved_at is None:
                locked.first_resolved_at = now
                changed.append("first_resolved_at")
        elif status == CaseStatus.CLOSED:
            locked.closed_at = now
            changed += ["closed_at", *stop_reply_clock(locked)]  # a closed case awaits no answer
        elif previous == CaseStatus.RESOLVED:
            locked.resolved_at, locked.reopen_count = None, locked.reopen_count + 1
            changed += ["resolved_at", "reopen_count", *restart_resolution_clock(locked, now)]
        if status == CaseStatus.PENDING_CUSTOMER:
            changed += pause_clock(locked, now)
        elif previous == CaseStatus.PENDING_CUSTOMER:
            changed += resume_clock(locked, now)
        locked.status = status
        locked.save(update_fields=changed)
        record_audit(kind=CaseAuditKind.STATUS_CHANGED, actor=actor, subject=locked, payload={"from": previous, "to": status})
        case_events.case_updated(locked, {"status": case_events.change(previous, status)})
        if status == CaseStatus.RESOLVED:
            schedule_survey(case=locked, now=now)  # sent after the survey delay; one per case in 30 days (surveys.py)
    return locked


def status_after_reply(case: Case) -> str:
    """The status a reply leaves the case in: answering a new case opens it (add_reply)."""
    return CaseStatus.OPEN if case.status == CaseStatus.NEW else case.status


def reply_and_set_status(
    *, case: Case, author, status: str, body: str, body_html: str = "", channel: str | None = None, sign: bool = True,
    files: Sequence = (), submission_id: uuid.UUID | str | None = None, language: str | None = None,
) -> Message:
    """Answer the customer and move the case to `status` in one go (Zendesk's "Submit as
    Pending / Solved"): add_reply, then change_status, in one transaction, so each has the side
    effects it has alone (first response, SLA clock paused or stopped, survey scheduled at resolution,
    audit rows, webhooks), and the emails leave only after both are committed.

    The move is checked from the status the reply leaves (status_after_reply) before anything
    is written: a refused one refuses the whole, on `status`, with nothing stored or sent. A
    case already in `status` once answered (a pending case asked to wait again) gets the reply
    alone. A pending commercial gesture does not stop a resolution (a supervisor may still
    decide on it afterwards): the case page asks the agent first.

    `submission_id`: the same form sent again returns the reply it stored and changes nothing
    (its status was set with it, in the same transaction).
    """
    submission = clean_submission_id(submission_id, MessageKind.OUTBOUND, case.pk, body, body_html, *file_names(files))
    with files_discarded_on_failure(), transaction.atomic():
        locked = lock_case(case.pk)
        if (earlier := _earlier_message(submission, author=author, kind=MessageKind.OUTBOUND)) is not None:
            return earlier
        after = status_after_reply(locked)
        if status != after:
            check_transition(after, status)
        message = add_reply(case=locked, author=author, body=body, body_html=body_html, channel=channel, sign=sign,
                            files=files, submission_id=submission_id, language=language)
        if status != after:
            change_status(case=locked, status=status, actor=author)
    return message


def _check_assignee(assignee, team: Team | None) -> None:
    """Refusals name the person as the assignee picker shows them (full name, else login)."""
    if assignee is None:
        return
    name = assignee.get_full_name() or assignee.get_username()
    if not assignee.is_active or not assignee.has_perm("cases.change_case"):
        raise invalid("assignee", _("%(user)s cannot handle cases.") % {"user": name}, "not_an_agent")
    if team is not None and not team.members.filter(pk=assignee.pk).exists():
        raise invalid("assignee", _("%(user)s is not a member of the team %(team)s.") % {"user": name, "team": team.name}, "not_in_team")


def _assign(locked: Case, *, assignee, team: Team | None, actor) -> None:
    before = {"assignee": locked.assignee_id, "team": locked.team_id}
    locked.assignee, locked.team = assignee, team
    locked.save(update_fields=["assignee", "team", "updated_at"])
    after = {"assignee": locked.assignee_id, "team": locked.team_id}
    if before != after:
        record_audit(kind=CaseAuditKind.ASSIGNED, actor=actor, subject=locked, payload={"from": before, "to": after})
        case_events.case_updated(locked, {k: case_events.change(before[k], after[k]) for k in before if before[k] != after[k]})


def assign_case(*, case: Case, assignee=None, team: Team | None = None, actor=None) -> Case:
    """Give the case to a team and/or a person (None clears); the person must be in the team."""
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        _check_assignee(assignee, team)
        _assign(locked, assignee=assignee, team=team, actor=actor)
    return locked


def take_case(*, case: Case, actor, seen_assignee_id: int | None) -> Case:
    """"Assign to me": the actor becomes the assignee; the case keeps the team it has once
    locked, so a supervisor's move to another team committed meanwhile stands.

    Refused, with nothing written, when the actor is not a member of that team, and when
    someone else was given the case since the actor's page showed `seen_assignee_id` (None:
    unassigned): of two agents taking a case at once, the second is told who has it rather
    than silently taking it over; taking over from a colleague is then a deliberate second click.
    """
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        if locked.assignee_id == actor.pk:
            return locked
        if locked.assignee_id is not None and locked.assignee_id != seen_assignee_id:
            holder = locked.assignee
            raise invalid(
                "assignee", _("This case was assigned to %(user)s meanwhile. Click “Assign to me” again to take it over.")
                % {"user": holder.get_full_name() or holder.get_username()}, "assigned_meanwhile",
            )
        _check_assignee(actor, None)
        if locked.team is not None and not locked.team.members.filter(pk=actor.pk).exists():
            raise invalid(
                "assignee", _("You are not a member of the team %(team)s, which handles this case: ask a supervisor "
                              "to move it to one of your teams.") % {"team": locked.team.name}, "not_in_team",
            )
        _assign(locked, assignee=actor, team=locked.team, actor=actor)
    return locked
