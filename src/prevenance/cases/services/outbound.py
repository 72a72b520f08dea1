"""Outbound delivery: an OUTBOUND thread message sent to the customer after commit (docs/email-intake.md).

`queue_delivery(message)` is called inside the transaction that created the message. It
decides there who the message goes to and stores it on the message (mailbox it is sent from,
To, Cc, our Message-ID, In-Reply-To, References), so the thread shows what was sent and the
customer's reply threads back even before the send. On commit a task sends it once
(`deliver`, through `run_once`) with Django's email backend and stamps `sent_at`; a failed
send keeps the error in `send_error` and is retried with backoff, then given up with the
error kept.
"""

import re
import smtplib
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import MessageKind
from prevenance.cases.models import Case, Message
from prevenance.cases.services.common import clean_header, fetch_all, quoted, team_mailbox_addresses
from prevenance.core.choices import Channel
from prevenance.core.queue import enqueue_on_commit, run_once
from prevenance.core.sql import update_instance
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Identity

# Retries of a failed send (the task's max_retries): 1 min, 2, 4, ... capped at an hour.
FIRST_RETRY_SECONDS = 60
LAST_RETRY_SECONDS = 3600
MAX_SUBJECT = 200
_PREFIX_RE = re.compile(r"^\s*((re|fwd?|tr|aw|sv|wg|réf|ref)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_REFERENCE_TAG_RE = re.compile(r"\s*\[\s*C-\d{4}-\d{6,}\s*\]\s*", re.IGNORECASE)


class TransientSendError(Exception):
    """The mail server could not be reached or refused for now: the task retries later."""


def our_mailboxes() -> set[str]:
    """Every address we send from or receive on: never a customer, never copied on a reply."""
    return {*team_mailbox_addresses(), settings.DEFAULT_FROM_EMAIL.lower()}


def sender_mailbox(case: Case, teams: dict[str, int] | None = None) -> str:
    """The case's mailbox (the one the customer wrote to), else its team's, else DEFAULT_FROM_EMAIL."""
    if case.mailbox:
        return case.mailbox
    if case.team_id is not None:
        teams = team_mailbox_addresses() if teams is None else teams
        return next((address for address, team_id in teams.items() if team_id == case.team_id), settings.DEFAULT_FROM_EMAIL)
    return settings.DEFAULT_FROM_EMAIL


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower() or "prevenance.localhost"


def new_message_id(mailbox: str) -> str:
    """Our own Message-ID, stored without brackets like the parser stores inbound ones."""
    return f"{uuid.uuid4().hex}@{_domain(mailbox)}"


@dataclass(frozen=True)
class _Answered:
    sender_address: str
    message_id: str
    references: str


def _last_customer_message(case: Case, customer_addresses: set[str]) -> _Answered | None:
    """The customer's last email we answer: never an auto-reply or a bounce (no mail loops);
    theirs rather than a person in copy's, when one of the last 20 is theirs."""
    rows = fetch_all(
        f"SELECT {quoted('sender_address')}, {quoted('message_id')}, {quoted('references')} FROM {quoted(Message._meta.db_table)} "
        f"WHERE {quoted('case_id')} = %s AND {quoted('kind')} = %s AND {quoted('channel')} = %s AND {quoted('automatic')} = '' "
        f"AND {quoted('sender_address')} <> '' ORDER BY {quoted('created_at')} DESC, {quoted('id')} DESC LIMIT 20",
        [case.pk, MessageKind.INBOUND, Channel.EMAIL],
    )
    answered = [_Answered(address, message_id or "", references or "") for address, message_id, references in rows]
    return next((item for item in answered if item.sender_address.lower() in customer_addresses), answered[0] if answered else None)


def customer_email_addresses(customer_id: int | None) -> list[str]:
    """The customer's email addresses, oldest first (the first is where replies go by default)."""
    if customer_id is None:
        return []
    return [row[0] for row in fetch_all(
        f"SELECT {quoted('normalized')} FROM {quoted(Identity._meta.db_table)} WHERE {quoted('customer_id')} = %s AND {quoted('kind')} = %s "
        f"ORDER BY {quoted('first_seen_at')}, {quoted('id')}",
        [customer_id, IdentityKind.EMAIL],
    )]


def reaches_customer(case: Case, message: Message | None = None) -> bool:
    """Whether an email on this case would have someone to go to (queue_delivery's choice of
    recipient): the customer's email address, else the sender of a customer's email on the case.
    `message`, an inbound email the caller holds, answers without a query."""
    if message is not None and case.customer_id is not None and message.channel == Channel.EMAIL \
            and message.sender_address and not message.automatic:
        return True
    return not isinstance(email_addressing(case), str)


def queue_delivery(message: Message, *, subject: str = "") -> None:
    """Address an OUTBOUND message and send it once the current transaction commits.

    `subject` replaces the case's subject (still tagged with the case reference); by default
    a reply is "Re: [C-2026-000123] <case subject>". A message on a channel Prévenance cannot
    send on, or to a customer without an email address, is not sent: `send_error` says why.
    """
    if message.kind != MessageKind.OUTBOUND:
        raise ValueError(f"Only outbound messages are delivered, not {message.kind!r}")
    if message.channel != Channel.EMAIL:
        _record_error(message, _("No sender for channel %(channel)s: send this reply by that channel yourself.")
                      % {"channel": message.get_channel_display()})
        return
    case = message.case  # the caller's (locked) case
    addressing = email_addressing(case, message_id=message.message_id)
    if isinstance(addressing, str):
        _record_error(message, addressing)
        return
    for name, value in addressing.items():
        setattr(message, name, value)
    message.send_error = ""
    update_instance(message, [*addressing, "send_error"])
    send_on_commit(message, subject=subject)


def first_message_answered(message: Mapping[str, Any]) -> _Answered | None:
    """What _last_customer_message finds on a case whose only message is `message` (the fields
    of an inbound message not stored yet): the message itself, unless it is not an email we answer."""
    if message["channel"] != Channel.EMAIL or message["automatic"] or not message["sender_address"]:
        return None
    return _Answered(message["sender_address"], message["message_id"] or "", message["references"] or "")


def email_addressing(
    case: Case, *, message_id: str | None = None,
    customer_addresses: Sequence[str] | None = None, first_message: Mapping[str, Any] | None = None,
) -> dict[str, Any] | str:
    """Who an email on `case` goes to, from which mailbox, threaded on what: the fields of the
    OUTBOUND message (mailbox, to_addresses, cc_addresses, message_id, in_reply_to, references),
    or the reason it cannot be sent. The recipient is the customer's last (non-automatic)
    email address on the case, else their first email address, else the last sender.

    An intake opening a case already knows what the two reads would find: the customer's email
    addresses (`customer_addresses`, oldest first, normalised) and the case's only message
    (`first_message`, its fields); given, they are used instead of reading the database."""
    if case.customer_id is None:
        return _("The customer was erased: there is no one to send this to.")
    if customer_addresses is None:
        customer_addresses = customer_email_addresses(case.customer_id)
    if first_message is not None:
        answered = first_message_answered(first_message)
    else:
        answered = _last_customer_message(case, set(customer_addresses))
    if answered is not None and answered.sender_address.lower() in customer_addresses:
        recipient = answered.sender_address
    else:
        recipient = customer_addresses[0] if customer_addresses else (answered.sender_address if answered else "")
    if not recipient:
        return _("The customer has no email address to send this to.")
    teams = team_mailbox_addresses()
    mailbox = sender_mailbox(case, teams)
    excluded = {*teams, settings.DEFAULT_FROM_EMAIL.lower(), recipient.lower(), mailbox.lower()}
    fields = {
        "mailbox": mailbox,
        "to_addresses": [recipient],
        "cc_addresses": [address for address in case.cc_addresses if address.lower() not in excluded],
        "message_id": message_id or new_message_id(mailbox),
        "in_reply_to": "",
        "references": "",
    }
    if answered is not None and answered.message_id:
        earlier = answered.references.split() if answered.references else []
        fields["in_reply_to"] = answered.message_id
        fields["references"] = " ".join([*earlier[-20:], answered.message_id])
    return fields


def send_on_commit(message: Message, *, subject: str = "") -> None:
    """Send an OUTBOUND email message, addressed already (email_addressing), once the current
    transaction commits."""
    enqueue_on_commit(case_tasks.deliver_message, message.pk, clean_header(subject))


def _record_error(message: Message, error: str) -> None:
    message.send_error = error
    Message.objects.filter(pk=message.pk).update(send_error=error)


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and without our reference tag."""
    text = _REFERENCE_TAG_RE.sub(" ", subject or "")
    return " ".join(_PREFIX_RE.sub("", text).split())


def outbound_subject(case: Case, *, subject: str = "") -> str:
    """"Re: [C-2026-000123] <case subject>", or "[C-2026-000123] <subject>" when the caller gives
    one: the reference threads the customer's answer back even when their client drops the headers."""
    if subject:
        return f"[{case.reference}] {base_subject(subject)[:MAX_SUBJECT]}"
    return f"Re: [{case.reference}] {base_subject(case.subject)[:MAX_SUBJECT] or _('Your request')}"


def _angle(message_id: str) -> str:
    return f"<{message_id}>"


def build_email(message: Message, *, subject: str = "") -> EmailMultiAlternatives:
    case = message.case
    headers = {"Message-ID": _angle(message.message_id)}
    if message.in_reply_to:
        headers["In-Reply-To"] = _angle(message.in_reply_to)
        headers["References"] = " ".join(_angle(ref) for ref in (message.references or message.in_reply_to).split())
    if message.author_id is None:
        # Sent by Prévenance itself (acknowledgement, survey): mark it so that the customer's
        # own auto-responder does not answer it (RFC 3834; Exchange's header).
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    email = EmailMultiAlternatives(
        subject=outbound_subject(case, subject=subject),
        body=message.body_text,
        from_email=_from_header(case, message.mailbox),
        to=list(message.to_addresses),
        cc=list(message.cc_addresses),
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def _from_header(case: Case, mailbox: str) -> str:
    if case.team_id is None or not case.team.name:
        return mailbox
    local, _at, domain = mailbox.rpartition("@")
    try:
        return str(Address(display_name=case.team.name, username=local, domain=domain))
    except (ValueError, IndexError):
        return mailbox


def deliver(*, message_id: int, subject: str = "", final: bool = True) -> bool:
    """Send one queued OUTBOUND email once; True when it was sent now.

    A failed send records its error on the message and raises TransientSendError for the task
    to retry, unless `final`: then the error stays and nothing more is tried.
    """
    message = (
        Message.objects.select_related("case", "case__team")
        .filter(Q(pk=message_id) & Q(kind=MessageKind.OUTBOUND) & Q(channel=Channel.EMAIL) & Q(sent_at__isnull=True))
        .first()
    )
    if message is None or message.customer_id is None or not message.to_addresses:
        return False  # sent already, erased meanwhile, or never addressed (send_error says why)
    email = build_email(message, subject=subject)

    def send() -> None:
        email.send()
        Message.objects.filter(pk=message.pk).update(sent_at=timezone.now(), send_error="")

    try:
        return run_once(key=f"case-message-send:{message.pk}", effect=send)
    except (smtplib.SMTPException, OSError) as exc:
        error = _("Sending failed: %(error)s") % {"error": str(exc) or type(exc).__name__}
        if final:
            error = _("%(error)s (given up: no more attempts)") % {"error": error}
        _record_error(message, error[:2000])
        if final:
            return False
        raise TransientSendError(error) from exc


def retry_delay(retries: int) -> int:
    """Seconds before the next attempt: doubling from a minute, capped at an hour."""
    return min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, retries))
