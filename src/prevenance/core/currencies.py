"""ISO 4217 currency codes: one rule for every amount the app stores (gestures, delegation
limits, channel costs). Neither Python nor an installed package ships the list, so it is here:
the active currencies of ISO 4217 (amendments to 2024), without the fund, precious-metal and
test codes (BOV, XAU, XTS, XXX...), which no customer is refunded in."""

from django.core.exceptions import ValidationError
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
