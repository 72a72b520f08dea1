"""A person's side of the suspended queue (suspension.py keeps the messages): recover a kept
message into a case, giving the sender's address, or discard it (suspended_discard.py: one by
one, or all that match a filter, in the background when they are many); and the retention
purge (suspended_retention.py). See docs/email-intake.md, "Suspended messages"."""

import uuid
from contextlib import ExitStack
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases.choices import CaseType, SuspendedAuditKind, SuspendedStatus, SuspensionReason
from prevenance.cases.models import Case, SuspendedMessage
from prevenance.cases.services.email_intake import ingest_email
from prevenance.cases.services.spam import unblock_sender
from prevenance.cases.services.web_form import FORM_TYPES, submit_contact_form
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.core.files import discard_files, files_discarded_on_failure
from prevenance.customers.normalize import normalize_email, normalize_phone


def recover_suspended(*, suspended_id: int, actor, email: str, unblock: bool = False) -> Case:
    """Take a waiting suspended message in as if it had come from `email`: the case it opens
    (or joins), acknowledged as usual and dated from when the message came. The row is kept,
    marked recovered with its case, without its raw copy (the case holds the original now).

    A message kept because its sender is blocked as spam is recovered all the same (the person
    decided); with `unblock`, the address is also taken off the blocked list (services/spam.py),
    so that its next messages open cases again.

    Raises ValidationError (on "email" for the address) when the address is not usable, the
    message was handled meanwhile (another supervisor, in a race: once only) or the intake
    refuses it; then nothing changes."""
    address = _usable_address(email)
    with files_discarded_on_failure(), transaction.atomic():
        row = SuspendedMessage.objects.select_for_update().filter(pk=suspended_id).first()
        _check_waiting(row)
        if row.channel == Channel.EMAIL:
            if not address:
                raise ValidationError({"email": [_("Give the sender's email address.")]})
            case = _recover_email(row, address)
        else:
            case = _recover_form(row, address)
        old_files = row.stored_file_names()
        row.status, row.case, row.handled_by, row.handled_at = SuspendedStatus.RECOVERED, case, actor, timezone.now()
        row.raw, row.raw_file, row.form_files = None, "", []
        row.save(update_fields=["status", "case", "handled_by", "handled_at", "raw", "raw_file", "form_files"])
        record_audit(kind=SuspendedAuditKind.RECOVERED, actor=actor, subject=row,
                     payload={"case": case.reference, "reason": row.reason, "channel": row.channel})
        if unblock and row.reason == SuspensionReason.SENDER_BLOCKED:
            unblock_sender(address=_blocked_sender_of(row) or address, actor=actor)
        if old_files:
            transaction.on_commit(lambda: discard_files(old_files))
    return case


def _blocked_sender_of(row: SuspendedMessage) -> str:
    """The address a message was kept aside for (its From, or the form's email), normalised as
    the blocked list holds it: "Unblock this sender too" unblocks that one, whatever address
    the person typed to recover the message under."""
    given = parseaddr(row.sender)[1] if row.channel == Channel.EMAIL else row.form_data.get("email", "")
    try:
        return normalize_email(given) if given else ""
    except ValidationError:
        return ""


def _usable_address(email: str) -> str:
    if not (email or "").strip():
        return ""
    try:
        return normalize_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc


def _check_waiting(row: SuspendedMessage | None) -> None:
    if row is None:
        raise ValidationError(_("This message is no longer in the queue: it was discarded, or deleted after %(days)d days.")
                              % {"days": settings.PREVENANCE_SUSPENDED_RETENTION_DAYS})
    if row.status == SuspendedStatus.RECOVERED:
        reference = row.case.reference if row.case_id else "-"
        raise ValidationError(_("This message was already recovered into case %(reference)s.") % {"reference": reference})


def _recover_email(row: SuspendedMessage, address: str) -> Case:
    try:
        raw = row.raw_bytes()
    except FileNotFoundError as exc:
        raise ValidationError(_("The original of this message is gone from the file storage; it cannot be recovered.")) from exc
    result = ingest_email(raw=raw, mailbox=row.mailbox, sender=address, received_at=row.received_at)
    if result.case is None:  # the intake kept it aside again: it does not take this address either
        raise ValidationError({"email": [_("This address cannot be a customer's: give another one.")]})
    return result.case


def _recover_form(row: SuspendedMessage, address: str) -> Case:
    fields = row.form_data
    phone = _usable_phone(fields.get("phone", ""))
    if not address and not phone:
        raise ValidationError({"email": [_("Give the sender's email address: the form had no usable one, nor a phone number.")]})
    kind = fields.get("type", "")
    with ExitStack() as opened:
        files = [opened.enter_context(_kept_file(item)) for item in row.form_files]
        intake = submit_contact_form(
            submission_id=_submission_id(fields.get("submission_id", "")), first_name=fields.get("first_name", "")[:100],
            last_name=fields.get("last_name", "")[:100], email=address, phone=phone,
            type=kind if kind in FORM_TYPES else CaseType.QUESTION,
            subject=fields.get("subject", "").strip() or _("(no subject)"), body=fields.get("body", "").strip() or _("(no text)"),
            order_reference=fields.get("order", "")[:64], files=files, language=fields.get("language", ""), received_at=row.received_at,
        )
    return intake.case


def _kept_file(item: dict) -> File:
    """A form's kept file, opened, under the name the customer gave it (what the case shows)."""
    try:
        handle = default_storage.open(item["path"], "rb")
    except FileNotFoundError as exc:
        raise ValidationError(_("The file “%(name)s” of this message is gone from the file storage; it cannot be recovered.")
                              % {"name": item["name"]}) from exc
    kept = File(handle, name=item["name"])
    kept.content_type = item["content_type"]
    return kept


def _usable_phone(phone: str) -> str:
    try:
        return normalize_phone(phone) if phone.strip() else ""
    except ValidationError:
        return ""  # what a robot or a password manager typed there: the email given is enough


def _submission_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid4())
