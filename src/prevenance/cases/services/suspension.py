"""Keep aside an inbound message that cannot become a case on its own (the intake's side of
the suspended queue; a person's side is suspended.py). See docs/email-intake.md,
"Suspended messages".

Written inside the intake's transaction: kept, or nothing is. The same message delivered
again (a relay's retry, the IMAP poller reading it again, the same form posted twice) is
kept once.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from prevenance.cases.choices import SuspensionReason
from prevenance.cases.mail.parse import ParsedMessage, content_message_id
from prevenance.cases.models import SuspendedMessage
from prevenance.cases.services.attachments import CheckedFile, check_uploads
from prevenance.cases.services.email_attachments import RAW_IN_DATABASE_MAX_BYTES, STORED_NAME_BYTES
from prevenance.cases.services.web_form import file_fingerprints, form_message_id
from prevenance.core.choices import Channel
from prevenance.core.files import discard_files, files_discarded_on_failure, store_file

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


def keep_contact_form(*, data: Mapping[str, str], files: Sequence = (), language: str, client: str,
                      reason: str = SuspensionReason.HONEYPOT) -> SuspendedMessage:
    """The suspended row of a contact form sent with its anti-robot field filled in (or, with
    `reason` SENDER_BLOCKED, from an email address blocked as spam): its fields as they came (`data`, the POST; each cut to what the form allows) and those of its `files`
    a normal submission would take (the others are counted, not kept). Kept once per
    submission, words and files, as a case would be; every post without a readable submission
    id is kept."""
    fields = {name: str(data.get(name, ""))[:limit] for name, limit in CONTACT_FIELDS.items() if data.get(name)}
    if language:
        fields["language"] = language
    accepted = _acceptable(files)
    try:
        message_id = form_message_id(*(fields.get(name, "") for name in ("submission_id", "email", "phone", "type", "subject", "body", "order")),
                                     *file_fingerprints(accepted))
    except ValidationError:
        message_id = ""  # no UUID as its submission id: only a robot writes that
    if message_id and (kept := _kept(message_id)) is not None:
        return kept
    contact = " ".join(part for part in (fields.get("email", ""), fields.get("phone", "")) if part)
    row = SuspendedMessage(
        channel=Channel.WEB, reason=reason, sender=contact[:_SENDER_LENGTH],
        subject=fields.get("subject", "")[:_SUBJECT_LENGTH], body=fields.get("body", ""), message_id=message_id,
        form_data=fields, client=client[:100], files_refused=len(files) - len(accepted),
    )
    # Stored inside the block: if the row is not written, its files are deleted again.
    with files_discarded_on_failure(), transaction.atomic():
        row.form_files = [_stored(item) for item in accepted]
        return _insert_once(row)


def _acceptable(uploads: Sequence) -> list[CheckedFile]:
    """The files the form would take, in their order, up to its number: each checked on its own,
    so that one refused file (a robot's program, a photo too large) does not lose the others."""
    accepted = []
    for upload in uploads:
        if len(accepted) == settings.PREVENANCE_CONTACT_FORM_MAX_FILES:
            break
        try:
            accepted.extend(check_uploads([upload], max_files=1))
        except ValidationError:
            continue
    return accepted


def _stored(item: CheckedFile) -> dict:
    # Named as attachments are (stored_name): a random part makes the name ours alone, known
    # before writing, and the storage's own clean-up of the customer's name applies.
    tail = item.filename.encode()[-STORED_NAME_BYTES:].decode(errors="ignore")
    name = default_storage.generate_filename(f"{timezone.now():suspended/%Y/%m}/{uuid.uuid4().hex[:16]}-{tail}")
    item.upload.seek(0)
    path = store_file(name, item.upload)
    return {"name": item.filename, "path": path, "size": item.size, "content_type": item.content_type}


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
        if names := row.stored_file_names():
            discard_files(names)  # this copy's files: the kept row has its own
        return kept
    return row
