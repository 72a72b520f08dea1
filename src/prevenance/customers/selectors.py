"""Reads about customers; access_* fetch and authorise at once (404 for missing and not yours)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Min, OuterRef, Prefetch, QuerySet, Subquery, prefetch_related_objects
from django.db.models.functions import Collate
from django.http import Http404

from prevenance.core.text import next_prefix, search_key
from prevenance.customers.choices import (
    MARKETING_PURPOSES,
    ConflictStatus,
    ConsentAction,
    ConsentPurpose,
    ConsentState,
    IdentityKind,
    Qualification,
)
from prevenance.customers.delivery_marks import consent_event_id
from prevenance.customers.models import ConsentEvent, Customer, Identity, IdentityConflict, Order
from prevenance.customers.normalize import guess_identity_kind, normalize_identity

SEARCH_LIMIT_MAX = 100


def require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def visible_customers(user) -> QuerySet[Customer]:
    """The customers a user may see: live records (not merged tombstones), for roles that may view."""
    require_perm(user, "customers.view_customer")
    return Customer.objects.filter(merged_into__isnull=True)


def access_customer(user, customer_id: int, *, perm: str = "customers.view_customer", follow_merge: bool = True) -> Customer:
    """The customer with this id if the user may act on it; a merged id leads to its survivor."""
    require_perm(user, perm)
    try:
        customer = Customer.objects.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc
    hops = 0
    while follow_merge and customer.merged_into_id is not None and hops < 20:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        hops += 1
    return customer


def _prefix_scan(queryset: QuerySet[Customer], field: str, key: str) -> QuerySet[Customer]:
    """Customers whose `field` starts with `key`, in index order so LIMIT stops early.

    A range on byte order rather than LIKE: SQLite's LIKE is case-insensitive and skips a
    plain index, and PostgreSQL's collation order is not byte order (see migration 0002).
    """
    end = next_prefix(key)
    if connection.vendor == "postgresql":
        queryset = queryset.alias(_key=Collate(field, "C"))
        field = "_key"
    queryset = queryset.filter(**{f"{field}__gte": key})
    return (queryset.filter(**{f"{field}__lt": end}) if end is not None else queryset).order_by(field, "pk")


def _name_prefix(queryset: QuerySet[Customer], key: str, limit: int, exclude: set[int]) -> list[Customer]:
    """Surname matches first, then first-name matches, each in alphabetical order."""
    found: list[Customer] = []
    for field in ("sort_key", "alt_key"):
        # Enough rows to fill the page even if every row already shown comes back first.
        for customer in _prefix_scan(queryset, field, key)[: limit + len(exclude)]:
            if customer.pk not in exclude:
                exclude.add(customer.pk)
                found.append(customer)
                if len(found) == limit:
                    return found
    return found


def find_by_identity(kind: str, raw: str) -> Customer | None:
    try:
        norm = normalize_identity(kind, raw)
    except ValidationError:
        return None
    identity = Identity.objects.select_related("customer").filter(kind=kind, normalized=norm.normalized).first()
    return identity.customer if identity else None


def search_customers(user, query: str, *, limit: int = 20) -> list[Customer]:
    """Search as a person types: exact email, phone, card or external id; else a name prefix."""
    base = visible_customers(user)
    limit = max(1, min(int(limit), SEARCH_LIMIT_MAX))
    query = (query or "").strip()[:200]
    if not query:
        return []
    kind = guess_identity_kind(query)
    if kind is not None:
        customer = find_by_identity(kind, query)
        return [customer] if customer and customer.merged_into_id is None else []
    exact_ids = list(
        Identity.objects.filter(
            kind__in=[IdentityKind.LOYALTY_CARD, IdentityKind.EXTERNAL_ID],
            normalized__in={query, query.replace(" ", "").replace("-", "").upper()},
        ).values_list("customer_id", flat=True)[:limit]
    )
    found = list(base.filter(pk__in=exact_ids)) if exact_ids else []
    key = search_key(query)
    if key and len(found) < limit:
        found += _name_prefix(base, key, limit - len(found), {c.pk for c in found})
    return found


def load_nameless_addresses(customers: Iterable[Customer | None]) -> None:
    """Load the identities of the nameless customers among `customers` (one query, none when all
    have a name), so that they are shown by their email or phone (Customer.loaded_address)."""
    nameless = [customer for customer in customers if customer is not None and not customer.display_name]
    prefetch_related_objects(nameless, Prefetch("identities", queryset=Identity.objects.order_by("pk")))


def load_contact_details(customers: Iterable[Customer]) -> None:
    """Give each of `customers` its `contact_email` and `contact_phone` (an Identity or None):
    the one a search result shows to tell namesakes apart, verified first, then the earliest
    seen. One query for them all, none for no customer."""
    customers = list(customers)
    if not customers:
        return
    identities = Identity.objects.filter(
        customer_id__in={customer.pk for customer in customers}, kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE],
    ).order_by("-verified", "first_seen_at", "pk")
    first: dict[tuple[int, str], Identity] = {}
    for identity in identities:
        first.setdefault((identity.customer_id, identity.kind), identity)
    for customer in customers:
        customer.contact_email = first.get((customer.pk, IdentityKind.EMAIL))
        customer.contact_phone = first.get((customer.pk, IdentityKind.PHONE))


def customer_identities(customer: Customer) -> list[Identity]:
    return list(customer.identities.order_by("kind", "-verified", "first_seen_at", "pk"))


def bounced_addresses(customer: Customer) -> list[Identity]:
    """The customer's email addresses that bounced for good (no automatic email goes there)."""
    return list(customer.identities.filter(kind=IdentityKind.EMAIL, bounced_at__isnull=False).order_by("first_seen_at", "pk"))


@dataclass(frozen=True)
class ConsentStatus:
    purpose: str
    state: str
    since: datetime | None
    event: ConsentEvent | None

    @property
    def label(self) -> str:
        return ConsentPurpose(self.purpose).label


_STATE_OF_ACTION = {
    ConsentAction.REQUESTED: ConsentState.PENDING,
    ConsentAction.GRANTED: ConsentState.GRANTED,
    ConsentAction.WITHDRAWN: ConsentState.WITHDRAWN,
}


def consent_states(customer: Customer) -> dict[str, ConsentStatus]:
    """Each purpose's current state, derived from the ledger: the latest event wins.

    A pending double opt-in does not override an earlier grant (the person is still opted in).
    """
    states = {p: ConsentStatus(p, ConsentState.UNKNOWN, None, None) for p in ConsentPurpose.values}
    events = ConsentEvent.objects.filter(customer=customer).select_related("wording").order_by("occurred_at", "recorded_at", "pk")
    for event in events:
        current = states[event.purpose]
        if event.action == ConsentAction.REQUESTED and current.state == ConsentState.GRANTED:
            continue
        states[event.purpose] = ConsentStatus(event.purpose, _STATE_OF_ACTION[event.action], event.occurred_at, event)
    return states


@dataclass(frozen=True)
class ConsentConfirmation:
    """A consent confirmation email of ours (services/consents.py), as a bounce returns it."""

    message_id: str
    customer: Customer
    # The addresses it may have gone to: the person's email addresses, as stored (normalized).
    sent_to: tuple[str, ...]


def consent_confirmation(message_id: str) -> ConsentConfirmation | None:
    """The confirmation email of a consent request whose Message-ID (without brackets) is
    `message_id` (delivery_marks.consent_message_id), else None: not of that form, or the
    request is gone, or its person erased."""
    event_id = consent_event_id(message_id)
    event = (
        ConsentEvent.objects.select_related("customer")
        .filter(pk=event_id, action=ConsentAction.REQUESTED, confirmation_token__isnull=False, customer__isnull=False)
        .first()
        if event_id is not None else None
    )
    if event is None or event.customer.erased_at is not None:
        return None
    addresses = Identity.objects.filter(customer=event.customer, kind=IdentityKind.EMAIL).order_by("pk")
    return ConsentConfirmation(message_id, event.customer, tuple(addresses.values_list("normalized", flat=True)))


def consent_history(customer: Customer) -> list[ConsentEvent]:
    return list(ConsentEvent.objects.filter(customer=customer).select_related("wording", "recorded_by").order_by("-occurred_at", "-pk"))


def qualification(customer: Customer) -> str:
    """Opted in when any marketing purpose is granted now; otherwise identified only."""
    states = consent_states(customer)
    if any(states[p].state == ConsentState.GRANTED for p in MARKETING_PURPOSES):
        return Qualification.OPTED_IN
    return Qualification.IDENTIFIED


# What tells when someone became a customer, besides the record: an import can create the
# record years after the first order, the first address seen or the first contact.
_FIRST_DATES = ("orders__ordered_at", "identities__first_seen_at", "interactions__occurred_at")


def customer_since(customer: Customer) -> datetime:
    """The earliest of the record's creation, the first order, the first identity seen and the
    first interaction: one query, each first date an indexed MIN in a subquery (a join of the
    three would multiply the rows)."""
    firsts = {
        f"first_{n}": Subquery(Customer.objects.filter(pk=OuterRef("pk")).annotate(first=Min(path)).values("first"))
        for n, path in enumerate(_FIRST_DATES)
    }
    row = Customer.objects.filter(pk=customer.pk).annotate(**firsts).values("created_at", *firsts).first()
    if row is None:
        return customer.created_at
    return min(value for value in row.values() if value is not None)


def has_ordered(customer: Customer) -> bool:
    """Whether the customer has any order, whatever its status: `customer.has_orders` when the
    read that loaded them set it (no query), else one query."""
    if customer.has_orders is not None:
        return customer.has_orders
    return Order.objects.filter(customer_id=customer.pk).exists()


def customer_orders(customer: Customer, *, limit: int = 50) -> list[Order]:
    return list(customer.orders.order_by("-ordered_at", "-pk")[:limit])


def open_conflicts() -> QuerySet[IdentityConflict]:
    return IdentityConflict.objects.filter(status=ConflictStatus.OPEN).select_related("customer_a", "customer_b").order_by("-created_at")
