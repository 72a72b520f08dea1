"""Raw RFC 822 bytes to a ParsedMessage: never raises on bad input, keeps everything the customer sent."""

import functools
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from prevenance.cases.mail import autoreply, dsn, problems
from prevenance.cases.mail.headers import (
    case_reference,
    decode_bytes,
    decode_header_text,
    message_ids,
    normalize_message_id,
    repair_raw,
)
from prevenance.cases.mail.problems import ParseProblem
from prevenance.cases.mail.quotes import reply_text
from prevenance.cases.mail.sanitize import html_to_text, sanitize_html, too_deeply_nested
from prevenance.customers.normalize import email_lookup_key

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
SYNTHETIC_ID_DOMAIN = "synthetic.prevenance.invalid"


def content_message_id(raw: bytes) -> str:
    """An id derived from the message's bytes, for a message without one of its own (or whose
    own was already taken): the same bytes replayed get the same id, so exactly-once holds."""
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_ID_DOMAIN}"
_UNIQUE_HEADERS = ("message-id", "from", "subject", "date", "in-reply-to", "references", "to", "cc")
# Headers shorter than this are parsed once per process and shared (see _ReadingPolicy).
_KEPT_HEADER_LENGTH = 1000
# The header registry takes time in the square of a header's length (a Content-Type of 20,000
# parameters, 180 KB, took 15 s; a To of 12,000 addresses 5 s): it reads only this much of a
# header. No client writes a MIME or address header this long; the raw header is untouched.
MAX_PARSED_HEADER_LENGTH = 16 * 1024
_ADDRESS_HEADERS = frozenset(("from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc"))
# The headers read through the registry (the others are read raw, whole, by this module).
_READ_THROUGH_REGISTRY = _ADDRESS_HEADERS | {"content-type", "content-disposition", "content-transfer-encoding"}
# Multiparts nested deeper than this are not opened: their content is kept as raw MIME text.
MAX_MULTIPART_DEPTH = 50


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str):
    return policy.default.header_fetch_parse(name, value)


# Few long headers, each read several times by one message: a small cache of its own, so that
# long headers neither re-parse on every access nor fill the shared cache.
_parsed_long_header = functools.lru_cache(maxsize=16)(_parsed_header.__wrapped__)


def _readable_part(name: str, value: str) -> str:
    """The first MAX_PARSED_HEADER_LENGTH characters, cut after the last whole parameter or address."""
    head = value[:MAX_PARSED_HEADER_LENGTH]
    separator = "," if name.lower() in _ADDRESS_HEADERS else ";"
    cut = head.rfind(separator)
    return head[:cut] if cut > 0 else head


class _ReadingPolicy(policy.EmailPolicy):
    """policy.default, with parsed headers kept: the registry parses a header anew on every
    access, and reading one message read its Content-Type seven times (the standard library's
    own get_content_type, get_payload, is_multipart...), a third of the parse. The parsed
    header objects are immutable, so equal headers of different messages share one.
    A header over MAX_PARSED_HEADER_LENGTH is read from its beginning only (header_too_long)."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        if len(value) > MAX_PARSED_HEADER_LENGTH:
            value = _readable_part(name, value)
        if len(value) > _KEPT_HEADER_LENGTH:
            return _parsed_long_header(name, value)
        return _parsed_header(name, value)


_PARSER = BytesParser(policy=_ReadingPolicy())
# Writes a forwarded message back with its headers as they came: policy.SMTP parses and refolds
# every line over 78 characters, and reads Content-Type through itself while writing, the slow
# path above again (30 s for a forward with one long Content-Type).
_WRITING_POLICY = _ReadingPolicy(linesep="\r\n", refold_source="none")


@dataclass(frozen=True)
class MailAddress:
    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    content: bytes = field(repr=False)
    content_id: str | None = None
    inline: bool = False
    too_large: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str
    synthetic_id: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_: MailAddress | None
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    bcc: tuple[MailAddress, ...]
    reply_to: tuple[MailAddress, ...]
    date: datetime | None
    text: str
    new_text: str
    html: str
    attachments: tuple[Attachment, ...]
    case_reference: str | None
    is_auto_reply: bool
    auto_reply_reasons: tuple[str, ...]
    is_bounce: bool
    bounce_reasons: tuple[str, ...]
    # Of a bounce: the addresses it says failed for good, and the id of the message it returns.
    failed_recipients: tuple[dsn.FailedRecipient, ...]
    returned_message_id: str | None
    charset_problems: bool
    parse_errors: tuple[ParseProblem, ...]
    raw_size: int
    # Set by the intake when From was a relay sending for the Reply-To address (email_intake:
    # the relay's own address, which from_ no longer shows).
    relayed_by: str = ""
    # The addresses of the X-Original-To and Delivered-To headers, in the order they appear:
    # the envelope recipient as the delivering server wrote it (Postfix's local delivery and
    # pipe add them). A sender can write them too: the intake only takes a team's mailbox there.
    delivered_to: tuple[str, ...] = ()
    # Of a bounce: the delivery mark in the headers it returns (dsn.BOUNCE_TOKEN_HEADER), or "".
    returned_token: str = ""


class _Reader:
    """One message being read: collects what it finds and every problem met on the way."""

    def __init__(self, raw: bytes, max_attachment_bytes: int):
        self.raw = raw
        self.max_attachment_bytes = max_attachment_bytes
        self.problems: list[ParseProblem] = []
        self.charset_problems = False
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.header_index: dict[int, tuple[EmailMessage, dict[str, list[str]]]] = {}

    def problem(self, code: str, detail: str = "") -> None:
        item = ParseProblem(code, detail)
        if item not in self.problems:
            self.problems.append(item)

    def header_values(self, message: EmailMessage, name: str) -> list[str]:
        # Indexed once per message or part: a message's headers were gone through (each name
        # lower-cased) for every one of the ten headers read. Reading never changes them.
        kept = self.header_index.get(id(message))
        if kept is None:
            index: dict[str, list[str]] = {}
            for key, value in message.raw_items():
                index.setdefault(key.lower(), []).append(str(value))
            # The part is kept too, so that its id is not reused while this reader lives.
            kept = self.header_index[id(message)] = (message, index)
        return kept[1].get(name, [])

    def raw_header(self, message: EmailMessage, name: str) -> str | None:
        values = self.header_values(message, name)
        if len(values) > 1 and name in _UNIQUE_HEADERS:
            self.problem(problems.DUPLICATE_HEADER, name)
        return values[0] if values else None

    def text_header(self, message: EmailMessage, name: str) -> str:
        text, bad = decode_header_text(self.raw_header(message, name))
        self.charset_problems |= bad
        return text

    # Headers ---------------------------------------------------------------------------------

    def message_id(self, message: EmailMessage) -> tuple[str, bool]:
        raw = self.raw_header(message, "message-id")
        ids = message_ids(raw)
        if ids:
            return ids[0], False
        if raw and raw.strip():
            value, _ = repair_raw(raw)
            return normalize_message_id(" ".join(value.split())), False
        self.problem(problems.MISSING_MESSAGE_ID)
        # The same bytes replayed get the same id, so a missing Message-ID does not defeat exactly-once.
        return content_message_id(self.raw), True

    def addresses(self, message: EmailMessage, name: str) -> tuple[MailAddress, ...]:
        raw = self.raw_header(message, name)
        if raw is None:
            return ()
        try:
            found = [(item.display_name, item.addr_spec) for item in message[name].addresses]
        except Exception:  # noqa: BLE001 - the header registry has raised on hostile input before
            self.problem(problems.HEADER_UNREADABLE, name)
            # The simpler parser recurses on nested comments too: then the header gives no address.
            found = _attempt(lambda: getaddresses([repair_raw(raw)[0]])) or []
        result = []
        for raw_name, raw_spec in found:
            display_name, bad_name = repair_raw(raw_name)
            addr_spec, bad_spec = repair_raw(raw_spec)
            address = _normalize_address(addr_spec)
            if bad_name or bad_spec or "\ufffd" in display_name:
                self.charset_problems = True
            if address is None:
                self.problem(problems.INVALID_ADDRESS, f"{name}: {addr_spec or raw}"[:200])
                continue
            result.append(MailAddress(" ".join(display_name.split()), address))
        return tuple(result)

    def delivered_to(self, message: EmailMessage) -> tuple[str, ...]:
        found: list[str] = []
        for key, value in message.raw_items():
            if key.lower() not in ("x-original-to", "delivered-to"):
                continue
            addresses = _attempt(lambda value=value: getaddresses([repair_raw(str(value))[0]])) or ()
            for _name, spec in addresses:
                address = _normalize_address(spec)
                if address is not None and address not in found:
                    found.append(address)
        return tuple(found)

    def date(self, message: EmailMessage) -> datetime | None:
        raw = self.raw_header(message, "date")
        if raw is None:
            return None
        try:
            value = parsedate_to_datetime(repair_raw(raw)[0].strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            self.problem(problems.INVALID_DATE, raw[:100])
            return None
        # "-0000" means "time zone unknown" (RFC 5322): UTC is the only honest reading.
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    # Body ------------------------------------------------------------------------------------

    def visit(self, part: EmailMessage, depth: int = 0) -> None:
        self.collect_defects(part)
        self.flag_long_headers(part)
        content_type, params = _content_type(part)
        disposition = _attempt(part.get_content_disposition)
        filename = self.filename(part)
        if content_type.startswith("message/"):
            # Forwarded mails and delivery reports are kept whole, never mistaken for the body.
            self.attach(part, content_type, disposition, _message_part_bytes(part), filename)
            return
        if part.is_multipart() and depth < MAX_MULTIPART_DEPTH:
            for sub in part.get_payload():
                if isinstance(sub, EmailMessage):
                    self.visit(sub, depth + 1)
            return
        if part.is_multipart():
            self.problem(problems.MIME_TOO_DEEP)
        payload = self.payload(part, content_type)
        # Decoding a transfer encoding adds its own defects (bad base64 characters, padding).
        self.collect_defects(part)
        is_body_text = disposition != "attachment" and not filename
        if is_body_text and content_type == "text/html" and not self.htmls:
            self.htmls.append(self.decode(payload, params.get("charset")))
        elif is_body_text and (content_type == "text/plain" or content_type.startswith("multipart/")):
            # A multipart whose boundary is missing arrives as one text lump: shown as text, not lost.
            self.texts.append(self.decode(payload, params.get("charset")))
        else:
            self.attach(part, content_type, disposition, payload, filename)

    def collect_defects(self, part: EmailMessage) -> None:
        for defect in getattr(part, "defects", ()):
            self.problem(problems.MIME_DEFECT, type(defect).__name__)

    def flag_long_headers(self, part: EmailMessage) -> None:
        for key, value in part.raw_items():
            if len(value) > MAX_PARSED_HEADER_LENGTH and key.lower() in _READ_THROUGH_REGISTRY:
                self.problem(problems.HEADER_TOO_LONG, key.lower()[:60])

    def payload(self, part: EmailMessage, content_type: str) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - a broken transfer encoding must not lose the part
            self.problem(problems.PART_UNREADABLE, content_type)
            data = None
        if data is None:
            raw = part.get_payload()
            data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else _message_part_bytes(part)
        return data

    def decode(self, payload: bytes, charset: str | None) -> str:
        text, bad = decode_bytes(payload, charset)
        if bad:
            self.charset_problems = True
            self.problem(problems.CHARSET, str(charset or "")[:60])
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def filename(self, part: EmailMessage) -> str:
        try:
            name = part.get_filename() or ""
        except Exception:  # noqa: BLE001 - RFC 2231 values with unknown charsets
            self.problem(problems.HEADER_UNREADABLE, "filename")
            name = ""
        name, bad = decode_header_text(name) if "=?" in name else repair_raw(name)
        self.charset_problems |= bad
        if "\ufffd" in name:
            self.charset_problems = True
        # A path in a filename is an attack on whoever saves it, never information.
        name = re.split(r"[\\/]", name)[-1]
        return "".join(ch for ch in name if ch.isprintable()).strip(" .")[:255]

    def attach(self, part: EmailMessage, content_type: str, disposition: str | None, payload: bytes, filename: str) -> None:
        filename = filename or f"part-{len(self.attachments) + 1}{_extension(content_type)}"
        content_id = self.raw_header(part, "content-id")
        too_large = len(payload) > self.max_attachment_bytes
        if too_large:
            self.problem(problems.ATTACHMENT_TOO_LARGE, filename)
        self.attachments.append(
            Attachment(
                filename=filename,
                content_type=content_type,
                size=len(payload),
                content=b"" if too_large else payload,
                content_id=normalize_message_id(content_id) if content_id else None,
                inline=disposition == "inline" or (disposition is None and bool(content_id)),
                too_large=too_large,
            )
        )


def _attempt(method):
    try:
        return method()
    except Exception:  # noqa: BLE001 - the header registry has raised on hostile input before
        return None


def _content_type(part: EmailMessage) -> tuple[str, dict]:
    """Type and parameters from one parse of the header (the registry re-parses on every access)."""
    header = _attempt(lambda: part.get("content-type"))
    if header is None:
        return part.get_default_type(), {}
    content_type = str(getattr(header, "content_type", "") or "").lower()
    if content_type.count("/") != 1:
        # RFC 2045 section 5.2: an unreadable type is read as plain text, so the content stays visible.
        return "text/plain", {}
    return content_type, dict(getattr(header, "params", {}) or {})


def _message_part_bytes(part: EmailMessage) -> bytes:
    payload = part.get_payload()
    try:
        if isinstance(payload, list):
            return b"".join(item.as_bytes(policy=_WRITING_POLICY) for item in payload)
        return part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - keep the part's raw text instead
        return str(payload).encode("utf-8", "surrogateescape")


# The name given to a part sent without one, by its type. Where the standard library's table
# has several extensions for a type, the one people know; the rest comes from mimetypes.
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
    "application/xml": ".xml",
    "audio/mpeg": ".mp3",
    "application/octet-stream": ".bin",  # bytes of unknown kind, refused by the intake (executable extensions)
}


def _extension(content_type: str) -> str:
    """The extension of a made-up name (part-N) for a part of this type: never `.bin` (a blocked
    extension) unless the type says nothing more than application/octet-stream; none at all
    for a type nobody knows. The attachment checks still look at the type and the first bytes."""
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    return mimetypes.guess_extension(content_type, strict=False) or ""


# \s of a str pattern is str.isspace's whitespace (Py_UNICODE_ISSPACE): one search in C, where
# testing each character took a Python call per character of every address read.
_WHITESPACE = re.compile(r"\s")


def _normalize_address(addr_spec: str) -> str | None:
    value = (addr_spec or "").strip().strip("<>")
    # An international address (RFC 6531) in the form identities store it (NFC, the domain in
    # A-labels), so that comparing it with a customer's identity compares one mailbox.
    value = value.casefold() if value.isascii() else email_lookup_key(value)
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or _WHITESPACE.search(value) is not None:
        return None
    return value


def parse_message(raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> ParsedMessage:
    """Read one raw message; problems are reported in parse_errors, never raised."""
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse_message expects bytes, not {type(raw).__name__}")
    reader = _Reader(raw, max_attachment_bytes)
    if not raw.strip():
        reader.problem(problems.EMPTY_MESSAGE)
    try:
        return _read(reader, _PARSER.parsebytes(raw))
    except Exception as exc:  # noqa: BLE001 - the promise: whatever arrives, the customer's text is kept
        reader.problem(problems.UNPARSEABLE, type(exc).__name__)
        return _fallback(reader)


def _read(reader: _Reader, message: EmailMessage) -> ParsedMessage:
    message_id, synthetic = reader.message_id(message)
    in_reply_to = message_ids(reader.raw_header(message, "in-reply-to"))
    subject = reader.text_header(message, "subject")
    senders = reader.addresses(message, "from")
    if not senders:
        reader.problem(problems.MISSING_FROM)
    reader.visit(message)
    html_source = reader.htmls[0] if reader.htmls else ""
    if too_deeply_nested(html_source):
        reader.problem(problems.HTML_TOO_DEEP)
    text = "\n\n".join(t.strip("\n") for t in reader.texts if t.strip()) or html_to_text(html_source)
    from_ = senders[0] if senders else None
    content_type, params = _content_type(message)
    report_type = str(params.get("report-type", "")).lower() if content_type == "multipart/report" else None
    auto = autoreply.auto_reply_reasons(message, subject, report_type)
    bounce = autoreply.bounce_reasons(message, from_.address if from_ else None, report_type)
    failed, returned_id, returned_token = _delivery_failure(reader, message) if bounce else ((), None, "")
    return ParsedMessage(
        message_id=message_id,
        synthetic_id=synthetic,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=tuple(message_ids(reader.raw_header(message, "references"))),
        subject=subject,
        from_=from_,
        to=reader.addresses(message, "to"),
        cc=reader.addresses(message, "cc"),
        bcc=reader.addresses(message, "bcc"),
        reply_to=reader.addresses(message, "reply-to"),
        date=reader.date(message),
        text=text,
        new_text=reply_text(text),
        html=sanitize_html(html_source),
        attachments=tuple(reader.attachments),
        case_reference=case_reference(subject),
        is_auto_reply=bool(auto),
        auto_reply_reasons=auto,
        is_bounce=bool(bounce),
        bounce_reasons=bounce,
        failed_recipients=failed,
        returned_message_id=returned_id,
        charset_problems=reader.charset_problems,
        parse_errors=tuple(reader.problems),
        raw_size=len(reader.raw),
        delivered_to=reader.delivered_to(message),
        returned_token=returned_token,
    )


def _delivery_failure(reader: _Reader, message: EmailMessage) -> tuple[tuple[dsn.FailedRecipient, ...], str | None, str]:
    parts = {item.content_type: item.content for item in reversed(reader.attachments) if not item.too_large}
    failed = dsn.delivery_failures(parts.get("message/delivery-status"), reader.raw_header(message, "x-failed-recipients"), _normalize_address)
    returned = parts.get("text/rfc822-headers") or parts.get("message/rfc822")
    return failed, dsn.returned_message_id(returned), dsn.returned_token(returned)


def _fallback(reader: _Reader) -> ParsedMessage:
    text, bad = decode_bytes(reader.raw, None)
    text = text.replace("\r\n", "\n")
    return ParsedMessage(
        message_id=content_message_id(reader.raw),
        synthetic_id=True,
        in_reply_to=None,
        references=(),
        subject="",
        from_=None,
        to=(),
        cc=(),
        bcc=(),
        reply_to=(),
        date=None,
        text=text,
        new_text=text.strip(),
        html="",
        attachments=(),
        case_reference=None,
        is_auto_reply=False,
        auto_reply_reasons=(),
        is_bounce=False,
        bounce_reasons=(),
        failed_recipients=(),
        returned_message_id=None,
        charset_problems=reader.charset_problems or bad,
        parse_errors=tuple(reader.problems),
        raw_size=len(reader.raw),
    )
