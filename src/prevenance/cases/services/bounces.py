"""A bounce of one of our emails: tied to the email that failed; applied only for the address
it proves that email was sent to, whose failure for good flags it on the customers who have
it, and whose failure for now is counted, enough such failures flagging it too
(docs/email-intake.md, "Bounces").

The proof is the delivery mark. Each recipient of an email gets their own copy
(outbound.deliver), carrying in BOUNCE_TOKEN_HEADER a signature, with the site's SECRET_KEY,
of the email's Message-ID and of that one recipient's address (`bounce_token`, in
customers/delivery_marks.py: the consent confirmation email carries it too). A genuine
report returns the headers of the copy that failed, mark included. Anyone else, a person in
copy of the email among them, may know its Message-ID and the customer's address, but has
never seen the customer's mark: a report they make up does not change the customer's
address. It is still stored, with the reason it was not applied (`BounceEffect.refused`)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from prevenance.cases.choices import MessageKind
from prevenance.cases.mail.dsn import FailedRecipient
from prevenance.cases.mail.parse import ParsedMessage
from prevenance.cases.mail.problems import (
    BOUNCE_MISMATCH,
    BOUNCE_NOT_OURS,
    BOUNCE_UNMARKED,
    ParseProblem,
)
from prevenance.cases.models import Message
from prevenance.customers.delivery_marks import BOUNCE_TOKEN_HEADER, bounce_token, marked_address
from prevenance.customers.selectors import ConsentConfirmation, consent_confirmation
from prevenance.customers.services import mark_bounced, note_temporary_failures

__all__ = [
    "BOUNCE_TOKEN_HEADER", "BounceEffect", "apply_bounce", "bounce_token", "returned_consent_confirmation", "returned_email",
]


def _address_key(address: str) -> str:
    """An address as a report and our email are compared on: casefolded, the domain in its
    ASCII (IDNA) form. Our mail server got "claire@xn--caf-dma.example" for the customer's
    "claire@café.example" (Django writes the envelope so), and its report names it that way."""
    local, at, domain = address.strip().casefold().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not a domain the codec takes: compared as it is
    return f"{local}{at}{domain}"


def _sent_to(email: Message | ConsentConfirmation) -> list[str]:
    if isinstance(email, ConsentConfirmation):
        return list(email.sent_to)
    addresses = (*email.to_addresses, *email.cc_addresses, *email.bcc_addresses)
    return list(dict.fromkeys(address.strip().casefold() for address in addresses))


def marked_recipient(email: Message | ConsentConfirmation, token: str) -> str | None:
    """The address among those `email` was sent to whose delivery mark `token` is, else None
    (delivery_marks.marked_address: constant time, SECRET_KEY and its fallbacks)."""
    return marked_address(email.message_id, token, _sent_to(email))


def _returned_ids(parsed: ParsedMessage) -> list[str]:
    ids = [parsed.returned_message_id, parsed.in_reply_to, *reversed(parsed.references)]
    return list(dict.fromkeys(item for item in ids if item))


def returned_email(parsed: ParsedMessage) -> Message | None:
    """Our OUTBOUND email a bounce returns: the Message-ID in its returned headers, else the
    ids it threads on (some servers answer the failed email as a reply)."""
    ids = _returned_ids(parsed)
    if not ids:
        return None
    found = {
        email.message_id: email
        for email in Message.objects.filter(message_id__in=ids, kind=MessageKind.OUTBOUND).only(
            "pk", "case_id", "message_id", "to_addresses", "cc_addresses", "bcc_addresses",
        )
    }
    return next((found[item] for item in ids if item in found), None)


def returned_consent_confirmation(parsed: ParsedMessage) -> ConsentConfirmation | None:
    """The consent confirmation email of ours a bounce returns (customers' double opt-in, sent
    with no case), found by its Message-ID like returned_email; else None."""
    return next((found for item in _returned_ids(parsed) if (found := consent_confirmation(item))), None)


def _reason(failure: FailedRecipient) -> str:
    # "550 5.1.1 User unknown" already says its status; a bare status is kept alone.
    if failure.status and failure.status not in failure.diagnostic:
        return f"{failure.status} {failure.diagnostic}".strip()
    return failure.diagnostic


@dataclass(frozen=True)
class BounceEffect:
    # The customers' addresses flagged as undeliverable (a temporary failure flags one when it
    # is the last its series allows).
    flagged: tuple[str, ...] = ()
    # Why the addresses it names were not applied (code, and those addresses as detail), or None.
    refused: ParseProblem | None = None
    # The address its delivery mark proves (as we sent to it), to which the failure was applied, or "".
    proven: str = ""

    def refused_problems(self) -> list[dict]:
        """The refusal as a stored message problem ({"code", "detail"}), if any."""
        return [{"code": self.refused.code, "detail": self.refused.detail}] if self.refused else []


def apply_bounce(parsed: ParsedMessage, email: Message | ConsentConfirmation | None, *, at: datetime) -> BounceEffect:
    """Apply a bounce returning our `email` (a case's, or a consent confirmation; None: it
    returns none of ours) for the one address its delivery mark proves the failed copy went to: flag it if it failed for good, count it
    if it failed for now. Every other address it names is left alone, and the effect says why
    (a report returning no email of ours, one without the mark, or a mark that is not that
    address's: forged, altered, or about another recipient's copy)."""
    failures = parsed.failed_recipients
    if not failures:
        return BounceEffect()
    proven = marked_recipient(email, parsed.returned_token) if email is not None else None
    applied = [failure for failure in failures if proven is not None and _address_key(failure.address) == _address_key(proven)]
    unproven = [failure.address for failure in failures if failure not in applied]
    flagged = []
    if applied:
        # Under the address as we sent to it (the identity's `normalized`), whatever form the
        # report gives it; one failure per report, the permanent one if it names both kinds.
        failure = next((item for item in applied if item.permanent), applied[0])
        reasons = {proven: _reason(failure)}
        flagged = mark_bounced(reasons=reasons, at=at) if failure.permanent else note_temporary_failures(reasons=reasons, at=at)
    refused = None
    if unproven:
        code = BOUNCE_NOT_OURS if email is None else (BOUNCE_MISMATCH if parsed.returned_token else BOUNCE_UNMARKED)
        refused = ParseProblem(code, ", ".join(unproven)[:200])
    return BounceEffect(
        flagged=tuple(dict.fromkeys(identity.normalized for identity in flagged)), refused=refused,
        proven=proven if applied else "",
    )


def refused_timeline_text(effect: BounceEffect, subject: str, body: str) -> tuple[str, str]:
    """(summary, body) of the timeline entry of a bounce not applied: the summary says so, the
    body starts with why, in the active language."""
    summary = (_("Delivery failure, not applied: %(subject)s") % {"subject": subject} if subject
               else _("Delivery failure, not applied"))
    reason = f"{effect.refused.label} ({effect.refused.detail})" if effect.refused.detail else effect.refused.label
    return summary[:255], f"{reason}\n\n{body}"
