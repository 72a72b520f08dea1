"""A supervisor approves or refuses a waiting gesture from the case page itself: the buttons
follow the services' own rule (services.gestures.may_decide), the decision goes through the
approvals page's `decide` and comes back to the case with a message."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import DelegationLimit, Gesture
from prevenance.cases.selectors import delegation_limits, granted_on_case
from prevenance.cases.services import (
    approve_gesture,
    ensure_default_limits,
    refuse_gesture,
    request_gesture,
)
from prevenance.cases.services.gestures import may_decide
from prevenance.cases.tests.factories import TeamFactory, an_approver_who_leaves, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("cases:gesture_approvals")


@pytest.fixture
def waiting(agent, supervisor):
    """A 120 EUR refund asked by an agent (limit 50 EUR): it waits for a supervisor (2,000 EUR)."""
    ensure_default_limits()
    TeamFactory(members=[agent, supervisor])
    case = open_email_case("camille@example.com", subject="Canapé taché").case
    return request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)


def own_waiting(supervisor, case) -> Gesture:
    """A gesture the supervisor asked for above their 2,000 EUR, then given 3,000 EUR of their
    own: only the rule against deciding on one's own request keeps them from granting it."""
    gesture = request_gesture(case=case, type="refund", amount="2500", currency="EUR", reason="Le sien", actor=supervisor)
    DelegationLimit.objects.create(user=supervisor, currency="EUR", max_amount=Decimal("3000"))
    return gesture


def case_url(gesture) -> str:
    return reverse("cases:case", kwargs={"case_id": gesture.case_id})


def decide_url(gesture) -> str:
    return reverse("cases:gesture_decide", kwargs={"gesture_id": gesture.pk})


def back_here(gesture) -> str:
    return case_url(gesture) + "#gestures"


def page_of(client, gesture) -> str:
    response = client.get(case_url(gesture), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def form_of(page: str, gesture) -> str:
    """The decision form of `gesture` on the case page, "" when there is none."""
    start = page.find(f'id="decide-gesture-{gesture.pk}"')
    return "" if start < 0 else page[page.rindex("<form", 0, start):page.index("</form>", start)]


def messages_of(page: str) -> str:
    return page.split('<ul class="messages">')[1].split("</ul>")[0] if '<ul class="messages">' in page else ""


def test_a_supervisor_whose_limit_covers_it_sees_approve_and_refuse_on_the_case_page(client, supervisor, waiting):
    client.force_login(supervisor)
    form = form_of(page_of(client, waiting), waiting)
    assert f'action="{decide_url(waiting)}"' in form
    assert f'name="next" value="{back_here(waiting)}"' in form
    assert 'value="approve"' in form and ">Grant</button>" in form
    assert 'value="refuse"' in form and ">Refuse</button>" in form
    assert "maxlength=\"2000\">" in form  # not required: the comment is optional to approve; the service asks for a refusal's reason


def test_who_may_not_decide_sees_no_buttons(client, agent, supervisor, waiting):
    # The agent: no form, no link to a page they cannot open.
    client.force_login(agent)
    page = page_of(client, waiting)
    assert form_of(page, waiting) == "" and QUEUE not in page and 'pill-gesture-requested">Waiting for approval<' in page
    # The requester, even a supervisor, cannot decide on their own gesture: the waiting state and the link.
    own = own_waiting(supervisor, waiting.case)
    # Above the supervisor's limit: someone else's to decide.
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        big = request_gesture(case=waiting.case, type="refund", amount="5000", currency="EUR", reason="Cuisine", actor=agent)
    client.force_login(supervisor)
    page = page_of(client, waiting)
    assert form_of(page, waiting) != ""
    for gesture in (own, big):
        assert form_of(page, gesture) == ""
        assert f'href="{QUEUE}#waiting-{gesture.pk}"' in page
    assert f'id="waiting-{own.pk}"' in client.get(QUEUE).content.decode()  # where the link leads: who can decide


def test_above_the_limit_with_what_the_case_already_got_only_refuse_is_offered(client, agent, supervisor):
    ensure_default_limits()
    case = open_email_case("helene@example.com").case
    first = request_gesture(case=case, type="refund", amount="1500", currency="EUR", reason="Canapé", actor=agent)
    # Both waiting before the first was granted: asked for after it, the second would be refused.
    second = request_gesture(case=case, type="refund", amount="1500", currency="EUR", reason="Encore", actor=agent)
    approve_gesture(gesture=first, actor=UserFactory(username="claire", role="supervisor"))
    client.force_login(supervisor)
    form = form_of(page_of(client, second), second)
    assert 'value="refuse"' in form and 'value="approve"' not in form
    assert "maxlength=\"2000\" required>" in form  # a refusal alone: its reason is asked for in the browser too
    assert "you may refuse it, not grant it" in form
    # Posting "approve" anyway: the service refuses it, the case page says why.
    response = client.post(decide_url(second), {"decision": "approve", "next": back_here(second)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Location"] == back_here(second)
    assert "already granted on this case" in messages_of(page_of(client, second))
    second.refresh_from_db()
    assert second.status == GestureStatus.REQUESTED


def test_approving_from_the_case_page_comes_back_to_it_with_the_new_state(client, supervisor, waiting):
    client.force_login(supervisor)
    response = client.post(decide_url(waiting), {"decision": "approve", "reason": "Client fidèle", "next": back_here(waiting)})
    assert (response.status_code, response["Location"]) == (302, back_here(waiting))
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.decision_reason) == (GestureStatus.GRANTED, supervisor, "Client fidèle")
    page = page_of(client, waiting)
    assert f"Gesture on case {waiting.case.reference} granted." in messages_of(page)
    assert 'class="pill pill-gesture-granted">Granted<' in page and "“Client fidèle”" in page
    assert form_of(page, waiting) == ""  # decided: nothing left to decide


def test_refusing_from_the_case_page_needs_a_reason(client, supervisor, waiting):
    client.force_login(supervisor)
    response = client.post(decide_url(waiting), {"decision": "refuse", "reason": " ", "next": back_here(waiting)})
    assert response["Location"] == back_here(waiting)
    page = page_of(client, waiting)
    assert f"Gesture on case {waiting.case.reference} not decided: Give a reason." in messages_of(page)
    assert form_of(page, waiting) != ""  # still waiting, still offered
    waiting.refresh_from_db()
    assert waiting.status == GestureStatus.REQUESTED

    client.post(decide_url(waiting), {"decision": "refuse", "reason": "Pas de photo de la tache", "next": back_here(waiting)})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_reason) == (GestureStatus.REFUSED, "Pas de photo de la tache")
    page = page_of(client, waiting)
    assert f"Gesture on case {waiting.case.reference} refused." in messages_of(page)
    assert 'class="pill pill-gesture-refused">Refused<' in page and "“Pas de photo de la tache”" in page


def test_an_agent_posting_anyway_is_refused_and_nothing_changes(client, agent, waiting):
    client.force_login(agent)
    response = client.post(decide_url(waiting), {"decision": "approve", "next": back_here(waiting)})
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == (GestureStatus.REQUESTED, None)
    assert not AuditEvent.objects.filter(kind="gesture.granted").exists()


@pytest.mark.parametrize("target", [
    "https://evil.example/cases/", "//evil.example/cases/", "javascript:alert(1)", "http://testserver.evil.example/", "",
])
def test_a_next_address_off_this_site_is_ignored_for_the_queue(client, supervisor, waiting, target):
    client.force_login(supervisor)
    response = client.post(decide_url(waiting), {"decision": "approve", "next": target})
    assert (response.status_code, response["Location"]) == (302, QUEUE)
    waiting.refresh_from_db()
    assert waiting.status == GestureStatus.GRANTED  # the decision itself stands


def test_the_second_supervisor_is_told_it_was_decided_and_nothing_is_decided_twice(client, supervisor, waiting):
    other = UserFactory(username="claire", first_name="Claire", last_name="Martin", role="supervisor")
    client.force_login(supervisor)
    client.post(decide_url(waiting), {"decision": "approve", "next": back_here(waiting)})
    # Claire had the case page open with the buttons; she refuses after it was granted.
    second = Client()
    second.force_login(other)
    response = second.post(decide_url(waiting), {"decision": "refuse", "reason": "Trop cher", "next": back_here(waiting)})
    assert (response.status_code, response["Location"]) == (302, back_here(waiting))
    page = page_of(second, waiting)
    assert f"Gesture on case {waiting.case.reference} not decided: This gesture is already granted." in messages_of(page)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.decision_reason) == (GestureStatus.GRANTED, supervisor, "")
    assert AuditEvent.objects.filter(kind__in=["gesture.granted", "gesture.refused"]).count() == 1


def test_a_gesture_not_theirs_to_decide_stays_a_404(client, agent, supervisor, waiting):
    own = own_waiting(supervisor, waiting.case)
    client.force_login(supervisor)
    assert client.post(decide_url(own), {"decision": "approve", "next": back_here(own)}).status_code == 404
    assert client.post("/cases/gestures/99999999999999999999/decide/", {"decision": "approve"}).status_code == 404
    own.refresh_from_db()
    assert own.status == GestureStatus.REQUESTED


def test_the_case_page_reads_the_decisions_in_the_same_queries_however_many_gestures_wait(client, agent, supervisor, waiting):
    client.force_login(supervisor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(client, waiting)
        return len(captured)

    queries()  # the first visit fills caches (session, settings)
    one = queries()
    with an_approver_who_leaves():  # the 5,000 above every limit left: waiting since before the check
        for amount in ("60", "70", "5000"):
            request_gesture(case=waiting.case, type="refund", amount=amount, currency="EUR", reason="Encore", actor=agent)
    page = page_of(client, waiting)
    assert page.count('id="decide-gesture-') == 3  # the 120, 60 and 70 EUR; the 5,000 is above the limit
    assert queries() == one


def test_the_buttons_follow_what_the_service_accepts(agent, supervisor, waiting):
    """may_decide says yes exactly where approve_gesture / refuse_gesture would: every case
    above, asked of the rule and then of the services themselves."""
    case = waiting.case
    with an_approver_who_leaves():  # the 5,000 above every limit left: waiting since before the check
        gestures = [
            waiting,
            own_waiting(supervisor, case),
            request_gesture(case=case, type="refund", amount="2950", currency="EUR", reason="Avec les 120", actor=agent),
            request_gesture(case=case, type="refund", amount="5000", currency="EUR", reason="Trop", actor=agent),
        ]
    limits, granted = delegation_limits(supervisor), granted_on_case(case.pk)
    said = {(g.pk, granting): may_decide(g, supervisor, granting=granting, limits=limits, granted=granted)
            for g in gestures for granting in (True, False)}
    assert not any(may_decide(g, agent, granting=granting, limits=delegation_limits(agent), granted=granted)
                   for g in gestures for granting in (True, False))
    # The 120 is granted first: the 2,950 then no longer fits with it under 3,000, refusing it still does.
    assert said == {
        (gestures[0].pk, True): True, (gestures[0].pk, False): True,
        (gestures[1].pk, True): False, (gestures[1].pk, False): False,
        (gestures[2].pk, True): True, (gestures[2].pk, False): True,
        (gestures[3].pk, True): False, (gestures[3].pk, False): False,
    }
    approve_gesture(gesture=gestures[0], actor=supervisor)
    granted = granted_on_case(case.pk)
    assert not may_decide(Gesture.objects.get(pk=gestures[2].pk), supervisor, granting=True, limits=limits, granted=granted)
    assert may_decide(Gesture.objects.get(pk=gestures[2].pk), supervisor, granting=False, limits=limits, granted=granted)
    with pytest.raises(ValidationError, match="already granted on this case"):
        approve_gesture(gesture=gestures[2], actor=supervisor)
    assert refuse_gesture(gesture=gestures[2], actor=supervisor, reason="Déjà dédommagé").status == GestureStatus.REFUSED
    assert not may_decide(Gesture.objects.get(pk=gestures[0].pk), supervisor, granting=False, limits=limits, granted=granted)


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_deciding_at_once_from_the_case_page_make_one_decision():
    ensure_default_limits()
    requester = UserFactory(username="requester", role="agent")
    bosses = [UserFactory(username=f"boss{n}", role="supervisor") for n in range(2)]
    case = open_email_case("camille@example.com").case
    gesture = request_gesture(case=case, type="voucher", amount="300", currency="EUR", reason="Canapé", actor=requester)
    clients = []
    for boss in bosses:
        clients.append(Client(HTTP_ACCEPT_LANGUAGE="en"))
        clients[-1].force_login(boss)
    posts = [{"decision": "approve", "next": back_here(gesture)},
             {"decision": "refuse", "reason": "Pas de preuve", "next": back_here(gesture)}]
    start = threading.Barrier(2)
    responses, errors = [], []

    def decide(client, data) -> None:
        try:
            start.wait()
            responses.append(client.post(decide_url(gesture), data))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=pair) for pair in zip(clients, posts, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted((r.status_code, r["Location"]) for r in responses) == [(302, back_here(gesture))] * 2
    gesture.refresh_from_db()
    assert gesture.status in (GestureStatus.GRANTED, GestureStatus.REFUSED)
    assert AuditEvent.objects.filter(kind__in=["gesture.granted", "gesture.refused"]).count() == 1
    said = [messages_of(client.get(case_url(gesture)).content.decode()) for client in clients]
    told = [text for text in said if "Someone else decided on this gesture meanwhile." in text or "This gesture is already" in text]
    assert len(told) == 1
    assert sum(f"Gesture on case {case.reference} {verb}." in text for text in said for verb in ("granted", "refused")) == 1
