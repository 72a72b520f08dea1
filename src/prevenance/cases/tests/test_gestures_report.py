"""The a-posteriori control report of commercial gestures, on a data set worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from prevenance.cases.choices import GestureType
from prevenance.cases.models import DelegationLimit, Gesture
from prevenance.cases.selectors import AgentGestures, gesture_control_report, gesture_report_csv
from prevenance.cases.services import refuse_gesture, request_gesture
from prevenance.cases.tests.factories import open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def trusted_agent(username: str, **names):
    user = UserFactory(username=username, role="agent", **names)
    DelegationLimit.objects.create(user=user, currency="EUR", max_amount=Decimal("1000"))
    DelegationLimit.objects.create(user=user, currency="USD", max_amount=Decimal("1000"))
    return user


def grant(actor, amount: str, currency: str = "EUR") -> Gesture:
    case = open_email_case(f"{actor.username}@example.com").case
    return request_gesture(case=case, type=GestureType.REFUND, amount=amount, currency=currency, reason="Retard", actor=actor)


@pytest.fixture
def period_data(supervisor):
    """EUR in the period: alice 4 × 10, bob 4 × 10, carol 3 × 10 + 130; bob 25 USD.

    EUR: median 10, median absolute deviation 0 (eleven gestures of 10), so the threshold is
    twice the median, 20; 130 is the one outlier. Agents' totals 40, 40, 160: carol's 160 is
    above twice the median of the others' (2 × 40); alice's 40 is not (others 40 and 160).
    """
    alice, bob = trusted_agent("alice"), trusted_agent("bob")
    carol = trusted_agent("carol", first_name="Carol", last_name="Martin")
    for user in (alice, bob, carol):
        for _ in range(3):
            grant(user, "10")
    grant(alice, "10")
    grant(bob, "10")
    outlier = grant(carol, "130")
    grant(bob, "25", "USD")
    # Outside the period, not granted, or still waiting: none of these count.
    Gesture.objects.filter(pk=grant(alice, "500").pk).update(decided_at=timezone.now() - dt.timedelta(days=10))
    refuse_gesture(gesture=grant(UserFactory(username="dan", role="agent"), "60"), actor=supervisor, reason="Non")
    grant(UserFactory(username="eve", role="agent"), "70")
    return {"alice": alice, "bob": bob, "carol": carol, "outlier": outlier}


def this_week():
    now = timezone.now()
    return now - dt.timedelta(days=1), now + dt.timedelta(days=1)


def test_report_figures_per_agent_and_currency(supervisor, period_data):
    start, end = this_week()
    report = gesture_control_report(supervisor, start=start, end=end)
    alice, bob, carol = period_data["alice"], period_data["bob"], period_data["carol"]
    assert report.lines == [
        AgentGestures(carol.pk, "Carol Martin", "EUR", 4, Decimal("160.00"), Decimal("40.00"), 1, True),
        AgentGestures(alice.pk, "alice", "EUR", 4, Decimal("40.00"), Decimal("10.00"), 0, False),
        AgentGestures(bob.pk, "bob", "EUR", 4, Decimal("40.00"), Decimal("10.00"), 0, False),
        AgentGestures(bob.pk, "bob", "USD", 1, Decimal("25.00"), Decimal("25.00"), 0, False),
    ]
    assert report.thresholds == {"EUR": Decimal("20.00"), "USD": Decimal("50.00")}
    assert report.medians == {"EUR": Decimal("40.00"), "USD": Decimal("25.00")}
    assert report.outlier_gestures == [period_data["outlier"]]


def test_report_as_csv(supervisor, period_data):
    start, end = this_week()
    csv_text = gesture_report_csv(gesture_control_report(supervisor, start=start, end=end))
    assert csv_text == (
        "\ufeffagent,currency,count,total,average,outlier gestures,above twice the other agents' median\n"
        "Carol Martin,EUR,4,160.00,40.00,1,yes\n"
        "alice,EUR,4,40.00,10.00,0,no\n"
        "bob,EUR,4,40.00,10.00,0,no\n"
        "bob,USD,1,25.00,25.00,0,no\n"
    )


def test_outliers_are_found_in_a_small_team_and_a_short_period(supervisor):
    # Five gestures and two agents: a mean and a standard deviation could flag neither the
    # big gesture (1,000 is exactly mean + 2 deviations) nor the big spender (twice the median
    # of two totals is their sum).
    small, big = trusted_agent("small"), trusted_agent("big")
    for _ in range(4):
        grant(small, "10")
    outlier = grant(big, "1000")
    start, end = this_week()
    report = gesture_control_report(supervisor, start=start, end=end)
    assert report.outlier_gestures == [outlier]
    assert {line.agent: line.above_team_median for line in report.lines} == {"big": True, "small": False}
    # Amounts spread as usual flag nothing
    Gesture.objects.all().delete()
    for amount in ("20", "30", "40", "50", "60"):
        grant(small, amount)
    assert gesture_control_report(supervisor, start=start, end=end).outlier_gestures == []


def test_a_name_that_looks_like_a_formula_is_written_as_text(supervisor):
    grant(trusted_agent("mallory", first_name="=HYPERLINK(1)", last_name=""), "10")
    start, end = this_week()
    csv_text = gesture_report_csv(gesture_control_report(supervisor, start=start, end=end))
    assert csv_text.splitlines()[1] == "'=HYPERLINK(1),EUR,1,10.00,10.00,0,no"


def test_a_french_reader_gets_semicolons_and_decimal_commas(supervisor, period_data):
    start, end = this_week()
    csv_text = gesture_report_csv(gesture_control_report(supervisor, start=start, end=end), french=True)
    assert csv_text.startswith("\ufeff")  # so that Excel reads the accents as UTF-8
    assert csv_text.splitlines()[1] == "Carol Martin;EUR;4;160,00;40,00;1;yes"


def test_an_empty_period_gives_an_empty_report(supervisor, period_data):
    start = timezone.now() + dt.timedelta(days=5)
    report = gesture_control_report(supervisor, start=start, end=start + dt.timedelta(days=7))
    assert (report.lines, report.thresholds, report.outlier_gestures) == ([], {}, [])
    assert gesture_report_csv(report).count("\n") == 1


def test_only_supervisors_and_admins_see_the_report(agent, marketer, admin_user):
    start, end = this_week()
    for user in (agent, marketer):
        with pytest.raises(PermissionDenied):
            gesture_control_report(user, start=start, end=end)
    assert gesture_control_report(admin_user, start=start, end=end).lines == []


def test_a_period_that_ends_before_it_starts_is_refused(supervisor):
    start, end = this_week()
    with pytest.raises(ValidationError) as refused:
        gesture_control_report(supervisor, start=end, end=start)
    assert refused.value.message_dict == {"end": ["The end of the period must come after its start."]}
