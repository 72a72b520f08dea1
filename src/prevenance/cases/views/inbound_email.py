"""POST /cases/inbound/email/: one raw RFC 822 message from an inbound-email relay.

Relays (Postfix piping through curl, Postmark's or Mailgun's raw MIME forwarding) post the
message as the request body. The answer is JSON: the outcome and the case reference; a 4xx
says what was wrong. Authenticated by a shared secret, not a session: CSRF does not apply.
"""

import base64
import binascii
import hmac

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import DataError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from prevenance.cases.services import ingest_email
from prevenance.cases.services.email_intake import IntakeResult, Outcome, database_reason

RAW_TYPES = ("message/rfc822", "application/octet-stream", "text/plain", "")
STORED = {Outcome.CREATED, Outcome.APPENDED, Outcome.FOLLOW_UP, Outcome.AUTOMATIC_ON_CASE, Outcome.AUTOMATIC_ON_TIMELINE, Outcome.SUSPENDED}


def _error(status: int, reason: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": reason}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _given_token(request) -> str:
    """The secret from `Authorization: Bearer <token>`, or as the password of Basic auth (relays
    that only take a URL put it there: https://relay:<token>@host/cases/inbound/email/)."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


def _authorized(request) -> bool:
    token = settings.PREVENANCE_INBOUND_EMAIL_TOKEN
    return bool(token) and hmac.compare_digest(_given_token(request).encode(), token.encode())


def _read_raw(request, limit: int) -> bytes | None:
    """The body, or None when it is larger than the limit (read no further than that)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return None
    # request.read(), not request.body: the body cap for forms (DATA_UPLOAD_MAX_MEMORY_SIZE) is
    # not the cap for a message, and the stream is read only up to ours.
    raw = request.read(limit + 1)
    return None if len(raw) > limit else raw


def _answer(result: IntakeResult) -> dict:
    return {
        "outcome": result.outcome,
        "case": result.case.reference if result.case is not None else None,
        "message_id": result.message_id,
        "stored": result.outcome in STORED,
        "automatic": result.automatic,
        "refused_reference": result.refused_reference or None,
        "problems": [problem.code for problem in result.problems],
        # Kept aside for a person (no usable sender): why, else null.
        "suspended": result.reason or None,
    }


@csrf_exempt
@require_POST
def inbound_email(request):
    if not settings.PREVENANCE_INBOUND_EMAIL_TOKEN:
        return _error(503, _("Inbound email is off: set PREVENANCE_INBOUND_EMAIL_TOKEN to accept messages."))
    if not _authorized(request):
        return _error(401, _("Missing or wrong token."), WWW_Authenticate='Bearer realm="inbound-email"')
    content_type = request.content_type or ""
    if content_type not in RAW_TYPES:
        return _error(415, _("Post the raw message as the body (message/rfc822), not %(type)s.") % {"type": content_type})
    limit = settings.PREVENANCE_INBOUND_EMAIL_MAX_BYTES
    raw = _read_raw(request, limit)
    if raw is None:
        return _error(413, _("The message is larger than %(limit)d bytes.") % {"limit": limit})
    if not raw.strip():
        return _error(400, _("The body is empty: post the raw message."))
    mailbox = request.GET.get("mailbox") or request.headers.get("X-Original-To", "")
    try:
        result = ingest_email(raw=raw, mailbox=mailbox)
    except ValidationError as exc:
        return _error(422, "; ".join(exc.messages))
    except SuspiciousOperation as exc:  # something in this message Django refuses: the relay must not retry it
        return _error(422, str(exc))
    except DataError as exc:  # a value the database cannot hold: retrying would fail the same way
        return _error(422, _("The database could not store it: %(reason)s") % {"reason": database_reason(exc)})
    return JsonResponse(_answer(result), status=201 if result.outcome in (Outcome.CREATED, Outcome.APPENDED, Outcome.FOLLOW_UP) else 200)
