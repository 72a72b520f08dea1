"""A fingerprint of the demo data, to check that one seed always builds the same company.

Database ids, creation stamps and confirmation tokens differ from one database to another
(or hold the wall clock), so rows are compared by their content, with customers named by
their rank instead of their id.
"""

import hashlib

from prevenance.customers.models import ConsentEvent, Customer, Identity, IdentityConflict, Order
from prevenance.interactions.models import Interaction

CUSTOMER_FIELDS = ("kind", "first_name", "last_name", "company_name", "language", "birth_date", "address",
                   "postal_code", "city", "country", "lifecycle_state", "sort_key", "alt_key", "merged_into_id")


def demo_digest() -> str:
    rank = {pk: n for n, pk in enumerate(Customer.objects.order_by("pk").values_list("pk", flat=True))}
    digest = hashlib.sha256()

    def feed(label: str, rows) -> None:
        for row in rows:
            digest.update(repr((label, *(rank.get(v, v) if k.endswith("customer_id") or k.startswith("customer_")
                                          or k == "merged_into_id" else v for k, v in row.items()))).encode())

    feed("customer", Customer.objects.order_by("pk").values(*CUSTOMER_FIELDS))
    feed("identity", Identity.objects.order_by("kind", "normalized").values(
        "customer_id", "kind", "value", "normalized", "network", "verified", "source_channel", "first_seen_at", "last_seen_at"))
    feed("order", Order.objects.order_by("reference").values(
        "customer_id", "reference", "ordered_at", "amount", "currency", "channel", "store", "items_count", "status"))
    feed("interaction", Interaction.objects.order_by("pk").values(
        "customer_id", "channel", "direction", "nature", "phase", "occurred_at", "summary", "order__reference", "external_id"))
    # A confirmed double opt-in is stamped with the moment of confirmation, so no times here.
    feed("consent", ConsentEvent.objects.order_by("pk").values(
        "customer_id", "purpose", "action", "method", "channel", "source", "wording__version", "subject_digest"))
    feed("conflict", IdentityConflict.objects.order_by("pk").values(
        "customer_a_id", "customer_b_id", "identities", "channel", "status"))
    return digest.hexdigest()
