"""ISO 4217 currency codes: one rule for every amount the app stores (gestures, delegation
limits, channel costs). Neither Python nor an installed package ships the list, so it is here:
the active currencies of ISO 4217 (amendments to 2024), without the fund, precious-metal and
test codes (BOV, XAU, XTS, XXX...), which no customer is refunded in."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())


def clean_currency(value, *, field: str = "currency") -> str:
    """`value` as stored ("eur " → "EUR"), or a ValidationError on `field` when it is no ISO
    4217 code ("e", "EURO", "ZZZ"): the gesture services and the models' clean() share it."""
    currency = value.strip().upper() if isinstance(value, str) else ""
    if currency not in ISO_4217:
        raise ValidationError({field: [ValidationError(
            _("A currency code of ISO 4217, in three letters (EUR, USD, GBP...)."), code="currency")]})
    return currency


# ISO 4217's minor units (the 2024 list) where they are not 2: how many decimals an amount in
# that currency has. The yen or the CFA franc have no cents; the dinars of Bahrain, Iraq,
# Jordan, Kuwait, Libya and Tunisia and the Omani rial have thousandths.
NO_DECIMALS = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
# The amount columns hold 13 digits, 3 of them decimals (the most any currency here has).
AMOUNT_MAX_DIGITS = 13
AMOUNT_DECIMAL_PLACES = 3
CENT = Decimal("0.01")


def minor_units(currency) -> int:
    """How many decimals an amount in `currency` has: 0 (JPY), 3 (TND) or 2. A code that is
    not ISO 4217 (an order imported with a code of its own) counts as 2, as it always did."""
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if code in NO_DECIMALS:
        return 0
    return 3 if code in THREE_DECIMALS else 2


def quantum(currency) -> Decimal:
    """The smallest amount of `currency`: Decimal("1"), ("0.01") or ("0.001")."""
    return Decimal(1).scaleb(-minor_units(currency))


def in_minor_units(amount, currency) -> Decimal:
    """`amount` with exactly the decimals of `currency` (12.500 read back from a column of 3
    decimals is 12.50 EUR, an average of yen is rounded half up to a whole yen)."""
    return Decimal(amount or 0).quantize(quantum(currency), ROUND_HALF_UP)


def max_amount(currency) -> Decimal:
    """The largest amount the columns hold in `currency`: 9999999999.99 EUR, 9999999999 JPY."""
    whole_digits = AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES
    return Decimal(10) ** whole_digits - quantum(currency)


def clean_amount(amount: Decimal, currency: str, *, field: str = "amount") -> Decimal:
    """`amount` as stored, with the decimals of `currency` (10.5 EUR → 10.50), or a
    ValidationError on `field` when it has more decimals than the currency has (10.50 JPY,
    12.3456 TND): refused rather than rounded, since a rounded refund is not the one asked for.
    Trailing zeros are no decimals (1500.00 JPY is 1500 JPY). Call it after clean_currency."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = Decimal(amount)
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return amount  # no amount at all: the field's own check, or the caller's, refuses it
    places = minor_units(currency)
    try:
        exact = amount.quantize(quantum(currency), ROUND_HALF_UP)
    except InvalidOperation:  # beyond any column (1E+40): the caller's range check says so
        return amount
    if exact != amount:
        shown = number_format(amount, force_grouping=True)
        if places == 0:
            message = gettext("%(currency)s amounts have no decimals: %(amount)s %(currency)s.")
        elif places == 2:  # the rule every amount had before, in the words people know
            message = gettext("At most two decimal places.")
        else:
            message = ngettext(
                "%(currency)s amounts have at most %(places)d decimal: %(amount)s %(currency)s.",
                "%(currency)s amounts have at most %(places)d decimals: %(amount)s %(currency)s.",
                places,
            )
        raise ValidationError({field: [ValidationError(
            message % {"currency": currency, "places": places, "amount": shown}, code="currency_decimals")]})
    return exact


class AmountField(models.DecimalField):
    """An amount of money: 3 decimals in the column (the most a currency has), read back
    without the zeros only that column adds, down to 2: 12.500 is 12.50 as it always was (in
    an export, an audit row, the admin), 12.345 stays. The currency's own decimals (1500 JPY)
    are for in_minor_units and format_money, which know the currency."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        value = Decimal(value)
        cents = value.quantize(CENT)
        return cents if cents == value else value


def format_money(amount, currency) -> str:
    """An amount as the reader's language writes it, with its currency's decimals and grouped
    thousands, without the code: "1 500,000" (TND, French), "1,500" (JPY, English), "" for None."""
    if amount is None or amount == "":
        return ""
    return number_format(in_minor_units(amount, currency), minor_units(currency), force_grouping=True)


def money_column(field: str, label):
    """A list_display column of the admin showing `field` of a row with its `currency`'s
    decimals (format_money): the admin writes a DecimalField with the column's 3 places
    ("12.500" for 12.50 EUR)."""

    def column(row) -> str:
        return format_money(getattr(row, field), row.currency)

    column.short_description = label
    column.admin_order_field = field
    column.__name__ = f"{field}_with_its_decimals"
    return column
