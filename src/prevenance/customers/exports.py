"""CSV exporters for customers, consents and orders: they write exactly the columns the
importers read (multi-valued identity cells joined with " | "), so export → import round-trips."""

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy

from prevenance.core.csvio import format_date, format_datetime
from prevenance.core.currencies import in_minor_units
from prevenance.customers.choices import ConsentAction, IdentityKind
from prevenance.customers.imports import (
    CUSTOMER_COLUMNS,
    MULTI_SEPARATOR,
    ConsentsImporter,
    OrdersImporter,
)
from prevenance.customers.models import ConsentEvent, Customer, Identity, Order

CHUNK = 2000
_EXPORTED_IDENTITIES = ("external_id", "email", "phone", "loyalty_card")


def _chunked_ids(queryset) -> Iterator[list[int]]:
    """Walk a big table by primary key, a chunk at a time, so memory stays flat."""
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _identities(customer_ids: Iterable[int], kinds: Iterable[str]) -> dict[int, dict[str, list[Identity]]]:
    found: dict[int, dict[str, list[Identity]]] = {}
    rows = (Identity.objects.filter(customer_id__in=list(customer_ids), kind__in=list(kinds))
            .order_by("customer_id", "first_seen_at", "pk").only("customer_id", "kind", "value", "normalized"))
    for identity in rows:
        found.setdefault(identity.customer_id, {}).setdefault(identity.kind, []).append(identity)
    return found


def customer_keys(customer_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The customer_external_id and customer_email cells that name each customer in other files."""
    keys = {}
    for customer_id, by_kind in _identities(customer_ids, (IdentityKind.EXTERNAL_ID, IdentityKind.EMAIL)).items():
        external_ids, emails = by_kind.get(IdentityKind.EXTERNAL_ID), by_kind.get(IdentityKind.EMAIL)
        keys[customer_id] = {
            "customer_external_id": external_ids[0].normalized if external_ids else "",
            "customer_email": emails[0].normalized if emails else "",
        }
    return keys


def live_customers():
    return Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


class CustomersExporter:
    kind = "customers"
    label = gettext_lazy("Customers (with their identities)")
    columns = CUSTOMER_COLUMNS

    def rows(self, viewer=None) -> Iterator[dict[str, str]]:
        for ids in _chunked_ids(live_customers()):
            identities = _identities(ids, _EXPORTED_IDENTITIES)
            for customer in Customer.objects.filter(pk__in=ids).order_by("pk"):
                by_kind = identities.get(customer.pk, {})
                row = {kind: f" {MULTI_SEPARATOR} ".join(i.value for i in by_kind.get(kind, ()))
                       for kind in _EXPORTED_IDENTITIES}
                row.update({
                    name: getattr(customer, name) for name in
                    ("first_name", "last_name", "language", "postal_code", "city", "country", "kind",
                     "company_name", "address", "lifecycle_state")
                })
                row["birth_date"] = format_date(customer.birth_date)
                yield row


def _with_customer_keys(queryset, fields) -> Iterator[tuple[object, dict[str, str]]]:
    for ids in _chunked_ids(queryset):
        objects = list(queryset.filter(pk__in=ids).order_by("pk").only(*fields))
        keys = customer_keys({o.customer_id for o in objects})
        for obj in objects:
            yield obj, keys.get(obj.customer_id, {"customer_external_id": "", "customer_email": ""})


class ConsentsExporter:
    kind = "consents"
    label = gettext_lazy("Consents (opt-in ledger)")
    columns = ConsentsImporter.columns

    def rows(self, viewer=None) -> Iterator[dict[str, str]]:
        # Pending double opt-in requests are not exported: importing them would send emails again.
        events = ConsentEvent.objects.filter(
            customer__in=live_customers(), action__in=(ConsentAction.GRANTED, ConsentAction.WITHDRAWN)
        )
        fields = ("customer_id", "purpose", "action", "occurred_at", "channel", "method", "source")
        for event, keys in _with_customer_keys(events, fields):
            yield {**keys, "purpose": event.purpose, "action": event.action, "date": format_datetime(event.occurred_at),
                   "channel": event.channel, "method": event.method, "source": event.source}


class OrdersExporter:
    kind = "orders"
    label = gettext_lazy("Orders")
    columns = OrdersImporter.columns

    def rows(self, viewer=None) -> Iterator[dict[str, str]]:
        # Orders unlinked by an erasure name nobody and could not be imported back.
        orders = Order.objects.filter(customer__in=live_customers())
        fields = ("customer_id", "reference", "ordered_at", "amount", "currency", "channel", "store", "items_count", "status")
        for order, keys in _with_customer_keys(orders, fields):
            yield {"reference": order.reference, **keys, "date": format_datetime(order.ordered_at),
                   "amount": str(in_minor_units(order.amount, order.currency)), "currency": order.currency, "channel": order.channel,
                   "store": order.store, "items_count": str(order.items_count), "status": order.status}
