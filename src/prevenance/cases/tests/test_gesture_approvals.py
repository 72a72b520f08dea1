"""The approval queue page: a supervisor grants or refuses gestures above an agent's limit."""

from decimal import Decimal

import pytest
from django.urls import reverse

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Gesture
from prevenance.cases.services import ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import (
    TeamFactory,
    an_approver_who_leaves,
    gesture_waiting_without_limit,
    open_email_case,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("cases:gesture_approvals")


@pytest.fixture
def waiting(agent, supervisor):
    """A 120 EUR refund asked by an agent (limit 50 EUR): it waits for a supervisor."""
    ensure_default_limits()
    TeamFactory(members=[agent, supervisor])
    case = open_email_case("camille@example.com", subject="Canapé taché").case
    return request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)


def decide(gesture) -> str:
    return reverse("cases:gesture_decide", kwargs={"gesture_id": gesture.pk})


def test_the_supervisor_sees_the_gesture_and_grants_it(client, supervisor, waiting):
    assert waiting.status == GestureStatus.REQUESTED
    client.force_login(supervisor)
    page = client.get(QUEUE).content.decode()
    assert waiting.case.reference in page and "Canapé livré taché" in page
    response = client.post(decide(waiting), {"decision": "approve", "reason": ""})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == (GestureStatus.GRANTED, supervisor)
    assert "No gesture is waiting for your decision." in client.get(QUEUE).content.decode()


def test_refusing_needs_a_reason_and_changes_nothing_without_one(client, supervisor, waiting):
    client.force_login(supervisor)
    response = client.post(decide(waiting), {"decision": "refuse", "reason": "  "})
    # Back to the queue's own address (a reload shows the queue, posts nothing), the reason above it.
    assert (response.status_code, response["Location"]) == (302, QUEUE)
    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    messages = page.split('<ul class="messages">')[1].split("</ul>")[0]
    assert 'class="message message-error"' in messages
    assert f"Gesture on case {waiting.case.reference} not decided: " in messages and "reason" in messages.lower()
    assert f'id="gesture-{waiting.pk}"' in page  # still waiting, still offered
    assert '<ul class="messages">' not in client.get(QUEUE).content.decode()  # said once
    waiting.refresh_from_db()
    assert waiting.status == GestureStatus.REQUESTED
    client.post(decide(waiting), {"decision": "refuse", "reason": "Pas de preuve de la tache"})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_reason) == (GestureStatus.REFUSED, "Pas de preuve de la tache")


def test_an_agent_cannot_open_the_queue_nor_decide(client, agent, waiting):
    client.force_login(agent)
    assert client.get(QUEUE).status_code == 403
    assert client.post(decide(waiting), {"decision": "approve"}).status_code == 403
    assert Gesture.objects.get().status == GestureStatus.REQUESTED


def test_a_gesture_above_the_supervisors_own_limit_is_not_theirs_to_decide(client, agent, supervisor, waiting):
    case = waiting.case
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        big = request_gesture(case=case, type="refund", amount=Decimal("5000"), currency="EUR", reason="Cuisine entière", actor=agent)
    client.force_login(supervisor)
    assert "Cuisine entière" not in client.get(QUEUE).content.decode()
    assert client.post(decide(big), {"decision": "approve"}).status_code == 404
    big.refresh_from_db()
    assert big.status == GestureStatus.REQUESTED


def test_the_limits_are_written_as_amounts_everywhere_on_the_page(client, agent, supervisor, waiting):
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        request_gesture(case=waiting.case, type="refund", amount=Decimal("5000"), currency="EUR", reason="Cuisine entière", actor=agent)
    client.force_login(supervisor)
    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The supervisor's own limit (2,000 EUR) above the table, and the highest limit in the
    # "waiting for someone else" table, grouped with two decimals as the gestures' amounts.
    assert page.count("2,000.00 EUR") == 2
    assert "2000.00" not in page and "2000 EUR" not in page


def test_the_menu_counts_the_gestures_waiting_for_the_viewer_in_one_query(client, agent, supervisor, waiting, django_assert_num_queries):
    from prevenance.cases.selectors import approval_queue_count, gesture_approval_queue  # noqa: PLC0415

    case = waiting.case
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        request_gesture(case=case, type="refund", amount=Decimal("5000"), currency="EUR", reason="Cuisine entière", actor=agent)  # beyond 2,000
    request_gesture(case=case, type="voucher", amount=Decimal("30"), currency="EUR", reason="Bon", actor=agent)  # within 50: granted
    request_gesture(case=case, type="refund", amount=Decimal("60"), currency="EUR", reason="Frais de port", actor=agent)
    gesture_waiting_without_limit(case=open_email_case("autre@example.com").case, amount="70", currency="USD", actor=agent)
    assert supervisor.has_perm("cases.approve_gesture")  # the permissions read (once per request, as the menu does)
    with django_assert_num_queries(1):
        count = approval_queue_count(supervisor)
    assert count == gesture_approval_queue(supervisor).count() == 2  # the 120 and the 60 EUR
    assert approval_queue_count(agent) == 0

    client.force_login(supervisor)
    page = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="nav-count" aria-hidden="true">2</span>' in page
    assert "(2 gestures waiting for your decision)" in page
    client.force_login(agent)
    assert "nav-count" not in client.get(reverse("web:home")).content.decode()


def test_the_case_page_links_a_gesture_an_approver_may_not_decide_to_who_can(client, agent, supervisor, waiting):
    # The 120 EUR one the supervisor decides on the case page itself (test_gesture_decide_on_case.py);
    # one above their limit links to its row under "Waiting for someone else".
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        big = request_gesture(case=waiting.case, type="refund", amount=Decimal("5000"), currency="EUR", reason="Cuisine entière", actor=agent)
    link = f'href="{QUEUE}#waiting-{big.pk}"'
    case_page = reverse("cases:case", kwargs={"case_id": waiting.case_id})
    client.force_login(supervisor)
    assert link in client.get(case_page).content.decode()
    assert f'id="waiting-{big.pk}"' in client.get(QUEUE).content.decode()
    client.force_login(agent)
    response = client.get(case_page)
    assert response.status_code == 200 and QUEUE not in response.content.decode()
