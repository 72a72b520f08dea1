"""Header decoding that never raises: RFC 2047 words, raw 8-bit bytes, message ids, case references."""

import base64
import binascii
import codecs
import re

# Windows-1252 is what senders labelling "iso-8859-1" actually write (the WHATWG
# encoding standard makes the same choice): it decodes curly quotes and the euro sign correctly.
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252"}
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BETWEEN_WORDS_RE = re.compile(r"\?=[ \t\r\n]+=\?")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_BARE_MSGID_RE = re.compile(r"[^<>\s]+@[^<>\s]+")
# Six digits, or more past C-2026-999999 (numbering goes on with C-2026-1000000, as outbound's tag
# reads it): numbers are zero-padded to six, so a longer one never starts with a zero.
CASE_REFERENCE_RE = re.compile(r"(?<![\w-])C-(\d{4})-(\d{6}|[1-9]\d{6,})(?![\w-])", re.IGNORECASE)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower().split("*", 1)[0]
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode as declared, else UTF-8, else Windows-1252; the flag says a declared charset was wrong or unknown."""
    codec = _codec(charset)
    if codec:
        try:
            return data.decode(codec), False
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True
    # Undeclared UTF-8 is the norm today: it is a problem only when something else was declared.
    return text, bool(charset)


def repair_raw(value: str) -> tuple[str, bool]:
    """Headers holding raw 8-bit bytes arrive surrogate-escaped; decode them as UTF-8, else Windows-1252."""
    try:
        value.encode("utf-8")
        return value, False
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        return binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None


def _decode_word(charset: str, data: bytes) -> tuple[str, bool]:
    codec = _codec(charset)
    if codec:
        try:
            return data.decode(codec), False
        except UnicodeDecodeError:
            pass
    text, _ = decode_bytes(data, None)
    return text, True


def decode_header_text(value: str | None) -> tuple[str, bool]:
    """Unfold, repair raw bytes and decode RFC 2047 words (Q and B).

    Adjacent words in one charset are joined before decoding: clients split them in the middle of a
    multi-byte character although RFC 2047 forbids it.
    """
    if not value:
        return "", False
    text, problem = repair_raw(value)
    text = re.sub(r"\r?\n[ \t]", " ", text)
    # Whitespace between two encoded words is folding, not content (RFC 2047 section 6.2).
    text = _BETWEEN_WORDS_RE.sub("?==?", text)
    parts: list[str] = []
    pending: tuple[str, bytearray] | None = None
    last = 0

    def flush() -> None:
        nonlocal pending, problem
        if pending:
            decoded, bad = _decode_word(pending[0], bytes(pending[1]))
            parts.append(decoded)
            problem = problem or bad
            pending = None

    for match in _ENCODED_WORD_RE.finditer(text):
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if match.start() > last or data is None or (pending and pending[0].lower() != charset.lower()):
            flush()
        parts.append(text[last : match.start()])
        if data is None:
            parts.append(match.group(0))
            problem = True
        elif pending:
            pending[1].extend(data)
        else:
            pending = (charset, bytearray(data))
        last = match.end()
    flush()
    parts.append(text[last:])
    return re.sub(r"[ \t\r\n]+", " ", "".join(parts)).strip(), problem


def normalize_message_id(value: str) -> str:
    """Angle brackets off, domain lower-cased: the same message keeps the same key however it was written."""
    value = value.strip().strip("<>").strip()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{domain.lower()}"


def message_ids(value: str | None) -> list[str]:
    """Every id in an In-Reply-To or References header, in order, without repeats."""
    if not value:
        return []
    value, _ = repair_raw(value)
    found = _MSGID_RE.findall(value) or _BARE_MSGID_RE.findall(value)
    # A dict keeps the first place of each id and finds a repeat at once (a list rescanned for
    # each id made a References header of thousands of ids take most of a second).
    return list(dict.fromkeys(normalized for raw in found if (normalized := normalize_message_id(raw))))


def case_reference(subject: str) -> str | None:
    match = CASE_REFERENCE_RE.search(subject or "")
    return f"C-{match.group(1)}-{match.group(2)}" if match else None
