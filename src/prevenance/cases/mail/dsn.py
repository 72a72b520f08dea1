"""Delivery status notifications (RFC 3464): which recipients a bounce says failed for good,
and which of our messages it returns.

A recipient counts when its server gave up: Action "failed" with a 5.x.x status (or Exim's
X-Failed-Recipients header) is a permanent failure, the address refused for good; with a
4.x.x status it is a temporary one (a mailbox full, a server down for days), which says
something about the address only when it repeats. A delay ("delayed": still retrying) is
not a failure.
"""

from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from prevenance.cases.mail.headers import message_ids, repair_raw

# The header each copy of our emails carries: the delivery mark of the one recipient it went to
# (customers/delivery_marks.py). A report returning the copy's headers returns it too.
from prevenance.customers.delivery_marks import BOUNCE_TOKEN_HEADER

_HEADERS = BytesHeaderParser(policy=policy.compat32)
DIAGNOSTIC_MAX = 200
TOKEN_MAX = 200


@dataclass(frozen=True)
class FailedRecipient:
    address: str  # normalised (lower case, no brackets)
    status: str  # "5.1.1"; "" when only X-Failed-Recipients names the address
    diagnostic: str  # the refusing server's words, shortened ("550 5.1.1 User unknown")
    permanent: bool = True  # False: a 4.x.x failure, the server gave up for now


def _raw_header(headers, name: str) -> str:
    # The first such header's raw text: a raw 8-bit byte in it arrives surrogate-escaped (for
    # repair_raw), where get() would give an email.header.Header, which no string function takes.
    name = name.lower()
    return next((str(value) for key, value in headers.raw_items() if key.lower() == name), "")


def _blocks(report: bytes):
    # A report is a block of per-message fields, then one block per recipient, separated by
    # blank lines; each block has the syntax of a message's headers (folded lines included).
    text = report.replace(b"\r\n", b"\n")
    for block in text.split(b"\n\n"):
        if block.strip():
            yield _HEADERS.parsebytes(block.strip(b"\n") + b"\n")


def _field(block, name: str) -> str:
    # From the raw text: an address with an accented domain written in UTF-8 stays readable
    # (get() would give it as an email.header.Header, its letters replaced).
    return " ".join(repair_raw(_raw_header(block, name))[0].split())


def _after_type(value: str) -> str:
    # "rfc822; someone@example.com", "smtp; 550 5.1.1 User unknown": the part after the type.
    kind, semicolon, rest = value.partition(";")
    return (rest if semicolon else kind).strip()


def delivery_failures(
    report: bytes | None, failed_header: str | None, normalize: Callable[[str], str | None],
) -> tuple[FailedRecipient, ...]:
    """The recipients a delivery report (the message/delivery-status part's bytes) or an
    X-Failed-Recipients header says could not be delivered;
    `normalize` cleans an address (None when it is not one)."""
    found: dict[str, FailedRecipient] = {}
    for block in _blocks(report) if report else ():
        recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        status = (_field(block, "Status").split() or [""])[0]
        if not recipient or _field(block, "Action").lower() != "failed" or status[:1] not in ("4", "5"):
            continue
        if address := normalize(_after_type(recipient)):
            diagnostic = _after_type(_field(block, "Diagnostic-Code"))
            failure = FailedRecipient(address, status[:20], diagnostic[:DIAGNOSTIC_MAX], permanent=status.startswith("5"))
            if address not in found or (failure.permanent and not found[address].permanent):
                found[address] = failure
    for item in (failed_header or "").split(","):
        if address := normalize(item):
            found.setdefault(address, FailedRecipient(address, "", ""))
    return tuple(found.values())


def _returned_header(returned: bytes, name: str) -> str:
    return _raw_header(_HEADERS.parsebytes(returned), name)


def returned_message_id(returned: bytes | None) -> str | None:
    """The Message-ID of the message a bounce returns (its text/rfc822-headers or message/rfc822
    part): how the bounce is tied to the email of ours that failed."""
    if not returned:
        return None
    ids = message_ids(_returned_header(returned, "Message-ID"))
    return ids[0] if ids else None


def returned_token(returned: bytes | None) -> str:
    """The delivery mark (BOUNCE_TOKEN_HEADER) in the headers a bounce returns, or "": folded
    lines and spaces taken out, at most TOKEN_MAX characters (a longer one is no mark of ours)."""
    if not returned:
        return ""
    return "".join(repair_raw(_returned_header(returned, BOUNCE_TOKEN_HEADER))[0].split())[:TOKEN_MAX]
