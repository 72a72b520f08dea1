"""International email addresses (RFC 6531 / 6532) as identities: clàire@exämple.com is a
customer's address like any other, one identity whichever form of its domain is written, and
an ASCII address normalises exactly as it always has (stored identities depend on it)."""

import pytest
from django.core.exceptions import ValidationError

from prevenance.customers.models import Identity
from prevenance.customers.normalize import MAX_IDENTITY_LENGTH, email_lookup_key, normalize_email
from prevenance.customers.selectors import find_by_identity
from prevenance.customers.tests.factories import IdentityFactory


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("clàire@exämple.com", "clàire@xn--exmple-cua.com"),
        ("CLÀIRE@xn--exmple-cua.com", "clàire@xn--exmple-cua.com"),
        ("  Clàire@EXÄMPLE.com ", "clàire@xn--exmple-cua.com"),
        # Decomposed (an "a" and a combining grave accent, as macOS types it): NFC, the same address
        ("cla\u0300ire@exa\u0308mple.com", "clàire@xn--exmple-cua.com"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("用户@例子。广告", "用户@xn--fsqu00a.xn--4rr70v"),  # the ideographic full stop is a dot in IDNA
        ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"),
        ("x@exämple.com", "x@xn--exmple-cua.com"),
        # Lower-cased, not case-folded: straße and strasse are two mailboxes, and replies go here
        ("Straße@exemple.de", "straße@exemple.de"),
        ("zaïd+colis@exemple.fr", "zaïd+colis@exemple.fr"),
    ],
)
def test_an_international_address_is_one_canonical_identity(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Anne.Dupont@Exemple.FR ", "anne.dupont@exemple.fr"),
        ("ANNE+colis@exemple.fr", "anne+colis@exemple.fr"),
        ("x@xn--exmple-cua.com", "x@xn--exmple-cua.com"),  # an A-label stays as it is
        ("X@XN--FSQU00A.XN--4RR70V", "x@xn--fsqu00a.xn--4rr70v"),
        ("o'brien@exemple.ie", "o'brien@exemple.ie"),
        ('"Anne@Home"@exemple.fr', '"anne@home"@exemple.fr'),  # a quoted string, as Django allows
        ("root@localhost", "root@localhost"),
        ("anne@[192.0.2.1]", "anne@[192.0.2.1]"),
        ("a.b-c_d@sub.exemple.co.uk", "a.b-c_d@sub.exemple.co.uk"),
        ("\u212aate@exemple.fr", "kate@exemple.fr"),  # the Kelvin sign case-folds to ASCII, as before
        ("a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".fr", "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".fr"),  # 250 characters
    ],
)
def test_an_ascii_address_normalises_as_it_always_has(raw, expected):
    assert normalize_email(raw) == expected == raw.strip().casefold()


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "clàire",  # no @
        "clàire@",
        "@exämple.com",
        "clà ire@exämple.com",  # a space
        "clàire\u00a0@exämple.com",  # a no-break space
        "clàire\x85@exämple.com",  # a C1 control
        "cl\u202eàire@exämple.com",  # a right-to-left override: would read as another address
        "clàire@exämple",  # no top-level domain
        "clàire@-exämple.com",
        "clàire@exä mple.com",
        "clàire@exämple..com",
        ".clàire@exämple.com",
        "clà..ire@exämple.com",
        "clàire@" + "ä" * 64 + ".com",  # a label over 63 characters
        "ü" * 125 + "@exemple.fr",  # 136 characters, but 261 octets in UTF-8: over the SMTP limit
        "a" * 250 + "@x.fr",
    ],
)
def test_a_malformed_address_is_refused_with_a_reason(raw):
    with pytest.raises(ValidationError) as info:
        normalize_email(raw)
    assert info.value.code == "invalid_email"
    assert "is not a valid email address" in info.value.messages[0]


def test_the_longest_international_address_accepted_fits_the_identity_column():
    address = "ü" * 119 + "@exemple.fr"  # 130 characters, 249 octets
    assert normalize_email(address) == address
    with pytest.raises(ValidationError):
        normalize_email("ü" * 122 + "@exemple.fr")  # 255 octets
    assert len(address.encode()) <= MAX_IDENTITY_LENGTH <= Identity._meta.get_field("normalized").max_length


@pytest.mark.django_db
def test_both_forms_of_an_international_address_find_the_same_customer():
    customer = IdentityFactory(value="Clàire@exämple.com", normalized=normalize_email("Clàire@exämple.com")).customer
    assert find_by_identity("email", "CLÀIRE@xn--exmple-cua.com") == customer
    assert find_by_identity("email", "cla\u0300ire@exa\u0308mple.com") == customer


def test_a_lookup_key_is_the_identity_of_an_address_and_never_raises():
    assert email_lookup_key("Clàire@exämple.com") == email_lookup_key("clàire@xn--exmple-cua.com") == "clàire@xn--exmple-cua.com"
    assert email_lookup_key("Anne@Exemple.FR") == "anne@exemple.fr"
    assert email_lookup_key(" Not An Address ") == "not an address"
