"""Small display helpers for the pages."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from prevenance.core.formats import date_as_written, format_percent
from prevenance.core.validation import is_row_id
from prevenance.customers.choices import ConsentState, IdentityKind
from prevenance.customers.normalize import display_email as email_for_reading
from prevenance.customers.normalize import display_phone as phone_for_reading
from prevenance.interactions.display import localized_summary

register = template.Library()

# Symbols present in the system fonts (DejaVu, Liberation): no icon font, no download.
CHANNEL_SYMBOLS = {
    "email": "✉",
    "phone": "☎",
    "chat": "❝",
    "chatbot": "⚙",
    "social": "#",
    "sms": "✆",
    "web": "◎",
    "mobile_app": "▯",
    "store": "⌂",
    "field_visit": "⚑",
    "forum": "☰",
    "postal": "✎",
    "video": "▶",
    "import": "⇩",
    "api": "⌁",
}


@register.simple_tag
def channel_icon(channel: str, label: str = "") -> str:
    """A coloured badge with the channel's symbol; the label is for screen readers and tooltips."""
    symbol = CHANNEL_SYMBOLS.get(channel, "•")
    return format_html(
        '<span class="channel channel-{}" title="{}" aria-label="{}" role="img">{}</span>',
        channel, label or channel, label or channel, symbol,
    )


@register.filter
def summary_text(summary: str) -> str:
    """A timeline entry's summary in the reader's language (interactions/display.py)."""
    return localized_summary(summary or "")


@register.filter
def percent(rate: float) -> str:
    """A rate (0–1) as a percentage in the reader's language: "33.3%", "33,3 %"."""
    return format_percent((rate or 0) * 100)


@register.filter
def as_percent(value) -> str:
    """A number of percent (0–100) written as the reader's language does: "66.7%", "66,7 %"."""
    return format_percent(value)


@register.filter
def display_email(value) -> str:
    """An address, or what is shown by one (a nameless customer, a From header), with its
    `xn--` domain in Unicode as people read it: `clàire@exämple.com` (customers/normalize.py)."""
    return email_for_reading("" if value is None else str(value))


@register.filter
def display_phone(value) -> str:
    """A phone number stored in E.164 as people read it: `01 99 00 00 06` for a number of the
    installation's region, `+44 20 7946 0958` for another (customers/normalize.py)."""
    return phone_for_reading("" if value is None else str(value))


@register.filter
def identity_kind(kind) -> str:
    """An identity kind's label in the reader's language ("Email", « E-mail »); an unknown one as it is."""
    try:
        return IdentityKind(kind).label
    except ValueError:
        return "" if kind is None else str(kind)


@register.filter
def identity_value(value, kind) -> str:
    """A normalised identity value as people read it: a phone number as display_phone writes it,
    an address with its Unicode domain; other kinds as they are stored."""
    value = "" if value is None else str(value)
    if kind == IdentityKind.PHONE:
        return phone_for_reading(value)
    if kind == IdentityKind.EMAIL:
        return email_for_reading(value)
    return value


@register.filter
def consent_state(value: str) -> str:
    try:
        return ConsentState(value).label
    except ValueError:
        return value


@register.filter
def case_link(interaction) -> str:
    """The case page of a timeline entry written for a case ("" otherwise): a reference an
    integrator wrote that is no case id, such as "C-2026-000123", is shown as text, never a 500."""
    ref_id = interaction.ref_id or ""
    if interaction.ref_type != "cases.case" or not (ref_id.isascii() and ref_id.isdigit()) or not is_row_id(int(ref_id)):
        return ""
    return reverse("cases:case", kwargs={"case_id": int(ref_id)})


@register.filter
def long_date(value) -> str:
    """A date written out in the reader's language: "1 Dec 2026", « 1er décembre 2026 »."""
    return date_as_written(value)
