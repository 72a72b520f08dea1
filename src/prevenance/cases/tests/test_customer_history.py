"""What a customer was already given and what they said (cases/selectors/customer_history.py),
and the line the case page's sidebar shows of it next to the gesture form."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, GestureStatus
from prevenance.cases.models import Case, DelegationLimit, Gesture
from prevenance.cases.selectors.customer_history import (
    GestureTotals,
    HiddenCases,
    customer_gesture_totals,
    customer_gestures,
    customer_survey_answers,
    hidden_customer_cases,
    last_csat_answer,
)
from prevenance.cases.services import assign_case, refuse_gesture, request_gesture
from prevenance.cases.tests.factories import TeamFactory, answered_survey, open_email_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(agent, supervisor):
    """Two cases of one customer in the agent's team, and one of theirs in another team."""
    ours = TeamFactory(members=[agent])
    first = assign_case(case=open_email_case("lea@example.com", subject="Colis abîmé").case, team=ours, actor=supervisor)
    second = assign_case(case=open_email_case("lea@example.com", subject="Retard").case, team=ours, actor=supervisor)
    hidden = assign_case(case=open_email_case("lea@example.com", subject="Litige").case, team=TeamFactory(), actor=supervisor)
    assert first.customer_id == second.customer_id == hidden.customer_id
    return {"first": first, "second": second, "hidden": hidden, "customer": first.customer}


def gesture(case, actor, amount, *, currency="EUR", type="refund", days_ago=0):  # noqa: A002
    made = request_gesture(case=case, type=type, amount=amount, currency=currency, reason="Colis abîmé", actor=actor)
    if days_ago:
        when = timezone.now() - timedelta(days=days_ago)
        Gesture.objects.filter(pk=made.pk).update(created_at=when, decided_at=when)
    return made


def test_the_gestures_come_newest_first_with_what_was_granted_in_the_last_12_months(agent, supervisor, cases):
    DelegationLimit.objects.create(group=Group.objects.get(name="agent"), currency="USD", max_amount=Decimal("100"))
    old = gesture(cases["second"], agent, "40", days_ago=400)  # granted, but more than a year ago
    refund = gesture(cases["first"], agent, "20")
    voucher = gesture(cases["first"], agent, "30", type="voucher")
    waiting = gesture(cases["first"], agent, "100")  # beyond the agent's limit on the case: waits
    dollars = gesture(cases["second"], agent, "15.5", currency="USD")
    refused = refuse_gesture(gesture=gesture(cases["second"], agent, "45"), actor=supervisor, reason="Déjà dédommagée")
    assert [g.status for g in (old, refund, voucher, waiting, dollars)] == ["granted", "granted", "granted", "requested", "granted"]
    assert refused.status == GestureStatus.REFUSED

    shown = customer_gestures(agent, cases["customer"])

    assert shown.rows == [refused, dollars, waiting, voucher, refund, old]
    assert shown.rows[3].voucher_code and shown.rows[3].decided_by == agent
    assert shown.totals == GestureTotals(
        count=6, waiting=1, granted_recently=3, granted_recent_totals={"EUR": Decimal("50.00"), "USD": Decimal("15.50")},
    )
    assert shown.more == 0


def test_gestures_and_answers_of_a_case_the_reader_may_not_see_are_left_out(agent, supervisor, cases):
    mine = gesture(cases["first"], agent, "20")
    theirs = gesture(cases["hidden"], supervisor, "500")
    answer = answered_survey(cases["first"], csat=4)
    hidden_answer = answered_survey(cases["hidden"], csat=1, comment="Jamais plus")

    assert customer_gestures(agent, cases["customer"]).rows == [mine]
    assert customer_gesture_totals(agent, cases["customer"]) == GestureTotals(
        count=1, granted_recently=1, granted_recent_totals={"EUR": Decimal("20.00")},
    )
    assert customer_survey_answers(agent, cases["customer"]).rows == [answer]
    assert last_csat_answer(agent, cases["customer"]) == answer
    # A supervisor sees every case: theirs too.
    assert customer_gestures(supervisor, cases["customer"]).rows == [theirs, mine]
    assert customer_gesture_totals(supervisor, cases["customer"]).granted_recent_totals == {"EUR": Decimal("520.00")}
    assert last_csat_answer(supervisor, cases["customer"]) == hidden_answer


def test_no_gesture_for_a_reader_without_the_permission_to_see_gestures(marketer, agent, cases):
    gesture(cases["first"], agent, "20")
    assert customer_gestures(marketer, cases["customer"]).rows == []
    assert customer_gesture_totals(marketer, cases["customer"]) == GestureTotals()


@pytest.mark.parametrize("rows", [1, 12])
def test_two_queries_each_however_many_gestures_and_answers(
    agent, supervisor, cases, django_assert_num_queries, django_assert_max_num_queries, rows,
):
    for _ in range(rows):
        gesture(cases["first"], supervisor, "10")
        answered_survey(cases["first"], csat=3)
    agent.has_perm("cases.view_gesture")  # the user's permissions, read once per request
    with django_assert_num_queries(2):
        shown = customer_gestures(agent, cases["customer"])
    with django_assert_max_num_queries(2):  # no count when fewer than shown
        answers = customer_survey_answers(agent, cases["customer"])
    with django_assert_num_queries(0):  # the related rows the pages show come with them
        [(g.case.reference, g.requested_by, g.decided_by) for g in shown.rows]
        [a.case.reference for a in answers.rows]
    assert (len(shown.rows), shown.totals.count) == (min(rows, 10), rows)
    assert (len(answers.rows), answers.count, answers.more) == (min(rows, 10), rows, max(rows - 10, 0))


def test_the_answers_come_newest_first_and_low_scores_are_marked(agent, cases):
    now = timezone.now()
    older = answered_survey(cases["first"], csat=5, ces=7, at=now - timedelta(days=30))
    comment_only = answered_survey(cases["second"], csat=None, comment="Rien à ajouter", at=now - timedelta(days=2))
    newest = answered_survey(cases["second"], csat=2, ces=3, comment="Trop long", at=now - timedelta(days=1))
    answered_survey(cases["first"], csat=None, at=now)  # sent, never answered

    answers = customer_survey_answers(agent, cases["customer"])

    assert answers.rows == [newest, comment_only, older] and answers.count == 3
    assert [answer.low for answer in answers.rows] == [True, False, False]
    last = last_csat_answer(agent, cases["customer"])
    assert last == newest and last.low


def test_the_case_sidebar_shows_the_gestures_of_the_last_12_months_and_the_last_satisfaction_answer(client, agent, cases):
    gesture(cases["second"], agent, "20")
    gesture(cases["second"], agent, "30")
    gesture(cases["second"], agent, "40", days_ago=400)
    answered_survey(cases["second"], csat=2, comment="Toujours pas remboursée")
    client.force_login(agent)

    english = client.get(reverse("cases:case", args=[cases["first"].pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    french = client.get(reverse("cases:case", args=[cases["first"].pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "Gestures granted in the last 12 months: 2 (total 50.00 EUR)" in english
    assert "(total 50,00 EUR)" in french
    assert "Last satisfaction answer:" in english
    assert 'class="pill pill-score-low" title="Low satisfaction">⚠ 2/5' in english
    assert "Toujours pas remboursée" in english


def test_the_case_sidebar_says_when_nothing_was_granted_and_leaves_out_what_the_agent_may_not_see(client, agent, supervisor, cases):
    gesture(cases["hidden"], supervisor, "500")
    answered_survey(cases["hidden"], csat=1)
    client.force_login(agent)
    page = client.get(reverse("cases:case", args=[cases["first"].pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No gesture granted in the last 12 months." in page
    assert "500" not in page and "Last satisfaction answer" not in page


def test_a_gesture_granted_from_the_case_page_shows_at_once_in_the_sidebar_line(client, agent, cases):
    gesture(cases["second"], agent, "20")
    client.force_login(agent)
    form = {"gesture-type": "refund", "gesture-amount": "12,50", "gesture-currency": "EUR", "gesture-reason": "Retard"}
    answer = client.post(reverse("cases:case_gesture", args=[cases["first"].pk]), form, HTTP_HX_REQUEST="true",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200
    # The sidebar comes out of band with the main column.
    assert "Gestures granted in the last 12 months: 2 (total 32.50 EUR)" in answer.content.decode()


def test_the_cases_of_other_teams_are_counted_open_and_finished_with_their_teams_names(agent, supervisor, cases, django_assert_num_queries):
    complaints = TeamFactory(name="Réclamations")
    billing = TeamFactory(name="Facturation")
    customer = cases["customer"]
    cases["hidden"].team.name = "Litiges"
    cases["hidden"].team.save(update_fields=["name"])
    open_complaint = assign_case(case=open_email_case("lea@example.com", subject="Meuble rayé").case, team=complaints, actor=supervisor)
    closed_complaint = assign_case(case=open_email_case("lea@example.com", subject="Ancien litige").case, team=complaints, actor=supervisor)
    resolved_bill = assign_case(case=open_email_case("lea@example.com", subject="Facture").case, team=billing, actor=supervisor)
    Case.objects.filter(pk=closed_complaint.pk).update(status=CaseStatus.CLOSED)
    Case.objects.filter(pk=resolved_bill.pk).update(status=CaseStatus.RESOLVED)
    Case.objects.filter(pk=cases["second"].pk).update(status=CaseStatus.CLOSED)  # the agent's team's: not counted
    assign_case(case=open_email_case("paul@example.com").case, team=complaints, actor=supervisor)  # another customer's
    assert open_complaint.customer_id == customer.pk
    agent.has_perm("cases.view_case")  # the user's permissions, read once per request

    with django_assert_num_queries(1):
        hidden = hidden_customer_cases(agent, customer)

    assert hidden == HiddenCases(open=2, finished=2, open_teams=("Litiges", "Réclamations"), finished_teams=("Facturation", "Réclamations"))
    assert hidden_customer_cases(agent, customer, other_than=open_complaint) == HiddenCases(
        open=1, finished=2, open_teams=("Litiges",), finished_teams=("Facturation", "Réclamations"),
    )


def test_nothing_is_hidden_from_who_sees_every_case_or_an_assignee_and_no_query_for_who_sees_all(
    agent, supervisor, marketer, cases, django_assert_num_queries,
):
    supervisor.has_perm("cases.view_case")
    marketer.has_perm("cases.view_case")
    with django_assert_num_queries(0):
        assert hidden_customer_cases(supervisor, cases["customer"]) == HiddenCases()
        assert not hidden_customer_cases(marketer, cases["customer"])  # no case list at all
    assert hidden_customer_cases(agent, cases["customer"]).open == 1
    # Assigned to the agent, the other team's case is theirs to open.
    Case.objects.filter(pk=cases["hidden"].pk).update(assignee=agent)
    assert hidden_customer_cases(agent, cases["customer"]) == HiddenCases()
