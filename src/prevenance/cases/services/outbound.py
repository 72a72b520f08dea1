"""Outbound delivery: an OUTBOUND thread message sent to the customer by email (docs/email-intake.md).

`queue_delivery(message)` is called inside the transaction that created the message. It
decides there who the message goes to and stores it on the message (mailbox it is sent from,
To, Cc, our Message-ID, In-Reply-To, References), so the thread shows what was sent and the
customer's reply threads back even before the send.

The message row is its own outbox entry: `delivery_due_at` says when the next attempt is due
(NULL: nothing to send). A reply's task is sent when the transaction commits and the row is
leased to it for QUEUE_LEASE; an acknowledgement (one per new case, the hot path of every
intake) is only marked due and the periodic sweep (`send_due_emails`, every few seconds)
sends its task. The task sends it once (`deliver`, through `run_once`), a copy to each
recipient, with Django's email backend and stamps `sent_at`; a failed send keeps the error in
`send_error` and is due again after a backoff (`retry_delay`), then given up after MAX_ATTEMPTS
with the error kept. A retry sends only the copies not accepted yet; the email counts as sent
once the customer's copy is accepted, and a copy still refused at the last attempt is named on
the message (delivery_problems.COPIES_NOT_DELIVERED) instead of failing the copies that went.
A task lost with its broker is made up for by the sweep once its lease has passed.
"""

import contextlib
import functools
import re
import smtplib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from prevenance.cases import delivery_problems
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import MessageKind
from prevenance.cases.models import Case, Message
from prevenance.cases.services.bounces import BOUNCE_TOKEN_HEADER, bounce_token
from prevenance.cases.services.common import clean_header, fetch_all, quoted, team_mailbox_addresses
from prevenance.cases.services.templates import case_language
from prevenance.core.choices import Channel
from prevenance.core.queue import effects_done, enqueue_on_commit, lease_due_rows, run_once
from prevenance.core.sql import db_datetime, update_instance
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Identity

# Retries of a failed send: 1 min, 2, 4, ... capped at an hour; given up after the 9th attempt
# (about 3 hours after the first).
FIRST_RETRY_SECONDS = 60
LAST_RETRY_SECONDS = 3600
MAX_ATTEMPTS = 9
# An email whose task waits in the queue (or runs) is left to it this long before the sweep
# counts the task as lost and sends another; the email itself is sent once (run_once).
QUEUE_LEASE = timedelta(minutes=10)
SWEEP_BATCH = 500
MAX_SUBJECT = 200
_PREFIX_RE = re.compile(r"^\s*((re|fwd?|tr|aw|sv|wg|réf|ref)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_REFERENCE_TAG_RE = re.compile(r"\s*\[\s*C-\d{4}-\d{6,}\s*\]\s*", re.IGNORECASE)


def default_from_address() -> str:
    """The bare address of DEFAULT_FROM_EMAIL, which Django allows as "Name <address>"."""
    return (parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL).strip().lower()


def our_mailboxes() -> set[str]:
    """Every address we send from or receive on: never a customer, never copied on a reply."""
    return {*team_mailbox_addresses(), default_from_address()}


def sender_mailbox(case: Case, teams: dict[str, int] | None = None) -> str:
    """The case's mailbox (the one the customer wrote to), else its team's, else DEFAULT_FROM_EMAIL."""
    if case.mailbox:
        return case.mailbox
    if case.team_id is not None:
        teams = team_mailbox_addresses() if teams is None else teams
        return next((address for address, team_id in teams.items() if team_id == case.team_id), default_from_address())
    return default_from_address()


def _domain(address: str) -> str:
    """The mailbox's domain for our Message-IDs, in ASCII (an accented domain in its IDNA form,
    as Django writes it in From: a header id cannot be RFC 2047-encoded)."""
    domain = address.rpartition("@")[2].strip().rstrip(">").lower()
    try:
        return domain.encode("idna").decode("ascii") if domain else "prevenance.localhost"
    except UnicodeError:
        return "prevenance.localhost"


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


def _email_identities(customer_id: int | None) -> list[tuple[str, datetime | None, str]]:
    """(address, bounced at, bounce reason) of the customer's email identities, oldest first."""
    if customer_id is None:
        return []
    return fetch_all(
        f"SELECT {quoted('normalized')}, {quoted('bounced_at')}, {quoted('bounce_reason')} FROM {quoted(Identity._meta.db_table)} "
        f"WHERE {quoted('customer_id')} = %s AND {quoted('kind')} = %s ORDER BY {quoted('first_seen_at')}, {quoted('id')}",
        [customer_id, IdentityKind.EMAIL],
    )


def customer_email_addresses(customer_id: int | None) -> list[str]:
    """The customer's email addresses, oldest first (the first is where replies go by default)."""
    return [address for address, _bounced_at, _reason in _email_identities(customer_id)]


class Unreachable(str):
    """Why an email cannot be sent: its text in the active language, with the `code` callers test
    ("erased", "no_address", "bounced") and the `problem` stored on the message
    (delivery_problems.py)."""

    code: str
    problem: dict

    def __new__(cls, code: str, **params: str):
        stored = delivery_problems.problem(code, **params)
        reason = super().__new__(cls, delivery_problems.describe(stored))
        reason.code = "bounced" if code.startswith("bounced") else code
        reason.problem = stored
        return reason


def _bounced(address: str, bounced_at, reason: str) -> Unreachable:
    when = timezone.localtime(_read_datetime(bounced_at)).isoformat()
    if reason:
        return Unreachable("bounced", address=address, date=when, reason=reason)
    return Unreachable("bounced_without_reason", address=address, date=when)


def _read_datetime(value) -> datetime:
    # A raw SELECT gives SQLite's naive UTC value (or its text), PostgreSQL's aware one.
    value = parse_datetime(value) if isinstance(value, str) else value
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def reaches_customer(case: Case, message: Message | None = None) -> bool:
    """Whether an email on this case would have someone to go to (queue_delivery's choice of
    recipient): the customer's email address, else the sender of a customer's email on the case.
    `message`, an inbound email the caller holds, answers without a query."""
    if message is not None and case.customer_id is not None and message.channel == Channel.EMAIL \
            and message.sender_address and not message.automatic:
        return True
    return unreachable(case) is None


def unreachable(case: Case) -> Unreachable | None:
    """Why no email on this case can reach anyone ("erased", "no_address", "bounced"), or None."""
    addressing = email_addressing(case)
    return addressing if isinstance(addressing, Unreachable) else None


def queue_delivery(message: Message, *, subject: str = "", copy_people: bool = True) -> None:
    """Address an OUTBOUND message and send it once the current transaction commits.

    `copy_people=False` leaves out the case's people in copy (the satisfaction survey is the
    customer's alone: its one-click links answer for them).
    `subject` replaces the case's subject (still tagged with the case reference); by default
    a reply is "Re: [C-2026-000123] <case subject>". A message on a channel Prévenance cannot
    send on, or to a customer without an email address, is not sent: `send_error` says why.
    """
    if message.kind != MessageKind.OUTBOUND:
        raise ValueError(f"Only outbound messages are delivered, not {message.kind!r}")
    case = message.case  # the caller's (locked) case
    addressing = message_addressing(case, message.channel, message_id=message.message_id, copy_people=copy_people)
    if isinstance(addressing, Unreachable):
        _record_error(message, addressing)
        return
    fields = {**addressing, "send_error": "", "send_problem": {}, **outbox_fields(subject, due=timezone.now() + QUEUE_LEASE)}
    for name, value in fields.items():
        setattr(message, name, value)
    update_instance(message, list(fields))
    enqueue_on_commit(case_tasks.deliver_message, message.pk)  # at once; the row is leased to this task


def message_addressing(
    case: Case, channel: str, *, message_id: str | None = None, copy_people: bool = True,
) -> dict[str, Any] | Unreachable:
    """Who an OUTBOUND message on `channel` goes to (email_addressing), or why it is not sent:
    Prévenance sends on email only. queue_delivery addresses every message with it, and the
    case page shows a reply's recipients with it (selectors.reply_recipients), so the two agree."""
    if channel != Channel.EMAIL:
        return Unreachable("no_channel", channel=channel)
    return email_addressing(case, message_id=message_id, copy_people=copy_people)


def first_message_answered(message: Mapping[str, Any]) -> _Answered | None:
    """What _last_customer_message finds on a case whose only message is `message` (the fields
    of an inbound message not stored yet): the message itself, unless it is not an email we answer."""
    if message["channel"] != Channel.EMAIL or message["automatic"] or not message["sender_address"]:
        return None
    return _Answered(message["sender_address"], message["message_id"] or "", message["references"] or "")


def email_addressing(
    case: Case, *, message_id: str | None = None,
    customer_addresses: Sequence[str] | None = None, first_message: Mapping[str, Any] | None = None,
    copy_people: bool = True,
) -> dict[str, Any] | str:
    """Who an email on `case` goes to, from which mailbox, threaded on what: the fields of the
    OUTBOUND message (mailbox, to_addresses, cc_addresses, message_id, in_reply_to, references),
    or the reason it cannot be sent. The recipient is the customer's last (non-automatic)
    email address on the case, else their first email address, else the last sender; never one
    of their addresses that bounced for good (Unreachable "bounced" when none is left).

    An intake opening a case already knows what the two reads would find: the customer's email
    addresses (`customer_addresses`, oldest first, normalised) and the case's only message
    (`first_message`, its fields); given, they are used instead of reading the database."""
    if case.customer_id is None:
        return Unreachable("erased")
    bounced: dict[str, tuple] = {}
    if customer_addresses is None:
        identities = _email_identities(case.customer_id)
        customer_addresses = [address for address, _at, _reason in identities]
        bounced = {address: (at, reason) for address, at, reason in identities if at is not None}
    if first_message is not None:
        answered = first_message_answered(first_message)
        if answered is not None:
            # The case's only message came from this address just now: it works (the email
            # intake clears its flag once the case is stored).
            bounced.pop(answered.sender_address.lower(), None)
    else:
        answered = _last_customer_message(case, set(customer_addresses))
    deliverable = [address for address in customer_addresses if address not in bounced]
    if answered is not None and answered.sender_address.lower() in deliverable:
        recipient = answered.sender_address
    elif customer_addresses:
        # Never an address that bounced for good: it would bounce again.
        recipient = deliverable[0] if deliverable else ""
    else:
        recipient = answered.sender_address if answered else ""
    if not recipient:
        if bounced:
            address, (at, reason) = next(iter(bounced.items()))
            return _bounced(address, at, reason)
        return Unreachable("no_address")
    teams = team_mailbox_addresses()
    mailbox = sender_mailbox(case, teams)
    excluded = {*teams, default_from_address(), recipient.lower(), mailbox.lower()}
    fields = {
        "mailbox": mailbox,
        "to_addresses": [recipient],
        "cc_addresses": [address for address in case.cc_addresses if address.lower() not in excluded] if copy_people else [],
        "message_id": message_id or new_message_id(mailbox),
        "in_reply_to": "",
        "references": "",
    }
    if answered is not None and answered.message_id:
        earlier = answered.references.split() if answered.references else []
        fields["in_reply_to"] = answered.message_id
        fields["references"] = " ".join([*earlier[-20:], answered.message_id])
    return fields


def outbox_fields(subject: str, *, due: datetime) -> dict[str, Any]:
    """The fields that put an addressed OUTBOUND email in the outbox, due at `due`: written with
    the message (an acknowledgement's INSERT) or with its addressing (queue_delivery)."""
    return {"email_subject": clean_header(subject)[:255], "delivery_due_at": due, "delivery_attempts": 0}


def _record_error(message: Message, error: Unreachable) -> None:
    message.send_error, message.send_problem = str(error), error.problem
    Message.objects.filter(pk=message.pk).update(send_error=message.send_error, send_problem=message.send_problem)


def send_due_emails(*, now: datetime | None = None) -> int:
    """Send the task of every outbox email whose attempt is due (the periodic sweep) and lease
    it to that task for QUEUE_LEASE, so that the next sweeps leave it alone. Returns how many
    (core.queue.lease_due_rows: two sweeps at once send each task once)."""
    now = now or timezone.now()
    column = quoted("delivery_due_at")
    at, leased_until = db_datetime(now), db_datetime(now + QUEUE_LEASE)
    return lease_due_rows(
        case_tasks.deliver_message, table=Message._meta.db_table, due=f"{column} <= %s", due_params=[at],
        lease=f"{column} = %s", lease_params=[leased_until], order_by=f"{column}, {quoted('id')}", batch=SWEEP_BATCH,
    )


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and without our reference tag."""
    text = _REFERENCE_TAG_RE.sub(" ", subject or "")
    return " ".join(_PREFIX_RE.sub("", text).split())


def outbound_subject(case: Case, *, subject: str = "") -> str:
    """"Re: [C-2026-000123] <case subject>", or "[C-2026-000123] <subject>" when the caller gives
    one: the reference threads the customer's answer back even when their client drops the headers."""
    if subject:
        return f"[{case.reference}] {base_subject(subject)[:MAX_SUBJECT]}"
    text = base_subject(case.subject)[:MAX_SUBJECT]
    if not text:
        # Written to the customer: in the case's language, whoever (or whatever worker) sends it.
        with translation.override(case_language(case)):
            text = _("Your request")
    return f"Re: [{case.reference}] {text}"


def _angle(message_id: str) -> str:
    return f"<{message_id}>"


class _Copy(EmailMultiAlternatives):
    """One recipient's copy of an email: its headers name everyone it went to (To, Cc), its
    envelope only that recipient."""

    envelope_recipient = ""

    def recipients(self) -> list[str]:
        return [self.envelope_recipient] if self.envelope_recipient else super().recipients()


def recipients(message: Message) -> list[str]:
    """Who an email is sent to, one copy each: To, then Cc, each address once."""
    found: dict[str, str] = {}
    for address in (*message.to_addresses, *message.cc_addresses):
        found.setdefault(address.casefold(), address)
    return list(found.values())


def attached_files(message: Message) -> list[tuple[str, bytes, str]]:
    """(filename, content, content type) of each file attached to `message`, read from the
    storage: once per send, for every copy. A stored file that is gone raises
    FileNotFoundError, an OSError: the send is retried and, in the end, given up with the
    reason shown on the case page."""
    files = []
    for attachment in message.attachments.all():
        with attachment.open() as content:
            files.append((attachment.filename, content.read(), attachment.content_type or "application/octet-stream"))
    return files


def build_email(
    message: Message, *, subject: str = "", recipient: str = "", files: list[tuple[str, bytes, str]] | None = None,
) -> EmailMultiAlternatives:
    """The email of `message`; with `recipient`, that person's copy: sent to them alone, with
    their delivery mark (bounces.bounce_token), so that only a bounce of their copy can flag
    their address. `files`: its attachments already read (attached_files), else read here."""
    case = message.case
    headers = {"Message-ID": _angle(message.message_id)}
    if recipient:
        headers[BOUNCE_TOKEN_HEADER] = bounce_token(message.message_id, recipient)
    if message.in_reply_to:
        headers["In-Reply-To"] = _angle(message.in_reply_to)
        headers["References"] = " ".join(_angle(ref) for ref in (message.references or message.in_reply_to).split())
    if message.author_id is None:
        # Sent by Prévenance itself (acknowledgement, survey): mark it so that the customer's
        # own auto-responder does not answer it (RFC 3834; Exchange's header).
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    email = _Copy(
        subject=outbound_subject(case, subject=subject),
        body=message.body_text,
        from_email=_from_header(case, message.mailbox),
        to=list(message.to_addresses),
        cc=list(message.cc_addresses),
        headers=headers,
    )
    email.envelope_recipient = recipient
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for filename, content, content_type in attached_files(message) if files is None else files:
        email.attach(filename, content, content_type)
    return email


def _from_header(case: Case, mailbox: str) -> str:
    if case.team_id is None or not case.team.name:
        # The brand's address as configured, with its display name ("Boutique <care@…>")
        return settings.DEFAULT_FROM_EMAIL if mailbox.lower() == default_from_address() else mailbox
    local, _at, domain = mailbox.rpartition("@")
    try:
        return str(Address(display_name=case.team.name, username=local, domain=domain))
    except (ValueError, IndexError):
        return mailbox


# An email still to send: not sent yet, or sent to the customer while a copy to someone else is
# tried again (deliver). One sent to all, or given up, is left alone.
_STILL_TO_SEND = Q(sent_at__isnull=True) | Q(delivery_due_at__isnull=False)


def spam_not_sent() -> str:
    """Why an email of a case marked as spam stays unsent (services/spam.py)."""
    return _("Not sent: the case was marked as spam.")


def deliver(*, message_id: int, subject: str = "") -> bool:
    """Send one OUTBOUND email of the outbox once, a copy to each recipient (`recipients`,
    `build_email`, `_send_copies`); True when the attempt left no copy to send again.

    A failed attempt records its problem on the message and when the next attempt is due
    (retry_delay), for the sweep; only the copies not accepted yet are sent again. The email
    counts as sent (`sent_at`) once the customer's copy (To) is accepted, even while a copy to
    someone in Cc is still tried again, and when an attempt leaves nothing to try again with at
    least one copy accepted: the problem then names each recipient it did not reach (refused
    for good, or given up after MAX_ATTEMPTS). With no copy accepted at all, the email is given
    up after MAX_ATTEMPTS, the error kept. `subject` is for tasks queued before the subject was
    stored on the message.
    """
    message = (
        Message.objects.select_related("case", "case__team")
        .filter(_STILL_TO_SEND, Q(pk=message_id) & Q(kind=MessageKind.OUTBOUND) & Q(channel=Channel.EMAIL))
        .first()
    )
    if message is None:
        return False  # sent already
    if message.customer_id is None or not message.to_addresses:
        # Erased meanwhile, or never addressed (send_error says why): out of the outbox.
        Message.objects.filter(pk=message.pk).update(delivery_due_at=None)
        return False
    if message.case.spam and message.sent_at is None:
        # Marked as spam after this send was queued: nothing goes to the address (backscatter).
        Message.objects.filter(pk=message.pk).update(delivery_due_at=None, send_error=spam_not_sent())
        return False
    attempt = message.delivery_attempts + 1

    def send() -> None:
        undelivered = _send_copies(message, message.email_subject or subject)
        if len(undelivered) == len(recipients(message)):
            first = next(iter(undelivered.values()))
            raise _AttemptFailed(delivery_problems.problem("send_failed", error=first.error[:2000]))
        tried_again = any(not copy.for_good for copy in undelivered.values())
        if tried_again and attempt < MAX_ATTEMPTS:
            raise _AttemptFailed(_copies_problem(undelivered, attempt=None), customer_served=_customer_served(message, undelivered))
        problem = _copies_problem(undelivered, attempt=attempt) if undelivered else {}
        fields = {
            "sent_at": message.sent_at or timezone.now(), "send_problem": problem, "delivery_due_at": None,
            "send_error": delivery_problems.describe(problem)[:2000] if problem else "",
        }
        if tried_again:
            fields["delivery_attempts"] = attempt  # the last: the copies still refused are given up
        Message.objects.filter(pk=message.pk).update(**fields)

    try:
        # Built inside: reading an attached file that is gone from the storage is a failed
        # attempt (retried, then given up with its reason), not a task that fails for ever.
        return run_once(key=f"case-message-send:{message.pk}", effect=send)
    except _AttemptFailed as failure:
        _attempt_failed(message, failure)
        return False


@dataclass(frozen=True)
class _Undelivered:
    """A copy not accepted, and why: refused for good (a 5xx answer, sent again only while no
    copy was accepted) or for now (a 4xx answer, a connection lost, an attempt ended before it:
    the next attempt sends it again)."""

    error: str
    for_good: bool = False


class _ConnectionLost(Exception):
    """The connection failed while a copy was being sent: that copy did not go, the next goes
    over a new connection."""


class _AttemptFailed(Exception):
    """An attempt that leaves copies to send again: its problem, and whether the customer's
    copy went all the same (the email then counts as sent while the others are tried again)."""

    def __init__(self, problem: dict, *, customer_served: bool = False):
        super().__init__(problem)
        self.problem, self.customer_served = problem, customer_served


def _copy_key(message: Message, number: int) -> str:
    return f"case-message-send:{message.pk}:{number}"


def _send_copies(message: Message, subject: str) -> dict[str, _Undelivered]:
    """Send each recipient's copy that no attempt sent yet, each once (its own run_once, so an
    attempt failing after the customer's copy went does not send it again), but for those an
    earlier attempt saw refused for good (_refused_for_good); returns the copies not accepted,
    by address, in the order of `recipients`.

    A copy whose recipient or message the server refuses, or whose connection drops, is left
    for what it is (_refusal) and the others still go: one envelope for all left out a refused
    recipient the same way. Every copy goes over one connection, opened when the first copy
    still to send is ready (the files read once, before it) and closed after the last; a server
    refusing a recipient or a message resets the transaction (RSET) and the connection goes on,
    one that hangs up is opened again for the next copy. An error no copy can get past (the
    server unreachable, our sender refused, a stored file gone) ends the attempt: every copy
    not sent yet is left with it."""
    addresses = recipients(message)
    undelivered = _refused_for_good(message)
    connection = get_connection()
    files: list[tuple[str, bytes, str]] | None = None

    def send_copy(address: str) -> None:
        nonlocal files
        if files is None:
            files = attached_files(message)
        copy = build_email(message, subject=subject, recipient=address, files=files)
        connection.open()  # a no-op once open
        try:
            connection.send_messages([copy])
        except smtplib.SMTPServerDisconnected as exc:
            raise _ConnectionLost(str(exc) or type(exc).__name__) from exc
        except smtplib.SMTPException:
            raise  # the server's answer (_refusal says whether it is about this copy)
        except OSError as exc:
            raise _ConnectionLost(str(exc) or type(exc).__name__) from exc

    number = 0
    try:
        for number, address in enumerate(addresses):
            if address in undelivered:
                continue  # refused for good at an earlier attempt while another copy went
            key = _copy_key(message, number)
            try:
                if not run_once(key=key, effect=functools.partial(send_copy, address)) and not effects_done([key]):
                    # Claimed by an attempt whose worker died during the send (this one took the
                    # email over after its lease): not known to have gone, so tried again once
                    # that claim has run out too, rather than counted as sent.
                    undelivered[address] = _Undelivered(_("an earlier attempt was sending this copy when it stopped"))
            except (smtplib.SMTPException, _ConnectionLost) as exc:
                refusal = _refusal(exc)
                if refusal is None:
                    raise
                undelivered[address] = refusal
                if _hung_up(exc):
                    _close_quietly(connection)  # opened again for the next copy
    except (smtplib.SMTPException, OSError) as exc:
        left = {_copy_key(message, later): address for later, address in enumerate(addresses) if later >= number}
        sent_before = effects_done(list(left))
        reason = _Undelivered(_error_text(exc))
        undelivered.update({address: reason for key, address in left.items() if key not in sent_before and address not in undelivered})
    finally:
        _close_quietly(connection)
    return {address: undelivered[address] for address in addresses if address in undelivered}


def _refused_for_good(message: Message) -> dict[str, _Undelivered]:
    """The copies an earlier attempt saw refused for good while another copy went (named on the
    message as "not_delivered"): not sent again, their refusal kept for the problem."""
    stored = message.send_problem or {}
    if stored.get("code") != delivery_problems.COPIES_NOT_DELIVERED:
        return {}
    return {copy["params"]["address"]: _Undelivered(copy["params"]["error"], for_good=True)
            for copy in stored.get("copies") or [] if copy.get("code") == "not_delivered"}


def _refusal(exc: Exception) -> _Undelivered | None:
    """How a failed copy counts; None for an error about the whole attempt (our sender refused,
    a server that will not talk to us)."""
    if isinstance(exc, _ConnectionLost):
        return _Undelivered(str(exc))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return _Undelivered(_error_text(exc), for_good=bool(codes) and all(500 <= code < 600 for code in codes))
    if isinstance(exc, smtplib.SMTPDataError):
        return _Undelivered(_error_text(exc), for_good=500 <= exc.smtp_code < 600)
    return None


def _hung_up(exc: Exception) -> bool:
    # 421: the server closes the connection as it answers (smtplib closes its side too).
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _text in exc.recipients.values())
    return isinstance(exc, _ConnectionLost) or (isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code == 421)


def _close_quietly(connection) -> None:
    # Every copy sent was accepted already: a server that answers QUIT badly, or has gone,
    # changes nothing, nor hides the error that ended the attempt (SMTPException is an OSError).
    with contextlib.suppress(OSError):
        connection.close()


def _error_text(exc: BaseException) -> str:
    """An error as the agent reads it: the server's answer ("451 4.7.1 Try again later"), else
    the error's own words."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return "; ".join(_answer(code, text) for code, text in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _answer(exc.smtp_code, exc.smtp_error)
    return str(exc) or type(exc).__name__


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


def _customer_served(message: Message, undelivered: Mapping[str, _Undelivered]) -> bool:
    """Whether the customer's copy (To) was accepted: the email then counts as sent, as a
    bounce of that copy is what would say they did not get it (bounces.py)."""
    missing = {address.casefold() for address in undelivered}
    return not any(address.casefold() in missing for address in message.to_addresses)


def _copies_problem(undelivered: Mapping[str, _Undelivered], *, attempt: int | None) -> dict:
    """The problem of an email some recipients got: each copy not delivered, given up after
    `attempt` (the last) unless refused for good; None: tried again."""
    copies = []
    for address, copy in undelivered.items():
        error = copy.error[:500]
        if copy.for_good:
            copies.append(delivery_problems.problem("not_delivered", address=address, error=error))
        elif attempt is None:
            copies.append(delivery_problems.problem("not_delivered_yet", address=address, error=error))
        else:
            copies.append(delivery_problems.problem("not_delivered_given_up", address=address, error=error, attempts=str(attempt)))
    return delivery_problems.copies_not_delivered(copies)


def _attempt_failed(message: Message, failure: _AttemptFailed) -> None:
    attempts = message.delivery_attempts + 1
    stored = failure.problem
    fields: dict[str, Any] = {}
    if attempts >= MAX_ATTEMPTS:
        # No copy was accepted (deliver counts an email some recipients got as sent).
        stored, fields["delivery_due_at"] = {**stored, "given_up": True}, None
    else:
        fields["delivery_due_at"] = timezone.now() + timedelta(seconds=retry_delay(attempts - 1))
    if failure.customer_served and message.sent_at is None:
        fields["sent_at"] = timezone.now()
    Message.objects.filter(_STILL_TO_SEND, pk=message.pk).update(
        send_error=delivery_problems.describe(stored)[:2000], send_problem=stored, delivery_attempts=attempts, **fields,
    )


def retry_delay(retries: int) -> int:
    """Seconds before the next attempt: doubling from a minute, capped at an hour."""
    return min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, retries))
