"""Display helpers for the case pages: sanitised message HTML, SLA time left, priority reasons,
why an email was not sent, who wrote a customer's message."""

import re
from typing import NamedTuple

from django import template
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from prevenance.cases import sla_targets
from prevenance.cases.choices import MessageKind
from prevenance.cases.delivery_problems import message_send_error, message_send_lines
from prevenance.cases.mail.problems import SENDER_NOT_ON_CASE
from prevenance.cases.mail.problems import problem_lines as read_problems
from prevenance.cases.mail.sanitize import sanitize_html
from prevenance.cases.priority import reason_label
from prevenance.cases.selectors.gestures import approval_queue_count
from prevenance.cases.selectors.suspended import waiting_suspended_count
from prevenance.core.currencies import format_money
from prevenance.core.formats import date_as_written
from prevenance.customers.normalize import display_email

register = template.Library()


@register.simple_tag
def approvals_waiting(user) -> int:
    """How many gestures wait for `user`'s decision: the menu's badge (one COUNT query)."""
    return approval_queue_count(user)


@register.simple_tag
def suspended_waiting(user) -> int:
    """How many inbound messages wait in the suspended queue: the menu's badge (one COUNT query)."""
    return waiting_suspended_count(user)


@register.filter
def send_error_text(message) -> str:
    """Why this outbound email was not sent, in the reader's language (delivery_problems.py)."""
    return message_send_error(message)


@register.filter
def send_problem_lines(message) -> list[str]:
    """For an email sent: each recipient it did not reach, and why, in the reader's language."""
    return message_send_lines(message)


@register.filter
def person(user) -> str:
    """A user as colleagues call them: their full name, else their username ("" for nobody)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def problem_lines(message) -> list[dict[str, str]]:
    """What the intake flagged on this message (mail/problems.py), labelled in the reader's language."""
    return read_problems(message.problems)


@register.filter
def outside_sender(message) -> str:
    """The address of the person who wrote this reply when they were neither the customer nor in
    copy (mail/problems.py SENDER_NOT_ON_CASE: our replies do not go to them), else ""."""
    return next((str(problem.get("detail", "")) for problem in message.problems or ()
                 if isinstance(problem, dict) and problem.get("code") == SENDER_NOT_ON_CASE), "")


class Sender(NamedTuple):
    """Who wrote an inbound message, as the thread shows them: `name` heads the message,
    `address` goes on its From line ("" when the name shown is that address already)."""

    name: str
    address: str
    in_copy: bool = False  # not one of the customer's addresses, but in copy on the case


@register.simple_tag
def inbound_sender(message, customer, customer_addresses, copies=()) -> Sender:
    """The From name, as mail clients show it; for a nameless email from one of the case
    customer's addresses (`customer_addresses`, lowercase: selectors.case_page.customer_sender_addresses),
    the customer's name, as helpdesks show the requester. Anyone else writing without a name (a
    person in copy answering) stays known by their address, and is marked `in_copy` when in
    `copies` (the case's): the thread does not call them the customer. Nobody for a message we
    wrote."""
    if message.kind != MessageKind.INBOUND:
        return Sender(name="", address="")
    address = display_email(message.sender_address)
    name = message.sender_name
    if not name and customer is not None and message.sender_address.lower() in customer_addresses:
        name = customer.display_name
    name = display_email(name or message.sender_address or str(customer or "") or _("Customer"))
    sender = message.sender_address.lower()
    in_copy = bool(sender) and sender not in customer_addresses and sender in {copy.lower() for copy in copies}
    return Sender(name=name, address=address if address != name else "", in_copy=in_copy)


# A survey's answer link (cases:survey, with its token and maybe ?csat=N): in our invitation, or
# quoted back in a customer's reply.
_SURVEY_LINK = re.compile(r"https?://[^\s\"'<>]*/cases/survey/[A-Za-z0-9_-]+/?(?:\?[^\s\"'<>]*)?")


@register.filter
def without_survey_links(text: str) -> str:
    """The text with the customer's survey links masked: the thread shows the invitation to the
    agents, and one click on a link would preselect an answer in the customer's name."""
    return _SURVEY_LINK.sub(_("[the customer's survey link]"), text or "")


@register.filter
def safe_message_html(html: str) -> str:
    """A message's HTML, sanitised again at display: the stored copy was cleaned by whoever
    wrote it (parser, API, form), and cleaning twice changes nothing, so a row written by a
    path that forgot never reaches the page as live markup."""
    return mark_safe(sanitize_html(html or ""))  # noqa: S308 - sanitised by nh3 on the line itself


@register.filter
def sla_state(left) -> str:
    """The colour of an SLA clock (cases.sla.TimeLeft): breached, near, paused or ok."""
    if left.breached:
        return "breached"
    return "paused" if left.paused else "near" if left.near else "ok"


@register.filter
def sla_label(left) -> str:
    """The clock's name: "First response", "Next reply" (a reopened case awaiting an answer again)
    or "Resolution"."""
    if left.clock == "first_response":
        return _("First response")
    return _("Next reply") if left.clock == "next_reply" else _("Resolution")


def _due(left) -> str:
    return formats.date_format(timezone.localtime(left.due_at), "SHORT_DATETIME_FORMAT")


@register.filter
def sla_counted(left) -> str:
    """What an SLA clock's time left counts: "business hours" (a calendar's opening hours, the
    targets' own unit) or "around the clock" (no calendar); "" when only its due time is shown."""
    if left is None or not left.exact:
        return ""
    return _("business hours") if left.business_hours else _("around the clock")


@register.filter
def sla_left(left) -> str:
    """The case page's line: "7 h 59 min left", "2 h 05 min late", "paused, 3 h left", in hours
    and minutes of the clock's own time (never days: a business day is not 24 hours); the due
    time when only the wall-clock distance to it is known (TimeLeft.exact)."""
    if not left.exact:
        if left.breached:
            return _("overdue since %(date)s") % {"date": _due(left)}
        return _("paused") if left.paused else _("due %(date)s") % {"date": _due(left)}
    amount = sla_targets.format_target(left.left)
    if left.breached:
        return _("%(left)s late") % {"left": amount}
    return (_("paused, %(left)s left") if left.paused else _("%(left)s left")) % {"left": amount}


@register.filter
def sla_badge(left) -> str:
    """The inbox's SLA cell, as Zendesk's badge: the time left ("3 h 10 min", "45 min late",
    "paused"), or the due time when only that is known; sla_title says the rest on hover."""
    if not left.exact and not left.paused:
        return sla_left(left)
    if left.paused:
        return _("paused")
    amount = sla_targets.format_target(left.left)
    return _("%(left)s late") % {"left": amount} if left.breached else amount


@register.filter
def sla_title(left) -> str:
    """"Resolution · due 14/12/2026 09:07 · business hours": the clock, its due time and what
    the time shown counts."""
    parts = [sla_label(left), _("due %(date)s") % {"date": _due(left)}]
    if counted := sla_counted(left):
        parts.append(counted)
    return " · ".join(parts)


@register.filter
def reason_lines(reasons) -> list[str]:
    """The priority reasons as lines "label (+points)", in the language shown (cases.priority)."""
    lines = []
    for reason in reasons if isinstance(reasons, list) else []:
        if isinstance(reason, dict):
            label, points = reason_label(reason) or reason.get("code") or "", reason.get("points")
            lines.append(f"{label} ({int(points):+d})" if isinstance(points, int | float) else str(label))
        else:
            lines.append(str(reason))
    return lines


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (the tab counts by view key); 0 when absent."""
    return (mapping or {}).get(key, 0)


@register.filter
def money(amount, currency) -> str:
    """`{{ gesture.amount|money:gesture.currency }}`: the amount with its currency's decimals
    (ISO 4217: none for JPY, three for TND), grouped as the reader's language writes it
    ("1 500,000" in French), without the code, which the templates write after it."""
    return format_money(amount, currency)


@register.filter
def money_totals(totals) -> str:
    """`{{ totals|money_totals }}`: amounts per currency ({"EUR": Decimal("75.00")}) as the
    reader's language writes them, each with its code, in the dict's order: "75,00 EUR, 10,00 USD"."""
    return ", ".join(f"{format_money(amount, currency)} {currency}" for currency, amount in (totals or {}).items())


@register.filter
def long_date(value) -> str:
    """A date written out in the reader's language: "1 Dec 2026", « 1er décembre 2026 »."""
    return date_as_written(value)
