"""The interactions API: touchpoints and the customer timeline, under /api/v1/customers/{id}/."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from prevenance.core.choices import Channel
from prevenance.core.pagination import paginate_by_id
from prevenance.core.schemas import BODY_ERRORS, ERRORS, LIMIT_DEFAULT, LIMIT_MAX
from prevenance.customers.models import Customer
from prevenance.customers.selectors import access_customer, require_perm
from prevenance.interactions.models import Interaction
from prevenance.interactions.schemas import (
    InteractionIn,
    InteractionOut,
    InteractionPage,
    TimelinePage,
)
from prevenance.interactions.selectors import customer_timeline
from prevenance.interactions.services import record_interaction
from prevenance.interactions.visibility import visible_interactions

router = Router(tags=["interactions"])

Limit = Query(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
Cursor = Query(None, max_length=500)
Channels = Query(None, description="Only these channels (repeat the parameter for several).")


def _access(request, customer_id: int, perm: str) -> Customer:
    require_perm(request.auth, "customers.view_customer")
    return access_customer(request.auth, customer_id, perm=perm)


@router.get("/{customer_id}/interactions", response={200: InteractionPage, **ERRORS}, summary="A customer's interactions, latest recorded first")
def list_interactions(
    request, customer_id: int, channel: list[Channel] | None = Channels, cursor: str | None = Cursor, limit: int = Limit
):
    customer = _access(request, customer_id, "interactions.view_interaction")
    interactions = visible_interactions(request.auth, Interaction.objects.filter(customer=customer), customer_ids=[customer.pk])
    if channel:
        interactions = interactions.filter(channel__in=channel)
    return paginate_by_id(interactions, cursor=cursor, limit=limit)


@router.post(
    "/{customer_id}/interactions",
    response={200: InteractionOut, 201: InteractionOut, **BODY_ERRORS},
    summary="Record an interaction (201), or find the one with this external_id (200)",
)
def create_interaction(request, customer_id: int, payload: InteractionIn):
    customer = _access(request, customer_id, "interactions.add_interaction")
    data = payload.dict(exclude={"order_id"})
    order = None
    if payload.order_id is not None:
        order = customer.orders.filter(pk=payload.order_id).first()
        if order is None:
            raise ValidationError({"order_id": [_("This customer has no order with this id.")]})
    interaction, created = record_interaction(customer=customer, agent=request.auth, order=order, **data)
    return Status(201 if created else 200, interaction)


@router.get("/{customer_id}/timeline", response={200: TimelinePage, **ERRORS}, summary="Everything that happened with a customer, newest first")
def timeline(
    request, customer_id: int, channel: list[Channel] | None = Channels, cursor: str | None = Cursor, limit: int = Limit
):
    customer = _access(request, customer_id, "interactions.view_interaction")
    page = customer_timeline(
        customer, viewer=request.auth, cursor=cursor, limit=limit, channels=channel or None,
        include_orders=request.auth.has_perm("customers.view_order"),
    )
    # An order's entry carries the interaction that recorded it, if any (selectors.customer_timeline).
    items = [{"kind": e.kind, "occurred_at": e.occurred_at, "interaction": e.interaction, e.kind: e.item} for e in page.items]
    return {"items": items, "next_cursor": page.next_cursor}
