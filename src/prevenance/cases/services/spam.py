"""Spam: "Mark as spam" on a case closes it as spam and blocks its sender; "Not spam" undoes
both; the blocked senders list is kept here (Zendesk's "Mark as spam", which suspends the
requester; FreeScout's spam folder). See docs/cases.md, "Spam and blocked senders".

The intake reads the list (selectors/blocked_senders.py): a blocked sender's next email or
contact form is kept in the suspended queue (SuspensionReason.SENDER_BLOCKED), never dropped,
and never acknowledged (no backscatter to the forged or harvested address a spammer used).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import BlockedSenderAuditKind, CaseAuditKind, CaseStatus, MessageKind
from prevenance.cases.models import BlockedSender, Case, Message
from prevenance.cases.services.common import lock_case
from prevenance.cases.services.handling import change_status
from prevenance.cases.services.outbound import spam_not_sent
from prevenance.cases.services.sla import restart_resolution_clock
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.core.validation import invalid
from prevenance.customers.normalize import normalize_email

# Where spam comes in by itself: an agent never types one in (agent entry), a phone call is a person.
SPAM_CHANNELS = frozenset({Channel.EMAIL, Channel.WEB})


def first_customer_message(messages) -> Message | None:
    """The message that opened the case, when the customer sent it themselves (inbound, not
    an agent's entry, not an auto-reply or a bounce); `messages` in thread order."""
    first = next(iter(messages), None)
    if first is None or first.kind != MessageKind.INBOUND or first.author_id is not None or first.automatic:
        return None
    return first


def spam_refusal(case: Case, first: Message | None) -> str:
    """Why the case cannot be marked as spam ("" when it can): only a case an inbound email or
    the contact form opened, still waiting (not resolved nor closed, nor merged), to which
    nobody answered the customer yet, with a sender address to block. `first`: the case's first
    message (first_customer_message). The case page offers the action where this is ""."""
    if case.spam:
        return _("This case is already marked as spam.")
    if case.status not in ACTIVE or case.merged_into_id is not None:
        return _("Only a case still waiting to be handled can be marked as spam.")
    if case.channel not in SPAM_CHANNELS or first is None:
        return _("Only a case opened by an inbound email or the contact form can be marked as spam.")
    if case.first_response_at is not None:
        return _("The customer was already answered on this case: it is not spam.")
    if not first.sender_address:
        return _("This case's message has no sender address to block.")
    return ""


def _opening_message(case: Case) -> Message | None:
    return first_customer_message(case.messages.order_by("created_at", "pk")[:1])


def mark_as_spam(*, case: Case, actor) -> Case:
    """Close the case as spam and block the address of the sender of its first message.

    The case is closed as Close does (change_status: closed_at, audit, webhook case.updated;
    no survey, no case.resolved), with `spam` set, which takes it out of every inbox view and
    the dashboard's figures; an acknowledgement still waiting in the outbox is not sent. Refused
    (ValidationError on "case", nothing changed) where spam_refusal says why."""
    with transaction.atomic():
        locked = lock_case(case.pk)
        first = _opening_message(locked)
        if refusal := spam_refusal(locked, first):
            raise invalid("case", refusal, "not_spam_candidate")
        # Set before closing, so that the webhook change_status sends shows the case as spam.
        Case.objects.filter(pk=locked.pk).update(spam=True)
        closed = change_status(case=locked, status=CaseStatus.CLOSED, actor=actor)
        # No more automatic emails to the address (backscatter): an acknowledgement still in
        # the outbox (its sending failed and waits for another attempt) is given up.
        # One whose send task is already queued is given up by that task (outbound.deliver).
        Message.objects.filter(case=closed, kind=MessageKind.OUTBOUND, sent_at__isnull=True,
                               delivery_due_at__isnull=False).update(delivery_due_at=None, send_error=spam_not_sent())
        blocked = block_sender(address=first.sender_address, actor=actor, from_case=closed)
        record_audit(kind=CaseAuditKind.MARKED_SPAM, actor=actor, subject=closed, payload={"address": blocked.address})
    return closed


def mark_not_spam(*, case: Case, actor) -> Case:
    """Undo "Mark as spam": the case opens again (its SLA clocks restart from now, as a
    reopening's do) and its sender is unblocked. Refused on a case not marked as spam."""
    with transaction.atomic():
        locked = lock_case(case.pk)
        if not locked.spam:
            raise invalid("case", _("This case is not marked as spam."), "not_spam")
        now = timezone.now()
        previous = locked.status
        locked.spam, locked.status, locked.closed_at = False, CaseStatus.OPEN, None
        changed = ["spam", "status", "closed_at", "updated_at", *restart_resolution_clock(locked, now)]
        locked.save(update_fields=changed)
        first = _opening_message(locked)
        address = _blockable(first.sender_address) if first is not None else ""
        if address:
            unblock_sender(address=address, actor=actor)
        record_audit(kind=CaseAuditKind.NOT_SPAM, actor=actor, subject=locked, payload={"address": address})
        record_audit(kind=CaseAuditKind.STATUS_CHANGED, actor=actor, subject=locked,
                     payload={"from": previous, "to": CaseStatus.OPEN})
        case_events.case_updated(locked, {"status": case_events.change(previous, CaseStatus.OPEN),
                                          "spam": case_events.change(True, False)})
    return locked


def _blockable(address: str) -> str:
    try:
        return normalize_email(address)
    except ValidationError:
        return ""


def block_sender(*, address: str, actor, from_case: Case | None = None) -> BlockedSender:
    """Put the address on the blocked list (normalised: case does not matter); an address
    already there stays as it was blocked first. ValidationError on "address" when it is not
    an email address."""
    try:
        normalized = normalize_email(address)
    except ValidationError as exc:
        raise ValidationError({"address": exc.messages}) from exc
    with transaction.atomic():
        existing = BlockedSender.objects.filter(address=normalized).first()
        if existing is not None:
            return existing
        row = BlockedSender(address=normalized, blocked_by=actor, from_case=from_case)
        try:
            with transaction.atomic():  # a savepoint: the same address blocked at once elsewhere
                row.save()
        except IntegrityError:
            return BlockedSender.objects.get(address=normalized)
        record_audit(kind=BlockedSenderAuditKind.BLOCKED, actor=actor, subject=row,
                     payload={"address": normalized, "case": from_case.reference if from_case else None})
    return row


def unblock_sender(*, address: str, actor) -> bool:
    """Take the address off the blocked list: its next messages open cases again (those kept
    meanwhile stay in the suspended queue, to recover). False when it was not blocked."""
    normalized = _blockable(address) or (address or "").strip().lower()
    with transaction.atomic():
        row = BlockedSender.objects.select_for_update().filter(address=normalized).first()
        if row is None:
            return False
        record_audit(kind=BlockedSenderAuditKind.UNBLOCKED, actor=actor, subject=row, payload={"address": normalized})
        row.delete()
    return True
