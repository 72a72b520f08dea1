"""The customers API: one Router, thin handlers (parse, access, one service or selector, answer).

Mounted at /api/v1/customers by prevenance.api; `request.auth` is the calling user.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from prevenance.core.pagination import paginate_by_id
from prevenance.core.schemas import BODY_ERRORS, ERRORS, LIMIT_DEFAULT, LIMIT_MAX
from prevenance.core.validation import errors_nested_under, errors_renamed
from prevenance.customers import services
from prevenance.customers.choices import CustomerKind, Language, LifecycleState
from prevenance.customers.downloads import customer_archive_response
from prevenance.customers.models import ConsentEvent, Customer
from prevenance.customers.schemas import (
    ConflictErrorOut,
    ConsentEventOut,
    ConsentEventPage,
    ConsentIn,
    ConsentsOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    IdentityIn,
    IdentityOut,
    IdentityPage,
    MergeIn,
    OrderIn,
    OrderOut,
    OrderPage,
    ResolveIn,
    ResolveOut,
)
from prevenance.customers.selectors import (
    access_customer,
    consent_states,
    qualification,
    require_perm,
    search_customers,
    visible_customers,
)

router = Router(tags=["customers"])

Limit = Query(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
Cursor = Query(None, max_length=500)


def _access(request, customer_id: int, perm: str, *also: str, follow_merge: bool = True) -> Customer:
    """Check every permission the operation needs, then fetch (403 for refused, 404 for missing)."""
    for extra in also:
        require_perm(request.auth, extra)
    return access_customer(request.auth, customer_id, perm=perm, follow_merge=follow_merge)


def _data(payload) -> dict:
    return payload.dict(exclude_unset=True)


# Customers ------------------------------------------------------------------------------


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List or search customers")
def list_customers(
    request,
    q: str = Query("", max_length=200, description="Exact email, phone, card or external id; else a name prefix. "
        "A search answers its best matches in one page (no cursor); the filters narrow them."),
    lifecycle_state: LifecycleState | None = None,
    language: Language | None = None,
    country: str | None = Query(None, max_length=2),
    kind: CustomerKind | None = None,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    filters = {
        name: value.upper() if name == "country" else value
        for name, value in (("lifecycle_state", lifecycle_state), ("language", language), ("country", country), ("kind", kind))
        if value is not None
    }
    if q.strip():
        # A search answers the best matches at once (one page, no cursor).
        found = search_customers(request.auth, q, limit=limit)
        return {"items": [c for c in found if all(getattr(c, k) == v for k, v in filters.items())], "next_cursor": None}
    return paginate_by_id(visible_customers(request.auth).filter(**filters), cursor=cursor, limit=limit)


@router.post("", response={201: CustomerOut, **BODY_ERRORS}, summary="Create a customer")
def create_customer(request, payload: CustomerIn):
    require_perm(request.auth, "customers.add_customer")
    return Status(201, services.create_customer(data=_data(payload)))


@router.post("/resolve", response={200: ResolveOut, 409: ConflictErrorOut, **BODY_ERRORS}, summary="Find, attach or create the customer these identities name")
def resolve_customer(request, payload: ResolveIn):
    require_perm(request.auth, "customers.add_customer")
    require_perm(request.auth, "customers.add_identity")
    hints = _data(payload.hints) if payload.hints else {}
    with errors_nested_under("hints", hints):  # the service checks the hints under their own names
        resolution = services.resolve_customer(
            identities=[services.IdentityInput(i.kind, i.value, i.network, i.verified) for i in payload.identities],
            hints=hints, channel=payload.channel,
        )
    if resolution.is_conflict:
        msg = _("These identities belong to two different customers; merge them or dismiss the conflict.")
        detail = [{"loc": ["body", "identities"], "msg": msg, "type": "identity_conflict"}]
        return Status(409, {"detail": detail, "conflict": resolution.conflict})
    return Status(200, resolution)


@router.get("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Read a customer")
def get_customer(request, customer_id: int):
    return _access(request, customer_id, "customers.view_customer")


@router.patch("/{customer_id}", response={200: CustomerOut, **BODY_ERRORS}, summary="Change some fields of a customer")
def update_customer(request, customer_id: int, payload: CustomerIn):
    customer = _access(request, customer_id, "customers.change_customer")
    return services.update_customer(customer=customer, data=_data(payload))


@router.post("/{customer_id}/merge", response={200: CustomerOut, **BODY_ERRORS}, summary="Merge another customer into this one")
def merge_customer(request, customer_id: int, payload: MergeIn):
    survivor = _access(request, customer_id, "customers.merge_customer")
    # The loser is taken as named (not followed to its survivor): merging it again is a no-op.
    loser = _access(request, payload.loser_id, "customers.merge_customer", follow_merge=False)
    with errors_renamed({"loser": "loser_id"}):  # the service's refusals name the record merged in
        return services.merge_customers(survivor=survivor, loser=loser, actor=request.auth)


@router.get("/{customer_id}/gdpr-export", response={200: dict, **ERRORS}, summary="Everything held about the person (GDPR)")
def gdpr_export(request, customer_id: int):
    customer = _access(request, customer_id, "customers.export_customer_data", "customers.view_customer")
    return services.export_customer_data(customer=customer, actor=request.auth)


@router.get(
    "/{customer_id}/gdpr-export/archive", response={200: None, **ERRORS}, summary="Everything held about the person, files included (GDPR, ZIP)",
    description="A ZIP: the JSON of `gdpr-export` as customer.json, and every file it lists under its `path`.",
)
def gdpr_export_archive(request, customer_id: int):
    customer = _access(request, customer_id, "customers.export_customer_data", "customers.view_customer")
    return customer_archive_response(customer=customer, actor=request.auth)


@router.post("/{customer_id}/gdpr-erase", response={200: CustomerOut, **BODY_ERRORS}, summary="Erase the person (GDPR)")
def gdpr_erase(request, customer_id: int):
    # A merged id is not followed: erasing must name the record that is erased.
    customer = _access(request, customer_id, "customers.erase_customer", follow_merge=False)
    return services.erase_customer(customer=customer, actor=request.auth)


# Identities -----------------------------------------------------------------------------


@router.get("/{customer_id}/identities", response={200: IdentityPage, **ERRORS}, summary="A customer's identities")
def list_identities(request, customer_id: int, cursor: str | None = Cursor, limit: int = Limit):
    customer = _access(request, customer_id, "customers.view_identity", "customers.view_customer")
    return paginate_by_id(customer.identities.all(), cursor=cursor, limit=limit, descending=False)


@router.post("/{customer_id}/identities", response={201: IdentityOut, **BODY_ERRORS}, summary="Attach an identity")
def add_identity(request, customer_id: int, payload: IdentityIn):
    customer = _access(request, customer_id, "customers.add_identity", "customers.view_customer")
    identity = services.add_identity(
        customer=customer, kind=payload.kind, value=payload.value, network=payload.network,
        verified=payload.verified, channel=payload.channel,
    )
    return Status(201, identity)


@router.delete("/{customer_id}/identities/{identity_id}", response={204: None, **ERRORS}, summary="Detach an identity")
def remove_identity(request, customer_id: int, identity_id: int):
    customer = _access(request, customer_id, "customers.delete_identity", "customers.view_customer")
    identity = get_object_or_404(customer.identities.all(), pk=identity_id)
    services.remove_identity(identity=identity)
    return Status(204, None)


# Consents -------------------------------------------------------------------------------


@router.get("/{customer_id}/consents", response={200: ConsentsOut, **ERRORS}, summary="Current consent per purpose")
def get_consents(request, customer_id: int):
    customer = _access(request, customer_id, "customers.view_consentevent", "customers.view_customer")
    states = [
        {"purpose": s.purpose, "state": s.state, "since": s.since, "event_id": s.event.pk if s.event else None}
        for s in consent_states(customer).values()
    ]
    return {"qualification": qualification(customer), "states": states}


@router.get("/{customer_id}/consents/history", response={200: ConsentEventPage, **ERRORS}, summary="The consent ledger, latest recorded first")
def consent_history(request, customer_id: int, cursor: str | None = Cursor, limit: int = Limit):
    customer = _access(request, customer_id, "customers.view_consentevent", "customers.view_customer")
    return paginate_by_id(ConsentEvent.objects.filter(customer=customer), cursor=cursor, limit=limit)


@router.post("/{customer_id}/consents/grant", response={201: ConsentEventOut, **BODY_ERRORS}, summary="Record an opt-in")
def grant_consent(request, customer_id: int, payload: ConsentIn):
    customer = _access(request, customer_id, "customers.add_consentevent", "customers.view_customer")
    return Status(201, services.grant_consent(customer=customer, actor=request.auth, **payload.dict()))


@router.post("/{customer_id}/consents/withdraw", response={201: ConsentEventOut, **BODY_ERRORS}, summary="Record an opt-out")
def withdraw_consent(request, customer_id: int, payload: ConsentIn):
    customer = _access(request, customer_id, "customers.add_consentevent", "customers.view_customer")
    return Status(201, services.withdraw_consent(customer=customer, actor=request.auth, **payload.dict()))


# Orders ---------------------------------------------------------------------------------


@router.get("/{customer_id}/orders", response={200: OrderPage, **ERRORS}, summary="A customer's orders, latest recorded first")
def list_orders(request, customer_id: int, cursor: str | None = Cursor, limit: int = Limit):
    customer = _access(request, customer_id, "customers.view_order", "customers.view_customer")
    return paginate_by_id(customer.orders.all(), cursor=cursor, limit=limit)


@router.post("/{customer_id}/orders", response={200: OrderOut, 201: OrderOut, **BODY_ERRORS}, summary="Record an order (201) or update it by reference (200)")
def record_order(request, customer_id: int, payload: OrderIn):
    customer = _access(request, customer_id, "customers.add_order", "customers.view_customer")
    order, created = services.record_order(customer=customer, **payload.dict())
    return Status(201 if created else 200, order)
