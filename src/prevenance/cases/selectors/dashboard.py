"""The supervisor dashboard's figures (docs/dashboard.md gives each definition and why).

Every figure starts from `visible_cases(user)`, leaves merged cases out (a merged case is a
duplicate of its survivor, counting it would count one request twice) and cases closed as spam
(nobody's request: services/spam.py), and is computed by
the database: counts and sums are one aggregate query per panel, percentiles a count plus
one numbered sort that returns two rows; the number of queries never depends on the data.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import NotSupportedError
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Greatest, RowNumber
from django.db.models.lookups import IsNull, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases.choices import (
    AUTOMATIC_TIMELINE_PREFIX,
    CaseStatus,
    GestureStatus,
    GestureType,
    MessageKind,
)
from prevenance.cases.models import Case, ChannelCost, Gesture, Message, Team
from prevenance.cases.selectors.satisfaction import GROUPS as SATISFACTION_GROUPS
from prevenance.cases.selectors.satisfaction import SatisfactionSummary, satisfaction_summary
from prevenance.cases.selectors.visibility import VIEW_ALL_CASES, visible_cases
from prevenance.core.choices import Channel
from prevenance.core.currencies import in_minor_units
from prevenance.interactions.choices import Direction
from prevenance.interactions.models import Interaction

VIEW_DASHBOARD = VIEW_ALL_CASES
VIEW_INTERACTION = "interactions.view_interaction"
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER, CaseStatus.PENDING_INTERNAL)
# Backlog age buckets: (key, lower bound in days included, upper bound in days excluded).
AGE_BUCKETS = (("lt1", 0, 1), ("1to3", 1, 3), ("3to7", 3, 7), ("7to30", 7, 30), ("gt30", 30, None))


def _age_labels() -> dict[str, str]:
    return {
        "lt1": _("less than 1 day"),
        "1to3": _("1 to 3 days"),
        "3to7": _("3 to 7 days"),
        "7to30": _("7 to 30 days"),
        "gt30": _("30 days or more"),
    }


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with the team and origin channel the figures are restricted to."""

    start: datetime
    end: datetime
    team: Team | None = None
    channel: str = ""

    def __post_init__(self) -> None:
        if self.start is None or self.end is None or self.start >= self.end:
            raise ValidationError({"end": [_("The end of the period must come after its start.")]})
        if self.channel and self.channel not in Channel.values:
            raise ValidationError({"channel": [_("Unknown channel: %(channel)s.") % {"channel": self.channel}]})


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class TimeFigure:
    """Median and 90th percentile (nearest rank) of a duration over `count` cases."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Share:
    """`part` out of `total`; `rate` is None when there is nothing to divide by."""

    part: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.part / self.total if self.total else None


@dataclass(frozen=True)
class Resolution:
    resolved: int
    once_and_done: Share
    reopened: Share


@dataclass(frozen=True)
class GestureLine:
    key: str  # the gesture type, or "" for the currency totals
    label: str
    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Gestures:
    count: int
    by_currency: list[GestureLine]
    by_type: list[GestureLine]


@dataclass(frozen=True)
class ChannelContacts:
    channel: str
    label: str
    cases: int  # cases opened in the period on this origin channel
    contacts: int  # inbound interactions (customer-initiated touchpoints) in the period
    unit_cost: Decimal | None  # None: no cost set for this channel
    currency: str
    cost: Decimal | None


@dataclass(frozen=True)
class Contacts:
    lines: list[ChannelContacts]
    totals: dict[str, Decimal]  # estimated cost per currency (never added across currencies)
    uncosted_contacts: int  # contacts on channels with no unit cost


@dataclass(frozen=True)
class Dashboard:
    period: Period
    now: datetime
    backlog_by_age: list[Bucket]
    backlog_by_status: list[Bucket]
    first_response: TimeFigure
    resolution_time: TimeFigure
    sla_first_response: Share
    sla_resolution: Share
    resolution: Resolution
    gestures: Gestures
    contacts: Contacts | None  # None when the user may not see interactions
    # CSAT and CES from the surveys' own selector, over the visible cases answered in the
    # period, in the team and channel chosen, grouped as `satisfaction_by` says.
    satisfaction: SatisfactionSummary
    satisfaction_by: str


def dashboard_scope(user, period: Period) -> QuerySet[Case]:
    """The cases the dashboard counts: visible to the user, not merged away, not spam, in the filters."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(VIEW_DASHBOARD):
        raise PermissionDenied
    cases = visible_cases(user).filter(merged_into__isnull=True, spam=False)
    if period.team is not None:
        cases = cases.filter(team=period.team)
    if period.channel:
        cases = cases.filter(channel=period.channel)
    return cases.order_by()


def backlog_by_age(cases: QuerySet[Case], *, now: datetime) -> list[Bucket]:
    """Open cases now (new, open or waiting), by time since they were opened."""
    aggregates = {}
    for key, low, high in AGE_BUCKETS:
        in_bucket = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            in_bucket &= Q(created_at__gt=now - timedelta(days=high))
        aggregates[key] = Count("pk", filter=in_bucket)
    counts = cases.filter(status__in=OPEN_STATUSES).aggregate(**aggregates)
    labels = _age_labels()
    return [Bucket(key, labels[key], counts[key]) for key, _low, _high in AGE_BUCKETS]


def backlog_by_status(cases: QuerySet[Case]) -> list[Bucket]:
    rows = dict(cases.filter(status__in=OPEN_STATUSES).values("status").annotate(n=Count("pk")).values_list("status", "n"))
    return [Bucket(status, CaseStatus(status).label, rows.get(status, 0)) for status in OPEN_STATUSES]


def _rank(count: int, percent: int) -> int:
    """The nearest-rank position (1-based) of a percentile; integers only, so 90 % of 10 is 9, not 10."""
    return max(1, (percent * count + 99) // 100)


class ElapsedSeconds(Func):
    """Whole seconds from the second expression to the first, rounded, in the database.

    Django's generic datetime subtraction calls a Python function per row on SQLite; the
    databases' own date arithmetic is many times faster on a year of cases, and rounding to
    the second makes both give the same number.
    """

    arity = 2
    output_field = IntegerField()

    def _operands(self, compiler):
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return end_sql, start_sql, (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra):
        end, start, params = self._operands(compiler)
        return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)", params

    def as_postgresql(self, compiler, connection, **extra):
        end, start, params = self._operands(compiler)
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))) AS BIGINT)", params

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"ElapsedSeconds is written for SQLite and PostgreSQL, not {connection.vendor}.")


def duration_percentiles(cases: QuerySet[Case], *, end_field: str, start_field: str = "created_at") -> TimeFigure:
    """Median and p90 of `end_field - start_field`, by the nearest-rank method.

    One statement: the database computes the durations, numbers them in order (ROW_NUMBER),
    counts them (COUNT(*) OVER ()) and returns the rows at the two ranks (`_rank`'s integer
    arithmetic, written in SQL). Counting in the same statement as the ranking reads one
    population, even while customers' replies reopen cases. SQLite has no percentile
    function and PostgreSQL's percentile_cont interpolates, so ranks are picked the same way
    on both and give the same answer.
    """
    rows = cases.filter(**{f"{end_field}__isnull": False}).annotate(elapsed=ElapsedSeconds(F(end_field), F(start_field)))
    numbered = rows.annotate(
        position=Window(RowNumber(), order_by=[F("elapsed").asc(), F("pk").asc()]),
        total=Window(Count("pk")),
    )
    picked = list(numbered.filter(Q(position=_rank_sql(50)) | Q(position=_rank_sql(90))).values_list("position", "elapsed", "total"))
    if not picked:
        return TimeFigure(0, None, None)
    count = picked[0][2]
    by_position = {position: elapsed for position, elapsed, _total in picked}
    return TimeFigure(count, timedelta(seconds=by_position[_rank(count, 50)]), timedelta(seconds=by_position[_rank(count, 90)]))


def _rank_sql(percent: int):
    """`_rank` as an expression over the window's `total`: integer division on both databases."""
    return Greatest(Value(1), (F("total") * percent + 99) / 100)


def _answered(period: Period) -> Q:
    return Q(first_response_at__gte=period.start, first_response_at__lt=period.end)


def _resolved(period: Period) -> Q:
    return Q(resolved_at__gte=period.start, resolved_at__lt=period.end)


def first_response_times(cases: QuerySet[Case], period: Period) -> TimeFigure:
    """From opening to the first reply to the customer, over the cases first answered in the period."""
    return duration_percentiles(cases.filter(_answered(period)), end_field="first_response_at")


def resolution_times(cases: QuerySet[Case], period: Period) -> TimeFigure:
    """From opening to resolution (elapsed time, pauses included), over the cases resolved in the period."""
    return duration_percentiles(cases.filter(_resolved(period)), end_field="resolved_at")


def _settled_at(done_field: str):
    """When the clock of `done_field` stopped. A case resolved or closed before anyone replied
    (settled on the phone, spam closed) needed no first reply: its resolution stops the
    first-response clock too, as in the helpdesks supervisors compare with."""
    if done_field == "first_response_at":
        return Coalesce("first_response_at", "resolved_at", "closed_at")
    return F(done_field)


def _sla_counts(prefix: str, period: Period, *, done_field: str, due_field: str, now: datetime) -> dict[str, Count]:
    """Two conditional counts for `sla_compliance`: the cases decided, and those on time."""
    settled_at = _settled_at(done_field)
    done = Q(IsNull(settled_at, False))
    overdue = Q(**{f"{due_field}__lte": now})
    if due_field == "resolution_due_at":
        # A waiting case's due time moves when its clock restarts, by the time it waited: one
        # not due when the wait began is undecided; one already late stays late.
        overdue &= Q(sla_paused_at__isnull=True) | Q(**{f"{due_field}__lte": F("sla_paused_at")})
    decided = Q(**{f"{due_field}__gte": period.start, f"{due_field}__lt": period.end}) & (done | overdue)
    if due_field == "resolution_due_at":
        # Closed without ever being resolved (spam, a duplicate): nothing was to be resolved.
        # (resolved_at is cleared by a reopening; first_resolved_at is not.)
        decided &= ~Q(first_resolved_at__isnull=True, closed_at__isnull=False)
    on_time = decided & done & Q(LessThanOrEqual(settled_at, F(due_field)))
    return {f"{prefix}_total": Count("pk", filter=decided), f"{prefix}_met": Count("pk", filter=on_time)}


def sla_compliance(cases: QuerySet[Case], period: Period, *, done_field: str, due_field: str, now: datetime) -> Share:
    """Among the cases whose due time falls in the period and whose outcome is known (done, or
    the due time has passed), the share done on time. A case not done yet and not overdue is
    left out: it may still make it. For resolution, a case whose clock is paused (waiting for
    the customer) is not overdue either: its due time moves when the clock restarts."""
    counts = cases.aggregate(**_sla_counts("sla", period, done_field=done_field, due_field=due_field, now=now))
    return Share(counts["sla_met"], counts["sla_total"])


def second_agent_reply() -> Exists:
    """Whether an agent wrote more than one reply on the case (outbound messages with an
    author: the acknowledgement of receipt and other automatic messages have none). Looking
    for a second row (OFFSET 1) stops early instead of counting every reply."""
    replies = Message.objects.filter(case=OuterRef("pk"), kind=MessageKind.OUTBOUND, author__isnull=False)
    return Exists(replies[1:2])


def resolution_quality(cases: QuerySet[Case], period: Period) -> Resolution:
    """First-contact resolution ("once and done") and reopen rate over the cases first resolved
    in the period (`first_resolved_at`: a case reopened since, resolved again or not, stays
    in its period; counted by its last resolution it would leave the figures exactly when it
    is reopened).

    Reopened: reopened at least once (`reopen_count`), or followed by a new case linked to it
    because the customer came back after the reopen window (`reopened_from`). Once and done:
    resolved, never reopened in either way, with at most one reply written by an agent.
    """
    followed_up = Exists(Case.objects.filter(reopened_from=OuterRef("pk")))
    resolved = cases.filter(first_resolved_at__gte=period.start, first_resolved_at__lt=period.end).annotate(
        several_replies=second_agent_reply(), followed_up=followed_up
    )
    reopened = Q(reopen_count__gt=0) | Q(followed_up=True)
    counts = resolved.aggregate(
        total=Count("pk"),
        reopened=Count("pk", filter=reopened),
        once=Count("pk", filter=~reopened & Q(several_replies=False)),
    )
    return Resolution(
        resolved=counts["total"],
        once_and_done=Share(counts["once"], counts["total"]),
        reopened=Share(counts["reopened"], counts["total"]),
    )


def _money(value, currency: str) -> Decimal:
    # SQLite's SUM gives back Decimal("50") for 50.00, PostgreSQL 50.000 from the column of 3
    # decimals: given the currency's decimals so both databases say the same.
    return in_minor_units(value, currency)


def granted_gestures(cases: QuerySet[Case], period: Period) -> Gestures:
    """Gestures granted (decided) in the period on the dashboard's cases: totals per currency and per type."""
    gestures = Gesture.objects.filter(
        status=GestureStatus.GRANTED, decided_at__gte=period.start, decided_at__lt=period.end, case__in=cases.values("pk")
    ).order_by()
    per_type = gestures.values("type", "currency").annotate(n=Count("pk"), total=Sum("amount")).order_by("currency", "type")
    by_type = [
        GestureLine(row["type"], GestureType(row["type"]).label, row["currency"], row["n"], _money(row["total"], row["currency"])) for row in per_type
    ]
    # The currency totals add up the type lines (a handful of rows) instead of a second query.
    counts, totals = defaultdict(int), defaultdict(Decimal)
    for line in by_type:
        counts[line.currency] += line.count
        totals[line.currency] += line.total
    by_currency = [GestureLine("", currency, currency, counts[currency], totals[currency]) for currency in sorted(counts)]
    return Gestures(count=sum(counts.values()), by_currency=by_currency, by_type=by_type)


def contacts_by_channel(user, cases: QuerySet[Case], period: Period) -> Contacts | None:
    """Cases opened and inbound contacts per channel in the period, with their estimated cost.

    A contact is an inbound interaction: every touchpoint the customer started (a message on
    a case, but also a chatbot session, a forum post or a store visit that never became a
    case), but for automatic emails (out-of-office replies, bounces). With a team chosen, only the contacts on that team's cases count, since other
    touchpoints belong to no team. Cost = contacts x the channel's unit cost (ChannelCost).
    """
    if not user.has_perm(VIEW_INTERACTION):
        return None
    opened = dict(
        cases.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("channel").annotate(n=Count("pk")).values_list("channel", "n")
    )
    interactions = (
        Interaction.objects.filter(direction=Direction.INBOUND, occurred_at__gte=period.start, occurred_at__lt=period.end)
        # An out-of-office reply or a bounce is no contact: nobody asked anything.
        .exclude(pk__in=Message.objects.filter(automatic__gt="", interaction__isnull=False).values("interaction_id"))
        .exclude(external_id__startswith=AUTOMATIC_TIMELINE_PREFIX)
        # Nor a spammer's messages (on the few cases closed as spam: case_spam_idx).
        .exclude(ref_type="cases.case", ref_id__in=Case.objects.filter(spam=True).annotate(ref=Cast("pk", CharField())).values("ref"))
    )
    if period.channel:
        interactions = interactions.filter(channel=period.channel)
    if period.team is not None:
        # The team's cases whatever channel they were opened by: a call about an email case
        # is a phone contact of the team.
        team_cases = dashboard_scope(user, replace(period, channel="")) if period.channel else cases
        case_ids = team_cases.annotate(ref=Cast("pk", CharField())).values("ref")
        interactions = interactions.filter(ref_type="cases.case", ref_id__in=case_ids)
    contacts = dict(interactions.order_by().values("channel").annotate(n=Count("pk")).values_list("channel", "n"))
    costs = {row.channel: row for row in ChannelCost.objects.all()}
    lines, totals, uncosted = [], defaultdict(Decimal), 0
    for channel in sorted(set(opened) | set(contacts)):
        cost_row = costs.get(channel)
        n = contacts.get(channel, 0)
        cost = in_minor_units(cost_row.unit_cost * n, cost_row.currency) if cost_row else None
        if cost_row:
            totals[cost_row.currency] += cost
        else:
            uncosted += n
        lines.append(ChannelContacts(
            channel=channel, label=Channel(channel).label if channel in Channel.values else channel,
            cases=opened.get(channel, 0), contacts=n, unit_cost=cost_row.unit_cost if cost_row else None,
            currency=cost_row.currency if cost_row else "", cost=cost,
        ))
    # The costliest channels first, as the seeds rank them; uncosted ones last, by volume.
    lines.sort(key=lambda line: (line.cost is None, -(line.cost or 0), -line.contacts, line.channel))
    return Contacts(lines=lines, totals=dict(sorted(totals.items())), uncosted_contacts=uncosted)


def case_dashboard(user, period: Period, *, now: datetime | None = None, satisfaction_by: str = "channel") -> Dashboard:
    """Every figure of the supervisor dashboard for the period and filters (needs cases.view_all_cases);
    satisfaction is grouped by "channel", "team" or "agent"."""
    if satisfaction_by not in SATISFACTION_GROUPS:
        raise ValidationError({"satisfaction_by": [_("Group by one of: %(groups)s.") % {"groups": ", ".join(SATISFACTION_GROUPS)}]})
    now = now or timezone.now()
    cases = dashboard_scope(user, period)
    # One pass over the cases for the counts that have no index to use (the SLA shares),
    # instead of one full scan for each.
    counts = cases.aggregate(
        **_sla_counts("first", period, done_field="first_response_at", due_field="first_response_due_at", now=now),
        **_sla_counts("resolution", period, done_field="resolved_at", due_field="resolution_due_at", now=now),
    )
    return Dashboard(
        period=period,
        now=now,
        backlog_by_age=backlog_by_age(cases, now=now),
        backlog_by_status=backlog_by_status(cases),
        first_response=first_response_times(cases, period),
        resolution_time=resolution_times(cases, period),
        sla_first_response=Share(counts["first_met"], counts["first_total"]),
        sla_resolution=Share(counts["resolution_met"], counts["resolution_total"]),
        resolution=resolution_quality(cases, period),
        gestures=granted_gestures(cases, period),
        contacts=contacts_by_channel(user, cases, period),
        satisfaction=satisfaction_summary(
            user, start=period.start, end=period.end, group_by=satisfaction_by,
            team_id=period.team.pk if period.team else None, channel=period.channel,
        ),
        satisfaction_by=satisfaction_by,
    )
