"""Reads about commercial gestures: delegation limits, the approval queue, the control report."""

import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import (
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Case, DelegationLimit, Gesture
from prevenance.cases.selectors.root_causes import reading_order
from prevenance.cases.selectors.visibility import visible_cases
from prevenance.core.csvio import spreadsheet_dialect, spreadsheet_safe
from prevenance.core.currencies import AmountField, in_minor_units
from prevenance.customers.selectors import require_perm

# The currency of the default delegation limits (services.gestures.ensure_default_limits) and
# of a gesture form when the case's order gives none.
DEFAULT_CURRENCY = "EUR"
ADD_GESTURE = "cases.add_gesture"
APPROVE_GESTURE = "cases.approve_gesture"
VIEW_GESTURE_REPORT = "cases.view_gesture_report"


def delegation_limits(user) -> dict[str, Decimal]:
    """A user's limit per case, per currency: the most the gestures granted on one case may
    add up to for them to grant one on their own (docs/cases.md), the highest of their
    groups' limits and their personal override. Nothing for inactive or anonymous users."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    rows = (
        DelegationLimit.objects.filter(Q(group__in=user.groups.values("pk")) | Q(user=user))
        .values("currency").annotate(largest=Max("max_amount")).order_by("currency")
    )
    # SQLite's MAX hands back Decimal("50") for 50.00, PostgreSQL 50.000 from the column of
    # 3 decimals: both given the currency's decimals, so both databases say the same.
    return {row["currency"]: in_minor_units(row["largest"], row["currency"]) for row in rows}


def delegation_limit(user, currency: str) -> Decimal:
    return delegation_limits(user).get(currency, Decimal("0.00"))


def gesture_currencies() -> list[str]:
    """The currencies a gesture can be asked for in, alphabetically: those in which someone (a
    group or a user) has a delegation limit above 0. In any other currency nobody could ever
    grant or approve it (request_gesture refuses it; docs/cases.md)."""
    return list(DelegationLimit.objects.filter(max_amount__gt=0).order_by("currency").values_list("currency", flat=True).distinct())


def preselected_gesture_currency(case: Case, currencies: list[str]) -> str | None:
    """The currency the case page's gesture form starts with, among `currencies`: the case's
    order's, else DEFAULT_CURRENCY, else the first one; None when there is none."""
    order_currency = case.order.currency if case.order_id is not None and case.order is not None else None
    for currency in (order_currency, DEFAULT_CURRENCY):
        if currency in currencies:
            return currency
    return currencies[0] if currencies else None


def granted_on_case(case_id: int) -> dict[str, Decimal]:
    """The gestures granted on a case so far, totalled per currency."""
    rows = (Gesture.objects.filter(case_id=case_id, status=GestureStatus.GRANTED)
            .values("currency").annotate(total=Sum("amount")).order_by())
    return {row["currency"]: in_minor_units(row["total"], row["currency"]) for row in rows}


def remaining_delegation(user, case_id: int) -> dict[str, Decimal]:
    """What `user` may still grant on their own on this case, per currency: their limit less
    the gestures already granted on it (a limit is per case: four small gestures do not add
    up to one their limit would not allow)."""
    granted = granted_on_case(case_id)
    return {currency: max(limit - granted.get(currency, Decimal("0.00")), Decimal("0.00"))
            for currency, limit in delegation_limits(user).items()}


def _with_granted_before(gestures: QuerySet[Gesture]) -> QuerySet[Gesture]:
    """Annotate `granted_before`: what was already granted on each gesture's case in its currency."""
    amount = AmountField(max_digits=13, decimal_places=3)
    granted = (
        Gesture.objects.filter(case=OuterRef("case"), currency=OuterRef("currency"), status=GestureStatus.GRANTED)
        .order_by().values("case").annotate(total=Sum("amount")).values("total")
    )
    return gestures.annotate(
        granted_before=Coalesce(Subquery(granted, output_field=amount), Value(Decimal("0.00")), output_field=amount),
        case_total=F("amount") + F("granted_before"),
    )


def gesture_approval_queue(user) -> QuerySet[Gesture]:
    """The gestures waiting for a decision that this user may take: their limit covers the
    gesture together with what was already granted on its case (as for a request: a limit is
    per case), not their own, on a case they can see; the oldest first. Each row carries
    `granted_before`, the total already granted on its case in its currency."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_GESTURE):
        return Gesture.objects.none()
    covered = Q(pk__in=[])
    for currency, largest in delegation_limits(user).items():
        covered |= Q(currency=currency, case_total__lte=largest)
    return (
        _with_granted_before(Gesture.objects.filter(status=GestureStatus.REQUESTED, case__in=visible_cases(user).values("pk")))
        .filter(covered)
        .exclude(requested_by=user)
        .select_related("case", "customer", "requested_by")
        .order_by("created_at", "id")
    )


def approval_queue_count(user) -> int:
    """How many gestures wait in `user`'s approval queue (the menu's badge): the rule of
    `gesture_approval_queue` in one COUNT query, their limits read inside it (a limit of theirs
    covering the case's total is a limit at least as large as it). 0 for who may not approve."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.has_perm(APPROVE_GESTURE):
        return 0
    limit = DelegationLimit.objects.filter(
        Q(group__in=user.groups.values("pk")) | Q(user=user), currency=OuterRef("currency"), max_amount__gte=OuterRef("case_total"),
    )
    return (
        _with_granted_before(Gesture.objects.filter(status=GestureStatus.REQUESTED, case__in=visible_cases(user).values("pk")))
        .filter(Exists(limit))
        .exclude(requested_by=user)
        .order_by()
        .count()
    )


def refusable_gestures(user) -> QuerySet[Gesture]:
    """The gestures waiting that this user may refuse: as the approval queue, but their limit
    need only cover the gesture itself (a refusal gives nothing away). Those whose case was
    already granted too much for them to grant it are refused from "waiting for someone else"."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_GESTURE):
        return Gesture.objects.none()
    covered = Q(pk__in=[])
    for currency, largest in delegation_limits(user).items():
        covered |= Q(currency=currency, amount__lte=largest)
    return (
        Gesture.objects.filter(covered, status=GestureStatus.REQUESTED, case__in=visible_cases(user).values("pk"))
        .exclude(requested_by=user).select_related("case", "customer", "requested_by")
    )


def gesture_to_decide(user, gesture_id: int) -> Gesture | None:
    """The gesture `user` posts a decision on (the approvals page, the case page): one still
    waiting must be among `refusable_gestures`; one decided meanwhile, on a case they can see,
    is given too, for approve_gesture / refuse_gesture to refuse the decision saying what
    became of it ("This gesture is already granted.") rather than a bare 404: the second of
    two supervisors deciding at once reads that. None for anything else (404)."""
    waiting = refusable_gestures(user).filter(pk=gesture_id).first()
    if waiting is not None or not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_GESTURE):
        return waiting
    return (
        Gesture.objects.filter(pk=gesture_id, case__in=visible_cases(user).values("pk"))
        .exclude(status=GestureStatus.REQUESTED).select_related("case", "customer", "requested_by").first()
    )


@dataclass(frozen=True)
class WaitingGesture:
    gesture: Gesture  # with `granted_before`, as in the approval queue
    # The active approvers other than the requester whose limit covers it with the case's
    # granted total, by name in reading order: whom the viewer may ask to decide.
    deciders: tuple[str, ...]
    highest_limit: Decimal | None  # the highest of those approvers' limits in its currency; None: none of them has one
    limit_in_currency: bool  # some approver (the requester included) has a limit in its currency
    refusable: bool = False  # this user may refuse it (their limit covers the gesture alone; not theirs)
    over_on_case: bool = False  # the highest limit covers the gesture alone, not with what its case was granted

    @property
    def decider_exists(self) -> bool:
        return bool(self.deciders)


@dataclass(frozen=True)
class _Approver:
    pk: int
    name: str
    limits: dict[str, Decimal]  # as `delegation_limits` gives them


def _limits_of(user_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """`delegation_limits` of many users in one query (their groups' limits and their own,
    the highest per currency), instead of one query each."""
    of_groups = DelegationLimit.objects.filter(group__user__in=user_ids).values_list("group__user", "currency", "max_amount")
    own = DelegationLimit.objects.filter(user__in=user_ids).values_list("user", "currency", "max_amount")
    largest: dict[int, dict[str, Decimal]] = {}
    for user_id, currency, amount in of_groups.order_by().union(own.order_by(), all=True):
        per_currency = largest.setdefault(user_id, {})
        per_currency[currency] = max(per_currency.get(currency, amount), amount)
    return {user_id: {currency: in_minor_units(amount, currency) for currency, amount in per_currency.items()}
            for user_id, per_currency in largest.items()}


def _approvers() -> list[_Approver]:
    """Every active user who may approve gestures (a role, a permission of their own, or
    superuser), a handful of supervisors, with their name and limits: two queries however many."""
    perm = Q(groups__permissions__codename="approve_gesture", groups__permissions__content_type__app_label="cases")
    perm |= Q(user_permissions__codename="approve_gesture", user_permissions__content_type__app_label="cases")
    user_model = get_user_model()
    users = list(
        user_model.objects.filter(perm | Q(is_superuser=True), is_active=True)
        .only(user_model.USERNAME_FIELD, "first_name", "last_name").distinct().order_by("pk")[:200]
    )
    limits = _limits_of([user.pk for user in users])
    return [_Approver(user.pk, _agent_name(user), limits.get(user.pk, {})) for user in users]


def _highest_other_limit(approvers: list[_Approver], currency: str, requester_id: int | None) -> Decimal | None:
    """The highest limit in `currency` of the `approvers` other than the requester (who never
    decides on their own gesture): the most a case can be granted in all through an approval.
    None when none of them has a limit in it."""
    return max((approver.limits[currency] for approver in approvers
                if currency in approver.limits and approver.pk != requester_id), default=None)


def highest_approver_limit(currency: str, *, requester) -> Decimal | None:
    """`_highest_other_limit` of every active approver now, for a gesture `requester` asks for:
    the rule by which the approvals page says "Nobody: above the highest limit" or "Nobody can
    grant it on this case", which request_gesture applies before a gesture waits (a gesture
    above it would wait where nobody can decide on it)."""
    return _highest_other_limit(_approvers(), currency, getattr(requester, "pk", None))


def gestures_beyond_my_limit(user) -> list[WaitingGesture]:
    """The other gestures waiting on cases this approver can see, which they may not decide on
    (above their limit with what the case was already granted, or their own), and who else
    may: the active approvers whose limit covers the case's total with it and whose request it
    is not, by name. A gesture nobody may decide on would otherwise wait where nobody sees it;
    the page says an administrator must raise or set a limit. The same few queries however
    many gestures and approvers."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_GESTURE):
        return []
    decidable = gesture_approval_queue(user).values("pk")
    waiting = list(
        _with_granted_before(Gesture.objects.filter(status=GestureStatus.REQUESTED, case__in=visible_cases(user).values("pk")))
        .exclude(pk__in=decidable).select_related("case", "customer", "requested_by").order_by("created_at", "id")[:200]
    )
    if not waiting:
        return []
    approvers = _approvers()
    mine = delegation_limits(user)
    shown = []
    for gesture in waiting:
        in_currency = [(approver, approver.limits[gesture.currency]) for approver in approvers if gesture.currency in approver.limits]
        others = [(approver, limit) for approver, limit in in_currency if approver.pk != gesture.requested_by_id]
        highest = _highest_other_limit(approvers, gesture.currency, gesture.requested_by_id)
        shown.append(WaitingGesture(
            gesture,
            deciders=tuple(sorted((approver.name for approver, limit in others if limit >= gesture.case_total), key=reading_order)),
            highest_limit=highest, limit_in_currency=bool(in_currency),
            refusable=gesture.requested_by_id != user.pk and gesture.amount <= mine.get(gesture.currency, Decimal("-1")),
            over_on_case=highest is not None and gesture.amount <= highest < gesture.case_total,
        ))
    return shown


@dataclass(frozen=True)
class AgentGestures:
    """One agent's granted gestures in one currency over the report's period."""

    agent_id: int | None
    agent: str
    currency: str
    count: int
    total: Decimal
    average: Decimal
    outliers: int  # how many of their gestures are above the currency's outlier threshold
    above_team_median: bool  # their total is more than twice the median of the agents' totals


@dataclass(frozen=True)
class GestureReport:
    start: datetime
    end: datetime
    lines: list[AgentGestures]
    thresholds: dict[str, Decimal]  # per currency: above this a gesture is an outlier (outlier_threshold)
    medians: dict[str, Decimal]  # per currency: median of the agents' totals
    outlier_gestures: list[Gesture]


def _agent_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# The median absolute deviation times this is the standard deviation of normally spread amounts.
_MAD_TO_SD = Decimal("1.4826")


def outlier_threshold(amounts: list[Decimal], currency: str = "EUR") -> Decimal:
    """The amount above which a gesture stands out among `amounts`: the median + 3 scaled median
    absolute deviations (Hampel's rule: the big gestures being looked for do not raise it, as
    they raise a mean and a standard deviation, which could never flag one of five gestures),
    and at least twice the median (amounts nearly all alike have no deviation to speak of)."""
    median = Decimal(statistics.median(amounts))
    deviation = Decimal(statistics.median(abs(amount - median) for amount in amounts))
    return in_minor_units(max(median + 3 * _MAD_TO_SD * deviation, 2 * median), currency)


def _median_of_others(totals: dict, agent_id) -> Decimal:
    """The median of the other agents' totals (with two agents, twice the median of all totals
    is their sum: nobody could be above it). Infinite with no other agent: nothing to compare."""
    others = [total for other, total in totals.items() if other != agent_id]
    return Decimal(statistics.median(others)) if others else Decimal("Infinity")


def gesture_control_report(user, *, start: datetime, end: datetime) -> GestureReport:
    """A-posteriori control of the gestures granted in [start, end), per requesting agent and currency.

    Outliers (docs/cases.md), per currency: a gesture above outlier_threshold of the period's
    gestures; an agent whose total is above twice the median of the other agents' totals.
    """
    require_perm(user, VIEW_GESTURE_REPORT)
    if start is None or end is None or start >= end:
        raise ValidationError({"end": [_("The end of the period must come after its start.")]})
    gestures = list(
        Gesture.objects.filter(
            status=GestureStatus.GRANTED, decided_at__gte=start, decided_at__lt=end, case__in=visible_cases(user).values("pk"),
        )
        .select_related("requested_by", "case").order_by("currency", "requested_by_id", "id")
    )
    by_currency: dict[str, list[Gesture]] = {}
    for gesture in gestures:
        by_currency.setdefault(gesture.currency, []).append(gesture)
    lines, thresholds, medians, outliers = [], {}, {}, []
    for currency, rows in by_currency.items():
        threshold = outlier_threshold([g.amount for g in rows], currency)
        thresholds[currency] = threshold
        flagged = [g for g in rows if g.amount > threshold]
        outliers.extend(flagged)
        flagged_ids = {g.pk for g in flagged}
        per_agent: dict[int | None, list[Gesture]] = {}
        for gesture in rows:
            per_agent.setdefault(gesture.requested_by_id, []).append(gesture)
        totals = {agent_id: sum((g.amount for g in mine), Decimal(0)) for agent_id, mine in per_agent.items()}
        median = statistics.median(totals.values())
        medians[currency] = in_minor_units(median, currency)
        for agent_id, mine in per_agent.items():
            lines.append(AgentGestures(
                agent_id=agent_id, agent=_agent_name(mine[0].requested_by), currency=currency, count=len(mine),
                total=in_minor_units(totals[agent_id], currency), average=in_minor_units(totals[agent_id] / len(mine), currency),
                outliers=sum(1 for g in mine if g.pk in flagged_ids),
                above_team_median=totals[agent_id] > 2 * _median_of_others(totals, agent_id),
            ))
    lines.sort(key=lambda line: (line.currency, -line.total, line.agent))
    return GestureReport(start=start, end=end, lines=lines, thresholds=thresholds, medians=medians, outlier_gestures=outliers)


def gesture_report_csv(report: GestureReport, *, french: bool = False) -> str:
    """The report as CSV for a spreadsheet, one line per agent and currency, in the reader's
    spreadsheet dialect (core.csvio.spreadsheet_dialect: byte order mark; comma and amounts
    with a dot, or semicolon and decimal commas for a French reader)."""
    dialect = spreadsheet_dialect("fr" if french else "en")
    out = io.StringIO()
    writer = dialect.writer(out)
    amount = dialect.number

    writer.writerow([
        _("agent"), _("currency"), _("count"), _("total"), _("average"), _("outlier gestures"), _("above twice the other agents' median"),
    ])
    for line in report.lines:
        writer.writerow([
            spreadsheet_safe(line.agent), line.currency, line.count, amount(line.total), amount(line.average), line.outliers,
            _("yes") if line.above_team_median else _("no"),
        ])
    return out.getvalue()
