"""Why an outbound email was not sent: stored as a code and its values (`Message.send_problem`)
and said in the reader's language when shown, whoever's language it was found in (an agent's
reply, the worker's send). `Message.send_error` keeps the same words in the writer's language
for logs and older rows."""

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from prevenance.core.choices import Channel

TEXTS = {
    "no_channel": gettext_noop("No sender for channel %(channel)s: send this reply by that channel yourself."),
    "erased": gettext_noop("The customer was erased: there is no one to send this to."),
    "no_address": gettext_noop("The customer has no email address to send this to."),
    "bounced": gettext_noop("The customer's email address %(address)s bounced on %(date)s (%(reason)s): add another address, "
                            "or wait for them to write from one that works."),
    "bounced_without_reason": gettext_noop("The customer's email address %(address)s bounced on %(date)s: add another address, "
                                           "or wait for them to write from one that works."),
    "send_failed": gettext_noop("Sending failed: %(error)s"),
}
GIVEN_UP = gettext_noop("%(error)s (given up: no more attempts)")


def problem(code: str, **params: str) -> dict[str, Any]:
    """A problem as stored: `code` (a key of TEXTS) and the values its text needs, as text
    (a channel by its value, a date as ISO 8601)."""
    if code not in TEXTS:
        raise ValueError(f"Unknown delivery problem {code!r}")
    return {"code": code, "params": params}


def _shown(name: str, value: str) -> str:
    if name == "channel":
        return str(Channel(value).label) if value in Channel.values else value
    if name == "date" and (moment := parse_datetime(value)) is not None:
        return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")
    return value


def describe(stored: Mapping[str, Any]) -> str:
    """The problem's text in the active language."""
    values = {name: _shown(name, str(value)) for name, value in (stored.get("params") or {}).items()}
    text = _(TEXTS[stored["code"]]) % values
    return _(GIVEN_UP) % {"error": text} if stored.get("given_up") else text


def message_send_error(message) -> str:
    """What the case page says about a message not sent: from its stored problem when it has one
    (the reader's language), else the text stored before problems were."""
    stored = message.send_problem
    if stored and stored.get("code") in TEXTS:
        return describe(stored)
    return message.send_error
