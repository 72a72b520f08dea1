"""What every case service shares: input cleaning, the case lock, references, thread entries."""

import functools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from prevenance.cases.choices import AutomaticEmail, CaseStatus, MessageKind
from prevenance.cases.mail.sanitize import sanitize_html
from prevenance.cases.models import Case, CaseCounter, Message
from prevenance.cases.selectors.kept_settings import kept_settings
from prevenance.cases.selectors.visibility import visible_cases
from prevenance.cases.services import numbering
from prevenance.core.choices import CHANNELS
from prevenance.core.sql import insert_instance, insert_linked_pair, select_for_update
from prevenance.core.validation import invalid
from prevenance.customers.models import Customer, IdentityConflict, Order
from prevenance.customers.services import lock_live_customer
from prevenance.interactions.choices import Direction, Nature
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import MAX_BODY as MAX_INTERACTION_BODY
from prevenance.interactions.services import clean_interaction_fields, purchase_phase

MAX_SUBJECT = 255
MAX_BODY = 1_000_000
MAX_HEADER = 255
LOCK_ATTEMPTS = 3
REFERENCE_TYPE = "cases.case"


@dataclass
class Intake:
    """What an intake service did: the case the message is on; `created` is False when the
    message id was already stored (nothing written), `case_opened` when a new case was opened."""

    case: Case
    message: Message
    created: bool
    case_opened: bool = False
    conflict: IdentityConflict | None = None


def _printable(value) -> str:
    # PostgreSQL refuses NUL in text; nothing else is removed from what a person wrote.
    return ("" if value is None else str(value)).replace("\x00", "")


def clean_subject(value) -> str:
    """One line; a longer subject is cut (the full text stays in the stored message)."""
    return " ".join(_printable(value).split())[:MAX_SUBJECT]


def clean_body(value, *, field: str = "body") -> str:
    # Browsers post a text box's line breaks as CRLF: one line break, stored and counted as one.
    text = _printable(value).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_BODY:
        raise ValidationError({field: [_("At most %(limit)d characters (got %(length)d).") % {"limit": MAX_BODY, "length": len(text)}]})
    return text


def clean_html(value) -> str:
    """Sanitised whatever the source: the email parser already did it (sanitising again changes
    nothing), but the API, the web form and agents' replies reach here without the parser."""
    return sanitize_html(clean_body(value, field="body_html"))


def clean_header(value) -> str:
    return " ".join(_printable(value).split())[:MAX_HEADER]


def clean_message_id(value) -> str | None:
    text = clean_header(value)
    return text or None


MAX_ADDRESSES = 100
MAX_REFERENCES = 50
AUTOMATIC_KINDS = ("", "auto_reply", "bounce")


def is_email_address(address: str) -> bool:
    """What clean_addresses accepts (lower-cased and cleaned first): local@domain.tld, no space."""
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


def clean_addresses(values, *, field: str) -> list[str]:
    """Email addresses, lower-cased (as identities are matched), each once, in the order given."""
    if isinstance(values, str):
        values = [values]
    cleaned: list[str] = []
    for value in values or ():
        address = clean_header(value).lower()
        if not address:
            continue
        if not is_email_address(address):
            raise ValidationError({field: [_("“%(value)s” is not an email address.") % {"value": address[:60]}]})
        if address not in cleaned:
            cleaned.append(address)
    if len(cleaned) > MAX_ADDRESSES:
        raise ValidationError({field: [_("At most %(limit)d addresses.") % {"limit": MAX_ADDRESSES}]})
    return cleaned


def clean_references(values) -> str:
    """Message ids of the earlier messages, oldest first, space-separated, brackets removed;
    only the newest are kept past MAX_REFERENCES (threading looks at the newest first)."""
    if isinstance(values, str):
        values = values.split()
    ids = []
    for value in values or ():
        text = clean_header(value).strip("<>")
        if text and " " not in text and text not in ids:
            ids.append(text)
    return " ".join(ids[-MAX_REFERENCES:])


def clean_automatic(value) -> str:
    if value not in AUTOMATIC_KINDS:
        raise ValidationError({"automatic": [_("“%(value)s” is not one of: auto_reply, bounce.") % {"value": str(value)[:40]}]})
    return value


def clean_problems(values) -> list[dict[str, str]]:
    """Problems met while reading a message: {"code", "detail"} each, stored and shown to agents."""
    cleaned = []
    for problem in values or ():
        code = problem.get("code") if isinstance(problem, Mapping) else getattr(problem, "code", "")
        detail = problem.get("detail", "") if isinstance(problem, Mapping) else getattr(problem, "detail", "")
        item = {"code": clean_header(code)[:40], "detail": clean_header(detail)}
        if item["code"] and item not in cleaned:
            cleaned.append(item)
    return cleaned[:MAX_ADDRESSES]


def clean_choice(field: str, value, choices) -> str:
    if value not in choices.values:
        raise ValidationError(
            {field: [_("“%(value)s” is not one of: %(choices)s.") % {"value": str(value)[:40], "choices": ", ".join(choices.values)}]}
        )
    return value


def clean_channel(value) -> str:
    if value not in CHANNELS:
        raise ValidationError({"channel": [_("Unknown channel “%(value)s”.") % {"value": str(value)[:40]}]})
    return value


# The intake's hot path reads with plain SQL: there the ORM's query compilation costs several
# times the indexed lookup itself (docs/benchmarks.md, "Email intake").
@functools.cache  # the default database's quoting is fixed for the process; the names come from the code
def quoted(name: str) -> str:
    """A table or column name quoted for the database in use."""
    return connection.ops.quote_name(name)


def fetch_one(sql: str, params: Sequence) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def stored_message(message_id: str | None) -> Message | None:
    if not message_id:
        return None
    row = fetch_one(f"SELECT {quoted('id')} FROM {quoted(Message._meta.db_table)} WHERE {quoted('message_id')} = %s", [message_id])
    if row is None:
        return None  # the usual case: probed by an index, nothing compiled
    return Message.objects.select_related("case").filter(pk=row[0]).first()


def live_case_id(case_id: int) -> int:
    """Where messages for this case go now: a merged case leads to its survivor."""
    sql = f"SELECT {quoted('merged_into_id')} FROM {quoted(Case._meta.db_table)} WHERE {quoted('id')} = %s"
    hops = 0
    while hops < 20:
        row = fetch_one(sql, [case_id])
        if row is None or row[0] is None:
            return case_id
        case_id, hops = row[0], hops + 1
    return case_id


def set_if_unset(obj, name: str, value) -> bool:
    """UPDATE one field of a stored instance where it is still NULL; True when this call set it
    (the exactly-once marks, such as acknowledged_at). Plain SQL: it runs for every new case."""
    field = obj._meta.get_field(name)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quoted(obj._meta.db_table)} SET {quoted(field.column)} = %s WHERE {quoted(obj._meta.pk.column)} = %s AND {quoted(field.column)} IS NULL",
            [field.get_db_prep_save(value, connection), obj.pk],
        )
        done = cursor.rowcount == 1
    if done:
        setattr(obj, field.attname, value)
    return done


def team_mailbox_addresses() -> dict[str, int]:
    """Team mailbox address (lower case) -> team id (the lowest id when two teams share one)."""
    return kept_settings().mailboxes


def _select_case_for_update(case_id: int) -> Case:
    """The case row, locked (FOR UPDATE on PostgreSQL; SQLite's writer lock is already held)."""
    case = select_for_update(Case, case_id)
    if case is None:
        raise Case.DoesNotExist(f"No case {case_id}")
    return case


def lock_case(case_id: int) -> Case:
    """Lock a case for this transaction, its customer first.

    Customer services (merge, erasure) lock the customer and then update its cases; taking
    the locks in the same order here means the two never deadlock. Call inside a transaction.
    """
    # With the customer, whether they have ordered (Customer.has_orders), for the phase of the
    # messages' timeline entries: in this statement rather than a query of its own on every reply.
    customer_column = f"c.{quoted('customer_id')}"
    sql = (
        f"SELECT {customer_column}, EXISTS (SELECT 1 FROM {quoted(Order._meta.db_table)} o WHERE o.{quoted('customer_id')} = {customer_column}) "
        f"FROM {quoted(Case._meta.db_table)} c WHERE c.{quoted('id')} = %s"
    )
    for _attempt in range(LOCK_ATTEMPTS):
        row = fetch_one(sql, [case_id])
        if row is None:
            raise Case.DoesNotExist(f"No case {case_id}")
        customer_id, customer = row[0], None
        if customer_id is not None:
            try:
                customer = lock_live_customer(Customer(pk=customer_id))
            except ValidationError:
                continue  # merged or erased meanwhile: the case now points elsewhere, read it again
            customer.has_orders = bool(row[1])
        locked = _select_case_for_update(case_id)
        if locked.customer_id == customer_id:
            if customer is not None:
                locked.customer = customer  # the row just locked, not a second read of it
            return locked
    raise ValidationError(_("This case's customer was merged or erased meanwhile; try again."), code="case_moved")


def lock_live_case(case_id: int) -> Case:
    """Lock the case messages for `case_id` go to now (a merged case leads to its survivor).

    The survivor is read before the lock is taken: a merge committed in between leaves the
    row just locked merged in turn, and its own survivor is locked instead."""
    for _hop in range(20):
        locked = lock_case(live_case_id(case_id))
        if locked.merged_into_id is None:
            return locked
        case_id = locked.merged_into_id
    return locked


def refuse_hidden_survivor(case: Case, target: Case, user) -> None:
    """Writing through a merged case lands on its survivor (`target`, locked): only for a user
    who sees it. None: no user to check (the email intake, the system)."""
    if user is not None and target.pk != case.pk and not visible_cases(user).filter(pk=target.pk).exists():
        raise invalid("case", _("Case %(reference)s was merged into a case you cannot see; ask its team.")
                      % {"reference": case.reference}, "case_not_visible")


def case_text(case: Case) -> str:
    """What triage read at the case's opening: its subject and the customer's first message."""
    first = Message.objects.filter(case=case, kind=MessageKind.INBOUND).order_by("created_at", "id").values_list("body_text", flat=True).first()
    return f"{case.subject}\n{first or ''}"


def refuse_closed(case: Case, *, field: str = "case") -> None:
    """Refuse a closed case, on `field`: "case" for the case acted on, the input's own name for
    another one (merge_cases's "loser"), so an interface points at the case that is closed."""
    if case.status == CaseStatus.CLOSED:
        raise invalid(field, _("Case %(reference)s is closed.") % {"reference": case.reference}, "case_closed")


def next_reference(when: datetime) -> str:
    """C-YYYY-NNNNNN, numbered per year.

    The UPDATE takes the year's counter row lock until the transaction ends, so two intakes
    never get the same number (SQLite serialises writers anyway). The lock is held to commit:
    open_case allocates it after resolving the customer, as late as it can.
    """
    year = timezone.localtime(when).year
    if numbering.uses_sequence():  # PREVENANCE_CASE_NUMBERS=sequence: no lock (numbering.py)
        return f"C-{year}-{numbering.next_number(year):06d}"
    # One statement that increments and reads (RETURNING: SQLite >= 3.35 and PostgreSQL).
    increment = (
        f"UPDATE {quoted(CaseCounter._meta.db_table)} SET {quoted('last')} = {quoted('last')} + 1 "
        f"WHERE {quoted('year')} = %s RETURNING {quoted('last')}"
    )
    row = fetch_one(increment, [year])
    if row is None:
        try:
            with transaction.atomic():
                CaseCounter.objects.create(year=year, last=1)
            return f"C-{year}-{1:06d}"
        except IntegrityError:
            row = fetch_one(increment, [year])  # another intake created the row first
    return f"C-{year}-{row[0]:06d}"


def insert_case(case: Case) -> Case:
    """Give a new case its reference and INSERT it, in one statement: callers set everything
    (triage, due times) on the unsaved case first. The reference comes last, as late as it can
    (next_reference holds the year's counter lock to commit)."""
    case.refresh_subject_key()  # the inbox search's folded subject (a few microseconds)
    case.reference = next_reference(case.created_at)
    insert_instance(case)
    return case


def create_case(*, customer: Customer, channel: str, subject: str, created_at: datetime, **fields) -> Case:
    return insert_case(Case(customer=customer, channel=channel, subject=subject, created_at=created_at, **fields))


SUMMARY_LABELS = {MessageKind.OUTBOUND: gettext_noop("Reply on case %(reference)s"),
                  MessageKind.INBOUND: gettext_noop("Message on case %(reference)s")}


# An auto-reply or a bounce stored on its case: said as what it is, not as the customer's message.
AUTOMATIC_ON_CASE_LABELS = {"bounce": gettext_noop("Delivery failure on case %(reference)s"),
                            "auto_reply": gettext_noop("Automatic reply on case %(reference)s")}


# An automatic email of ours (Message.automatic_purpose): said as what it is, not as an agent's reply.
AUTOMATIC_EMAIL_LABELS = {AutomaticEmail.ACKNOWLEDGEMENT: gettext_noop("Automatic acknowledgement of receipt on case %(reference)s"),
                          AutomaticEmail.SURVEY: gettext_noop("Automatic satisfaction survey on case %(reference)s")}


# What the email intake writes on a customer's timeline for an auto-reply or a bounce that
# belongs to no case ("Delivery failure: <subject>").
AUTOMATIC_LABELS = {"bounce": gettext_noop("Delivery failure"), "auto_reply": gettext_noop("Automatic reply")}

# Each label followed by the subject, whole sentences for the translators: the colon is
# the language's (French puts a no-break space before it).
WITH_SUBJECT = {
    SUMMARY_LABELS[MessageKind.OUTBOUND]: gettext_noop("Reply on case %(reference)s: %(subject)s"),
    SUMMARY_LABELS[MessageKind.INBOUND]: gettext_noop("Message on case %(reference)s: %(subject)s"),
    AUTOMATIC_ON_CASE_LABELS["bounce"]: gettext_noop("Delivery failure on case %(reference)s: %(subject)s"),
    AUTOMATIC_ON_CASE_LABELS["auto_reply"]: gettext_noop("Automatic reply on case %(reference)s: %(subject)s"),
    AUTOMATIC_EMAIL_LABELS[AutomaticEmail.ACKNOWLEDGEMENT]: gettext_noop(
        "Automatic acknowledgement of receipt on case %(reference)s: %(subject)s"),
    AUTOMATIC_EMAIL_LABELS[AutomaticEmail.SURVEY]: gettext_noop("Automatic satisfaction survey on case %(reference)s: %(subject)s"),
    AUTOMATIC_LABELS["bounce"]: gettext_noop("Delivery failure: %(subject)s"),
    AUTOMATIC_LABELS["auto_reply"]: gettext_noop("Automatic reply: %(subject)s"),
}


def summary_with_subject(label_msgid: str, subject: str, reference: str = "") -> str:
    """A timeline summary in the active language: the label (one of the msgids above), then
    the subject when there is one; at most 255 characters (Interaction.summary)."""
    if not subject:
        return _(label_msgid) % {"reference": reference}
    return (_(WITH_SUBJECT[label_msgid]) % {"reference": reference, "subject": subject})[:255]


def _summary(case: Case, kind: str, automatic: str = "", automatic_purpose: str = "") -> str:
    if automatic in AUTOMATIC_ON_CASE_LABELS:
        label = AUTOMATIC_ON_CASE_LABELS[automatic]
    elif kind == MessageKind.OUTBOUND and automatic_purpose in AUTOMATIC_EMAIL_LABELS:
        label = AUTOMATIC_EMAIL_LABELS[automatic_purpose]
    else:
        label = SUMMARY_LABELS[MessageKind.OUTBOUND if kind == MessageKind.OUTBOUND else MessageKind.INBOUND]
    return summary_with_subject(label, case.subject, case.reference)


def _pattern(translated: str) -> str:
    # Any space matches any space: the timeline stores a summary with its spaces made plain
    # (interactions.services.clean_interaction_fields), the French no-break one too.
    pattern = r"\s+".join(re.escape(word) for word in translated.split())
    pattern = pattern.replace(re.escape("%(reference)s"), r"(?P<reference>C-\d{4}-\d+)")
    return pattern.replace(re.escape("%(subject)s"), "(?P<subject>.*)")


@functools.cache
def _summary_patterns() -> tuple[tuple[re.Pattern, str], ...]:
    """Each summary label in each of the site's languages, as a pattern, with its label's
    msgid: followed by the subject as each language writes it, then alone or followed by
    ": subject" (as every language wrote it before the subject had its own sentence)."""
    with_subject, alone = [], []
    for msgid in (*SUMMARY_LABELS.values(), *AUTOMATIC_ON_CASE_LABELS.values(), *AUTOMATIC_EMAIL_LABELS.values(), *AUTOMATIC_LABELS.values()):
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                with_subject.append((re.compile(_pattern(_(WITH_SUBJECT[msgid])), re.DOTALL), msgid))
                alone.append((re.compile(_pattern(_(msgid)) + "(?:: (?P<subject>.*))?", re.DOTALL), msgid))
    return tuple(with_subject + alone)


def localized_case_summary(summary: str) -> str | None:
    """A timeline summary this app wrote ("Message on case C-2026-000123: subject", "Delivery
    failure: subject") in the active language, whichever language wrote it; None for any
    other summary (interactions.display)."""
    for pattern, msgid in _summary_patterns():
        if match := pattern.fullmatch(summary):
            reference = match["reference"] if "reference" in pattern.groupindex else ""
            return summary_with_subject(msgid, match["subject"] or "", reference)
    return None


# A thread message's timeline entry is found by this prefix and the message's id (external_id).
TIMELINE_ID_PREFIX = "cases.message:"


def add_thread_entry(
    case: Case,
    *,
    kind: str,
    channel: str,
    body_text: str,
    body_html: str = "",
    author=None,
    sender_address: str = "",
    sender_name: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    created_at: datetime | None = None,
    references: str = "",
    mailbox: str = "",
    to_addresses: Sequence[str] = (),
    cc_addresses: Sequence[str] = (),
    bcc_addresses: Sequence[str] = (),
    automatic: str = "",
    automatic_purpose: str = "",
    problems: Sequence[Mapping[str, str]] = (),
    email_subject: str = "",
    delivery_due_at: datetime | None = None,
    delivery_attempts: int = 0,
    submission_id: uuid.UUID | None = None,
) -> Message:
    """Store one message on a locked case; a message to or from the customer also goes on their timeline.

    The caller holds the case lock, hence its customer's (lock_case, or open_case's own).
    The last three fields put an outbound email in the outbox at once (outbound.outbox_fields).
    """
    message = Message(
        case=case,
        customer_id=case.customer_id,
        kind=kind,
        channel=channel,
        author=author if getattr(author, "is_authenticated", False) else None,
        sender_address=sender_address,
        sender_name=sender_name,
        body_text=body_text,
        body_html=body_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        created_at=created_at or timezone.now(),
        references=references,
        mailbox=mailbox,
        to_addresses=list(to_addresses),
        cc_addresses=list(cc_addresses),
        bcc_addresses=list(bcc_addresses),
        automatic=automatic,
        automatic_purpose=automatic_purpose,
        problems=[dict(problem) for problem in problems],
        email_subject=email_subject,
        delivery_due_at=delivery_due_at,
        delivery_attempts=delivery_attempts,
        submission_id=submission_id,
    )
    if kind == MessageKind.NOTE or case.customer_id is None:
        insert_instance(message)
    else:
        # The message and its timeline entry name each other: one statement on PostgreSQL.
        interaction = _timeline_entry(case, message, kind=kind, channel=channel)
        insert_linked_pair(message, interaction, link="interaction", label="external_id", prefix=TIMELINE_ID_PREFIX)
    return message


def _timeline_entry(case: Case, message: Message, *, kind: str, channel: str) -> Interaction:
    """The message's interaction on the customer's timeline (not stored yet), as
    record_interaction writes it (same cleaning, ref, and external id once the message has its
    id). Written directly: the customer is locked already and the message is new, so that
    service's own lock and external-id lookup would only repeat work on every inbound message.
    Its phase: after purchase for a case about an order or a customer who has ordered, before
    purchase for a prospect (purchase_phase; the intake's customer comes with has_orders)."""
    customer = case.customer if Case.customer.is_cached(case) else Customer(pk=case.customer_id)
    phase = purchase_phase(customer, about_order=case.order_id is not None)
    fields = clean_interaction_fields(
        channel=channel, direction=Direction.INBOUND if kind == MessageKind.INBOUND else Direction.OUTBOUND,
        nature=Nature.INFORMATIVE, phase=phase, summary=_summary(case, kind, message.automatic, message.automatic_purpose), body=message.body_text[:MAX_INTERACTION_BODY],
    )
    interaction = Interaction(
        customer_id=case.customer_id, occurred_at=message.created_at, agent_id=message.author_id, order_id=case.order_id,
        ref_type=REFERENCE_TYPE, ref_id=str(case.pk), **fields,
    )
    return interaction
