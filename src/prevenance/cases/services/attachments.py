"""Files uploaded with the contact form, or by an agent with a reply or a note: checked (count,
size, type), then stored through Django's storage API as Attachment rows (docs/contact-form.md,
"Attachments").

Built on the limits every channel shares (email_attachments.py: PREVENANCE_ATTACHMENT_MAX_BYTES,
programs refused by name, declared type and first bytes), plus what only an upload form can
ask: a list of accepted kinds of file. Email keeps anything that is not a program, because the
raw message is stored anyway; a form refuses up front, and the customer can choose again.
The kind is decided from the extension *and* the first bytes, never from the Content-Type
the browser sends: an .exe renamed "photo.jpg" does not start like a JPEG and is refused.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from prevenance.cases.models import Attachment, Message
from prevenance.cases.services.email_attachments import (
    LABELS,
    display_filename,
    max_attachment_bytes,
    refusal,
    stored_name,
)
from prevenance.core.files import store_file
from prevenance.core.formats import format_file_size

HEAD_BYTES = 8192
OFFICE_ZIP = b"PK\x03\x04"


def _starts(*prefixes: bytes):
    return lambda head: head.startswith(prefixes)


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"hevc"}


def _text(head: bytes) -> bool:
    # Plain text has no NUL byte; binaries nearly always have one within their first few KB.
    return b"\x00" not in head


# extension -> (content type stored, check of the first bytes). What customers send to a
# customer service: photos of the product, scans and PDFs of invoices, a text or office file.
ACCEPTED_TYPES = {
    ".jpg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    ".png": ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    ".gif": ("image/gif", _starts(b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", _webp),
    ".heic": ("image/heic", _heic),
    ".pdf": ("application/pdf", _starts(b"%PDF-")),
    ".txt": ("text/plain", _text),
    ".csv": ("text/csv", _text),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _starts(OFFICE_ZIP)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _starts(OFFICE_ZIP)),
    ".odt": ("application/vnd.oasis.opendocument.text", _starts(OFFICE_ZIP)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", _starts(OFFICE_ZIP)),
}


@dataclass(frozen=True)
class CheckedFile:
    upload: object  # a django.core.files.File (an UploadedFile from a form), read when stored
    filename: str
    content_type: str
    size: int


def accepted_extensions() -> str:
    return ", ".join(sorted(ACCEPTED_TYPES))


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return head


def _check_one(upload) -> CheckedFile | str:
    name = display_filename(str(upload.name or ""))
    size = int(upload.size or 0)
    if size > max_attachment_bytes():
        return _("“%(name)s” is %(size)s; each file may be at most %(limit)s.") % {
            "name": name, "size": format_file_size(size), "limit": format_file_size(max_attachment_bytes()),
        }
    head = _head(upload)
    reason = refusal(filename=name, content_type=getattr(upload, "content_type", "") or "", size=size, head=head)
    if reason:
        return _("“%(name)s”: %(reason)s.") % {"name": name, "reason": LABELS[reason]}
    accepted = ACCEPTED_TYPES.get(PurePath(name).suffix.lower())
    if accepted is None:
        return _("“%(name)s”: this kind of file is not accepted (accepted: %(types)s).") % {"name": name, "types": accepted_extensions()}
    content_type, looks_right = accepted
    if not looks_right(head):
        return _("“%(name)s” does not contain what its name says (%(type)s).") % {"name": name, "type": content_type}
    return CheckedFile(upload=upload, filename=name, content_type=content_type, size=size)


def check_uploads(uploads: Sequence, *, max_files: int, field: str = "attachments", max_total_bytes: int | None = None) -> list[CheckedFile]:
    """Every upload checked; all the reasons at once, on `field`, when any is refused.
    `max_total_bytes` caps the files together (an email bigger than its relays take would
    only fail, attempt after attempt)."""
    if len(uploads) > max_files:
        raise ValidationError({field: [_("At most %(count)d files.") % {"count": max_files}]})
    total = sum(int(getattr(upload, "size", 0) or 0) for upload in uploads)
    if max_total_bytes is not None and total > max_total_bytes:
        raise ValidationError({field: [_("These files come to %(size)s; together they may be at most %(limit)s.") % {
            "size": format_file_size(total), "limit": format_file_size(max_total_bytes)}]})
    checked, errors = [], []
    for upload in uploads:
        outcome = _check_one(upload)
        (errors if isinstance(outcome, str) else checked).append(outcome)
    if errors:
        raise ValidationError({field: errors})
    return checked


def store_attachments(message: Message, files: Sequence[CheckedFile]) -> list[Attachment]:
    """Save the files through the storage and add their rows, inside the caller's transaction.

    The storage is not transactional: the caller's core.files.files_discarded_on_failure() block
    deletes the files again if its transaction rolls back (store_file reports each name).
    The file is copied from the upload in chunks, never read into memory whole.
    """
    attachments = []
    for item in files:
        attachment = Attachment(message=message, filename=item.filename, content_type=item.content_type, size=item.size)
        item.upload.seek(0)
        attachment.file.name = store_file(stored_name(attachment, item.filename), item.upload)
        attachment.save()
        attachments.append(attachment)
    return attachments
