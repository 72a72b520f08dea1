"""A bounce of one of our emails: tied to the email that failed; the addresses it says failed
for good are flagged on the customers who have them, and those it says failed for now are
counted, enough such failures flagging them too (docs/email-intake.md, "Bounces")."""

from datetime import datetime

from prevenance.cases.choices import MessageKind
from prevenance.cases.mail.dsn import FailedRecipient
from prevenance.cases.mail.parse import ParsedMessage
from prevenance.cases.models import Message
from prevenance.customers.services import mark_bounced, note_temporary_failures


def returned_email(parsed: ParsedMessage) -> Message | None:
    """Our OUTBOUND email a bounce returns: the Message-ID in its returned headers, else the
    ids it threads on (some servers answer the failed email as a reply)."""
    ids = [parsed.returned_message_id, parsed.in_reply_to, *reversed(parsed.references)]
    ids = list(dict.fromkeys(item for item in ids if item))
    if not ids:
        return None
    found = {
        email.message_id: email
        for email in Message.objects.filter(message_id__in=ids, kind=MessageKind.OUTBOUND).only(
            "pk", "case_id", "message_id", "to_addresses", "cc_addresses", "bcc_addresses",
        )
    }
    return next((found[item] for item in ids if item in found), None)


def _reason(failure: FailedRecipient) -> str:
    # "550 5.1.1 User unknown" already says its status; a bare status is kept alone.
    if failure.status and failure.status not in failure.diagnostic:
        return f"{failure.status} {failure.diagnostic}".strip()
    return failure.diagnostic


def flag_failed_recipients(parsed: ParsedMessage, email: Message, *, at: datetime) -> tuple[str, ...]:
    """Flag the addresses the bounce says failed for good, and count those it says failed for
    now, among the addresses `email` was sent to: a report naming an address we did not write
    to (forged, or about another email) changes nothing. Returns the addresses flagged on a
    customer (a temporary failure flags one when it is the last its series allows)."""
    sent_to = {address.casefold() for address in (*email.to_addresses, *email.cc_addresses, *email.bcc_addresses)}
    failures = [failure for failure in parsed.failed_recipients if failure.address in sent_to]
    permanent = {failure.address: _reason(failure) for failure in failures if failure.permanent}
    temporary = {failure.address: _reason(failure) for failure in failures if not failure.permanent}
    flagged = [*(mark_bounced(reasons=permanent, at=at) if permanent else ()),
               *(note_temporary_failures(reasons=temporary, at=at) if temporary else ())]
    return tuple(dict.fromkeys(identity.normalized for identity in flagged))
