"""Keep aside an inbound message that cannot become a case on its own (the intake's side of
the suspended queue; a person's side is suspended.py). See docs/email-intake.md,
"Suspended messages".

Written inside the intake's transaction: kept, or nothing is. The same message delivered
again (a relay's retry, the IMAP poller reading it again, the same form posted twice) is
kept once.
"""

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from prevenance.cases.choices import SuspensionReason
from prevenance.cases.mail.parse import ParsedMessage, content_message_id
from prevenance.cases.models import SuspendedMessage
from prevenance.cases.services.email_attachments import RAW_IN_DATABASE_MAX_BYTES
from prevenance.cases.services.web_form import form_message_id
from prevenance.core.choices import Channel
from prevenance.core.files import discard_files, store_file

_SENDER_LENGTH = SuspendedMessage._meta.get_field("sender").max_length
_SUBJECT_LENGTH = SuspendedMessage._meta.get_field("subject").max_length
# The contact form's fields (cases/forms.py ContactForm) and how much of each is kept.
CONTACT_FIELDS = {
    "first_name": 100, "last_name": 100, "email": 254, "phone": 40, "type": 20, "order": 64, "subject": 255,
    "body": 20_000, "website": 200, "submission_id": 100,
}


def keep_email(*, raw: bytes, parsed: ParsedMessage, reason: str, sender: str, mailbox: str, body: str,
               received_at: datetime | None = None) -> SuspendedMessage:
    """The suspended row of this email, written now or found from an earlier delivery.

    Keyed by the message's bytes, not its Message-ID: some mailers give every message the same
    id, and a different message under a known id must not be taken for the one kept."""
    message_id = content_message_id(raw)
    if (kept := _kept(message_id)) is not None:
        return kept
    row = SuspendedMessage(
        channel=Channel.EMAIL, reason=reason, received_at=received_at or timezone.now(), sender=sender[:_SENDER_LENGTH],
        subject=parsed.subject[:_SUBJECT_LENGTH], body=body, message_id=message_id, mailbox=mailbox,
    )
    if len(raw) <= RAW_IN_DATABASE_MAX_BYTES:
        row.raw = raw
    else:
        row.raw_file.name = store_file(f"suspended/{message_id.split('@')[0]}.eml", ContentFile(raw))
    return _insert_once(row)


def keep_contact_form(*, data: Mapping[str, str], language: str, client: str) -> SuspendedMessage:
    """The suspended row of a contact form sent with its anti-robot field filled in: its fields
    as they came (`data`, the POST; each cut to what the form allows), no files. Kept once per
    submission and words, as a case would be; every post without a readable submission id is kept."""
    fields = {name: str(data.get(name, ""))[:limit] for name, limit in CONTACT_FIELDS.items() if data.get(name)}
    if language:
        fields["language"] = language
    try:
        message_id = form_message_id(*(fields.get(name, "") for name in ("submission_id", "email", "phone", "type", "subject", "body", "order")))
    except ValidationError:
        message_id = ""  # no UUID as its submission id: only a robot writes that
    if message_id and (kept := _kept(message_id)) is not None:
        return kept
    contact = " ".join(part for part in (fields.get("email", ""), fields.get("phone", "")) if part)
    row = SuspendedMessage(
        channel=Channel.WEB, reason=SuspensionReason.HONEYPOT, sender=contact[:_SENDER_LENGTH],
        subject=fields.get("subject", "")[:_SUBJECT_LENGTH], body=fields.get("body", ""), message_id=message_id,
        form_data=fields, client=client[:100],
    )
    with transaction.atomic():
        return _insert_once(row)


def _kept(message_id: str) -> SuspendedMessage | None:
    return SuspendedMessage.objects.filter(message_id=message_id).first()


def _insert_once(row: SuspendedMessage) -> SuspendedMessage:
    try:
        with transaction.atomic():  # a savepoint: a concurrent delivery of the same message may commit first
            row.save()
    except IntegrityError:
        kept = _kept(row.message_id) if row.message_id else None
        if kept is None:
            raise
        if row.raw_file.name:
            discard_files([row.raw_file.name])  # this copy's file: the kept row has its own
        return kept
    return row
