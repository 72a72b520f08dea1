"""Priority writes: the score of a new case, and the periodic refresh of the rules that change
with time alone (age, SLA time left). The rules themselves are in cases/priority.py."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from prevenance.cases import events as case_events
from prevenance.cases import priority, sla
from prevenance.cases.choices import CaseAuditKind
from prevenance.cases.models import Case
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.calendars import CalendarSpec
from prevenance.customers.choices import OrderStatus
from prevenance.customers.models import Customer, Order

logger = logging.getLogger(__name__)

VALUE_PERIOD = timedelta(days=365)
# Orders that did not end in a sale do not make a customer valuable.
UNSOLD = (OrderStatus.CANCELLED, OrderStatus.RETURNED)
REFRESH_BATCH = 500


def order_total(customer: Customer | None, *, now: datetime, currency: str) -> Decimal:
    """The customer's orders of the last 12 months in `currency` (other currencies are not
    converted: there is no exchange rate in the system), cancelled and returned ones left out."""
    if customer is None:
        return Decimal(0)
    # Summed here rather than with SUM(): a customer has a few orders a year, and the amounts
    # come back as Decimal on both databases (SQLite's SUM would give a float).
    amounts = (
        Order.objects.filter(customer=customer, currency=currency, ordered_at__gte=now - VALUE_PERIOD, ordered_at__lte=now)
        .exclude(status__in=UNSOLD)
        .values_list("amount", flat=True)
    )
    return sum(amounts, Decimal(0))


def signals_for(
    case: Case, *, text: str, now: datetime, conf: priority.PriorityConfig, known_order_total: Decimal | None = None,
) -> priority.Signals:
    customer = case.customer if case.customer_id is not None else None
    left = sla.sla_time_left(case, now)
    total = known_order_total if known_order_total is not None else order_total(customer, now=now, currency=conf.currency)
    return priority.Signals(
        case_type=case.type, channel=case.channel, text=text, is_vip=bool(customer and customer.is_vip),
        order_total=total, opened_at=case.created_at, now=now,
        sla_state=left.state if left is not None else "",
    )


def score_case(case: Case, *, text: str, now: datetime | None = None, known_order_total: Decimal | None = None) -> None:
    """Score the case from its message `text` and set score, reasons and level (the caller
    saves, inside its transaction).

    The level is the higher of the score's and the one the case already has: a priority a
    person chose at intake (an agent logging an urgent call) is a floor, never lowered."""
    conf = priority.config()
    signals = signals_for(case, text=text, now=now or timezone.now(), conf=conf, known_order_total=known_order_total)
    result = priority.score(signals, conf)
    case.priority = priority.higher_level(case.priority, result.level)
    case.priority_score, case.priority_reasons = priority.with_level_floor(result.stored_reasons(), case.priority, conf)


def _refreshed(case: Case, spec: CalendarSpec | None, now: datetime, conf: priority.PriorityConfig) -> tuple[int, list, str] | None:
    left = sla.sla_time_left(case, now, spec) if spec is not None else None
    signals = priority.Signals(
        case_type=case.type, channel=case.channel, opened_at=case.created_at, now=now, sla_state=left.state if left else "",
    )
    refreshed = priority.with_time_reasons(list(case.priority_reasons or []), signals, conf)
    if refreshed is None:
        return None
    # The level the rules reach, without the top-up of a level set before (which would
    # otherwise count twice and skip a level), and without the overdue SLA's points: a breach
    # raises the level one step through its escalation (services/sla.py), whichever of the two
    # jobs runs first; its points here only move the case up the list by score.
    not_levelled = (priority.LEVEL_FLOOR, priority.SLA_BREACHED)
    rule_points = sum(int(reason.get("points", 0)) for reason in refreshed[1] if reason.get("code") not in not_levelled)
    level = priority.higher_level(case.priority, priority.level_for(rule_points, conf))
    points, reasons = priority.with_level_floor(refreshed[1], level, conf)
    return points, reasons, level


def refresh_priority_scores(*, now: datetime | None = None, batch_size: int = REFRESH_BATCH) -> int:
    """Evaluate the time rules (age, SLA due soon / overdue) of every active case again and store
    the cases whose points changed; returns how many. Idempotent: a second run at the same
    moment changes nothing.

    Read in batches by id; each write is a conditional UPDATE on the score and level read, so a
    case changed meanwhile (a new triage, an escalation) is left for the next run rather than
    overwritten. The level only rises here: lowering a priority is a person's decision."""
    now = now or timezone.now()
    conf = priority.config()
    specs: dict[int | None, CalendarSpec] = {}
    changed, last_id = 0, 0
    while True:
        batch = list(
            Case.objects.filter(status__in=ACTIVE, merged_into__isnull=True, pk__gt=last_id)
            .select_related("sla_policy__calendar", "team__calendar")
            .only(
                "pk", "type", "channel", "created_at", "priority", "priority_score", "priority_reasons", "resolved_at",
                "closed_at", "first_response_at", "first_response_due_at", "resolution_due_at", "sla_paused_at",
                "sla_policy", "team", "reference",
            )
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return changed
        last_id = batch[-1].pk
        with transaction.atomic():  # one commit per batch, not per case
            for case in batch:
                changed += _store_refresh(case, _spec(case, specs), now, conf)


def _spec(case: Case, specs: dict) -> CalendarSpec | None:
    if case.sla_policy is None:
        return None
    calendar = case.sla_policy.calendar or (case.team.calendar if case.team_id is not None else None)
    key = calendar.pk if calendar is not None else None
    if key not in specs:
        specs[key] = sla.spec_for(case, case.sla_policy)
    return specs[key]


def _store_refresh(case: Case, spec: CalendarSpec | None, now: datetime, conf: priority.PriorityConfig) -> int:
    refreshed = _refreshed(case, spec, now, conf)
    if refreshed is None:
        return 0
    points, reasons, level = refreshed
    updated = Case.objects.filter(pk=case.pk, priority_score=case.priority_score, priority=case.priority).update(
        priority_score=points, priority_reasons=reasons, priority=level,
    )
    if updated and level != case.priority:
        record_audit(
            kind=CaseAuditKind.PRIORITY_RAISED, actor=None, subject=case,
            payload={"priority_from": case.priority, "priority_to": level, "score": points},
        )
        previous = case.priority
        case.priority, case.priority_score, case.priority_reasons = level, points, reasons
        case_events.case_updated(case, {"priority": case_events.change(previous, level)})
    return updated
