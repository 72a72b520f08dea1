"""What the customers API reads and answers (Ninja schemas).

Field lengths and formats are checked by the services (one message per field); the schemas
check types and enumerations so a wrong type never reaches a service.
"""

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from prevenance.core.choices import Channel
from prevenance.core.currencies import in_minor_units
from prevenance.core.schemas import ErrorItem
from prevenance.customers.choices import (
    ConsentAction,
    ConsentMethod,
    ConsentPurpose,
    ConsentState,
    CustomerKind,
    IdentityKind,
    Language,
    LifecycleState,
    OrderStatus,
)

MAX_ID = 2**63 - 1
Id = Field(..., ge=1, le=MAX_ID)


class CustomerIn(Schema):
    kind: CustomerKind | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    language: Language | None = None
    birth_date: date | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    lifecycle_state: LifecycleState | None = None


class CustomerOut(Schema):
    id: int
    kind: str
    display_name: str
    first_name: str
    last_name: str
    company_name: str
    language: str
    birth_date: date | None
    address: str
    postal_code: str
    city: str
    country: str
    lifecycle_state: str
    created_at: datetime
    updated_at: datetime
    merged_into_id: int | None
    erased_at: datetime | None


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class IdentityIn(Schema):
    kind: IdentityKind
    value: str = Field(..., max_length=1000)
    network: str = Field("", max_length=100)
    verified: bool = False
    channel: Channel = Channel.API


class IdentityOut(Schema):
    id: int
    kind: str
    value: str
    normalized: str
    network: str
    verified: bool
    source_channel: str
    first_seen_at: datetime
    last_seen_at: datetime
    # An email address that bounced for good: no automatic email goes there until the person writes from it.
    bounced_at: datetime | None
    bounce_reason: str
    # Temporary failures since soft_bounces_since; PREVENANCE_SOFT_BOUNCE_LIMIT of them flag the address.
    soft_bounces: int
    soft_bounces_since: datetime | None


class IdentityPage(Schema):
    items: list[IdentityOut]
    next_cursor: str | None


class ResolveIdentity(Schema):
    kind: IdentityKind
    value: str = Field(..., max_length=1000)
    network: str = Field("", max_length=100)
    verified: bool = False


class ResolveIn(Schema):
    identities: list[ResolveIdentity] = Field(..., min_length=1, max_length=20)
    hints: CustomerIn | None = None
    channel: Channel = Channel.API


class ResolveOut(Schema):
    customer: CustomerOut
    created: bool
    attached: list[IdentityOut]


class ConflictOut(Schema):
    id: int
    customer_a_id: int
    customer_b_id: int
    identities: list[dict[str, Any]]
    channel: str
    status: str
    created_at: datetime


class ConflictErrorOut(Schema):
    """A 409: the error format, plus the conflict a person must settle (merge or dismiss)."""

    detail: list[ErrorItem]
    conflict: ConflictOut


class ConsentIn(Schema):
    purpose: ConsentPurpose
    channel: Channel = Channel.API
    method: ConsentMethod = ConsentMethod.CHECKBOX
    source: str = Field("", max_length=200)
    occurred_at: datetime | None = None


class ConsentEventOut(Schema):
    id: int
    purpose: str
    action: ConsentAction
    method: str
    channel: str
    source: str
    wording_id: int | None
    occurred_at: datetime
    recorded_at: datetime
    recorded_by_id: int | None


class ConsentStateOut(Schema):
    purpose: str
    state: ConsentState
    since: datetime | None
    event_id: int | None


class ConsentsOut(Schema):
    qualification: str
    states: list[ConsentStateOut]


class ConsentEventPage(Schema):
    items: list[ConsentEventOut]
    next_cursor: str | None


class OrderIn(Schema):
    reference: str = Field(..., max_length=1000)
    ordered_at: datetime
    amount: str | float | int
    currency: str = Field("EUR", max_length=10)
    channel: Channel = Channel.WEB
    store: str = Field("", max_length=1000)
    items_count: int = Field(1, ge=0, le=2**31 - 1)
    status: OrderStatus = OrderStatus.PLACED


class OrderOut(Schema):
    id: int
    reference: str
    ordered_at: datetime
    amount: str
    currency: str
    channel: str
    store: str
    items_count: int
    status: str
    customer_id: int | None

    @staticmethod
    def resolve_amount(order) -> str:
        # With the currency's decimals ("12.50" EUR, "1500" JPY, "12.345" TND), not the column's 3.
        return str(in_minor_units(order.amount, order.currency))


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class MergeIn(Schema):
    loser_id: int = Id
