"""Reads for the pages that span several apps (dashboard, 360 view, merge screen).

They live here rather than in customers because they also read interactions, and apps
depend one way (ARCHITECTURE.md): customers may not import interactions.
"""

from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from prevenance.customers.choices import MARKETING_PURPOSES, ConsentAction
from prevenance.customers.models import ConsentEvent, ConsentWording, Customer, IdentityConflict
from prevenance.customers.selectors import (
    consent_states,
    customer_identities,
    open_conflicts,
    require_perm,
    visible_customers,
)
from prevenance.interactions.models import Interaction
from prevenance.interactions.visibility import readable_interactions


@dataclass(frozen=True)
class DashboardStats:
    customers: int
    opted_in: int
    open_conflicts: int | None

    @property
    def opted_in_share(self) -> float:
        return self.opted_in / self.customers if self.customers else 0.0


def _opted_in(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers whose latest grant-or-withdrawal for some marketing purpose is a grant.

    The same rule as customers.selectors.consent_states, in SQL: a pending request after a
    grant leaves the person opted in, so only grants and withdrawals decide.
    """
    annotations, opted = {}, Q()
    for purpose in sorted(MARKETING_PURPOSES):
        latest = (
            ConsentEvent.objects.filter(
                customer=OuterRef("pk"),
                purpose=purpose,
                action__in=[ConsentAction.GRANTED, ConsentAction.WITHDRAWN],
            )
            .order_by("-occurred_at", "-recorded_at", "-pk")
            .values("action")[:1]
        )
        annotations[f"latest_{purpose}"] = Subquery(latest)
        opted |= Q(**{f"latest_{purpose}": ConsentAction.GRANTED})
    return customers.annotate(**annotations).filter(opted)


def dashboard_stats(user) -> DashboardStats:
    customers = visible_customers(user).filter(erased_at__isnull=True)
    conflicts = open_conflicts().count() if user.has_perm("customers.view_identityconflict") else None
    return DashboardStats(customers=customers.count(), opted_in=_opted_in(customers).count(), open_conflicts=conflicts)


def recent_interactions(user, *, limit: int = 8) -> list[Interaction]:
    """The latest contacts the user may read (a few pages of the newest entries at most)."""
    require_perm(user, "interactions.view_interaction")
    latest = (Interaction.objects.filter(customer__isnull=False, customer__merged_into__isnull=True)
              .select_related("customer").order_by("-occurred_at", "-pk"))
    shown: list[Interaction] = []
    for start in range(0, 10 * limit * 4, limit * 4):
        page = list(latest[start:start + limit * 4])
        shown += readable_interactions(user, page)
        if len(shown) >= limit or len(page) < limit * 4:
            break
    return shown[:limit]


def current_wording(purpose: str, language: str) -> ConsentWording | None:
    """The wording in force an agent reads out before recording a grant."""
    return ConsentWording.objects.filter(purpose=purpose, language=language).order_by("-version").first()


@dataclass(frozen=True)
class MergeSide:
    customer: Customer
    identities: list
    consents: list
    orders: int
    interactions: int


def merge_side(customer: Customer) -> MergeSide:
    return MergeSide(
        customer=customer,
        identities=customer_identities(customer),
        consents=list(consent_states(customer).values()),
        orders=customer.orders.count(),
        interactions=Interaction.objects.filter(customer=customer).count(),
    )


def access_conflict(user, conflict_id: int, *, perm: str) -> IdentityConflict:
    require_perm(user, "customers.view_identityconflict")
    require_perm(user, perm)
    try:
        return IdentityConflict.objects.get(pk=int(conflict_id))
    except (IdentityConflict.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def conflict_queue(user, *, limit: int = 100) -> list[IdentityConflict]:
    require_perm(user, "customers.view_identityconflict")
    return list(open_conflicts()[:limit])


def consent_request_language(token: str) -> str | None:
    """The language of the person a confirmation link was sent to, to answer them in it."""
    event = ConsentEvent.objects.filter(confirmation_token=token or "-").select_related("customer").first()
    return event.customer.language if event and event.customer else None
