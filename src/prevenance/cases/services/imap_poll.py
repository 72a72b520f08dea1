"""Reading an IMAP mailbox into the email intake (`prevenance poll-imap`, docs/email-intake.md).

Each unseen message is fetched without marking it (BODY.PEEK[]), ingested (one committed
transaction), and only then flagged \\Seen. A crash in between leaves it unseen: the next
poll reads it again and its Message-ID makes that a no-op ("duplicate"), then flags it.
A message the intake refuses for good (e.g. a text over the size the case services take,
or a value the database refuses: DataError) is flagged $PrevenanceRefused and stays unread for a person to look at; polls skip it.
So is a message larger than PREVENANCE_INBOUND_EMAIL_MAX_BYTES (the relay endpoint's limit): its
RFC822.SIZE is asked first and it is never downloaded (a 2 GB message would be read into memory
and fail at every pass).
On a server that keeps no keywords of its own (its PERMANENTFLAGS lack \\*), it is marked
read and flagged (\\Flagged, the star mail clients show) instead: polls skip it all the same.
"""

import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import DataError
from django.utils.translation import gettext as _

from prevenance.cases.services.email_intake import (
    IntakeResult,
    database_reason,
    ingest_email,
)

logger = logging.getLogger(__name__)

REFUSED_FLAG = "$PrevenanceRefused"
# For a server without keywords: read (so UNSEEN skips it) and starred for a person.
REFUSED_WITHOUT_KEYWORDS = "\\Seen \\Flagged"


class ImapError(Exception):
    """The IMAP server could not be reached, refused the login, or answered an error."""


@dataclass
class PollReport:
    results: list[tuple[str, IntakeResult]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (uid, reason)
    refused_flags: str = REFUSED_FLAG  # how refused messages were marked (REFUSED_WITHOUT_KEYWORDS on some servers)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    folder: str = "INBOX"
    port: int = 0  # 0: 993 with TLS, 143 without
    tls: bool = True
    timeout: float = 60.0


def connect(config: ImapSettings) -> imaplib.IMAP4:
    """A logged-in connection (IMAPS by default, with the system's certificate checks)."""
    port = config.port or (993 if config.tls else 143)
    try:
        if config.tls:
            client = imaplib.IMAP4_SSL(config.host, port, ssl_context=ssl.create_default_context(), timeout=config.timeout)
        else:
            client = imaplib.IMAP4(config.host, port, timeout=config.timeout)
    except (OSError, imaplib.IMAP4.error) as exc:  # socket.gaierror, ConnectionRefusedError, ssl.SSLError are OSErrors
        raise ImapError(f"cannot connect to {config.host}:{port}: {exc}") from exc
    try:
        client.login(config.user, config.password)
    except (imaplib.IMAP4.error, OSError) as exc:
        _close(client)
        raise ImapError(f"login refused for {config.user} on {config.host}: {_text(exc)}") from exc
    return client


def _text(exc: Exception) -> str:
    return str(exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc)


def _close(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def _check(answer: tuple[str, list], what: str) -> list:
    status, data = answer
    if status != "OK":
        detail = b" ".join(item for item in data if isinstance(item, bytes)).decode(errors="replace")
        raise ImapError(f"{what} failed: {status} {detail}".strip())
    return data


def _raw_message(data: list) -> bytes | None:
    # imaplib answers a FETCH with (b'1 (UID 7 BODY[] {123}', b'<bytes>') tuples among bytes.
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def _sizes(data: list) -> dict[str, int]:
    """{uid: size} from a `UID FETCH (RFC822.SIZE)` answer: b'1 (UID 7 RFC822.SIZE 123)' lines, in
    any item order; unsolicited FETCH lines (a flag change) carry no size and are skipped."""
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (uid := _UID.search(line)) and (size := _SIZE.search(line)):
            sizes[uid.group(1).decode()] = int(size.group(1))
    return sizes


def poll_once(
    client: imaplib.IMAP4, *, folder: str = "INBOX", mailbox: str = "", limit: int = 100,
    on_result: Callable[[str, IntakeResult | None, str, str], None] | None = None,
) -> PollReport:
    """Ingest up to `limit` unseen messages of `folder`; `on_result(uid, result, refusal, flags)`
    is called after each (`flags`: how a refused one was marked). Raises ImapError on an IMAP
    failure. A refusal of the message (ValidationError, SuspiciousOperation, DataError) flags it;
    any other error of the intake (the database is down: OperationalError) propagates and
    leaves the message unseen."""
    report = PollReport()
    try:
        _check(client.select(_quoted(folder)), f"selecting the folder {folder!r}")
        report.refused_flags = REFUSED_FLAG if _keeps_keywords(client) else REFUSED_WITHOUT_KEYWORDS
        data = _check(client.uid("SEARCH", None, "UNSEEN", "UNKEYWORD", REFUSED_FLAG), "searching unseen messages")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(_text(exc)) from exc
    uids = [uid.decode() for uid in (data[0] or b"").split()][:limit]
    sizes = _message_sizes(client, uids)
    max_bytes = settings.PREVENANCE_INBOUND_EMAIL_MAX_BYTES  # the relay endpoint's limit
    for uid in uids:
        size = sizes.get(uid, 0)  # no size: deleted meanwhile, and the FETCH below finds nothing
        if size > max_bytes:
            # Never downloaded: read whole into memory it would fail the same way at every pass.
            logger.warning("IMAP message %s not downloaded: %d bytes, over the limit of %d", uid, size, max_bytes)
            result, reason = None, _(
                "The message is %(size)d bytes, larger than the %(limit)d bytes the intake takes: not downloaded."
            ) % {"size": size, "limit": max_bytes}
        else:
            try:
                raw = _raw_message(_check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetching message {uid}"))
            except (OSError, imaplib.IMAP4.error) as exc:
                raise ImapError(_text(exc)) from exc
            if raw is None:
                continue  # deleted meanwhile by another client
            result, reason = _ingest(uid, raw, mailbox)
        if reason:
            report.refused.append((uid, reason))
            _flag(client, uid, report.refused_flags)
            if on_result:
                on_result(uid, None, reason, report.refused_flags)
            continue
        # Committed: only now is it marked read on the server.
        _flag(client, uid, "\\Seen")
        report.results.append((uid, result))
        if on_result:
            on_result(uid, result, "", "")
    return report


def _message_sizes(client: imaplib.IMAP4, uids: list[str]) -> dict[str, int]:
    """{uid: RFC822.SIZE}, in one cheap round trip for the whole batch, before any download."""
    if not uids:
        return {}
    try:
        return _sizes(_check(client.uid("FETCH", ",".join(uids), "(RFC822.SIZE)"), "fetching message sizes"))
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(_text(exc)) from exc


def _ingest(uid: str, raw: bytes, mailbox: str) -> tuple[IntakeResult | None, str]:
    """The intake's result and "", or None and why the message is refused for good."""
    try:
        result = ingest_email(raw=raw, mailbox=mailbox)
    except ValidationError as exc:
        return None, "; ".join(exc.messages)
    except SuspiciousOperation as exc:
        # Something in this message the storage or Django refuses (not the server being
        # down): flagged, so it does not block the mailbox on every pass.
        logger.warning("IMAP message %s refused: %s", uid, exc)
        return None, _("Refused: %(reason)s") % {"reason": exc}
    except DataError as exc:
        # A value of this message the database cannot hold (the intake cleans what it knows
        # of; this is the safety net): the message is refused, the mailbox goes on. Its
        # transaction rolled back whole. The database being down is an OperationalError,
        # which propagates and leaves the message unseen.
        logger.warning("IMAP message %s refused by the database: %s", uid, exc)
        return None, _("The database could not store it: %(reason)s") % {"reason": database_reason(exc)}
    # One without a usable sender is stored too: kept aside for a person (Outcome.SUSPENDED).
    return result, ""


def _keeps_keywords(client: imaplib.IMAP4) -> bool:
    """Whether the folder just selected stores REFUSED_FLAG: its PERMANENTFLAGS list it or allow
    new keywords (\\*). Without that response RFC 3501 says every flag is permanent."""
    _status, data = client.response("PERMANENTFLAGS")
    flags = b" ".join(item for item in data if isinstance(item, bytes)).decode(errors="replace").strip("() ").lower().split()
    return not flags or "\\*" in flags or REFUSED_FLAG.lower() in flags


def _flag(client: imaplib.IMAP4, uid: str, flags: str) -> None:
    try:
        _check(client.uid("STORE", uid, "+FLAGS", f"({flags})"), f"flagging message {uid}")
    except (OSError, imaplib.IMAP4.error) as exc:
        # Stored already; the next poll reads it again and finds it a duplicate.
        raise ImapError(_text(exc)) from exc


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def disconnect(client: imaplib.IMAP4) -> None:
    _close(client)

