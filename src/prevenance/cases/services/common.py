"""What every case service shares: input cleaning, the case lock, references, thread entries."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases.choices import CaseStatus, MessageKind
from prevenance.cases.mail.sanitize import sanitize_html
from prevenance.cases.models import Case, CaseCounter, Message
from prevenance.core.choices import CHANNELS
from prevenance.customers.models import Customer, IdentityConflict
from prevenance.customers.services import lock_live_customer
from prevenance.interactions.choices import Direction
from prevenance.interactions.services import MAX_BODY as MAX_INTERACTION_BODY
from prevenance.interactions.services import record_interaction

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
    text = _printable(value)
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


def stored_message(message_id: str | None) -> Message | None:
    if not message_id:
        return None
    return Message.objects.select_related("case").filter(message_id=message_id).first()


def live_case_id(case_id: int) -> int:
    """Where messages for this case go now: a merged case leads to its survivor."""
    hops = 0
    while hops < 20:
        merged_into = Case.objects.filter(pk=case_id).values_list("merged_into_id", flat=True).first()
        if merged_into is None:
            return case_id
        case_id, hops = merged_into, hops + 1
    return case_id


def lock_case(case_id: int) -> Case:
    """Lock a case for this transaction, its customer first.

    Customer services (merge, erasure) lock the customer and then update its cases; taking
    the locks in the same order here means the two never deadlock. Call inside a transaction.
    """
    for _attempt in range(LOCK_ATTEMPTS):
        customer_id = Case.objects.filter(pk=case_id).values_list("customer_id", flat=True).get()
        if customer_id is not None:
            try:
                lock_live_customer(Customer(pk=customer_id))
            except ValidationError:
                continue  # merged or erased meanwhile: the case now points elsewhere, read it again
        locked = Case.objects.select_for_update(of=("self",)).select_related("customer").get(pk=case_id)
        if locked.customer_id == customer_id:
            return locked
    raise ValidationError(_("This case's customer was merged or erased meanwhile; try again."), code="case_moved")


def refuse_closed(case: Case) -> None:
    if case.status == CaseStatus.CLOSED:
        raise ValidationError({"case": [_("Case %(reference)s is closed.") % {"reference": case.reference}]}, code="case_closed")


def next_reference(when: datetime) -> str:
    """C-YYYY-NNNNNN, numbered per year.

    The UPDATE takes the year's counter row lock until the transaction ends, so two intakes
    never get the same number (SQLite serialises writers anyway). The lock is held to commit:
    open_case allocates it after resolving the customer, as late as it can.
    """
    year = timezone.localtime(when).year
    if not CaseCounter.objects.filter(year=year).update(last=F("last") + 1):
        try:
            with transaction.atomic():
                CaseCounter.objects.create(year=year, last=1)
            return f"C-{year}-{1:06d}"
        except IntegrityError:
            CaseCounter.objects.filter(year=year).update(last=F("last") + 1)  # another intake created the row first
    number = CaseCounter.objects.filter(year=year).values_list("last", flat=True).get()
    return f"C-{year}-{number:06d}"


def create_case(*, customer: Customer, channel: str, subject: str, created_at: datetime, **fields) -> Case:
    return Case.objects.create(
        reference=next_reference(created_at), customer=customer, channel=channel, subject=subject, created_at=created_at, **fields
    )


def _summary(case: Case, kind: str) -> str:
    label = _("Reply on case %(reference)s") if kind == MessageKind.OUTBOUND else _("Message on case %(reference)s")
    text = label % {"reference": case.reference}
    return f"{text}: {case.subject}"[:255] if case.subject else text


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
) -> Message:
    """Store one message on a locked case; a message to or from the customer also goes on their timeline."""
    message = Message.objects.create(
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
    )
    if kind != MessageKind.NOTE and case.customer_id is not None:
        interaction, _created = record_interaction(
            customer=case.customer,
            channel=channel,
            direction=Direction.INBOUND if kind == MessageKind.INBOUND else Direction.OUTBOUND,
            summary=_summary(case, kind),
            body=body_text[:MAX_INTERACTION_BODY],
            occurred_at=message.created_at,
            agent=author,
            order=case.order,
            ref_type=REFERENCE_TYPE,
            ref_id=str(case.pk),
            external_id=f"cases.message:{message.pk}",
        )
        message.interaction = interaction
        message.save(update_fields=["interaction"])
    return message
