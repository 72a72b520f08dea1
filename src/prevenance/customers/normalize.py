"""Turn what people type into one canonical value per identity kind."""

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from prevenance.customers.choices import IdentityKind

MAX_IDENTITY_LENGTH = 254
SOCIAL_NETWORKS = ("twitter", "facebook", "instagram", "linkedin", "tiktok", "youtube", "whatsapp", "other")
_HANDLE_RE = re.compile(r"^@?[\w.\-]{1,100}$")
_TOKEN_RE = re.compile(r"^[\w.\-:/#]{1,100}$")


@dataclass(frozen=True)
class NormalizedIdentity:
    kind: str
    value: str
    normalized: str
    network: str = ""


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().casefold()
    if not value or len(value) > MAX_IDENTITY_LENGTH:
        raise ValidationError(_("“%(value)s” is not a valid email address.") % {"value": raw[:80]}, code="invalid_email")
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": raw[:80]}, code="invalid_email"
        ) from exc
    return value


@lru_cache(maxsize=65536)
def _phone_e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str, region: str | None = None) -> str:
    value = (raw or "").strip()
    e164 = _phone_e164(value[:40], (region or settings.PREVENANCE_PHONE_REGION).upper()) if value else None
    if e164 is None:
        raise ValidationError(_("“%(value)s” is not a valid phone number.") % {"value": value[:80]}, code="invalid_phone")
    return e164


def normalize_identity(kind: str, raw: str, *, network: str = "", region: str | None = None) -> NormalizedIdentity:
    """Validate and normalise one identity, or raise ValidationError saying why."""
    raw = "" if raw is None else str(raw)
    if kind == IdentityKind.EMAIL:
        return NormalizedIdentity(kind, raw.strip(), normalize_email(raw))
    if kind == IdentityKind.PHONE:
        return NormalizedIdentity(kind, raw.strip(), normalize_phone(raw, region))
    if kind == IdentityKind.SOCIAL:
        network = (network or "").strip().casefold()
        if network not in SOCIAL_NETWORKS:
            raise ValidationError(
                _("Unknown social network “%(network)s”; use one of: %(choices)s.")
                % {"network": network[:40], "choices": ", ".join(SOCIAL_NETWORKS)},
                code="invalid_network",
            )
        handle = raw.strip()
        if not _HANDLE_RE.match(handle):
            raise ValidationError(_("“%(value)s” is not a valid social handle.") % {"value": handle[:80]}, code="invalid_handle")
        handle = handle.lstrip("@").casefold()
        return NormalizedIdentity(kind, raw.strip(), f"{network}:{handle}", network)
    if kind in (IdentityKind.LOYALTY_CARD, IdentityKind.EXTERNAL_ID, IdentityKind.DEVICE_ID):
        token = raw.strip()
        if kind == IdentityKind.LOYALTY_CARD:
            # Card numbers are printed with spaces or dashes: "1234 5678-90" is card 1234567890.
            token = re.sub(r"[\s-]", "", token).upper()
        if not _TOKEN_RE.match(token):
            raise ValidationError(
                _("“%(value)s” is not a valid identifier (letters, digits and . - _ : / # only, 100 at most).")
                % {"value": token[:80]},
                code="invalid_identifier",
            )
        return NormalizedIdentity(kind, raw.strip(), token)
    raise ValidationError(
        _("Unknown identity kind “%(kind)s”; use one of: %(choices)s.")
        % {"kind": str(kind)[:40], "choices": ", ".join(IdentityKind.values)},
        code="invalid_kind",
    )


def guess_identity_kind(query: str) -> str | None:
    """What a search box query most likely is: an email, a phone number, or neither."""
    text = query.strip()
    if "@" in text and not text.startswith("@"):
        return IdentityKind.EMAIL
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 6 and digits >= len(text.replace(" ", "")) - 3:
        return IdentityKind.PHONE
    return None
