"""Numbers written as the reader's language writes them, beyond what Django's formats say."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _


def rounded(value, places: int) -> Decimal:
    """Rounded half up to `places` decimals: number_format alone cuts the digits off (10 of 22
    on time is 45.45 %, shown 45.4 instead of 45.5)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def format_percent(value, places: int = 1) -> str:
    """A percentage (0–100) in the active language: "33.3%" in English, "33,3 %" in French
    (a no-break space before the sign, the translation's business)."""
    return _("%(number)s%%") % {"number": number_format(rounded(value, places), places)}

