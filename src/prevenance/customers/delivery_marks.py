"""The delivery mark of our emails (docs/email-intake.md, "Bounces"): each copy of an email we
send carries in BOUNCE_TOKEN_HEADER a signature, with the site's SECRET_KEY, of the email's
Message-ID and of the one recipient it went to. A bounce returning it proves that this copy
failed for that address; nobody without the key can make one up.

Here, not in cases, so that every app sending emails to customers marks them alike: the cases
(acknowledgements, replies, surveys: cases/services/outbound.py) and the consent confirmation
(services/consents.py). The cases' bounce intake checks both (cases/services/bounces.py)."""

import re

from django.conf import settings
from django.core import signing
from django.core.mail import make_msgid

BOUNCE_TOKEN_HEADER = "X-Prevenance-Bounce-Token"
# The salt the first marks were made with (in cases): changing it would unprove them all.
_SALT = "prevenance.cases.bounces"
_CONSENT_ID = re.compile(r"consent-(\d{1,18})\.[^@\s]+@[^@\s]+")


def _signed_value(message_id: str, address: str) -> str:
    return f"{message_id}\n{address.strip().casefold()}"


def bounce_token(message_id: str, recipient: str) -> str:
    """The delivery mark of our email `message_id` (without brackets) in the copy sent to
    `recipient`: an HMAC-SHA256 with SECRET_KEY (Django's signing, salted), 43 characters of
    URL-safe base64."""
    return signing.Signer(salt=_SALT).signature(_signed_value(message_id, recipient))


def marked_address(message_id: str, token: str, addresses) -> str | None:
    """The address among `addresses` (as sent to) whose delivery mark in email `message_id` is
    `token`, else None. Compared in constant time, with SECRET_KEY and then each of
    SECRET_KEY_FALLBACKS (a key being rotated still proves the emails signed before)."""
    if not token:
        return None
    signer = signing.Signer(salt=_SALT)
    for address in dict.fromkeys(address.strip().casefold() for address in addresses):
        try:
            signer.unsign(f"{_signed_value(message_id, address)}{signer.sep}{token}")
        except signing.BadSignature:
            continue
        return address
    return None


def _sender_domain() -> str:
    domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2].strip().rstrip(">").lower()
    try:
        return domain.encode("idna").decode("ascii") if domain else "prevenance.localhost"
    except UnicodeError:
        return "prevenance.localhost"


def consent_message_id(event_id: int) -> str:
    """A new Message-ID (without brackets) for the confirmation email of consent request
    `event_id`: "consent-<id>.<unique part>@<our domain>", so that a bounce returning it
    names the request (`consent_event_id`)."""
    return f"consent-{event_id}.{make_msgid(domain=_sender_domain()).strip('<>')}"


def consent_event_id(message_id: str) -> int | None:
    """The consent request whose confirmation email `message_id` is (in consent_message_id's
    form), else None. Only a form: the delivery mark proves the email is ours."""
    match = _CONSENT_ID.fullmatch(message_id or "")
    return int(match.group(1)) if match else None
