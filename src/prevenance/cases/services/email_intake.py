"""Email intake: one raw RFC 822 message in, stored on the right case (docs/email-intake.md).

Every email route (`prevenance ingest-email`, and later the IMAP poller and the relay
endpoint) hands the raw bytes to `ingest_email`.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases.choices import (
    AUTOMATIC_TIMELINE_PREFIX,
    MessageKind,
    SuspendedStatus,
    SuspensionReason,
)
from prevenance.cases.mail import parse_message
from prevenance.cases.mail.parse import (
    MAX_PARSED_HEADER_LENGTH,
    SYNTHETIC_ID_DOMAIN,
    MailAddress,
    ParsedMessage,
    content_message_id,
)
from prevenance.cases.mail.parse import Attachment as ParsedAttachment
from prevenance.cases.mail.problems import (
    INVALID_ADDRESS,
    REFUSED_REFERENCE,
    REUSED_MESSAGE_ID,
    SENDER_NOT_ON_CASE,
    TOO_MANY_RECIPIENTS,
    ParseProblem,
)
from prevenance.cases.models import Attachment, Case, Message, SuspendedMessage
from prevenance.cases.selectors.blocked_senders import is_blocked_sender
from prevenance.cases.selectors.kept_settings import kept_settings, pinned_settings
from prevenance.cases.services.bounces import (
    BounceEffect,
    apply_bounce,
    refused_timeline_text,
    returned_consent_confirmation,
    returned_email,
)
from prevenance.cases.services.common import (
    AUTOMATIC_LABELS,
    MAX_ADDRESSES,
    add_thread_entry,
    clean_addresses,
    clean_body,
    clean_header,
    clean_html,
    clean_message_id,
    clean_problems,
    clean_references,
    clean_subject,
    fetch_one,
    insert_instance,
    is_email_address,
    live_case_id,
    lock_live_case,
    quoted,
    stored_message,
    summary_with_subject,
    team_mailbox_addresses,
)
from prevenance.cases.services.email_attachments import (
    RAW_IN_DATABASE_MAX_BYTES,
    max_attachment_bytes,
    refusal,
    refusal_problem,
    store_attachment,
    stored_name,
)
from prevenance.cases.services.intake import add_inbound_message, open_case
from prevenance.cases.services.outbound import default_from_address, our_mailboxes
from prevenance.cases.services.suspension import keep_email
from prevenance.core.choices import Channel
from prevenance.core.files import files_discarded_on_failure, store_file
from prevenance.core.text import guess_language
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Identity, Order
from prevenance.customers.normalize import normalize_email
from prevenance.customers.services import IdentityInput, clear_bounce
from prevenance.interactions.choices import Direction
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import purchase_phase, record_interaction

RAW_FILENAME = "message.eml"


class Outcome:
    CREATED = "created"  # a new case was opened with this message
    APPENDED = "appended"  # the message joined an existing case
    FOLLOW_UP = "follow_up"  # a reply too late for its case (closed, or resolved past the window): new linked case
    DUPLICATE = "duplicate"  # this Message-ID was already stored: nothing written
    AUTOMATIC_ON_CASE = "automatic_on_case"  # auto-reply or bounce stored on the case it answers
    # No case found: on the known sender's timeline only, or a consent confirmation's proven bounce on its recipient's
    AUTOMATIC_ON_TIMELINE = "automatic_on_timeline"
    AUTOMATIC_IGNORED = "automatic_ignored"  # no case, unknown sender: nothing stored, nobody to tell
    # No readable or no usable From address, or a blocked sender: kept aside for a person
    # (suspension.py), not a case, and not acknowledged.
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class IntakeResult:
    outcome: str
    message_id: str
    case: Case | None = None
    message: Message | None = None
    interaction: Interaction | None = None
    # How the case was found: "in_reply_to", "references", "subject", "returned_message" (a
    # bounce, by the headers of our email it returns), or "" (new case or none).
    threaded_by: str = ""
    # A case reference in the subject that was not honoured (unknown case, or not the sender's).
    refused_reference: str = ""
    automatic: str = ""  # "auto_reply", "bounce" or ""
    problems: tuple[ParseProblem, ...] = ()
    # Of a bounce of one of our emails: the customers' addresses it flagged as undeliverable.
    bounced: tuple[str, ...] = ()
    suspended: SuspendedMessage | None = None  # Outcome.SUSPENDED: the row kept for review
    reason: str = ""  # Outcome.SUSPENDED: why (SuspensionReason)


def _thread_by_ids(parsed: ParsedMessage) -> tuple[Case | None, str, int | None]:
    """(case, how it was found, the customer whose email identity the sender's address is, if any:
    read in the same statement, so that telling the customer's reply from someone else's costs
    no query; see _outside_sender)."""
    # In-Reply-To first, then References from the newest (last) to the oldest; each as stored
    # (clean_message_id: an id over 255 characters is kept cut, and must be looked up cut).
    candidates = [(parsed.in_reply_to, "in_reply_to")] if parsed.in_reply_to else []
    candidates += [(ref, "references") for ref in reversed(parsed.references)]
    candidates = [(stored, how) for ref, how in candidates if (stored := clean_message_id(ref))]
    if not candidates:
        return None, "", None
    sender = parsed.from_.address if parsed.from_ else ""
    found = _cases_by_message_id(list(dict.fromkeys(ref for ref, _how in candidates)), sender)
    for ref, how in candidates:
        if ref in found:
            case_id, merged_into_id, customer_id, channel, sender_customer_id = found[ref]
            if merged_into_id is not None:
                return _case_stub(live_case_id(merged_into_id)), how, sender_customer_id
            return Case(pk=case_id, customer_id=customer_id, channel=channel), how, sender_customer_id
    return None, "", None


def _cases_by_message_id(message_ids: list[str], sender: str) -> dict[str, tuple]:
    """{message id: (case id, merged into, customer id, channel, sender's customer id)} of the
    stored messages among these ids, with the few case columns threading needs, and the customer
    whose email identity `sender` is (None: nobody's; a lookup by the unique (normalised value,
    kind), run once), in one statement: this runs for every reply (common.py, "hot path"); the
    service then locks and reads the whole case."""
    marks = ", ".join(["%s"] * len(message_ids))
    sender_customer = (
        f"(SELECT i.{quoted('customer_id')} FROM {quoted(Identity._meta.db_table)} i "
        f"WHERE i.{quoted('normalized')} = %s AND i.{quoted('kind')} = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.{quoted('message_id')}, c.{quoted('id')}, c.{quoted('merged_into_id')}, c.{quoted('customer_id')}, c.{quoted('channel')}, "
            f"{sender_customer} "
            f"FROM {quoted(Message._meta.db_table)} m JOIN {quoted(Case._meta.db_table)} c ON c.{quoted('id')} = m.{quoted('case_id')} "
            f"WHERE m.{quoted('message_id')} IN ({marks})",
            [sender, IdentityKind.EMAIL, *message_ids],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _case_stub(case_id: int) -> Case:
    """The few columns threading needs (id, customer, channel) of a case found through a merge."""
    customer_id, channel = fetch_one(
        f"SELECT {quoted('customer_id')}, {quoted('channel')} FROM {quoted(Case._meta.db_table)} WHERE {quoted('id')} = %s", [case_id]
    )
    return Case(pk=case_id, customer_id=customer_id, channel=channel)



def _sender_owns(case: Case, address: str) -> bool:
    """The sender is the case's customer, or one of the people in copy on it."""
    if case.customer_id is None:
        return False
    if address in case.cc_addresses:
        return True
    return Identity.objects.filter(customer_id=case.customer_id, kind=IdentityKind.EMAIL, normalized=address).exists()


def _thread(parsed: ParsedMessage) -> tuple[Case | None, str, str, int | None]:
    """(case, how it was found, refused subject reference, the sender's customer when threaded
    by the headers: _thread_by_ids)."""
    case, how, sender_customer_id = _thread_by_ids(parsed)
    if case is not None or not parsed.case_reference:
        return case, how, "", sender_customer_id
    by_subject = Case.objects.filter(reference=parsed.case_reference).first()
    # A reference is easy to type or forge: it only attaches the message when the case is the
    # sender's (or the sender is in copy on it).
    if by_subject is not None and parsed.from_ is not None and _sender_owns(by_subject, parsed.from_.address):
        return Case.objects.get(pk=live_case_id(by_subject.pk)), "subject", "", None
    return None, "", parsed.case_reference, None


# How a message found its case by its headers (Message-ID of a stored message), which anyone the
# customer forwarded our email to can do: unlike a subject reference, the sender is not checked.
THREADED_BY_HEADERS = frozenset({"in_reply_to", "references"})


def _outside_sender(case: Case, parsed: ParsedMessage, sender_customer_id: int | None, mailbox: str) -> bool:
    """Whether a reply threaded by its headers comes from someone our replies do not go to:
    neither the case's customer (an email identity of theirs: `sender_customer_id`, read with
    the threading, so the customer's own reply costs no query), nor one of our mailboxes, nor in
    copy on the case (then read: one query by primary key). It is kept on the case all the same
    (a colleague the customer forwarded our answer to), flagged SENDER_NOT_ON_CASE."""
    if parsed.from_ is None or case.customer_id is None or sender_customer_id == case.customer_id:
        return False
    address = parsed.from_.address
    if address == mailbox or address in our_mailboxes():
        return False
    copies = Case.objects.filter(pk=case.pk).values_list("cc_addresses", flat=True).first()
    return address not in (copies or ())


def sender_hints(parsed: ParsedMessage) -> dict[str, str]:
    """What an email tells about a sender we may not know yet: their name (From) and the
    language they write in, when it is clearly French or English (core.text.guess_language).
    Hints only fill a new customer's fields: a known customer's language stays theirs."""
    hints = name_hints(parsed.from_.name)
    if language := guess_language(f"{parsed.subject}\n{parsed.text}"):
        hints["language"] = language
    return hints


def name_hints(display_name: str) -> dict[str, str]:
    """First and last name from a From display name, when it looks like one.

    "Marie Dupont" -> Marie / Dupont; "DUPONT, Marie" -> Marie / DUPONT; a single word is a
    first name; anything with an @ or digits (a mailbox name, a ticket system) gives nothing.
    """
    name = " ".join((display_name or "").replace('"', " ").split())
    if not name or "@" in name or any(ch.isdigit() for ch in name):
        return {}
    if "," in name:
        last, _sep, first = name.partition(",")
        first, last = first.strip(), last.strip()
    else:
        first, _sep, last = name.partition(" ")
    hints = {"first_name": first[:100], "last_name": last[:100]}
    return {key: value for key, value in hints.items() if value}


def _body(parsed: ParsedMessage) -> str:
    # The full text is stored, quoted history included (the parser's new_text is not stored). A
    # message with no text at all still needs a line in the thread: attachments only, or HTML
    # that holds no words (a pasted screenshot, `<img src="cid:...">`: its HTML is stored too).
    if parsed.text.replace("\x00", "").strip():  # as the case services will read it (clean_body)
        return parsed.text
    return parsed.subject or _("(message without text; see the attached original)")


def _keep_raw(message: Message, raw: bytes) -> None:
    # The original holds what the thread cannot: CC, the recipient mailbox, every attachment.
    # Most are small and go in the row (Attachment.content: no file to create); a big one,
    # which carries files, goes through the storage like its attachments.
    # Flagged as the original (is_original): shown apart, never listed with the customer's files.
    original = Attachment(message=message, filename=RAW_FILENAME, content_type="message/rfc822", size=len(raw), is_original=True)
    if len(raw) <= RAW_IN_DATABASE_MAX_BYTES:
        original.content = raw
    else:
        original.file.name = store_file(stored_name(original, RAW_FILENAME), ContentFile(raw))
    insert_instance(original)


def _message_fields(parsed: ParsedMessage, *, mailbox: str, problems: list[dict]) -> dict:
    return {
        "body": _body(parsed),
        "body_html": parsed.html,
        "sender_address": parsed.from_.address if parsed.from_ else "",
        "sender_name": parsed.from_.name if parsed.from_ else "",
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to or "",
        "references": parsed.references,
        "mailbox": mailbox,
        "to": _recipients(parsed.to, problems),
        "cc": _recipients(parsed.cc, problems),
        "bcc": _recipients(parsed.bcc, problems),
        "automatic": _automatic_kind(parsed),
        "problems": problems,
    }


def _recipients(items, problems: list[dict]) -> list[str]:
    """The addresses of one header that the case services take: an address they would refuse
    (no domain, "localhost") or past the hundredth is left out and recorded as a problem,
    instead of the whole message being refused (the original keeps them all)."""
    kept: list[str] = []
    for item in items:
        address = clean_header(item.address).lower()  # as clean_addresses compares them
        if not is_email_address(address):
            problems.append({"code": INVALID_ADDRESS, "detail": clean_header(item.address)[:200]})
        elif address not in kept:
            kept.append(address)
    if len(kept) > MAX_ADDRESSES:
        problems.append({"code": TOO_MANY_RECIPIENTS, "detail": str(len(kept))})
    return kept[:MAX_ADDRESSES]


def _automatic_kind(parsed: ParsedMessage) -> str:
    return "bounce" if parsed.is_bounce else ("auto_reply" if parsed.is_auto_reply else "")


def _mailbox(parsed: ParsedMessage, envelope: str) -> tuple[str, int | None]:
    """The address the message came to: the relay's envelope recipient, else the first address
    of the message's own X-Original-To / Delivered-To headers (added by the delivering server),
    then of To, then of Cc, that is a team's mailbox; and that team, when the address is one.
    Only team mailboxes are taken from the headers: a sender can write anything there, but
    choosing one of our mailboxes is what putting it in To does already."""
    teams = team_mailbox_addresses()
    mailbox = envelope
    if not mailbox:
        candidates = (*parsed.delivered_to, *(item.address for item in (*parsed.to, *parsed.cc)))
        mailbox = next((address for address in candidates if address in teams), "")
    return mailbox, teams.get(mailbox)


def _attachment_plan(parsed: ParsedMessage) -> tuple[list[ParsedAttachment], list[dict]]:
    """The attachments to store, and the problems to record: the parser's, and each refused file."""
    problems = [{"code": problem.code, "detail": problem.detail} for problem in parsed.parse_errors]
    keep = []
    for item in parsed.attachments:
        if item.too_large:
            continue  # listed by the parser already (attachment_too_large); the raw message holds it
        reason = refusal(filename=item.filename, content_type=item.content_type, size=item.size, head=item.content[:8])
        if reason:
            problems.append(refusal_problem(filename=item.filename, reason=reason))
        else:
            keep.append(item)
    return keep, problems


def _store_files(message: Message, raw: bytes, attachments: list[ParsedAttachment]) -> None:
    _keep_raw(message, raw)
    for item in attachments:
        store_attachment(message=message, filename=item.filename, content_type=item.content_type, content=item.content)


def _timeline_id(parsed: ParsedMessage) -> str:
    return f"{AUTOMATIC_TIMELINE_PREFIX}{parsed.message_id}"[:100]


def _automatic_entry_fields(fields: dict) -> dict:
    """The message fields of an auto-reply or bounce, cleaned as open_case and add_inbound_message
    clean a customer's message (this path stores it with add_thread_entry, not through them): no
    NUL, headers cut to their columns, HTML sanitised. The recipients and the mailbox are clean
    already (_recipients, ingest_email)."""
    return {
        **fields,
        "body": clean_body(fields["body"]),
        "body_html": clean_html(fields["body_html"]),
        "sender_address": clean_header(fields["sender_address"]),
        "sender_name": clean_header(fields["sender_name"]),
        "message_id": clean_message_id(fields["message_id"]),
        "in_reply_to": clean_header(fields["in_reply_to"]).strip("<>"),
        "references": clean_references(fields["references"]),
        "problems": clean_problems(fields["problems"]),
    }


def _automatic(
    parsed: ParsedMessage, case: Case | None, how: str, base: dict, raw: bytes, mailbox: str, received_at: datetime | None,
) -> IntakeResult:
    """An auto-reply or a bounce: kept where it says something, never answered, never a new case.
    A bounce of one of our emails goes on that email's case and flags the address that failed,
    when its delivery mark proves the email was sent there (bounces.py); one that does not is
    kept with the reason, on a case or a timeline, and changes no address."""
    now = received_at or timezone.now()
    email = returned_email(parsed) if parsed.is_bounce else None
    # A consent confirmation (customers' double opt-in) is ours too, sent with no case.
    consent = returned_consent_confirmation(parsed) if parsed.is_bounce and email is None and case is None else None
    if case is None and email is not None:
        case, how = Case(pk=email.case_id), "returned_message"
    target = lock_live_case(case.pk) if case is not None else None
    effect = BounceEffect()
    if parsed.is_bounce:
        # After the case's lock: a reply's intake takes the case, then the identity, too.
        effect = apply_bounce(parsed, email or consent, at=now)
        base = {**base, "bounced": effect.flagged}
        if effect.refused is not None:
            base["problems"] = (*base["problems"], effect.refused)
    if target is not None and target.customer_id is not None:
        attachments, problems = _attachment_plan(parsed)
        problems += effect.refused_problems()
        fields = _automatic_entry_fields(_message_fields(parsed, mailbox=mailbox, problems=problems))
        # No status change: an out-of-office neither reopens a case nor ends a wait for the customer.
        message = add_thread_entry(
            target, kind=MessageKind.INBOUND, channel=Channel.EMAIL, body_text=fields.pop("body"), created_at=now,
            to_addresses=fields.pop("to"), cc_addresses=fields.pop("cc"), bcc_addresses=fields.pop("bcc"), **fields,
        )
        _store_files(message, raw, attachments)
        return IntakeResult(outcome=Outcome.AUTOMATIC_ON_CASE, case=target, message=message, threaded_by=how, **base)
    address = parsed.from_.address if parsed.from_ else ""
    customer = (
        Customer.objects.filter(identities__kind=IdentityKind.EMAIL, identities__normalized=address)
        .annotate(has_orders=Exists(Order.objects.filter(customer=OuterRef("pk")))).order_by("pk").first()
        if address else None
    )
    if consent is not None and effect.proven:
        # A genuine bounce of a consent confirmation: on the timeline of the person it was sent to.
        customer = consent.customer
    if customer is None:
        # Not even a bounce that names a customer's address: anyone can write one, and its
        # text would land in that customer's history. Why it was not applied is in `base`.
        return IntakeResult(outcome=Outcome.AUTOMATIC_IGNORED, **base)
    label = AUTOMATIC_LABELS["bounce" if parsed.is_bounce else "auto_reply"]
    subject = clean_subject(parsed.subject)  # no NUL (PostgreSQL refuses it in text), one line
    summary, body = summary_with_subject(label, subject), parsed.text[:10_000]
    if effect.refused is not None:
        summary, body = refused_timeline_text(effect, subject, body)
    interaction, _created = record_interaction(
        customer=customer, channel=Channel.EMAIL, direction=Direction.INBOUND, summary=summary, phase=purchase_phase(customer),
        body=clean_body(body), occurred_at=now, external_id=_timeline_id(parsed), system=True,
    )
    return IntakeResult(outcome=Outcome.AUTOMATIC_ON_TIMELINE, interaction=interaction, **base)


def _stored_result(parsed: ParsedMessage, base: dict, stored: Message | None) -> IntakeResult | None:
    """The result of an earlier intake of this message (`stored`: the message stored under its
    Message-ID, or None), else None: it has not been taken in yet."""
    if stored is not None:
        return IntakeResult(outcome=Outcome.DUPLICATE, case=stored.case, message=stored, **base)
    # Only auto-replies and bounces are ever stored as a bare interaction.
    automatic = parsed.is_auto_reply or parsed.is_bounce
    interaction = Interaction.objects.filter(external_id=_timeline_id(parsed)).first() if automatic else None
    if interaction is not None:
        return IntakeResult(outcome=Outcome.DUPLICATE, interaction=interaction, **base)
    return None


def ingest_email(
    *, raw: bytes, mailbox: str = "", keep_date: bool = False, acknowledge: bool = True, sender: str = "",
    received_at: datetime | None = None,
) -> IntakeResult:
    """Store one inbound email on the right case, exactly once per Message-ID; one transaction.

    Threading: In-Reply-To, then References (newest first) against stored messages; then the
    case reference in the subject, only if that case's customer owns the sender's address or
    the sender is in copy on it (otherwise a new case, with `refused_reference` set and the
    problem `refused_reference` stored on the message). A reply threaded by its headers joins
    its case whoever sent it, flagged `sender_not_on_case` when the sender is neither the
    customer, nor in copy, nor one of our mailboxes (_outside_sender); the workflow treats it
    as any reply.
    Otherwise a new email case from the sender. Auto-replies and bounces never open a case
    (see Outcome). `mailbox` is the envelope recipient (the relay's, or --mailbox); without
    it, the first X-Original-To/Delivered-To, then To, then Cc, that is a team's mailbox. A new
    case takes that mailbox (its replies are sent from it) and that team. The raw message is
    kept as a `message.eml` attachment flagged `is_original` (shown apart from the customer's
    files), and each attachment within the limits as its own (refused ones are listed in
    `problems`).

    For replays and migrations (`prevenance ingest-email --keep-dates --no-acknowledge`):
    `keep_date` dates what is stored by the message's Date header when it is sane
    (message_date), else now; `acknowledge=False` queues no acknowledgement for a new case.

    A message that would open a case but has no readable or no usable From address is kept
    aside (Outcome.SUSPENDED, suspension.keep_email) for a person, who recovers it
    (suspended.recover_suspended) by giving `sender`, the address to take instead of From,
    and `received_at`, when it first came. So is any message (but an auto-reply or a bounce)
    from a sender blocked as spam (services/spam.py), before threading, and unacknowledged;
    a person who gives `sender` has decided: the block does not apply then.
    """
    if not raw or raw.isspace():  # not strip(): that copies the whole message
        raise ValidationError(_("The message is empty: there is nothing to take in."), code="empty_message")
    mailbox = (clean_addresses([mailbox], field="mailbox") or [""])[0]
    parsed = _stored_id(parse_message(raw, max_attachment_bytes=max_attachment_bytes()), raw)
    parsed = _customer_as_sender(_with_sender(parsed, sender) if sender else parsed)
    parsed, stored = _own_message_id(parsed, raw)
    base = {"message_id": parsed.message_id, "automatic": _automatic_kind(parsed), "problems": parsed.parse_errors}
    if (again := _stored_result(parsed, base, stored)) is not None:
        return again
    options = {"received_at": received_at or (message_date(parsed) if keep_date else None), "acknowledge": acknowledge,
               "check_blocked": not sender}
    # A concurrent delivery may commit first under this Message-ID (the intake then finds it,
    # or its INSERT fails): the same message, whose copy is the stored one, or another message
    # reusing the id, and this one is taken in again under its own id.
    try:
        with files_discarded_on_failure(), pinned_settings(), transaction.atomic():
            result = _ingest(raw, parsed, base, mailbox, **options)
    except IntegrityError:
        if _reused_meanwhile(parsed, raw):
            return ingest_email(raw=raw, mailbox=mailbox, keep_date=keep_date, acknowledge=acknowledge, sender=sender, received_at=received_at)
        if (again := _stored_result(parsed, base, stored_message(parsed.message_id))) is not None:
            return again
        raise
    if result.outcome == Outcome.DUPLICATE and _reused_meanwhile(parsed, raw):
        return ingest_email(raw=raw, mailbox=mailbox, keep_date=keep_date, acknowledge=acknowledge, sender=sender, received_at=received_at)
    return result


# A Date before this is a sender's broken clock (1970: a zero timestamp), not when it was sent.
EARLIEST_SANE_DATE = datetime(1990, 1, 1, tzinfo=UTC)


def message_date(parsed: ParsedMessage, *, now: datetime | None = None) -> datetime | None:
    """The message's Date header when it is sane: readable, not in the future, not before
    1990; else None (the intake then uses the time it takes the message in)."""
    now = now or timezone.now()
    if parsed.date is None or not EARLIEST_SANE_DATE <= parsed.date <= now:
        return None
    return parsed.date


def _stored_id(parsed: ParsedMessage, raw: bytes) -> ParsedMessage:
    """The Message-ID as it is stored (common.clean_message_id: no NUL, at most 255 characters),
    so that exactly-once, the auto-reply path and the result all use the stored id. An id
    that cleans to nothing gets the parser's id derived from the bytes."""
    cleaned = clean_message_id(parsed.message_id) or content_message_id(raw)
    return parsed if cleaned == parsed.message_id else replace(parsed, message_id=cleaned)


def database_reason(exc: Exception) -> str:
    """Why the database refused a message (a DataError the routes report as a refusal of that
    message): its first line, without the SQL context PostgreSQL adds on the next ones."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _reused_meanwhile(parsed: ParsedMessage, raw: bytes) -> bool:
    return _own_message_id(parsed, raw)[0].message_id != parsed.message_id


# Senders that are not a person but a machine relaying one: a shop's contact form, a notifier.
_AUTOMATED_SENDER = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer|wordpress|forms?|web[-_.]?forms?|contact[-_.]?forms?|notifications?)"
    r"(?:[-_.+][^@]*)?@",
    re.IGNORECASE,
)


def _customer_as_sender(parsed: ParsedMessage) -> ParsedMessage:
    """A message relayed for a customer (a website's contact form mailing "From: noreply@shop"
    or from our own mailbox, with "Reply-To: the customer") is the customer's: their address
    in Reply-To becomes the sender the intake resolves, threads, acknowledges and answers.
    Otherwise From stays the sender (a person's Reply-To is only a preference). The original,
    with its real From, is kept as message.eml."""
    if parsed.from_ is None or len(parsed.reply_to) != 1 or parsed.is_bounce or parsed.is_auto_reply:
        return parsed
    sender, customer = parsed.from_.address.casefold(), parsed.reply_to[0]
    if customer.address.casefold() == sender:
        return parsed
    if _AUTOMATED_SENDER.match(sender) or sender in {*team_mailbox_addresses(), default_from_address()}:
        return replace(parsed, from_=customer, relayed_by=sender)
    return parsed


def _with_sender(parsed: ParsedMessage, address: str) -> ParsedMessage:
    """The message as if From were `address` (a person recovering a suspended message gave it),
    keeping the name the message gave, if any."""
    return replace(parsed, from_=MailAddress(name=parsed.from_.name if parsed.from_ else "", address=address), reply_to=())


def _unusable_sender(parsed: ParsedMessage) -> str:
    """Why this message's sender cannot be a customer (a SuspensionReason), or ""."""
    if parsed.from_ is None:
        return SuspensionReason.NO_SENDER
    try:
        normalize_email(parsed.from_.address)
    except ValidationError:
        return SuspensionReason.INVALID_SENDER
    return ""


def _sender_as_given(parsed: ParsedMessage, raw: bytes) -> str:
    """The From header as the message wrote it, for the person who reviews it."""
    if parsed.from_ is not None:
        return f"{parsed.from_.name} <{parsed.from_.address}>" if parsed.from_.name else parsed.from_.address
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:MAX_PARSED_HEADER_LENGTH * 4])
    return " ".join(str(headers.get("From", "")).split())


def _comparable(text: str) -> str:
    return " ".join(text.replace("\x00", "").split())


def _own_message_id(parsed: ParsedMessage, raw: bytes) -> tuple[ParsedMessage, Message | None]:
    """The message and what is stored under its Message-ID. Some mailers give every message the
    same id (a broken form relay, a misconfigured server): a stored message from another sender
    or with other words is another message, and this one is kept under an id derived from its
    bytes, flagged (reused_message_id, with the id it came with), instead of being dropped as
    a duplicate. The same bytes delivered again get the same derived id: still exactly once."""
    stored = stored_message(parsed.message_id)
    if stored is None or parsed.message_id.endswith(SYNTHETIC_ID_DOMAIN) or stored.kind != MessageKind.INBOUND:
        # One of our own emails coming back (a loop, an alias, a list with our mailbox in it)
        # is a copy of what we sent: a duplicate, never a customer's message.
        return parsed, stored
    sender = parsed.from_.address.casefold() if parsed.from_ else ""
    if stored.sender_address.casefold() == sender and _comparable(stored.body_text) == _comparable(_body(parsed)):
        return parsed, stored
    renamed = replace(parsed, message_id=content_message_id(raw),
                      parse_errors=(*parsed.parse_errors, ParseProblem(REUSED_MESSAGE_ID, parsed.message_id[:200])))
    return renamed, stored_message(renamed.message_id)


def _blocked(parsed: ParsedMessage) -> bool:
    """A person's message (auto-replies and bounces never open a case nor get an answer) from
    a sender blocked as spam: one index probe, the intake's only statement for it."""
    return not (parsed.is_auto_reply or parsed.is_bounce) and parsed.from_ is not None and is_blocked_sender(parsed.from_.address)


def _keep_aside(raw: bytes, parsed: ParsedMessage, base: dict, reason: str, mailbox: str, received_at: datetime | None) -> IntakeResult:
    kept = keep_email(raw=raw, parsed=parsed, reason=reason, sender=_sender_as_given(parsed, raw), mailbox=mailbox,
                      body=_body(parsed), received_at=received_at)
    if kept.status == SuspendedStatus.RECOVERED:  # delivered again after a person took it in
        return IntakeResult(outcome=Outcome.DUPLICATE, case=kept.case, **base)
    return IntakeResult(outcome=Outcome.SUSPENDED, suspended=kept, reason=reason, **base)


def _ingest(
    raw: bytes, parsed: ParsedMessage, base: dict, envelope: str, *, received_at: datetime | None, acknowledge: bool,
    check_blocked: bool = True,
) -> IntakeResult:
    if check_blocked and _blocked(parsed):
        # Neither threaded nor a case opened: no acknowledgement goes back to the address.
        return _keep_aside(raw, parsed, base, SuspensionReason.SENDER_BLOCKED, _mailbox(parsed, envelope)[0], received_at)
    case, how, refused, sender_customer_id = _thread(parsed)
    mailbox, team_id = _mailbox(parsed, envelope)
    if parsed.is_auto_reply or parsed.is_bounce:
        return _automatic(parsed, case, how, base, raw, mailbox, received_at)
    if (case is None or case.customer_id is None) and (reason := _unusable_sender(parsed)):
        return _keep_aside(raw, parsed, base, reason, mailbox, received_at)
    attachments, problems = _attachment_plan(parsed)
    if refused:
        # Kept on the message, not only in the result: an agent sees why it opened a new case.
        problems.append({"code": REFUSED_REFERENCE, "detail": refused})
    elif how in THREADED_BY_HEADERS and _outside_sender(case, parsed, sender_customer_id, mailbox):
        # Kept on the case as any reply is, and said on it: replies go to the customer and the
        # people in copy, not to this person (the case page offers to put them in copy).
        problems.append({"code": SENDER_NOT_ON_CASE, "detail": parsed.from_.address})
    # The result lists the same problems as the stored message: the parser's and refused files.
    base = {**base, "refused_reference": refused, "problems": tuple(ParseProblem(**problem) for problem in problems)}
    fields = _message_fields(parsed, mailbox=mailbox, problems=problems)
    if case is not None and case.customer_id is not None:
        intake = add_inbound_message(case=case, channel=Channel.EMAIL, received_at=received_at, acknowledge=acknowledge, **fields)
        outcome = Outcome.FOLLOW_UP if intake.case_opened else Outcome.APPENDED
    else:
        how = ""
        intake = open_case(
            identities=[IdentityInput(kind=IdentityKind.EMAIL, value=parsed.from_.address)],
            hints=sender_hints(parsed), channel=Channel.EMAIL, subject=parsed.subject,
            team=kept_settings().team(team_id), received_at=received_at, acknowledge=acknowledge, **fields,
        )
        outcome = Outcome.CREATED
    if not intake.created:
        return IntakeResult(outcome=Outcome.DUPLICATE, case=intake.case, message=intake.message, **base)
    # An email received from the address shows it works, whatever bounced before (after the
    # case's lock, in the order a bounce takes them too). Not a message replayed with its old
    # date (--keep-dates): it says the address worked then, not that it works now.
    if parsed.from_ is not None and not parsed.relayed_by and received_at is None:  # a relay's Reply-To was typed by someone: it proves nothing
        clear_bounce(parsed.from_.address)
    _store_files(intake.message, raw, attachments)
    return IntakeResult(outcome=outcome, case=intake.case, message=intake.message, threaded_by=how, **base)
