"""English as written in Europe, where Prévenance's customer services work: Django's "en"
writes dates the American way (11/30/2026 1:48 p.m.), which reads as 11 months to most of its
readers. Day first, a 24-hour clock and Monday first, as in Django's en_GB with "H:i" times."""

from django.conf.locale.en_GB.formats import (  # noqa: F401 - re-exported as this language's formats
    DATE_INPUT_FORMATS,
    DECIMAL_SEPARATOR,
    MONTH_DAY_FORMAT,
    NUMBER_GROUPING,
    THOUSAND_SEPARATOR,
    YEAR_MONTH_FORMAT,
)

DATE_FORMAT = "j M Y"  # 30 Nov 2026
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
