"""Why an outbound email was not sent, or not to everyone: stored as a code and its values
(`Message.send_problem`) and said in the reader's language when shown, whoever's language it
was found in (an agent's reply, the worker's send). `Message.send_error` keeps the same words
in the writer's language for logs and older rows.

An email sent to some of its recipients and not to others (outbound.deliver: one copy each)
stores one problem per copy not delivered, under COPIES_NOT_DELIVERED: the thread shows the
email as sent and names each of those recipients, with why."""

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
    # One recipient's copy: refused for good, refused for now (tried again), given up after the
    # last attempt (outbound.MAX_ATTEMPTS, which is more than one: "attempts" is always plural).
    "not_delivered": gettext_noop("Not delivered to %(address)s: %(error)s"),
    "not_delivered_yet": gettext_noop("Not delivered to %(address)s yet: %(error)s"),
    "not_delivered_given_up": gettext_noop("Not delivered to %(address)s: %(error)s (given up after %(attempts)s attempts)"),
}
GIVEN_UP = gettext_noop("%(error)s (given up: no more attempts)")
COPIES_NOT_DELIVERED = "copies_not_delivered"


def problem(code: str, **params: str) -> dict[str, Any]:
    """A problem as stored: `code` (a key of TEXTS) and the values its text needs, as text
    (a channel by its value, a date as ISO 8601)."""
    if code not in TEXTS:
        raise ValueError(f"Unknown delivery problem {code!r}")
    return {"code": code, "params": params}


def copies_not_delivered(copies: list[dict[str, Any]]) -> dict[str, Any]:
    """The problem of an email that some of its recipients got: one `problem("not_delivered…",
    address=…, error=…)` for each of the others."""
    return {"code": COPIES_NOT_DELIVERED, "copies": copies}


def _shown(name: str, value: str) -> str:
    if name == "channel":
        return str(Channel(value).label) if value in Channel.values else value
    if name == "date" and (moment := parse_datetime(value)) is not None:
        return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")
    return value


def _text(stored: Mapping[str, Any]) -> str:
    values = {name: _shown(name, str(value)) for name, value in (stored.get("params") or {}).items()}
    return _(TEXTS[stored["code"]]) % values


def lines(stored: Mapping[str, Any]) -> list[str]:
    """The problem's text in the active language: one line, or one per copy not delivered."""
    if stored["code"] == COPIES_NOT_DELIVERED:
        return [_text(copy) for copy in stored.get("copies") or []]
    text = _text(stored)
    return [_(GIVEN_UP) % {"error": text} if stored.get("given_up") else text]


def describe(stored: Mapping[str, Any]) -> str:
    """The problem's text in the active language (a line per copy not delivered)."""
    return "\n".join(lines(stored))


def _known(stored: Mapping[str, Any] | None) -> bool:
    return bool(stored) and (stored.get("code") in TEXTS or stored.get("code") == COPIES_NOT_DELIVERED)


def message_send_error(message) -> str:
    """What the case page says about a message not sent: from its stored problem when it has one
    (the reader's language), else the text stored before problems were."""
    return describe(message.send_problem) if _known(message.send_problem) else message.send_error


def message_send_lines(message) -> list[str]:
    """message_send_error, a line each: for a message sent, the recipients it did not reach."""
    if _known(message.send_problem):
        return lines(message.send_problem)
    return [message.send_error] if message.send_error else []
