"""Priority writes: the score of a new case, the periodic refresh of the rules that change
with time alone (age, SLA time left), and the open cases scored again after an administrator
changed the figures. The rules themselves are in cases/priority.py; the figures are the
admin's (selectors.kept_settings.priority_config)."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from prevenance.cases import events as case_events
from prevenance.cases import priority, sla
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import CaseAuditKind, MessageKind, SettingsAuditKind
from prevenance.cases.models import Case, Message
from prevenance.cases.selectors.case_settings import cases_to_rescore, priority_settings
from prevenance.cases.selectors.kept_settings import priority_config
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.calendars import CalendarSpec
from prevenance.core.queue import enqueue_on_commit
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
    conf = priority_config()
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
    return _levelled(case, refreshed[1], conf)


def _levelled(case: Case, reasons: list[dict], conf: priority.PriorityConfig) -> tuple[int, list, str]:
    """The score, reasons and level of a case given the rules' `reasons`, the level never below
    the case's own."""
    # The level the rules reach, without the top-up of a level set before (which would
    # otherwise count twice and skip a level), and without the overdue SLA's points: a breach
    # raises the level one step through its escalation (services/sla.py), whichever of the two
    # jobs runs first; its points here only move the case up the list by score.
    not_levelled = (priority.LEVEL_FLOOR, priority.SLA_BREACHED)
    rule_points = sum(int(reason.get("points", 0)) for reason in reasons if reason.get("code") not in not_levelled)
    level = priority.higher_level(case.priority, priority.level_for(rule_points, conf))
    points, reasons = priority.with_level_floor(reasons, level, conf)
    return points, reasons, level


def refresh_priority_scores(*, now: datetime | None = None, batch_size: int = REFRESH_BATCH) -> int:
    """Evaluate the time rules (age, SLA due soon / overdue) of every active case again and store
    the cases whose points changed; returns how many. Idempotent: a second run at the same
    moment changes nothing.

    Read in batches by id; each write is a conditional UPDATE on the score and level read, so a
    case changed meanwhile (a new triage, an escalation) is left for the next run rather than
    overwritten. The level only rises here: lowering a priority is a person's decision."""
    now = now or timezone.now()
    conf = priority_config()
    specs: dict[int | None, CalendarSpec] = {}
    changed = 0
    for batch in _active_batches(batch_size):
        with transaction.atomic():  # one commit per batch, not per case
            for case in batch:
                changed += _store(case, _refreshed(case, _spec(case, specs), now, conf))
    return changed


def _active_batches(batch_size: int, *, for_rescore: bool = False) -> Iterable[list[Case]]:
    """The active cases by id, `batch_size` at a time, with what the time rules read (and, to
    score them again, the customer's VIP mark and the case's first message)."""
    fields = [
        "pk", "type", "channel", "created_at", "priority", "priority_score", "priority_reasons", "resolved_at",
        "closed_at", "first_response_at", "first_response_due_at", "next_reply_due_at", "resolution_due_at", "sla_paused_at",
        "sla_policy", "team", "reference",
    ]
    cases = Case.objects.filter(status__in=ACTIVE, merged_into__isnull=True).select_related("sla_policy__calendar", "team__calendar")
    if for_rescore:
        first_message = Message.objects.filter(case=OuterRef("pk"), kind=MessageKind.INBOUND).order_by("created_at", "id")
        cases = cases.select_related("customer").annotate(first_text=Subquery(first_message.values("body_text")[:1]))
        fields += ["subject", "customer__is_vip"]
    last_id = 0
    while True:
        batch = list(cases.filter(pk__gt=last_id).only(*fields).order_by("pk")[:batch_size])
        if not batch:
            return
        last_id = batch[-1].pk
        yield batch


def _spec(case: Case, specs: dict) -> CalendarSpec | None:
    if case.sla_policy is None:
        return None
    calendar = case.sla_policy.calendar or (case.team.calendar if case.team_id is not None else None)
    key = calendar.pk if calendar is not None else None
    if key not in specs:
        specs[key] = sla.spec_for(case, case.sla_policy)
    return specs[key]


def _store(case: Case, scored: tuple[int, list, str] | None) -> int:
    """Write a case's new score, reasons and level unless it changed since it was read; audit
    and announce a level that rose. 1 if written."""
    if scored is None:
        return 0
    points, reasons, level = scored
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


# Scoring the open cases again with new figures ----------------------------------------------


def request_rescore(*, actor) -> int:
    """Queue rescore_open_cases after commit, with an audit row on the priority settings naming
    who asked and how many open cases there are then (returned)."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("cases.change_prioritysettings"):
        raise PermissionDenied
    with transaction.atomic():
        count = cases_to_rescore()
        record_audit(kind=SettingsAuditKind.PRIORITY_RESCORE_REQUESTED, actor=actor, subject=priority_settings(),
                     payload={"open_cases": count})
        enqueue_on_commit(case_tasks.rescore_open_cases)
    return count


def rescore_open_cases(*, now: datetime | None = None, batch_size: int = REFRESH_BATCH) -> int:
    """Score every active case again with the figures as they are now, after an administrator
    changed them; returns how many changed. Idempotent: a second run changes nothing.

    Every rule, over what the case was judged on at its opening — its subject and first message,
    the customer's orders of the 12 months before it opened — and the time rules at `now`, as the
    refresh evaluates them. Stored as the refresh stores: by id in batches, each write
    conditional on the score and level read (a case changed meanwhile is left for the next run),
    the level only raised (lowering a priority is a person's decision: a case the new figures
    score below its level keeps it, its score topped up to the level's threshold)."""
    now = now or timezone.now()
    conf = priority_config()
    specs: dict[int | None, CalendarSpec] = {}
    changed = 0
    for batch in _active_batches(batch_size, for_rescore=True):
        totals = _order_totals_at_opening(batch, currency=conf.currency)
        with transaction.atomic():
            for case in batch:
                changed += _store(case, _rescored(case, totals.get(case.pk, Decimal(0)), _spec(case, specs), now, conf))
    return changed


def _rescored(case: Case, total: Decimal, spec: CalendarSpec | None, now: datetime,
              conf: priority.PriorityConfig) -> tuple[int, list, str] | None:
    left = sla.sla_time_left(case, now, spec) if spec is not None else None
    signals = priority.Signals(
        case_type=case.type, channel=case.channel, text=f"{case.subject}\n{case.first_text or ''}",
        is_vip=bool(case.customer_id is not None and case.customer.is_vip), order_total=total,
        opened_at=case.created_at, now=now, sla_state=left.state if left is not None else "",
    )
    points, reasons, level = _levelled(case, priority.score(signals, conf).stored_reasons(), conf)
    if (points, level, _compared(reasons)) == (case.priority_score, case.priority, _compared(case.priority_reasons or [])):
        return None
    return points, reasons, level


def _compared(reasons: list[dict]) -> list[tuple]:
    # Without the labels: those are in the language of whoever scored the case.
    return [(reason.get("code"), reason.get("points"), reason.get("params") or {}) for reason in reasons]


def _order_totals_at_opening(batch: list[Case], *, currency: str) -> dict[int, Decimal]:
    """Case id -> its customer's orders in `currency` over the 12 months before the case opened,
    cancelled and returned ones left out (what order_total gave at the intake), in one query."""
    with_customer = [case for case in batch if case.customer_id is not None]
    if not with_customer:
        return {}
    orders = defaultdict(list)
    rows = (
        Order.objects.filter(
            customer_id__in={case.customer_id for case in with_customer}, currency=currency,
            ordered_at__gte=min(case.created_at for case in with_customer) - VALUE_PERIOD,
            ordered_at__lte=max(case.created_at for case in with_customer),
        )
        .exclude(status__in=UNSOLD)
        .values_list("customer_id", "ordered_at", "amount")
    )
    for customer_id, ordered_at, amount in rows:
        orders[customer_id].append((ordered_at, amount))
    return {
        case.pk: sum((amount for at, amount in orders[case.customer_id] if case.created_at - VALUE_PERIOD <= at <= case.created_at),
                     Decimal(0))
        for case in with_customer
    }
