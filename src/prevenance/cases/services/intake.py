"""Intake: a customer's message opens a case or joins one. Every channel comes through here."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, MessageKind, Priority
from prevenance.cases.models import Case, Team
from prevenance.cases.selectors.case_settings import reopen_window
from prevenance.cases.selectors.kept_settings import pinned_settings
from prevenance.cases.services.acknowledgements import (
    acknowledge_case,
    plan_acknowledgement,
    send_acknowledgement,
)
from prevenance.cases.services.common import (
    MAX_ADDRESSES,
    Intake,
    add_thread_entry,
    clean_addresses,
    clean_automatic,
    clean_body,
    clean_channel,
    clean_choice,
    clean_header,
    clean_html,
    clean_message_id,
    clean_problems,
    clean_references,
    clean_subject,
    create_case,
    insert_case,
    lock_live_case,
    refuse_hidden_survivor,
    stored_message,
)
from prevenance.cases.services.outbound import customer_email_addresses, our_mailboxes
from prevenance.cases.services.routing import routing_audit, triage
from prevenance.cases.services.sla import (
    restart_resolution_clock,
    resume_clock,
    set_due_times,
    start_clock,
)
from prevenance.core.audit import audit_event, record_audits
from prevenance.core.sql import update_instance
from prevenance.core.validation import invalid
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Order
from prevenance.customers.services import (
    IdentityInput,
    Resolution,
    lock_live_customer,
    resolve_customer,
)


def _clean_message(
    *, channel, body, body_html, sender_address, sender_name, message_id, in_reply_to,
    references=(), mailbox="", to=(), cc=(), bcc=(), automatic="", problems=(),
) -> dict[str, Any]:
    errors: dict[str, list] = {}
    cleaned: dict[str, Any] = {}
    for name, clean in (
        ("channel", lambda: clean_channel(channel)),
        ("body_text", lambda: clean_body(body)),
        ("body_html", lambda: clean_html(body_html)),
        ("to_addresses", lambda: clean_addresses(to, field="to")),
        ("cc_addresses", lambda: clean_addresses(cc, field="cc")),
        ("bcc_addresses", lambda: clean_addresses(bcc, field="bcc")),
        ("mailbox", lambda: (clean_addresses([mailbox], field="mailbox") or [""])[0]),
        ("automatic", lambda: clean_automatic(automatic)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    cleaned.update(
        sender_address=clean_header(sender_address),
        sender_name=clean_header(sender_name),
        message_id=clean_message_id(message_id),
        in_reply_to=clean_header(in_reply_to).strip("<>"),
        references=clean_references(references),
        problems=clean_problems(problems),
    )
    return cleaned


def _case_cc(current: Sequence[str], message: Mapping[str, Any], *, customer_addresses: Callable[[], Sequence[str]]) -> list[str]:
    """The case's people in copy plus this message's Cc, without our own mailboxes and without
    the customer (replies go to them anyway): replies copy them (outbound.queue_delivery)."""
    new = [address for address in message["cc_addresses"] if address not in current]
    if not new:
        return list(current)
    excluded = {message["sender_address"].lower(), message["mailbox"], *customer_addresses(), *our_mailboxes()}
    return [*current, *(address for address in new if address not in excluded)][:MAX_ADDRESSES]


def _email_identities(identities: Sequence[IdentityInput]) -> list[str]:
    return [item.value.strip().lower() for item in identities if item.kind == IdentityKind.EMAIL]


def _locked_customer(resolution: Resolution) -> Customer:
    """The customer to open the case on, locked for this transaction. resolve_customer already
    holds the lock of the customer it found (and refused a merged one) or created (a row no
    other transaction can see yet); only the older record of a conflict still needs locking."""
    customer = resolution.customer
    if customer is None or customer.erased_at:
        return lock_live_customer(customer or resolution.conflict.customer_a)  # refuses an erased one
    return customer


def _created_addresses(resolution: Resolution) -> list[str] | None:
    """The email addresses of a customer this intake created (all of them, oldest first, as
    customer_email_addresses reads them); None for a customer found, whose others are unknown."""
    if not resolution.created:
        return None
    return [identity.normalized for identity in resolution.attached if identity.kind == IdentityKind.EMAIL]


def _deduplicated(message_id: str | None) -> Intake | None:
    stored = stored_message(message_id)
    return Intake(case=stored.case, message=stored, created=False) if stored is not None else None


def open_case(
    *,
    identities: Sequence[IdentityInput],
    hints: Mapping[str, Any] | None = None,
    channel: str,
    subject: str,
    body: str = "",
    body_html: str = "",
    type: str = CaseType.QUESTION,  # noqa: A002 - the business word
    priority: str | None = None,
    team: Team | None = None,
    order: Order | None = None,
    actor=None,
    assignee=None,
    sender_address: str = "",
    sender_name: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    received_at: datetime | None = None,
    references: Sequence[str] | str = (),
    mailbox: str = "",
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    automatic: str = "",
    problems: Sequence[Mapping[str, str]] = (),
    acknowledge: bool = True,
    submission_id: uuid.UUID | None = None,
) -> Intake:
    """Open a case with the customer's first message (status new) and put it on their timeline.

    `acknowledge=False` sends no acknowledgement: for a request an agent settles while the
    customer is still on the phone or in the store, where "we received it" would be noise.

    Triage (services/routing.py) sets the language, the priority score and level, the team (by
    routing rule, unless `team` is given) and an agent. A `priority` given is a floor the score
    may raise, never lower; None lets the score decide.

    Email fields (all optional): `mailbox` the address the customer wrote to (the case's
    replies are sent from it), `to`/`cc`/`bcc` the message's recipients (the Cc are kept on the
    case, without our mailboxes and the customer), `references`, `automatic` ("auto_reply" or
    "bounce"), and the `problems` met while reading it ({"code", "detail"}: stored and flagged).

    `assignee`: the agent already handling it (a request settled on the spot at an agent's
    entry): triage then picks nobody and no team's round-robin turn is used.

    `submission_id`: the agent entry's form submission, stored on the case under a unique
    constraint (a second one raises IntegrityError; agent_entry.record_agent_contact returns
    the first case).

    The customer is found or created by resolve_customer. When the identities belong to two
    customers, the case opens on the older record (lowest id) and the IdentityConflict stays
    open for a person to merge or dismiss: nothing the customer sent waits for that decision.
    With a message_id, a message already stored is returned instead of being stored twice.
    """
    fields = _clean_message(
        channel=channel, body=body, body_html=body_html, sender_address=sender_address,
        sender_name=sender_name, message_id=message_id, in_reply_to=in_reply_to, references=references,
        mailbox=mailbox, to=to, cc=cc, bcc=bcc, automatic=automatic, problems=problems,
    )
    clean_choice("type", type, CaseType)
    if priority is not None:  # None: the priority score decides (cases/priority.py)
        clean_choice("priority", priority, Priority)
    subject = clean_subject(subject)
    if not subject and not fields["body_text"].strip():
        raise ValidationError({"body": [_("A case needs a subject or a message.")]})
    if (again := _deduplicated(fields["message_id"])) is not None:
        return again
    now = received_at or timezone.now()
    try:
        with pinned_settings(), transaction.atomic():
            resolution = resolve_customer(identities=identities, hints=hints, channel=fields["channel"], seen_at=now)
            customer = _locked_customer(resolution)
            if order is not None and order.customer_id != customer.pk:
                raise ValidationError({"order": [_("This order belongs to another customer.")]})
            case = Case(
                customer=customer, channel=fields["channel"], subject=subject, created_at=now, type=type,
                priority=priority or Priority.LOW, team=team, assignee=assignee, order=order, last_customer_message_at=now,
                mailbox=fields["mailbox"], cc_addresses=_case_cc([], fields, customer_addresses=lambda: _email_identities(identities)),
                submission_id=submission_id,
            )
            # Triage, then the clock (the SLA policy and calendar follow the final priority and
            # team), then one INSERT with all of it. A customer this intake created has no orders.
            routing = triage(
                case, text=f"{subject}\n{fields['body_text']}", known_order_total=Decimal(0) if resolution.created else None,
            )
            set_due_times(case, now)
            # Decided before the INSERT (it sets acknowledged_at), once the team and due times are known.
            acknowledgement = plan_acknowledgement(
                case, first_message=fields, customer_addresses=_created_addresses(resolution),
            ) if acknowledge else None
            insert_case(case)
            message = add_thread_entry(
                case, kind=MessageKind.INBOUND, author=actor, created_at=now, **fields,
            )
            audits = [routing_audit(case, routing)]
            if getattr(actor, "is_authenticated", False):
                audits.append(audit_event(kind=CaseAuditKind.OPENED, actor=actor, subject=case,
                                          payload={"channel": case.channel, "message": message.pk}))
            record_audits(audits)
            if acknowledgement is not None:
                send_acknowledgement(case, acknowledgement)
            case_events.case_created(case)
    except IntegrityError:
        # Two deliveries of the same message raced; the first one's commit is the stored copy.
        if (again := _deduplicated(fields["message_id"])) is not None:
            return again
        raise
    return Intake(case=case, message=message, created=True, case_opened=True, conflict=resolution.conflict)


def _refuse_erased(case: Case) -> None:
    # An erased person's words are not added to an unlinked case (a later erasure could not
    # find them): the intake opens a new case from the sender's identities instead.
    if case.customer_id is None:
        raise invalid(
            "case", _("Case %(reference)s belongs to an erased customer; open a new case from the sender instead.") % {"reference": case.reference},
            "customer_erased",
        )


def _follow_up(case: Case, *, fields: Mapping[str, Any], now: datetime) -> Case:
    """A new case for a message that came too late for its case: same customer, linked back,
    with the case's people in copy and those this message adds."""
    cc = _case_cc(case.cc_addresses, fields, customer_addresses=lambda: customer_email_addresses(case.customer_id))
    follow_up = create_case(
        customer=case.customer, channel=fields["channel"], subject=case.subject, created_at=now, type=case.type,
        priority=case.priority, team=case.team, order=case.order, reopened_from=case, last_customer_message_at=now,
        # The same matter: it keeps the case's language and priority, with its reasons (routing-and-priority.md).
        language=case.language, priority_score=case.priority_score, priority_reasons=case.priority_reasons,
        mailbox=case.mailbox, cc_addresses=cc,
    )
    start_clock(follow_up, now)
    return follow_up


def add_inbound_message(
    *,
    case: Case,
    body: str,
    body_html: str = "",
    channel: str | None = None,
    sender_address: str = "",
    sender_name: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    received_at: datetime | None = None,
    references: Sequence[str] | str = (),
    mailbox: str = "",
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    automatic: str = "",
    problems: Sequence[Mapping[str, str]] = (),
    acknowledge: bool = True,
    visible_to=None,
) -> Intake:
    """A customer's reply on a case (email fields as in open_case; new Cc join the case's).

    A reply to a merged case goes to the case it was merged into. A reply to a resolved case
    reopens it within the reopen window (the case settings in the admin); after the window, or on a
    closed case (which never reopens), it opens a new case linked by `reopened_from`.
    A reply while the case waits for the customer puts it back to open. `acknowledge=False`
    sends no acknowledgement for a follow-up case (replays of old mail: ingest-email --no-acknowledge).
    `visible_to`: the person posting it (the API), refused when the case was merged into one
    they cannot see — checked once the survivor is locked, so a merge just committed counts.
    """
    fields = _clean_message(
        channel=channel or case.channel, body=body, body_html=body_html, sender_address=sender_address,
        sender_name=sender_name, message_id=message_id, in_reply_to=in_reply_to, references=references,
        mailbox=mailbox, to=to, cc=cc, bcc=bcc, automatic=automatic, problems=problems,
    )
    if not fields["body_text"].strip() and not fields["body_html"].strip():
        raise ValidationError({"body": [_("The message is empty.")]})
    if (again := _deduplicated(fields["message_id"])) is not None:
        return again
    now = received_at or timezone.now()
    try:
        with transaction.atomic():
            target = lock_live_case(case.pk)
            refuse_hidden_survivor(case, target, visible_to)
            _refuse_erased(target)
            late = target.status == CaseStatus.RESOLVED and (target.resolved_at is None or now - target.resolved_at > reopen_window())
            opened = target.status == CaseStatus.CLOSED or late
            previous_status = target.status
            if opened:
                target = _follow_up(target, fields=fields, now=now)
            else:
                _note_customer_reply(target, now, fields)
            message = add_thread_entry(target, kind=MessageKind.INBOUND, created_at=now, **fields)
            if opened and acknowledge:
                acknowledge_case(case=target, message=message)  # a follow-up case is a new case: acknowledged too
            # A reply that reopened the case or ended the wait for the customer says so too.
            status_change = None if opened or target.status == previous_status else case_events.change(previous_status, target.status)
            case_events.inbound_message(target, message, opened=opened, status=status_change)
    except IntegrityError:
        if (again := _deduplicated(fields["message_id"])) is not None:
            return again
        raise
    return Intake(case=target, message=message, created=True, case_opened=opened)


def _note_customer_reply(case: Case, now: datetime, fields: Mapping[str, Any]) -> None:
    changed = ["last_customer_message_at", "updated_at"]
    case.last_customer_message_at = max(filter(None, (case.last_customer_message_at, now)))
    cc = _case_cc(case.cc_addresses, fields, customer_addresses=lambda: customer_email_addresses(case.customer_id))
    if cc != case.cc_addresses:
        case.cc_addresses = cc
        changed.append("cc_addresses")
    if case.status == CaseStatus.RESOLVED:
        case.status, case.resolved_at, case.reopen_count = CaseStatus.OPEN, None, case.reopen_count + 1
        # The customer wrote again: an answered case waits for the next reply (services/sla.py).
        changed += ["status", "resolved_at", "reopen_count", *restart_resolution_clock(case, now, by_customer=True)]
    elif case.status == CaseStatus.PENDING_CUSTOMER:
        case.status = CaseStatus.OPEN
        changed += ["status", *resume_clock(case, now)]
    update_instance(case, changed)  # plain SQL: every reply runs this (common.py, "hot path")
