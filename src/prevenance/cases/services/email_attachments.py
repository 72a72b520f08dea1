"""Files customers send by email (and any channel): size and type limits, stored through Django's storage.

A refused file is never silently dropped: the caller records the reason on the message
(`Message.problems`), and for email the raw message (`message.eml`) still holds it.
"""

import posixpath
import re
import unicodedata
import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from prevenance.cases.mail.problems import ATTACHMENT_REFUSED
from prevenance.cases.models import Attachment, Message
from prevenance.core.files import store_file

# The raw original of an inbound email up to this size is kept in its row (an Attachment's
# content, a suspended message's raw), larger ones as a file: creating a file costs more than
# the rest of a reply's intake on a journaled disk.
RAW_IN_DATABASE_MAX_BYTES = 1024 * 1024

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_FILENAME = 255
# The stored file's own name, in bytes, after its random prefix: room left under the 255 bytes
# of a file system for the suffix a storage adds on a clash.
STORED_NAME_BYTES = 200

# Programs and scripts a click would run (Windows, macOS, Linux, Office macros, Java): the
# usual blocklist of mail gateways. Checked on the name, the declared type and the first bytes,
# since a sender controls the first two.
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "mst", "cpl", "dll", "sys", "drv", "ocx",
    "vbs", "vbe", "js", "jse", "wsf", "wsh", "ws", "hta", "ps1", "psm1", "psd1", "lnk", "inf", "reg",
    "jar", "app", "dmg", "pkg", "sh", "bash", "run", "bin", "elf", "apk", "appx", "msix", "iso", "img",
    "docm", "xlsm", "pptm", "dotm", "xltm", "xlam", "ppam", "sct", "url", "chm", "gadget",
})
EXECUTABLE_TYPES = frozenset({
    "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec", "application/x-executable",
    "application/x-ms-installer", "application/x-msi", "application/x-sh", "application/x-shellscript",
    "application/java-archive", "application/x-java-archive", "application/vnd.microsoft.portable-executable",
    "application/x-mach-binary", "application/hta", "application/x-bat", "text/x-shellscript", "application/javascript",
    "text/javascript", "application/vnd.ms-word.document.macroenabled.12", "application/vnd.ms-excel.sheet.macroenabled.12",
})
# Windows PE ("MZ"), ELF, Mach-O (both byte orders, 32/64 bits, fat), a script's "#!".
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                    b"\xca\xfe\xba\xbe", b"#!")

LABELS = {
    "too_large": _("larger than the limit of %(limit)s"),
    "executable": _("a program or script, refused for safety"),
    "empty": _("empty file"),
}


def max_attachment_bytes() -> int:
    """PREVENANCE_ATTACHMENT_MAX_BYTES (whole bytes > 0): one limit for every file a customer sends."""
    limit = getattr(settings, "PREVENANCE_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ImproperlyConfigured(f"PREVENANCE_ATTACHMENT_MAX_BYTES must be a whole number of bytes > 0, not {limit!r}")
    return limit


def display_filename(filename: str) -> str:
    """The name as the customer gave it, without any folder part and control characters."""
    name = posixpath.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[-MAX_FILENAME:] or "attachment"


def refusal(*, filename: str, content_type: str, size: int, head: bytes = b"") -> str:
    """Why a file may not be stored ("too_large", "executable", "empty"), or "" when it may."""
    if size > max_attachment_bytes():
        return "too_large"
    if size == 0:
        return "empty"
    extensions = {part.lower() for part in display_filename(filename).split(".")[1:]}
    if extensions & EXECUTABLE_EXTENSIONS or (content_type or "").lower() in EXECUTABLE_TYPES:
        return "executable"
    if head.startswith(EXECUTABLE_MAGIC):
        return "executable"
    return ""


def refusal_problem(*, filename: str, reason: str) -> dict[str, str]:
    """The problem recorded on the message for a refused file (code, and "name: reason"), the
    reason always stored in English: reader_refusal_detail shows it in the reader's language."""
    with translation.override("en"):
        label = str(LABELS[reason]) % {"limit": f"{max_attachment_bytes() // (1024 * 1024)} MB"}
    return {"code": ATTACHMENT_REFUSED, "detail": f"{display_filename(filename)}: {label}"}


def reader_refusal_detail(detail: str) -> str:
    """A stored "name: reason" of a refused file with the reason in the active language (a
    detail this version does not recognise is returned as it is)."""
    name, separator, said = detail.rpartition(": ")
    if not separator:
        return detail
    for label in LABELS.values():
        with translation.override("en"):
            english = str(label)
        match = re.fullmatch(re.escape(english).replace(re.escape("%(limit)s"), "(?P<limit>.+)"), said)
        if match:
            return f"{name}: {str(label) % match.groupdict()}"
    return detail


def stored_name(attachment: Attachment, filename: str) -> str:
    """Where the attachment's file goes: upload_to's folder, a random part, then the name. The
    random part makes the name ours alone, known before writing (a write that fails half-way
    leaves a file we can name and delete), and leaves a name the storage would make empty
    ("🎉", "?") something to write under.

    The name's end (its extension) is kept within STORED_NAME_BYTES of UTF-8: file systems
    count a name in bytes (255 at most), and 200 Japanese or accented characters are more."""
    tail = filename.encode()[-STORED_NAME_BYTES:].decode(errors="ignore")  # a character cut in two is dropped
    return attachment.file.field.generate_filename(attachment, f"{uuid.uuid4().hex[:16]}-{tail}")


def store_attachment(*, message: Message, filename: str, content_type: str, content: bytes) -> Attachment:
    """Save a file already checked with `refusal` (storage first, then the row; call inside the
    message's transaction, within core.files.files_discarded_on_failure(), which deletes the file if
    that transaction rolls back)."""
    name = display_filename(filename)
    attachment = Attachment(message=message, filename=name, content_type=(content_type or "application/octet-stream")[:100], size=len(content))
    attachment.file.name = store_file(stored_name(attachment, name), ContentFile(content))
    attachment.save()
    return attachment
