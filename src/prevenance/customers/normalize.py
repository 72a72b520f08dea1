"""Turn what people type into one canonical value per identity kind."""

import re
import unicodedata
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
# RFC 6531: a local part's atext is Django's ASCII set plus any non-ASCII character (UTF8-non-ascii).
_UTF8_ATEXT = r"[-!#$%&'*+/=?^_`{}|~0-9a-z\u0080-\U0010ffff]"
_UTF8_DOT_ATOM_RE = re.compile(rf"^{_UTF8_ATEXT}+(?:\.{_UTF8_ATEXT}+)*\Z", re.IGNORECASE)
# Non-ASCII characters the grammar lets through but no mailbox name holds: controls, spaces and
# line separators, surrogates (undecodable bytes), private-use and unassigned code points, and
# invisible format characters (a bidi override makes an address read as another); but for the
# two joiners, which Persian or Indic names need.
_REFUSED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))
_JOINERS = frozenset(("\u200c", "\u200d"))
# What IDNA reads as a dot between labels (RFC 3490 section 3.1): 例子。广告 is 例子.广告.
_IDNA_DOTS_RE = re.compile("[\u3002\uff0e\uff61]")
# A domain after an address's local part (not a handle's leading "@") with an A-label in it.
_A_LABEL_DOMAIN_RE = re.compile(r"(?<=[^\s<>@])@([a-z0-9.-]*xn--[a-z0-9.-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class NormalizedIdentity:
    kind: str
    value: str
    normalized: str
    network: str = ""


def normalize_email(raw: str) -> str:
    """One value per mailbox, trimmed and lower-cased. An ASCII address is checked by Django's
    validate_email and kept as it is (stored identities depend on it). An international one
    (RFC 6531: UTF-8 in the local part, an IDN domain) is put in NFC (RFC 6532) and its domain
    in A-labels, the form ASCII addresses of that domain already have: `clàire@exämple.com`
    and `CLÀIRE@xn--exmple-cua.com` are one identity. 254 characters at most, and 254 UTF-8
    octets for an international address (the SMTP limit counts octets)."""
    value = (raw or "").strip()
    # lower(), not casefold(), past ASCII (where they agree): replies go to the normalised
    # address, and casefold() turns straße@ into strasse@, another mailbox.
    value = value.casefold() if value.isascii() else unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())
    if not value or len(value) > MAX_IDENTITY_LENGTH:
        raise _invalid_email(raw)
    if value.isascii():
        try:
            validate_email(value)
        except ValidationError as exc:
            raise _invalid_email(raw) from exc
        return value
    local, _at, domain = value.rpartition("@")
    domain = _ascii_domain(domain)
    if not _valid_local_part(local) or domain is None or len(f"{local}@{domain}".encode()) > MAX_IDENTITY_LENGTH:
        raise _invalid_email(raw)
    return f"{local}@{domain}"


def email_lookup_key(address: str) -> str:
    """The identity an address read from a message names (normalize_email), for lookups that
    must not raise (threading, bounces): what normalize_email refuses comes back trimmed and
    lower-cased, matching nothing it stored."""
    try:
        return normalize_email(address)
    except ValidationError:
        return (address or "").strip().lower()


def display_email(text: str) -> str:
    """An address as a person reads it: a domain stored in A-labels (normalize_email's
    `clàire@xn--exmple-cua.com`) in its Unicode form (`clàire@exämple.com`); in a text that holds
    addresses (a From header as given, `Clàire <clàire@xn--exmple-cua.com>`), each of them. Only
    for showing: what is stored, compared and sent keeps the A-labels. A domain whose labels do
    not decode (IDNA, as normalize_email encoded them) is left as it is, and so is the rest; so
    is one that would read as another domain (imitates_another_domain): `xn--pypal-4ve.com`,
    not a `pаypal.com` whose Cyrillic "а" no one sees."""
    if "xn--" not in (text or "").lower():
        return text
    return _A_LABEL_DOMAIN_RE.sub(_unicode_domain, text)


def display_phone(text: str) -> str:
    """A phone number as a person reads it: a number of the installation's region in its national
    form (`+33199000006` is `01 99 00 00 06` in France), another in its international form
    (`+44 20 7946 0958`). Only for showing: what is stored and compared stays E.164. Text that is
    no valid number is left as it is."""
    value = (text or "").strip()
    if not value:
        return text or ""
    region = settings.PREVENANCE_PHONE_REGION.upper()
    try:
        number = phonenumbers.parse(value[:40], region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    home = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def _unicode_domain(match: re.Match) -> str:
    try:
        # The codec decodes only a lower-case prefix; a domain's case carries no meaning.
        domain = match.group(1).lower().encode("ascii").decode("idna")
    except UnicodeError:  # not valid punycode, or a label that does not round-trip
        return match.group(0)
    return match.group(0) if imitates_another_domain(domain) else "@" + domain


# Scripts a label may mix (ICU's "highly restrictive" level, which Chromium's IDN display policy
# uses): one script, or Latin with the scripts Japanese, Chinese or Korean write together.
_SCRIPT_MIXES = (
    frozenset(("LATIN", "CJK", "HIRAGANA", "KATAKANA")),
    frozenset(("LATIN", "CJK", "BOPOMOFO")),
    frozenset(("LATIN", "CJK", "HANGUL")),
)
# Lower-case letters that read as Latin ones (Chromium's list for Cyrillic; ours for Greek); IDNA
# has lowered the rest. A label of these alone, "аррӏе", is read "apple".
_LATIN_LOOKALIKES = {
    "CYRILLIC": frozenset("асԁеһіјӏорԛѕԝхуъьҽпгѵѡ"),
    "GREEK": frozenset("αγεικνορτυχω"),
}


def imitates_another_domain(domain: str) -> bool:
    """Whether a Unicode domain could pass for another one: a label that mixes scripts (Latin
    and Cyrillic: "pаypal"), or one made only of Cyrillic or Greek letters that look Latin
    ("аррӏе") outside a top-level domain of that script (пример.рф and аррӏе.рф are read as
    they are written). Chromium's display policy, simplified; a browser shows such a domain in
    A-labels, and so do we."""
    labels = [label for label in domain.split(".") if label]
    top_scripts = _scripts(labels[-1]) if labels else set()
    for label in labels:
        scripts = _scripts(label)
        if len(scripts) > 1 and not any(scripts <= mix for mix in _SCRIPT_MIXES):
            return True
        if len(scripts) == 1 and scripts != top_scripts:
            lookalikes = _LATIN_LOOKALIKES.get(next(iter(scripts)))
            if lookalikes and all(ch in lookalikes for ch in label if _is_letter(ch)):
                return True
    return False


def _scripts(label: str) -> set[str]:
    # A character's script taken from the first word of its Unicode name (LATIN, CYRILLIC,
    # CJK, HIRAGANA...): near enough for letters, without a Unicode script database. Digits,
    # hyphens, combining marks and modifier letters (々, ー) belong to no script here.
    return {re.split(r"[ -]", unicodedata.name(ch, "UNKNOWN"))[0] for ch in label if _is_letter(ch)}


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lo")


def _invalid_email(raw: str) -> ValidationError:
    return ValidationError(_("“%(value)s” is not a valid email address.") % {"value": (raw or "")[:80]}, code="invalid_email")


def _valid_local_part(local: str) -> bool:
    if local.isascii():
        # Django's own rule: a dot-atom or a quoted string (empty when there was no "@").
        return bool(validate_email.user_regex.match(local))
    return bool(_UTF8_DOT_ATOM_RE.match(local)) and not any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in _JOINERS for ch in local if not ch.isascii()
    )


def _ascii_domain(domain: str) -> str | None:
    """The domain in A-labels (IDNA, as Django's outbound mail writes it), checked by Django's
    validate_email domain rule; None when it is not a valid domain."""
    if not domain.isascii():
        # Both forms pass Django's rule: the encoding lets through labels it refuses ("-exämple").
        domain = _IDNA_DOTS_RE.sub(".", domain)
        if not validate_email.validate_domain_part(domain):
            return None
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:  # an empty or too long label, a character IDNA prohibits
            return None
    if domain in validate_email.domain_allowlist or validate_email.validate_domain_part(domain):
        return domain
    return None


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
