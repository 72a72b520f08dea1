"""Batch versions of resolve_customer and record_order, for imports of many rows at once.

Same rules as the one-row services — same normalisation (normalize_identity), same field
cleaning (clean_customer_fields, clean_order_fields), same conflict rule (identities of two
customers open an IdentityConflict and nothing is attached), blank fields filled, never
overwritten — but a batch of rows costs a handful of queries instead of several per row.
Each function is one transaction; rows refused are left out entirely.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core.choices import Channel
from prevenance.core.sql import IN_CHUNK, chunks, insert_fields, insert_rows, instance_rows
from prevenance.customers.models import Customer, Identity, Order
from prevenance.customers.normalize import NormalizedIdentity, normalize_identity
from prevenance.customers.services.identities import IdentityInput, open_conflict
from prevenance.customers.services.orders import clean_order_fields
from prevenance.customers.services.profile import clean_customer_fields, fill_blank_fields

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

BulkOutcome = str | ValidationError


@dataclass
class CustomerRow:
    identities: list[IdentityInput]
    hints: dict[str, Any] = field(default_factory=dict)


def identity_owners(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, normalised value) -> (identity id, customer id) for the keys that exist, one query per kind and chunk."""
    by_kind: dict[str, list[str]] = {}
    for kind, normalized in set(keys):
        by_kind.setdefault(str(kind), []).append(normalized)
    quote = connection.ops.quote_name
    # Plain SQL over the (kind, normalized) unique index: the ORM's IN () costs more than the
    # query itself at 100,000 values. PostgreSQL takes the values as one array parameter.
    sql = (f"SELECT {quote('id')}, {quote('normalized')}, {quote('customer_id')} FROM {quote(Identity._meta.db_table)} "
           f"WHERE {quote('kind')} = %s AND {quote('normalized')} ")
    postgres = connection.vendor == "postgresql"
    found = {}
    with connection.cursor() as cursor:
        for kind, values in by_kind.items():
            for chunk in chunks(values, 20_000 if postgres else IN_CHUNK):
                if postgres:
                    cursor.execute(sql + "= ANY(%s)", [kind, list(chunk)])
                else:
                    cursor.execute(sql + "IN (" + ", ".join(["%s"] * len(chunk)) + ")", [kind, *chunk])
                found.update({(kind, normalized): (pk, customer_id) for pk, normalized, customer_id in cursor.fetchall()})
    return found


@lru_cache(maxsize=65536)
def _clean_field(name: str, value: Any) -> Any:
    # clean_customer_fields is pure and field by field; imported files repeat the same first
    # names, cities and postcodes thousands of times, so the answer is memoised.
    return clean_customer_fields({name: value})[name]


def prepare_customer_row(row: CustomerRow) -> tuple[list[tuple[NormalizedIdentity, IdentityInput]], dict[str, Any]]:
    """Normalise one row's identities and clean its fields; every error at once, keyed by field."""
    errors: dict[str, list[str]] = {}
    pairs: dict[tuple[str, str], tuple[NormalizedIdentity, IdentityInput]] = {}
    for item in row.identities:
        try:
            norm = normalize_identity(item.kind, item.value, network=item.network)
        except ValidationError as exc:
            errors.setdefault(item.kind, []).extend(exc.messages)
            continue
        pairs.setdefault((norm.kind, norm.normalized), (norm, item))
    cleaned: dict[str, Any] = {}
    for name, value in row.hints.items():
        try:
            cleaned[name] = _clean_field(name, value)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if not row.identities and not errors:
        errors["__all__"] = [_("Give at least one identity (email, phone, card...).")]
    if errors:
        raise ValidationError(errors)
    return list(pairs.values()), cleaned


class _Batch:
    """The state of one batch while rows are matched in file order, before anything is written."""

    def __init__(self, owners: Mapping[tuple[str, str], tuple[int, int]], customers: dict[int, Customer], channel, seen_at):
        self.owner_of: dict[tuple[str, str], Customer] = {key: customers[cid] for key, (_pk, cid) in owners.items()}
        self.seen_ids = {key: pk for key, (pk, _cid) in owners.items()}
        self.channel, self.seen_at = channel, seen_at
        self.new_customers: list[SimpleNamespace] = []
        self.defaults = {f.attname: f.get_default() for f in _CUSTOMER_FIELDS}
        self.defaults.update(pk=None, created_at=seen_at, updated_at=seen_at)
        self.changed: dict[int, set[str]] = {}  # id(customer) -> fields filled, for existing customers
        self.fresh: list[tuple] = []
        self.touched: set[int] = set()
        self.conflicts: list[tuple[int, list[Customer], list[NormalizedIdentity]]] = []

    def apply(self, index: int, pairs, cleaned) -> str | None:
        owners: list[Customer] = []
        for norm, _item in pairs:
            owner = self.owner_of.get((norm.kind, norm.normalized))
            if owner is not None and all(owner is not o for o in owners):
                owners.append(owner)
        if len(owners) > 1:
            self.conflicts.append((index, owners, [n for n, _item in pairs]))
            return None
        if owners and (owners[0].merged_into_id or owners[0].erased_at):
            raise ValidationError(_("This customer was erased or merged and can no longer be edited."))
        if owners:
            customer, outcome = owners[0], UNCHANGED
            filled = fill_blank_fields(customer, cleaned)
            if filled:
                if customer.pk is not None:
                    self.changed.setdefault(id(customer), set()).update(filled)
                outcome = UPDATED
        else:
            # A light stand-in for Customer(**cleaned): building 100,000 model instances costs
            # more than everything else in an import.
            customer, outcome = SimpleNamespace(**{**self.defaults, **cleaned}), CREATED
            self.new_customers.append(customer)
        for norm, item in pairs:
            key = (norm.kind, norm.normalized)
            if key in self.owner_of:
                if key in self.seen_ids:
                    self.touched.add(self.seen_ids[key])
                continue
            self.owner_of[key] = customer
            # The columns resolve_customer's _new_identity fills, in the same way.
            self.fresh.append((customer, norm.kind, norm.value[:255], norm.normalized, norm.network, item.verified))
            if outcome == UNCHANGED:
                outcome = UPDATED
        return outcome


PreparedRow = tuple[list[tuple[NormalizedIdentity, IdentityInput]], dict[str, Any]]


def import_customers(
    *,
    rows: Sequence[CustomerRow] | None = None,
    prepared: Sequence[PreparedRow] | None = None,
    channel: str = Channel.IMPORT,
    seen_at: datetime | None = None,
) -> list[BulkOutcome]:
    """resolve_customer for many rows: CREATED, UPDATED or UNCHANGED per row, or its ValidationError.

    Give `rows`, or `prepared`: rows already through prepare_customer_row (an importer may run
    that pure, CPU-bound step in worker processes).
    """
    seen_at = seen_at or timezone.now()
    if connection.vendor == "sqlite":
        # SQLite's default 2 MB page cache holds the identity indexes of a few thousand rows;
        # past that each insert reads pages back from the OS. 64 MB, for this connection only.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -65536")
    outcomes: list[BulkOutcome | None]
    if prepared is None:
        rows = rows or []
        outcomes, ready = [None] * len(rows), []
        for index, row in enumerate(rows):
            try:
                ready.append((index, *prepare_customer_row(row)))
            except ValidationError as exc:
                outcomes[index] = exc
    else:
        outcomes = [None] * len(prepared)
        ready = [(index, pairs, cleaned) for index, (pairs, cleaned) in enumerate(prepared)]
    prepared = ready
    with transaction.atomic():
        owners = identity_owners((n.kind, n.normalized) for _i, pairs, _c in prepared for n, _item in pairs)
        customer_ids = sorted({cid for _pk, cid in owners.values()})
        # Locked in primary-key order like resolve_customer, so a live intake cannot interleave.
        customers = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk")}
        batch = _Batch(owners, customers, channel, seen_at)
        for index, pairs, cleaned in prepared:
            try:
                outcomes[index] = batch.apply(index, pairs, cleaned)
            except ValidationError as exc:
                outcomes[index] = exc
        _write(batch, customers, seen_at)
        for index, conflict_owners, normalized in batch.conflicts:
            ids = sorted(c.pk for c in conflict_owners)
            open_conflict(ids, normalized, channel)
            outcomes[index] = ValidationError(
                _("These identities belong to different customers (%(ids)s): a conflict was opened for a person "
                  "to merge or dismiss; nothing was attached.") % {"ids": ", ".join(f"#{pk}" for pk in ids)},
                code="identity_conflict",
            )
    return outcomes


_CUSTOMER_FIELDS = insert_fields(Customer)
_IDENTITY_COLUMNS = ("customer_id", "kind", "value", "normalized", "network", "verified", "source_channel",
                     "first_seen_at", "last_seen_at")


def _write(batch: _Batch, customers: dict[int, Customer], seen_at: datetime) -> None:
    for customer in batch.new_customers:  # plain namespaces: cheaper than model instances
        Customer.refresh_search_keys(customer)
    rows = instance_rows(batch.new_customers, _CUSTOMER_FIELDS)
    ids = insert_rows(Customer, [f.column for f in _CUSTOMER_FIELDS], rows, returning=True)
    for customer, pk in zip(batch.new_customers, ids, strict=True):
        customer.pk = pk
    updated = [c for c in customers.values() if id(c) in batch.changed]
    if updated:
        fields = set().union(*(batch.changed[id(c)] for c in updated)) | {"sort_key", "alt_key", "updated_at"}
        for customer in updated:
            customer.refresh_search_keys()
            customer.updated_at = seen_at
        Customer.objects.bulk_update(updated, sorted(fields), batch_size=500)
    seen = connection.ops.adapt_datetimefield_value(seen_at)
    identities = [(customer.pk, *rest, batch.channel, seen, seen) for customer, *rest in batch.fresh]
    insert_rows(Identity, _IDENTITY_COLUMNS, identities)
    _touch(sorted(batch.touched), seen_at)


def _touch(identity_ids: list[int], seen_at: datetime) -> None:
    """last_seen_at = now on the identities seen again, as resolve_customer does."""
    if connection.vendor != "postgresql":
        for chunk in chunks(identity_ids):
            Identity.objects.filter(pk__in=chunk).update(last_seen_at=seen_at)
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(Identity._meta.db_table)} SET {quote('last_seen_at')} = %s "
                       f"WHERE {quote('id')} = ANY(%s)", [seen_at, identity_ids])


# ---- orders ----------------------------------------------------------------------------

_ORDER_FIELDS = ("ordered_at", "amount", "currency", "channel", "store", "items_count", "status")


@dataclass
class OrderRow:
    customer_id: int
    fields: dict[str, Any]  # the keyword arguments of record_order, except customer


def import_orders(*, rows: Sequence[OrderRow]) -> list[BulkOutcome]:
    """record_order for many rows: the reference is the key, so a re-import creates nothing twice."""
    outcomes: list[BulkOutcome | None] = [None] * len(rows)
    cleaned_rows = []
    for index, row in enumerate(rows):
        try:
            cleaned_rows.append((index, row.customer_id, clean_order_fields(**row.fields)))
        except ValidationError as exc:
            outcomes[index] = exc
    with transaction.atomic():
        references = sorted({fields["reference"] for _i, _c, fields in cleaned_rows})
        existing: dict[str, Order] = {}
        for chunk in chunks(references):
            existing.update({o.reference: o for o in Order.objects.select_for_update().filter(reference__in=chunk)})
        unusable = set(Customer.objects.filter(pk__in={c for _i, c, _f in cleaned_rows})
                       .exclude(merged_into__isnull=True, erased_at__isnull=True).values_list("pk", flat=True))
        new: list[Order] = []
        changed: dict[int, Order] = {}
        now = timezone.now()
        for index, customer_id, fields in cleaned_rows:
            reference = fields.pop("reference")
            if customer_id in unusable:
                outcomes[index] = ValidationError(_("This customer was erased or merged and can no longer be edited."))
                continue
            order = existing.get(reference)
            if order is None:
                order = existing[reference] = Order(reference=reference, customer_id=customer_id, **fields)
                new.append(order)
                outcomes[index] = CREATED
                continue
            if order.customer_id not in (None, customer_id):
                outcomes[index] = ValidationError(
                    {"reference": [_("Order %(ref)s belongs to another customer.") % {"ref": reference}]})
                continue
            same = order.customer_id == customer_id and all(getattr(order, f) == fields[f] for f in _ORDER_FIELDS)
            if same:
                outcomes[index] = UNCHANGED
                continue
            order.customer_id = customer_id
            for name in _ORDER_FIELDS:
                setattr(order, name, fields[name])
            if order.pk is not None:
                order.updated_at = now
                changed[order.pk] = order
            outcomes[index] = UPDATED
        Order.objects.bulk_create(new, batch_size=500)
        Order.objects.bulk_update(list(changed.values()), ["customer_id", "updated_at", *_ORDER_FIELDS], batch_size=500)
    return outcomes
