"""The signature every webhook call carries, and the secret it is made with.

Header `Prevenance-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC key is
the endpoint's secret and the message is `"<t>." + body` (Stripe's scheme): the timestamp is
signed with the body, so a receiver can refuse an old call replayed later.
"""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Prevenance-Signature"
SECRET_PREFIX = "whsec_"
# A receiver should refuse a call signed longer ago than this (clock skew included).
DEFAULT_TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(secret, t, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """What a receiver does (the Python snippet in docs/webhooks.md is this function)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    # As bytes: compare_digest raises TypeError on a str that is not ASCII (a forged header);
    # "replace" turns a character UTF-8 cannot hold into "?", which no hex signature contains.
    return hmac.compare_digest(compute_signature(secret, timestamp, body).encode(), parts.get("v1", "").encode("utf-8", "replace"))
