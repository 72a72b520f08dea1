"""What a customer was already given and what they said: the commercial gestures made to them
and their satisfaction answers, for the 360 page and the case page's sidebar (docs/inbox.md);
and how many of their cases the reader may not open, so that a short list does not read as
the whole story (docs/customer-360.md).

An agent deciding on a gesture sees what the customer already got and a low recent score.
All follow the one visibility rule: only the rows of cases the reader may see
(`visible_cases`); and a fixed number of queries however many rows there are.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Case, Gesture, SatisfactionSurvey
from prevenance.cases.selectors.visibility import VIEW_ALL_CASES, VIEW_CASE, visible_cases
from prevenance.cases.workflow import ACTIVE
from prevenance.core.currencies import in_minor_units
from prevenance.customers.models import Customer

VIEW_GESTURE = "cases.view_gesture"
GESTURES_SHOWN = 10
ANSWERS_SHOWN = 10
# "The last 12 months" of the granted totals: the 365 days before now.
RECENT = dt.timedelta(days=365)
LOW_CSAT = 2  # an answer of 1 or 2 out of 5 is shown as a warning


@dataclass(frozen=True)
class GestureTotals:
    """The customer's gestures the reader may see: how many in all (every status), how many
    wait for approval, and those granted in the last 12 months (by their decision date):
    their number and their total per currency (a currency's decimals, sorted by code)."""

    count: int = 0
    waiting: int = 0
    granted_recently: int = 0
    granted_recent_totals: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerGestures:
    rows: list[Gesture]  # the newest first, at most GESTURES_SHOWN, with case, requester and decider
    totals: GestureTotals

    @property
    def more(self) -> int:
        return self.totals.count - len(self.rows)


@dataclass(frozen=True)
class SurveyAnswers:
    # Answered, the newest answer first, at most ANSWERS_SHOWN, with their case; each marked
    # `low` when its satisfaction is LOW_CSAT or less.
    rows: list[SatisfactionSurvey]
    count: int  # every answered survey the reader may see

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


def _gestures(user, customer) -> QuerySet[Gesture]:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(VIEW_GESTURE):
        return Gesture.objects.none()
    return Gesture.objects.filter(customer_id=customer.pk, case__in=visible_cases(user).values("pk"))


def customer_gesture_totals(user, customer, *, now: dt.datetime | None = None) -> GestureTotals:
    """The figures of GestureTotals in one query (the case page's sidebar)."""
    since = (now or timezone.now()) - RECENT
    recent = Q(status=GestureStatus.GRANTED, decided_at__gte=since)
    rows = (
        _gestures(user, customer).values("currency")
        .annotate(
            count=Count("id"), waiting=Count("id", filter=Q(status=GestureStatus.REQUESTED)),
            granted=Count("id", filter=recent), granted_total=Sum("amount", filter=recent),
        )
        .order_by("currency")
    )
    count = waiting = granted = 0
    totals = {}
    for row in rows:
        count += row["count"]
        waiting += row["waiting"]
        granted += row["granted"]
        if row["granted"]:
            totals[row["currency"]] = in_minor_units(row["granted_total"], row["currency"])
    return GestureTotals(count=count, waiting=waiting, granted_recently=granted, granted_recent_totals=totals)


def customer_gestures(user, customer, *, limit: int = GESTURES_SHOWN, now: dt.datetime | None = None) -> CustomerGestures:
    """The customer's gestures the reader may see, the newest first (the 360 page), with their
    totals: two queries."""
    rows = list(
        _gestures(user, customer).select_related("case", "requested_by", "decided_by").order_by("-created_at", "-id")[:limit]
    )
    return CustomerGestures(rows=rows, totals=customer_gesture_totals(user, customer, now=now))


def _answers(user, customer) -> QuerySet[SatisfactionSurvey]:
    """The customer's answered surveys on cases the reader may see (none without cases.view_case)."""
    return SatisfactionSurvey.objects.filter(
        customer_id=customer.pk, answered_at__isnull=False, case__in=visible_cases(user).values("pk"),
    )


def _marked(answers: list[SatisfactionSurvey]) -> list[SatisfactionSurvey]:
    for answer in answers:
        answer.low = answer.csat is not None and answer.csat <= LOW_CSAT
    return answers


def customer_survey_answers(user, customer, *, limit: int = ANSWERS_SHOWN) -> SurveyAnswers:
    """The customer's satisfaction answers the reader may see, the newest answer first, and how
    many there are: two queries."""
    answers = _answers(user, customer)
    rows = _marked(list(answers.select_related("case").order_by("-answered_at", "-id")[:limit]))
    count = len(rows) if len(rows) < limit else answers.count()
    return SurveyAnswers(rows=rows, count=count)


def last_csat_answer(user, customer) -> SatisfactionSurvey | None:
    """The customer's latest answer with a satisfaction score, on a case the reader may see (one query)."""
    last = _answers(user, customer).filter(csat__isnull=False).select_related("case").order_by("-answered_at", "-id").first()
    return _marked([last])[0] if last is not None else None


@dataclass(frozen=True)
class HiddenCases:
    """The customer's cases the reader may not open (another team's): how many are open and how
    many are resolved or closed, and the names of those cases' teams, sorted. Counts and team
    names only: team names are no customer data (the agent entry and the split already say
    "routed to the Complaints team", cases/views/out_of_sight.py); nothing of the cases."""

    open: int = 0
    finished: int = 0
    open_teams: tuple[str, ...] = ()
    finished_teams: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.open or self.finished)


def hidden_customer_cases(user, customer, *, other_than: Case | None = None) -> HiddenCases:
    """How many of the customer's cases (but `other_than`) `user` may not open: one query;
    none for a reader who sees every case, or no case at all (they are shown no case list)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(VIEW_CASE) or user.has_perm(VIEW_ALL_CASES):
        return HiddenCases()
    cases = Case.objects.filter(customer_id=customer.pk).exclude(
        pk__in=visible_cases(user).filter(customer_id=customer.pk).values("pk")
    )
    if other_than is not None:
        cases = cases.exclude(pk=other_than.pk)
    rows = (
        cases.values("team__name")
        .annotate(open=Count("id", filter=Q(status__in=ACTIVE)), finished=Count("id", filter=~Q(status__in=ACTIVE)))
        .order_by("team__name")
    )
    counts = {"open": 0, "finished": 0}
    teams: dict[str, list[str]] = {"open": [], "finished": []}
    for row in rows:
        for kind in counts:
            if row[kind]:
                counts[kind] += row[kind]
                if row["team__name"]:  # a case in no team is everyone's (visible_cases): never here
                    teams[kind].append(row["team__name"])
    return HiddenCases(
        open=counts["open"], finished=counts["finished"],
        open_teams=tuple(teams["open"]), finished_teams=tuple(teams["finished"]),
    )


@dataclass(frozen=True)
class LastCase:
    reference: str
    created_at: dt.datetime


def last_visible_cases(user, customers) -> dict[int, LastCase]:
    """The newest case `user` may see of each of these customers, by customer id (those with
    none are left out): what the agent entry's search shows to tell namesakes apart. One query,
    none for no customer."""
    ids = {customer.pk for customer in customers}
    if not ids:
        return {}
    newest = visible_cases(user).filter(customer_id=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (
        Customer.objects.filter(pk__in=ids)
        .annotate(last_reference=Subquery(newest.values("reference")[:1]), last_at=Subquery(newest.values("created_at")[:1]))
        .values_list("pk", "last_reference", "last_at")
    )
    return {pk: LastCase(reference, at) for pk, reference, at in rows if reference is not None}
