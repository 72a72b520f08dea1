"""Identity resolution: the one door every intake path goes through to find its customer."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core.choices import CHANNELS, Channel
from prevenance.core.sql import insert_instances
from prevenance.core.validation import invalid
from prevenance.customers.choices import ConflictStatus
from prevenance.customers.models import Customer, Identity, IdentityConflict, Order
from prevenance.customers.normalize import NormalizedIdentity, normalize_identity
from prevenance.customers.services.profile import (
    clean_customer_fields,
    fill_blank_fields,
    lock_live_customer,
)

RESOLVE_ATTEMPTS = 5


@dataclass(frozen=True)
class IdentityInput:
    kind: str
    value: str
    network: str = ""
    verified: bool = False
    # The caller's field this identity was read from: a refusal of it is keyed there, so a form
    # or an API body with a separate email field points its error at that field.
    input_field: str = field(default="identities", compare=False)


@dataclass
class Resolution:
    """What resolve_customer found: one customer, or a conflict a person must settle."""

    customer: Customer | None
    created: bool = False
    attached: list[Identity] = field(default_factory=list)
    conflict: IdentityConflict | None = None

    @property
    def is_conflict(self) -> bool:
        return self.conflict is not None


class _CustomerMovedMeanwhile(Exception):
    """The matched customer was merged between our read and our lock: read again."""


def normalize_inputs(identities: Sequence[IdentityInput]) -> list[tuple[NormalizedIdentity, IdentityInput]]:
    if not identities:
        raise ValidationError({"identities": [_("Give at least one identity (email, phone, card...).")]})
    seen: dict[tuple[str, str], tuple[NormalizedIdentity, IdentityInput]] = {}
    errors: dict[str, list[ValidationError]] = {}
    for item in identities:
        try:
            norm = normalize_identity(item.kind, item.value, network=item.network)
        except ValidationError as exc:
            errors.setdefault(item.input_field, []).extend(exc.error_list)  # with its code (invalid_email...)
            continue
        seen.setdefault((norm.kind, norm.normalized), (norm, item))
    if errors:
        raise ValidationError(errors)
    return list(seen.values())


def _existing_identities(normalized: Sequence[NormalizedIdentity]) -> list[tuple[int, int, str, str]]:
    """(id, customer id, kind, value) of the identities already known, in one indexed query.

    Plain SQL: on this path, run for every inbound contact, the ORM's query compilation
    costs several times the query itself (see docs/benchmarks.md).
    """
    wanted = {(n.kind, n.normalized) for n in normalized}
    quote = connection.ops.quote_name
    values = sorted({n.normalized for n in normalized})
    sql = (
        f"SELECT {quote('id')}, {quote('customer_id')}, {quote('kind')}, {quote('normalized')} "
        f"FROM {quote(Identity._meta.db_table)} WHERE {quote('normalized')} IN ({', '.join(['%s'] * len(values))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [row for row in cursor.fetchall() if (row[2], row[3]) in wanted]


def _new_identity(customer: Customer, norm: NormalizedIdentity, item: IdentityInput, channel: str, seen_at: datetime) -> Identity:
    return Identity(
        customer=customer,
        kind=norm.kind,
        value=norm.value[:255],
        normalized=norm.normalized,
        network=norm.network,
        verified=item.verified,
        source_channel=channel,
        first_seen_at=seen_at,
        last_seen_at=seen_at,
    )


def open_conflict(customer_ids: Sequence[int], normalized: Sequence[NormalizedIdentity], channel: str) -> IdentityConflict:
    first, second = sorted(customer_ids)[:2]
    conflict, _created = IdentityConflict.objects.get_or_create(
        customer_a_id=first,
        customer_b_id=second,
        status=ConflictStatus.OPEN,
        defaults={
            "identities": [{"kind": n.kind, "value": n.normalized} for n in normalized],
            "channel": channel,
        },
    )
    return conflict


def _resolve_once(pairs, cleaned_hints, channel, seen_at) -> Resolution:
    normalized = [norm for norm, _item in pairs]
    existing = _existing_identities(normalized)
    owner_ids = sorted({customer_id for _pk, customer_id, _kind, _value in existing})
    if len(owner_ids) > 1:
        return Resolution(customer=None, conflict=open_conflict(owner_ids, normalized, channel))

    if owner_ids:
        # Whether they have ordered comes with the lock (Customer.has_orders): their case's
        # timeline entries say before or after purchase without a query of their own.
        customer = (
            Customer.objects.select_for_update().annotate(has_orders=Exists(Order.objects.filter(customer=OuterRef("pk"))))
            .get(pk=owner_ids[0])
        )
        if customer.merged_into_id is not None:
            raise _CustomerMovedMeanwhile
        created = False
        Identity.objects.filter(pk__in=[pk for pk, *_rest in existing]).update(last_seen_at=seen_at)
        changed = fill_blank_fields(customer, cleaned_hints)
        if changed:
            customer.save(update_fields=changed)
    else:
        customer = Customer(**cleaned_hints)
        customer.refresh_search_keys()
        customer.has_orders = False
        insert_instances([customer])
        created = True

    known = {(kind, value) for _pk, _customer_id, kind, value in existing}
    fresh = [_new_identity(customer, norm, item, channel, seen_at) for norm, item in pairs if (norm.kind, norm.normalized) not in known]
    insert_instances(fresh)
    return Resolution(customer=customer, created=created, attached=fresh)


def resolve_customer(
    *,
    identities: Sequence[IdentityInput],
    hints: Mapping[str, Any] | None = None,
    channel: str = Channel.WEB,
    seen_at: datetime | None = None,
) -> Resolution:
    """Find the customer these identities belong to, attach the new ones, or create the customer.

    Identities that belong to two different customers are not guessed at: an IdentityConflict
    is opened (once per pair) and returned for a person to merge or dismiss.
    Safe under concurrent intake: a lost race on an identity's unique constraint is retried.
    """
    if channel not in CHANNELS:
        raise ValidationError({"channel": [_("Unknown channel “%(value)s”.") % {"value": str(channel)[:40]}]})
    pairs = normalize_inputs(identities)
    cleaned_hints = clean_customer_fields(hints or {})
    seen_at = seen_at or timezone.now()
    for attempt in range(RESOLVE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(pairs, cleaned_hints, channel, seen_at)
        except (IntegrityError, _CustomerMovedMeanwhile):
            if attempt == RESOLVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


# normalize_identity's refusals that are about another argument than the value.
_REFUSAL_FIELDS = {"invalid_kind": "kind", "invalid_network": "network"}


def _normalized_for_fields(kind: str, value: str, network: str) -> NormalizedIdentity:
    """normalize_identity, its refusal on the argument it is about (`value`, `network` or `kind`)."""
    try:
        return normalize_identity(kind, value, network=network)
    except ValidationError as exc:
        raise ValidationError({_REFUSAL_FIELDS.get(exc.code, "value"): exc.error_list}) from exc


def add_identity(
    *, customer: Customer, kind: str, value: str, network: str = "", verified: bool = False, channel: str = Channel.WEB
) -> Identity:
    """Attach one identity to a known customer; refuses one that belongs to someone else."""
    norm = _normalized_for_fields(kind, value, network)
    with transaction.atomic():
        locked = lock_live_customer(customer)
        current = Identity.objects.filter(kind=norm.kind, normalized=norm.normalized).first()
        if current is not None:
            if current.customer_id == customer.pk:
                return current
            raise invalid(
                "value", _("%(identity)s already belongs to another customer (#%(id)s): merge them instead.")
                           % {"identity": norm.normalized, "id": current.customer_id},
                "identity_taken",
            )
        now = timezone.now()
        identity = _new_identity(locked, norm, IdentityInput(kind, value, network, verified), channel, now)
        try:
            with transaction.atomic():
                identity.save()
        except IntegrityError as exc:
            raise ValidationError({"value": [_("This identity was just added to another customer.")]}) from exc
        return identity


def remove_identity(*, identity: Identity) -> None:
    with transaction.atomic():
        Identity.objects.filter(pk=identity.pk).delete()
