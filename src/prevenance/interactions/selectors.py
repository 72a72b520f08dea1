"""The customer timeline: interactions and orders merged, newest first, by cursor.

An order is often on the timeline twice over: as the order, and as the touchpoint that
recorded it (the "order placed" an e-shop, a till or an import writes, naming the order). That
touchpoint is shown once, inside its order's entry (`TimelineEntry.interaction`): the order
has the facts (amount, status), the touchpoint who took it and its words.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q
from django.utils.dateparse import parse_datetime

from prevenance.core.pagination import InvalidCursor, Page, decode_cursor, encode_cursor
from prevenance.customers.models import Customer, Order
from prevenance.interactions.models import Interaction
from prevenance.interactions.visibility import visible_interactions

TIMELINE_LIMIT_MAX = 100
# Within the same instant, interactions come before orders; then by id, newest first.
_RANK = {"interaction": 1, "order": 0}


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "interaction" or "order"
    occurred_at: datetime
    item: Interaction | Order
    # An order's entry: the interaction that recorded that very order, if any (_records_its_order).
    interaction: Interaction | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.occurred_at, _RANK[self.kind], self.item.pk)


def _before(cursor: tuple[datetime, int, int] | None, kind: str, date_field: str) -> Q:
    if cursor is None:
        return Q()
    at, rank, pk = cursor
    mine = _RANK[kind]
    same_instant = Q(**{date_field: at})
    if mine < rank:
        tie = same_instant
    elif mine == rank:
        tie = same_instant & Q(pk__lt=pk)
    else:
        tie = Q(pk__in=[])
    return Q(**{f"{date_field}__lt": at}) | tie


def _records_its_order(customer: Customer) -> Q:
    """The interactions that record the very order they name: that order (this customer's), at
    its instant, on its channel, and the touchpoint of no other record (a case message names
    the case's order too, but it is the case's). Shown inside the order's entry, not beside it."""
    return Q(order__customer=customer, order__ordered_at=F("occurred_at"), order__channel=F("channel"), ref_type="")


def _parse_cursor(cursor: str | None) -> tuple[datetime, int, int] | None:
    values = decode_cursor(cursor, 3)
    if values is None:
        return None
    try:
        at = parse_datetime(values[0]) if isinstance(values[0], str) else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        at = None
    if at is None or not isinstance(values[1], int) or not isinstance(values[2], int):
        raise InvalidCursor("cursor is not one this server issued")
    return at, values[1], values[2]


def customer_timeline(
    customer: Customer,
    *,
    viewer,
    cursor: str | None = None,
    limit: int = 25,
    channels: list[str] | None = None,
    include_orders: bool = True,
) -> Page[TimelineEntry]:
    """One page of everything that happened with a customer, whatever the channel, as `viewer`
    may read it (no entry of a case they may not see: interactions/visibility.py)."""
    limit = max(1, min(int(limit), TIMELINE_LIMIT_MAX))
    position = _parse_cursor(cursor)
    visible = visible_interactions(viewer, Interaction.objects.filter(customer=customer), customer_ids=[customer.pk])
    interactions = visible.filter(_before(position, "interaction", "occurred_at"))
    if include_orders:  # they come with their order (below), whichever page it is on
        interactions = interactions.exclude(_records_its_order(customer))
    if channels:
        interactions = interactions.filter(channel__in=channels)
    entries = [
        TimelineEntry("interaction", i.occurred_at, i)
        for i in interactions.select_related("agent", "order").order_by("-occurred_at", "-pk")[: limit + 1]
    ]
    if include_orders:
        orders = Order.objects.filter(customer=customer).filter(_before(position, "order", "ordered_at"))
        if channels:
            orders = orders.filter(channel__in=channels)
        orders = list(orders.order_by("-ordered_at", "-pk")[: limit + 1])
        recorded: dict[int, Interaction] = {}
        if orders:  # without the cursor: an order's interaction ranks before it at the same instant
            records = visible.filter(_records_its_order(customer), order__in=orders).select_related("agent")
            for interaction in records.order_by("pk"):
                recorded.setdefault(interaction.order_id, interaction)
        entries += [TimelineEntry("order", o.ordered_at, o, recorded.get(o.pk)) for o in orders]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    page = entries[:limit]
    next_cursor = None
    if len(entries) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), _RANK[last.kind], last.item.pk])
    return Page(items=page, next_cursor=next_cursor)
