"""ISO 4217 minor units: how many decimals an amount has in its currency, checked and written once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from prevenance.core.currencies import (
    ISO_4217,
    clean_amount,
    format_money,
    in_minor_units,
    max_amount,
    minor_units,
)


def test_the_zero_and_three_decimal_currencies_of_iso_4217():
    no_decimals = {code for code in ISO_4217 if minor_units(code) == 0}
    three = {code for code in ISO_4217 if minor_units(code) == 3}
    assert no_decimals == set("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split())
    assert three == set("BHD IQD JOD KWD LYD OMR TND".split())
    assert {minor_units(code) for code in ISO_4217} == {0, 2, 3}
    assert (minor_units("EUR"), minor_units("usd"), minor_units("ZZZ")) == (2, 2, 2)  # an unknown code keeps 2


def test_an_amount_with_more_decimals_than_its_currency_is_refused_with_the_reason():
    with pytest.raises(ValidationError) as refused:
        clean_amount(Decimal("10.50"), "JPY")
    assert refused.value.message_dict == {"amount": ["JPY amounts have no decimals: 10.50 JPY."]}
    with pytest.raises(ValidationError) as refused:
        clean_amount(Decimal("12.3456"), "TND", field="max_amount")
    assert refused.value.message_dict == {"max_amount": ["TND amounts have at most 3 decimals: 12.3456 TND."]}
    with pytest.raises(ValidationError) as refused:
        clean_amount(Decimal("0.001"), "EUR")
    assert refused.value.message_dict == {"amount": ["At most two decimal places."]}


def test_an_amount_is_given_its_currency_decimals_without_changing_its_value():
    assert str(clean_amount(Decimal("12.345"), "TND")) == "12.345"
    assert str(clean_amount(Decimal("10.5"), "EUR")) == "10.50"
    assert str(clean_amount(Decimal("1500.00"), "JPY")) == "1500"  # trailing zeros are no decimals
    assert str(clean_amount(Decimal("12.500"), "TND")) == "12.500"
    assert str(in_minor_units(Decimal("1000") / 3, "JPY")) == "333"
    assert (max_amount("EUR"), max_amount("JPY"), max_amount("TND")) == (
        Decimal("9999999999.99"), Decimal("9999999999"), Decimal("9999999999.999"))


def test_amounts_are_written_with_their_currency_decimals_in_the_reader_language():
    with translation.override("en"):
        assert format_money(Decimal("1500"), "JPY") == "1,500"
        assert format_money(Decimal("1500.5"), "TND") == "1,500.500"
        assert format_money(Decimal("12.5"), "EUR") == "12.50"
    with translation.override("fr"):
        assert format_money(Decimal("1500.5"), "TND").replace("\u202f", " ").replace("\xa0", " ") == "1 500,500"
        assert format_money(Decimal("1500"), "JPY").replace("\u202f", " ").replace("\xa0", " ") == "1 500"
