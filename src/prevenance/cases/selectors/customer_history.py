"""What a customer was already given and what they said: the commercial gestures made to them
and their satisfaction answers, for the 360 page and the case page's sidebar (docs/inbox.md).

An agent deciding on a gesture sees what the customer already got and a low recent score.
Both follow the one visibility rule: only the rows of cases the reader may see
(`visible_cases`); and a fixed number of queries however many rows there are.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Gesture, SatisfactionSurvey
from prevenance.cases.selectors.visibility import visible_cases
from prevenance.core.currencies import in_minor_units

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
