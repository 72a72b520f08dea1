"""Acknowledgement of receipt: the customer is told at once that their message arrived, under
which reference, which team handles it and by when (issue 3, item 4; docs/templates-and-surveys.md).
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from prevenance.cases.choices import AutomaticEmail, MessageKind, TemplateAuditKind, TemplatePurpose
from prevenance.cases.models import Case, Message, ReplyTemplate
from prevenance.cases.services.common import add_thread_entry, set_if_unset
from prevenance.cases.services.outbound import email_addressing, outbox_fields
from prevenance.cases.services.templates import apply_signature, render_template, select_template
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel

logger = logging.getLogger(__name__)


class SkipReason:
    """Why a case got no acknowledgement (payload of the case.acknowledgement_skipped audit row)."""

    AUTOMATIC = "automatic"  # the customer's message is an auto-reply or a bounce: answering it loops
    NO_ADDRESS = "no_address"  # nowhere to write to (a phone call from an unknown number...)
    BOUNCED = "bounced"  # the customer's email addresses all bounced for good
    ERASED = "erased"  # the customer was erased


def _first_inbound(case: Case) -> Message | None:
    return Message.objects.filter(case=case, kind=MessageKind.INBOUND).order_by("created_at", "id").first()


def _skip(case: Case, reason: str) -> None:
    record_audit(kind=TemplateAuditKind.ACKNOWLEDGEMENT_SKIPPED, actor=None, subject=case, payload={"reason": reason})


@dataclass(frozen=True)
class Acknowledgement:
    """What plan_acknowledgement decided for a case about to be opened: send `template` to
    `addressing`, or record why not (`skip`), or nothing (no active template)."""

    template: ReplyTemplate | None = None
    addressing: dict[str, Any] | None = None
    skip: str = ""


def _decide(case: Case, *, automatic: str, addressing: Callable[[], dict[str, Any] | str]) -> Acknowledgement:
    if case.customer_id is None:
        return Acknowledgement(skip=SkipReason.ERASED)
    if automatic:
        return Acknowledgement(skip=SkipReason.AUTOMATIC)
    template = select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case)
    if template is None:
        return Acknowledgement()
    where = addressing()  # also whether anyone can be written to
    if isinstance(where, str):
        return Acknowledgement(skip=SkipReason.BOUNCED if getattr(where, "code", "") == "bounced" else SkipReason.NO_ADDRESS)
    return Acknowledgement(template=template, addressing=where)


def _store(case: Case, decision: Acknowledgement, *, now) -> Message | None:
    if decision.skip:
        _skip(case, decision.skip)
        return None
    if decision.template is None:
        logger.info("No active acknowledgement template: case %s not acknowledged", case.reference)
        return None
    subject, body = render_template(template=decision.template, case=case)
    # Into the outbox with its INSERT: the sweep sends it within seconds (no broker message
    # per new case; outbound.py).
    return add_thread_entry(
        case, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text=apply_signature(body, case=case, language=decision.template.language), created_at=now,
        automatic_purpose=AutomaticEmail.ACKNOWLEDGEMENT, **decision.addressing, **outbox_fields(subject, due=now),
    )


def plan_acknowledgement(case: Case, *, first_message: Mapping[str, Any], customer_addresses: Sequence[str] | None) -> Acknowledgement:
    """Decide the acknowledgement of a case before its INSERT (open_case): the case is new, so
    its only message is `first_message` (the fields about to be stored) and no one else can
    acknowledge it; `customer_addresses` are the customer's email addresses when the intake
    knows them all (a customer it created), else None (read). Sets `acknowledged_at` on the
    unsaved case when it will be sent; send_acknowledgement stores and queues it after the INSERT."""
    decision = _decide(case, automatic=first_message["automatic"], addressing=lambda: email_addressing(
        case, customer_addresses=customer_addresses, first_message=first_message,
    ))
    if decision.template is not None:
        case.acknowledged_at = timezone.now()
    return decision


def send_acknowledgement(case: Case, decision: Acknowledgement) -> Message | None:
    """The second half of plan_acknowledgement, once the case and its first message are stored."""
    return _store(case, decision, now=case.acknowledged_at)


def acknowledge_case(*, case: Case, message: Message | None = None) -> Message | None:
    """Send the acknowledgement of a new case once; the OUTBOUND message, or None when not sent.

    Call it inside the transaction that opened the case, once the team and due times are set
    (open_case decides it before the case's INSERT instead: plan_acknowledgement). `message`
    is the case's first inbound message when the caller has it (saves a query). Not a first
    response: `first_response_at` is left alone.
    Not sent, with an audit row saying why, to an auto-reply or bounce, to an erased customer,
    or to a customer with no email address; not sent, with a log line, when no acknowledgement
    template is active (an installation that has not run `prevenance bootstrap`).
    """
    # savepoint=False: inside an intake this joins its transaction (no savepoint round trips).
    with transaction.atomic(savepoint=False):
        message = message or _first_inbound(case)
        decision = _decide(case, automatic=message.automatic if message is not None else "",
                           addressing=lambda: email_addressing(case))
        now = timezone.now()
        # Exactly once per case, whoever calls: the first to set acknowledged_at sends it.
        if decision.template is not None and not set_if_unset(case, "acknowledged_at", now):
            return None
        return _store(case, decision, now=now)
