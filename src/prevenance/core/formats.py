"""Numbers and dates written as the reader's language writes them, beyond what Django's formats say."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.formats import date_format, get_format, number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _


def rounded(value, places: int) -> Decimal:
    """Rounded half up to `places` decimals: number_format alone cuts the digits off (10 of 22
    on time is 45.45 %, shown 45.4 instead of 45.5)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def format_percent(value, places: int = 1) -> str:
    """A percentage (0–100) in the active language: "33.3%" in English, "33,3 %" in French
    (a no-break space before the sign, the translation's business)."""
    return _("%(number)s%%") % {"number": number_format(rounded(value, places), places)}


def format_file_size(size: int) -> str:
    """A size as people read it on a form: "10 MB" ("10 Mo" in French), "2.5 MB", "800 KB";
    units of 1,024 as operating systems count, without the decimal a round size does not need
    (Django's filesizeformat writes "10.0 MB", "10,0 Mio")."""
    for factor, label in ((1024 ** 3, _("%(size)s GB")), (1024 ** 2, _("%(size)s MB")), (1024, _("%(size)s KB"))):
        if size >= factor:
            value = rounded(size / factor, 1)
            places = 0 if value == value.to_integral_value() else 1
            return label % {"size": number_format(value, places)}
    return ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}


def date_as_written(value, format_name: str = "DATE_FORMAT") -> str:
    """date_format (a format's name or a pattern such as "l j F"), with the first of the month
    as French writes it, "1er décembre", where Django writes "1 décembre"."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    pattern = get_format(format_name) if format_name.endswith("_FORMAT") else format_name
    if value.day == 1 and (get_language() or "").startswith("fr"):
        pattern = pattern.replace("j", r"j\e\r", 1)
    return date_format(value, pattern)
