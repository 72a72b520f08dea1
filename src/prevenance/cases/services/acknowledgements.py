"""Acknowledgement of receipt: the customer is told at once that their message arrived, under
which reference, which team handles it and by when (issue 3, item 4; docs/templates-and-surveys.md).
"""

import logging

from django.db import transaction
from django.utils import timezone

from prevenance.cases.choices import MessageKind, TemplateAuditKind, TemplatePurpose
from prevenance.cases.models import Case, Message
from prevenance.cases.services.common import add_thread_entry, set_if_unset
from prevenance.cases.services.outbound import email_addressing, send_on_commit
from prevenance.cases.services.templates import apply_signature, render_template, select_template
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel

logger = logging.getLogger(__name__)


class SkipReason:
    """Why a case got no acknowledgement (payload of the case.acknowledgement_skipped audit row)."""

    AUTOMATIC = "automatic"  # the customer's message is an auto-reply or a bounce: answering it loops
    NO_ADDRESS = "no_address"  # nowhere to write to (a phone call from an unknown number...)
    ERASED = "erased"  # the customer was erased


def _first_inbound(case: Case) -> Message | None:
    return Message.objects.filter(case=case, kind=MessageKind.INBOUND).order_by("created_at", "id").first()


def _skip(case: Case, reason: str) -> None:
    record_audit(kind=TemplateAuditKind.ACKNOWLEDGEMENT_SKIPPED, actor=None, subject=case, payload={"reason": reason})


def acknowledge_case(*, case: Case, message: Message | None = None) -> Message | None:
    """Send the acknowledgement of a new case once; the OUTBOUND message, or None when not sent.

    Call it inside the transaction that opened the case, once the team and due times are set
    (end of intake.open_case). `message` is the case's first inbound message when the caller
    has it (saves a query). Not a first response: `first_response_at` is left alone.
    Not sent, with an audit row saying why, to an auto-reply or bounce, to an erased customer,
    or to a customer with no email address; not sent, with a log line, when no acknowledgement
    template is active (an installation that has not run `prevenance bootstrap`).
    """
    # savepoint=False: inside open_case this joins its transaction (no savepoint round trips).
    with transaction.atomic(savepoint=False):
        message = message or _first_inbound(case)
        if case.customer_id is None:
            _skip(case, SkipReason.ERASED)
            return None
        if message is not None and message.automatic:
            _skip(case, SkipReason.AUTOMATIC)
            return None
        template = select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case)
        if template is None:
            logger.info("No active acknowledgement template: case %s not acknowledged", case.reference)
            return None
        addressing = email_addressing(case)  # also whether anyone can be written to
        if isinstance(addressing, str):
            _skip(case, SkipReason.NO_ADDRESS)
            return None
        now = timezone.now()
        # Exactly once per case, whoever calls: the first to set acknowledged_at sends it.
        if not set_if_unset(case, "acknowledged_at", now):
            return None
        subject, body = render_template(template=template, case=case)
        ack = add_thread_entry(
            case, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text=apply_signature(body, case=case), created_at=now,
            **addressing,
        )
        send_on_commit(ack, subject=subject)
    return ack
