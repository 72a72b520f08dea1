"""Reshaping threads: two cases about the same matter become one; a message becomes its own case."""

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, CaseStatus, MessageKind, Priority
from prevenance.cases.models import Case, Gesture, Message
from prevenance.cases.services.common import (
    MAX_ADDRESSES,
    REFERENCE_TYPE,
    create_case,
    lock_case,
    refuse_closed,
)
from prevenance.cases.services.outbound import customer_email_addresses, our_mailboxes
from prevenance.cases.services.priority import score_case
from prevenance.cases.services.sla import (
    carry_reply_clock,
    restart_resolution_clock,
    resume_clock,
    start_clock,
    stop_reply_clock,
)
from prevenance.core.audit import record_audit
from prevenance.core.validation import invalid
from prevenance.interactions.models import Interaction


def _lock_pair(first_id: int, second_id: int) -> tuple[Case, Case]:
    # Case locks in primary-key order (each after its customer's), so two merges of one pair cannot deadlock.
    locked = {pk: lock_case(pk) for pk in sorted((first_id, second_id))}
    return locked[first_id], locked[second_id]


def _retimestamp(case: Case) -> list[str]:
    """first_response_at and last_customer_message_at from the thread the case now holds. A
    response is a reply someone wrote (add_reply): the acknowledgement and the survey invitation
    go out with no author and answer nothing. A reply from before the case opened (on an older
    case merged into it) answered that other request, not this one's."""
    marks = case.messages.aggregate(
        first_reply=Min("created_at", filter=Q(kind=MessageKind.OUTBOUND, author__isnull=False, created_at__gte=case.created_at)),
        last_inbound=Max("created_at", filter=Q(kind=MessageKind.INBOUND)),
    )
    case.first_response_at = marks["first_reply"]
    case.last_customer_message_at = marks["last_inbound"]
    return ["first_response_at", "last_customer_message_at"]


def _customer_answered_meanwhile(survivor: Case, loser: Case) -> bool:
    """Whether the survivor waits for the customer and the loser holds a message from them
    written since the wait began: merged, it is the answer the survivor was waiting for."""
    if survivor.status != CaseStatus.PENDING_CUSTOMER:
        return False
    # The clock's pause marks when the wait began; a case without an SLA policy has none, and
    # waits since our last reply (updated_at would move with any later note or tag).
    waiting_since = survivor.sla_paused_at or survivor.messages.filter(
        kind=MessageKind.OUTBOUND, author__isnull=False,
    ).aggregate(last=Max("created_at"))["last"] or survivor.created_at
    return loser.messages.filter(kind=MessageKind.INBOUND, automatic="", created_at__gt=waiting_since).exists()


def _move_timeline(message_ids: list[int], target: Case) -> None:
    Interaction.objects.filter(
        pk__in=Message.objects.filter(pk__in=message_ids, interaction__isnull=False).values("interaction_id")
    ).update(ref_type=REFERENCE_TYPE, ref_id=str(target.pk))


def _carried_copies(survivor: Case, loser: Case) -> list[str]:
    """The loser's people in copy the survivor does not copy yet (compared case-insensitively):
    the survivor's replies go on copying them, or they would drop out of a conversation they
    were in. Never the customer's own addresses nor our mailboxes (replies never copy those:
    copies._refuse_not_copies), and MAX_ADDRESSES in all at most, as the intake keeps them
    (intake._case_cc): a merge is not refused for it. No query when the loser copies no one."""
    if not loser.cc_addresses:
        return []
    seen = {address.lower() for address in [*survivor.cc_addresses, *customer_email_addresses(survivor.customer_id), *our_mailboxes()]}
    carried = []
    for address in loser.cc_addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            carried.append(address)
    return carried[: max(MAX_ADDRESSES - len(survivor.cc_addresses), 0)]


def merge_cases(*, survivor: Case, loser: Case, actor) -> Case:
    """Fold `loser` into `survivor`: its thread, tags, commercial gestures and people in copy
    (those the survivor does not copy yet: _carried_copies) move over; it is
    closed and points to the survivor (whose figures, the dashboard's gestures included, then
    hold everything about the matter). A resolved survivor opens again when the loser was
    still being handled (counted as a reopening; the resolution clock runs again).

    Idempotent: merging the same pair again returns the survivor and changes nothing. Both
    cases must be the same customer's (merge the customers first otherwise).
    """
    if survivor.pk == loser.pk:
        raise invalid("loser", _("A case cannot be merged with itself."), "same_case")
    with transaction.atomic():
        survivor, loser = _lock_pair(survivor.pk, loser.pk)
        if loser.merged_into_id == survivor.pk:
            return survivor
        if survivor.merged_into_id or loser.merged_into_id:
            raise invalid("loser", _("One of these cases was already merged into another case."), "already_merged")
        refuse_closed(survivor)
        refuse_closed(loser, field="loser")
        if survivor.customer_id is None or loser.customer_id is None:
            # Erasure unlinks a person's cases: two unlinked cases may be two people's.
            raise invalid("loser", _("A case of an erased customer cannot be merged."), "customer_erased")
        if survivor.customer_id != loser.customer_id:
            raise invalid(
                "loser", _("These cases belong to different customers: merge the customers first."),
                "different_customers",
            )
        answered = _customer_answered_meanwhile(survivor, loser)  # before its messages move
        moved = list(loser.messages.values_list("pk", flat=True))
        Message.objects.filter(pk__in=moved).update(case=survivor)
        _move_timeline(moved, survivor)
        survivor.tags.add(*loser.tags.all())
        gestures = list(loser.gestures.values_list("pk", flat=True))
        Gesture.objects.filter(pk__in=gestures).update(case=survivor)
        now = timezone.now()
        changed = [*_retimestamp(survivor), "updated_at"]
        copies_before, copies = list(survivor.cc_addresses), _carried_copies(survivor, loser)
        if copies:
            survivor.cc_addresses = [*copies_before, *copies]
            changed.append("cc_addresses")
        # A matter still open folded into a resolved case is not settled: the survivor opens
        # again, as a customer's reply would open it, else the request waits where no view looks.
        reopened = survivor.status == CaseStatus.RESOLVED and loser.status != CaseStatus.RESOLVED
        if reopened:
            survivor.status, survivor.resolved_at, survivor.reopen_count = CaseStatus.OPEN, None, survivor.reopen_count + 1
            changed += ["status", "resolved_at", "reopen_count", *restart_resolution_clock(survivor, now)]
        elif answered:  # the customer's message the survivor waits for is in the merged case
            survivor.status = CaseStatus.OPEN
            changed += ["status", *resume_clock(survivor, now)]
        changed += carry_reply_clock(survivor, loser)  # the loser's customer may still await an answer
        survivor.save(update_fields=changed)
        previous_status = loser.status
        loser.merged_into, loser.status, loser.closed_at = survivor, CaseStatus.CLOSED, now
        # Its awaited answer, if any, is the survivor's now (carry_reply_clock above).
        loser.save(update_fields=["merged_into", "status", "closed_at", "updated_at", *stop_reply_clock(loser)])
        record_audit(
            kind=CaseAuditKind.MERGED, actor=actor, subject=survivor,
            payload={"survivor": survivor.pk, "loser": loser.pk, "messages": moved, "gestures": gestures, "reopened": reopened,
                     "copies": copies},
        )
        case_events.case_updated(loser, {
            "status": case_events.change(previous_status, CaseStatus.CLOSED),
            "merged_into": case_events.change(None, survivor.pk),
        })
        survivor_changes = {"merged_from": case_events.change(None, loser.pk)}
        if copies:
            survivor_changes["cc_addresses"] = case_events.change(copies_before, survivor.cc_addresses)
        if reopened or answered:
            before = CaseStatus.RESOLVED if reopened else CaseStatus.PENDING_CUSTOMER
            survivor_changes["status"] = case_events.change(before, CaseStatus.OPEN)
        case_events.case_updated(survivor, survivor_changes)
    return survivor


def _copied_on(message: Message, source: Case) -> list[str]:
    """The people in copy of `message` whom the source case kept (the case's Cc leaves out our
    own mailboxes and the customer's addresses, intake._case_cc)."""
    kept = {address.lower() for address in source.cc_addresses}
    return [address for address in message.cc_addresses if address.lower() in kept]


def split_message(*, message: Message, actor) -> Case:
    """Move one customer message out of its case into a new case linked back by `split_from`."""
    with transaction.atomic():
        source = lock_case(message.case_id)
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.case_id != source.pk:
            raise invalid("message", _("This message moved to another case meanwhile; try again."), "message_moved")
        refuse_closed(source)
        # An auto-reply or a bounce is stored as inbound (email_intake._automatic) but says nothing of the customer's.
        if message.kind != MessageKind.INBOUND or message.automatic:
            raise invalid("message", _("Only a message from the customer can become a case of its own."), "not_inbound")
        if not source.messages.filter(kind=MessageKind.INBOUND, automatic="").exclude(pk=message.pk).exists():
            # Its acknowledgement or the replies to it would be left on a case about nothing.
            raise invalid(
                "message", _("This is the case's only message from the customer: there is nothing to split from."), "only_message"
            )
        if source.customer_id is None:
            raise invalid("message", _("This case's customer was erased."), "customer_erased")
        now = timezone.now()
        case = create_case(
            customer=source.customer, channel=message.channel, subject=source.subject, created_at=now, type=source.type,
            team=source.team, split_from=source, last_customer_message_at=message.created_at, language=source.language,
            priority=Priority.LOW,  # the score decides (score_case never lowers the level it finds)
            # Answered from the mailbox the message came to, about the same order, copying the
            # people this message copied (the source's copies were kept for its own matter).
            mailbox=message.mailbox or source.mailbox, order=source.order,
            cc_addresses=_copied_on(message, source),
        )
        # Its own priority, from its message: not the source's age, SLA state or raised level.
        score_case(case, text=f"{case.subject}\n{message.body_text}", now=now)
        case.save(update_fields=["priority", "priority_score", "priority_reasons"])
        start_clock(case, now)  # its own SLA clock, from its creation (the policy may depend on the priority)
        message.case = case
        message.save(update_fields=["case"])
        _move_timeline([message.pk], case)
        source.save(update_fields=[*_retimestamp(source), "updated_at"])
        record_audit(kind=CaseAuditKind.SPLIT, actor=actor, subject=case, payload={"from": source.pk, "message": message.pk})
        case_events.case_created(case)
        case_events.case_updated(source, {"split_into": case_events.change(None, case.pk)})
    return case
