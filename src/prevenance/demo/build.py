"""Writing the planned demo company through the services, one person per transaction."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from tqdm import tqdm

from prevenance.customers.choices import ConsentPurpose, Language
from prevenance.customers.models import Customer, Order
from prevenance.customers.services import (
    IdentityInput,
    confirm_consent,
    ensure_consent_wording,
    grant_consent,
    lock_live_customer,
    merge_customers,
    resolve_customer,
    withdraw_consent,
)
from prevenance.customers.services.orders import clean_order_fields
from prevenance.demo.emails import emails_nowhere
from prevenance.demo.plan import PlannedPerson, Planner
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import clean_interaction_fields, record_interaction

WORDINGS = {
    ConsentPurpose.MARKETING_EMAIL: (
        "J'accepte de recevoir par email les offres et nouveautés de Maison Prévenance.",
        "I agree to receive Maison Prévenance offers and news by email.",
    ),
    ConsentPurpose.MARKETING_SMS: (
        "J'accepte de recevoir par SMS les ventes privées de Maison Prévenance.",
        "I agree to receive Maison Prévenance private sales by text message.",
    ),
    ConsentPurpose.MARKETING_PHONE: (
        "J'accepte d'être appelé(e) pour des offres personnalisées.",
        "I agree to be called about personalised offers.",
    ),
    ConsentPurpose.POSTAL: (
        "J'accepte de recevoir le catalogue par courrier.",
        "I agree to receive the catalogue by post.",
    ),
    ConsentPurpose.PROFILING: (
        "J'accepte que mes achats servent à me proposer des recommandations.",
        "I agree that my purchases are used to recommend products to me.",
    ),
    ConsentPurpose.SURVEYS: (
        "J'accepte d'être sollicité(e) pour donner mon avis.",
        "I agree to be asked for my opinion.",
    ),
}


@dataclass
class DemoSummary:
    customers: int = 0
    orders: int = 0
    interactions: int = 0
    conflicts: int = 0
    merged: int = 0
    cases: int = 0


def _ensure_wordings() -> dict:
    wordings = {}
    for purpose, (fr, en) in WORDINGS.items():
        wordings[(purpose, Language.FRENCH)] = ensure_consent_wording(purpose=purpose, language=Language.FRENCH, text=fr)
        wordings[(purpose, Language.ENGLISH)] = ensure_consent_wording(purpose=purpose, language=Language.ENGLISH, text=en)
    return wordings


def _add_orders(customer: Customer, plan: PlannedPerson, summary: DemoSummary) -> dict[str, Order]:
    """A batch version of record_order, for the same reason as _add_interactions below.

    Every row goes through the service's validation (clean_order_fields); a reference that
    already exists (a `demo --force` re-run) is kept as it is, not written twice.
    """
    if not plan.orders:
        return {}
    customer = lock_live_customer(customer)
    cleaned = [
        clean_order_fields(reference=o.reference, ordered_at=o.ordered_at, amount=o.amount, currency="EUR",
                           channel=o.channel, store=o.store, items_count=o.items_count, status=o.status)
        for o in plan.orders
    ]
    known = {o.reference: o for o in Order.objects.filter(reference__in=[c["reference"] for c in cleaned])}
    fresh = Order.objects.bulk_create([Order(customer=customer, **c) for c in cleaned if c["reference"] not in known])
    summary.orders += len(fresh)
    return {**known, **{o.reference: o for o in fresh}}


def _add_interactions(customer: Customer, plan: PlannedPerson, orders: dict[str, Order], seed: int) -> int:
    """A batch version of record_interaction for the demo's ~10 touchpoints per person.

    One service call per row would double the build time of `make run`'s 5,000 customers;
    each row still goes through the service's own validation (clean_interaction_fields),
    the customer is locked like the service does, and the external id makes a re-run
    (`demo --force`) skip what is already there instead of writing it twice.
    """
    customer = lock_live_customer(customer)
    rows = []
    for n, planned in enumerate(plan.interactions):
        fields = clean_interaction_fields(channel=planned.channel, direction=planned.direction, nature=planned.nature,
                                          phase=planned.phase, summary=planned.summary, body="")
        rows.append(Interaction(customer=customer, occurred_at=planned.occurred_at, order=orders.get(planned.order_reference),
                                external_id=f"demo-{seed}-{plan.number}-{n}", **fields))
    known = set(Interaction.objects.filter(external_id__in=[r.external_id for r in rows]).values_list("external_id", flat=True))
    fresh = [row for row in rows if row.external_id not in known]
    Interaction.objects.bulk_create(fresh)
    return len(fresh)


def _add_consents(customer: Customer, plan: PlannedPerson, wordings: dict) -> None:
    language = plan.hints["language"]
    for consent in plan.consents:
        common = {"customer": customer, "purpose": consent.purpose, "channel": consent.channel, "method": consent.method,
                  "occurred_at": consent.occurred_at}
        if consent.action == "withdraw":
            withdraw_consent(**common)
            continue
        event = grant_consent(**common, wording=wordings[(consent.purpose, language)], source="demo")
        if consent.action == "confirm":
            confirm_consent(token=event.confirmation_token)


def _add_twin(customer: Customer, plan: PlannedPerson, summary: DemoSummary) -> None:
    """The same person met again in a store by phone, then a call that shows both identities."""
    hints = {key: plan.hints[key] for key in ("first_name", "last_name", "language", "city", "country")}
    met_at = plan.first_seen + timedelta(days=20)
    twin = resolve_customer(identities=[IdentityInput(*i) for i in plan.twin_identities], hints=hints,
                            channel="store", seen_at=met_at).customer
    store = "Maison Prévenance" if plan.hints["language"] == "fr" else "Maison Prévenance (store)"
    record_interaction(customer=twin, channel="store", direction="inbound", nature="transactional", phase="during",
                       occurred_at=met_at, summary=f"Carte de fidélité créée en magasin ({store})"
                       if plan.hints["language"] == "fr" else f"Loyalty card opened in store ({store})")
    email = next(i for i in plan.identities if i[0] == "email")
    contact = resolve_customer(identities=[IdentityInput(*email), IdentityInput(*plan.twin_identities[0])],
                               channel="phone", seen_at=met_at + timedelta(days=3))
    summary.customers += 1
    if contact.is_conflict:
        summary.conflicts += 1
        if plan.twin_merged:
            merge_customers(survivor=customer, loser=twin)
            summary.merged += 1


def _write_person(plan: PlannedPerson, wordings: dict, seed: int, summary: DemoSummary) -> None:
    resolution = resolve_customer(identities=[IdentityInput(*i) for i in plan.identities], hints=plan.hints,
                                  channel=plan.channel, seen_at=plan.first_seen)
    customer = resolution.customer
    if customer is None:  # an earlier run left a conflict on these identities: nothing to add to
        return
    summary.customers += int(resolution.created)
    orders = _add_orders(customer, plan, summary)
    summary.interactions += _add_interactions(customer, plan, orders, seed)
    _add_consents(customer, plan, wordings)
    if plan.twin_identities and resolution.created:
        _add_twin(customer, plan, summary)


def build_demo(*, customers: int, seed: int, today: date, progress: bool = False) -> DemoSummary:
    """Build `customers` planned people (plus their twins) in the current database."""
    planner = Planner(seed=seed, today=today)
    summary = DemoSummary()
    wordings = _ensure_wordings()
    # The demo people are fictional: confirmation emails of their double opt-ins go nowhere
    # (a backend overridden here alone left them queued for the worker, which sent them).
    with emails_nowhere():
        for number in tqdm(range(1, customers + 1), disable=not progress, unit="customer", desc="demo"):
            plan = planner.person(number)
            # One transaction per person: the services inside nest as savepoints, so a person
            # is written whole or not at all, with one commit instead of a dozen.
            with transaction.atomic():
                _write_person(plan, wordings, seed, summary)
    return summary
