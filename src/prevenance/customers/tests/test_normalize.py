import pytest
from django.core.exceptions import ValidationError

from prevenance.core.text import search_key
from prevenance.customers.normalize import display_phone, guess_identity_kind, normalize_identity


@pytest.mark.parametrize(
    ("kind", "raw", "network", "expected"),
    [
        ("email", "  Anne.Dupont@Exemple.FR ", "", "anne.dupont@exemple.fr"),
        ("phone", "06 12 34 56 78", "", "+33612345678"),
        ("phone", "+33 (0)6 12 34 56 78", "", "+33612345678"),
        ("phone", "0033612345678", "", "+33612345678"),
        ("phone", "+44 20 7946 0958", "", "+442079460958"),
        ("social", "@AnneD", "Twitter", "twitter:anned"),
        ("loyalty_card", "1234 5678-90", "", "1234567890"),
        ("external_id", "CRM-001", "", "CRM-001"),
    ],
)
def test_normalises_what_people_type(kind, raw, network, expected):
    assert normalize_identity(kind, raw, network=network).normalized == expected


@pytest.mark.parametrize(
    ("kind", "raw", "network"),
    [
        ("email", "anne@", ""),
        ("email", "<script>@x.fr", ""),
        ("phone", "not a phone", ""),
        ("phone", "01 23", ""),
        ("social", "anne", "myspace2"),
        ("loyalty_card", "<b>1</b>", ""),
        ("external_id", "x" * 101, ""),
        ("fax", "0102030405", ""),
    ],
)
def test_refuses_malformed_values_with_a_reason(kind, raw, network):
    with pytest.raises(ValidationError) as info:
        normalize_identity(kind, raw, network=network)
    assert info.value.messages[0]


def test_guesses_what_a_search_is():
    assert guess_identity_kind("anne@exemple.fr") == "email"
    assert guess_identity_kind("06 12 34 56 78") == "phone"
    assert guess_identity_kind("Dupont") is None
    assert guess_identity_kind("@anne") is None


def test_search_key_folds_case_accents_and_spaces():
    assert search_key("  Éloïse   D'ARC ") == "eloise d'arc"
    assert search_key(None) == ""


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+33199000006", "01 99 00 00 06"),  # the installation's region (France in the tests): national
        ("+442079460958", "+44 20 7946 0958"),  # another country: international, with its code
        ("0612", "0612"),  # no valid number: as it is
        ("", ""),
    ],
)
def test_shows_a_stored_phone_number_as_people_read_it(settings, stored, shown):
    settings.PREVENANCE_PHONE_REGION = "FR"
    assert display_phone(stored) == shown


def test_a_number_of_the_configured_region_is_shown_in_that_regions_form(settings):
    settings.PREVENANCE_PHONE_REGION = "GB"
    assert display_phone("+442079460958") == "020 7946 0958"
    assert display_phone("+33199000006") == "+33 1 99 00 00 06"
