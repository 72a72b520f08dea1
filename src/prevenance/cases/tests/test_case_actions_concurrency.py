"""The case page's actions when two requests meet (PostgreSQL, threads): the same form sent twice
at once writes once; "Assign to me" racing a move or another agent's take loses nothing.

Each race holds the lock the requests need in another session, lets them all reach it (they
have read the case by then, and passed any check made before the lock), then releases it.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from prevenance.cases.choices import GestureStatus, MessageKind
from prevenance.cases.models import Case, Gesture, Message
from prevenance.cases.services import assign_case, ensure_default_limits, lock_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks and pg_stat_activity are PostgreSQL's"),
]


def url(name, case):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk})


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _wait_until_blocked_on_a_lock(count: int, timeout: float = 10.0) -> None:
    """Wait until `count` other sessions of this database wait on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"{count} sessions never waited on the lock")


def race_behind(hold: Callable[[], object], *calls: Callable[[], object]) -> tuple[list, list]:
    """Run `hold` in a transaction of its own session and keep it open until every call (each
    in its own thread and session) waits on a lock; then commit it and let the calls run.
    Returns (results, errors) of the calls, in the order they finished."""
    holding, release = threading.Event(), threading.Event()
    results, errors = [], []

    def holder() -> None:
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    def run(call) -> None:
        try:
            results.append(call())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    first = threading.Thread(target=holder)
    first.start()
    holding.wait(10)
    for thread in threads:
        thread.start()
    try:
        _wait_until_blocked_on_a_lock(len(calls))
    finally:
        release.set()
        first.join()
        for thread in threads:
            thread.join()
    return results, errors


@pytest.fixture
def agent_case():
    ensure_default_limits()
    agent = UserFactory(username="agent", role="agent")
    case = assign_case(case=open_email_case("camille@example.com").case, team=TeamFactory(members=[agent]), actor=agent)
    return agent, case


def posts(user, path: str, form: dict, count: int = 2) -> list[Callable[[], int]]:
    """`count` identical POSTs, each from its own client (a client is not shared across threads)."""
    clients = [logged_in(user) for _ in range(count)]
    return [lambda client=client: client.post(path, form).status_code for client in clients]


# --- The same form sent twice at once -----------------------------------------------------------

def test_a_gesture_form_sent_twice_at_once_grants_one_gesture(agent_case):
    agent, case = agent_case
    form = {"gesture-type": "voucher", "gesture-amount": "20,00", "gesture-currency": "EUR", "gesture-reason": "Colis abîmé",
            "gesture-submission_id": "0a4d5d1ad6a54b1e9f3c2e8f1b7c6d5e"}
    results, errors = race_behind(lambda: lock_case(case.pk), *posts(agent, url("case_gesture", case), form))
    assert (errors, results) == ([], [302, 302])
    [gesture] = Gesture.objects.filter(case=case)
    assert gesture.status == GestureStatus.GRANTED


def test_a_reply_form_sent_twice_at_once_stores_one_reply(agent_case):
    agent, case = agent_case
    form = {"body": "Un nouveau colis part demain.", "submission_id": "1b5e6e2be7b65c2f8a4d3f9a2c8d7e6f"}
    results, errors = race_behind(lambda: lock_case(case.pk), *posts(agent, url("case_reply", case), form))
    assert (errors, results) == ([], [302, 302])
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 1


def test_a_note_form_sent_twice_at_once_stores_one_note(agent_case):
    agent, case = agent_case
    form = {"note-body": "Transporteur prévenu.", "note-submission_id": "2c6f7f3cf8c76d3a9b5e4a0b3d9e8f7a"}
    results, errors = race_behind(lambda: lock_case(case.pk), *posts(agent, url("case_note", case), form))
    assert (errors, results) == ([], [302, 302])
    assert Message.objects.filter(case=case, kind=MessageKind.NOTE, author=agent).count() == 1


def test_an_agent_entry_sent_twice_at_once_opens_one_case(agent_case):
    # Both wait on the customer's lock (the intake takes it), past the check made before it;
    # the second then meets the first's case under the unique submission id and answers with it.
    agent, case = agent_case
    form = {"channel": Channel.PHONE, "customer": "", "q": "", "email": "camille@example.com", "phone": "",
            "first_name": "", "last_name": "", "type": "request", "subject": "Changer le créneau",
            "body": "Samedi plutôt que vendredi.", "order": "", "note": "", "submission_id": "3d7a8a4da9d87e4b0c6f5b1c4e0f9a8b"}
    results, errors = race_behind(lambda: lock_case(case.pk), *posts(agent, "/cases/new/", form))
    assert (errors, results) == ([], [302, 302])
    assert Case.objects.filter(submission_id__isnull=False).count() == 1
    assert Case.objects.count() == 2  # Camille's first case and the one recorded


# --- "Assign to me" ---------------------------------------------------------------------------

def test_take_racing_a_move_to_another_team_does_not_move_the_case_back():
    # The supervisor moves the case from team A to team B; at the same moment an agent of team A
    # (not in B) clicks "Assign to me". The take keeps the team it finds once the case is locked
    # (B), where the agent is not a member: refused, and the move stands.
    supervisor = UserFactory(username="boss", role="supervisor")
    agent = UserFactory(username="anna", role="agent")
    team_a, team_b = TeamFactory(members=[agent]), TeamFactory(name="Litiges", members=[supervisor])
    case = assign_case(case=open_email_case("camille@example.com").case, team=team_a, actor=supervisor)
    take = logged_in(agent)
    results, errors = race_behind(lambda: assign_case(case=case, team=team_b, actor=supervisor),
                                  lambda: take.post(url("case_take", case), {"seen_assignee": ""}))
    assert errors == []
    [answer] = results
    assert answer.status_code == 400
    assert "You are not a member of the team Litiges, which handles this case" in answer.content.decode()
    case = Case.objects.get(pk=case.pk)
    assert (case.team_id, case.assignee_id) == (team_b.pk, None)


def test_take_racing_a_move_to_a_team_of_the_agent_keeps_the_new_team():
    supervisor = UserFactory(username="boss", role="supervisor")
    agent = UserFactory(username="anna", role="agent")
    team_a, team_b = TeamFactory(members=[agent]), TeamFactory(members=[agent, supervisor])
    case = assign_case(case=open_email_case("camille@example.com").case, team=team_a, actor=supervisor)
    take = logged_in(agent)
    results, errors = race_behind(lambda: assign_case(case=case, team=team_b, actor=supervisor),
                                  lambda: take.post(url("case_take", case), {"seen_assignee": ""}).status_code)
    assert (errors, results) == ([], [302])
    case = Case.objects.get(pk=case.pk)
    assert (case.team_id, case.assignee_id) == (team_b.pk, agent.pk)


def test_two_agents_taking_a_case_at_once_the_second_is_told_who_has_it():
    anna = UserFactory(username="anna", role="agent", first_name="Anna", last_name="Martin")
    bruno = UserFactory(username="bruno", role="agent", first_name="Bruno", last_name="Petit")
    team = TeamFactory(members=[anna, bruno])
    case = assign_case(case=open_email_case("camille@example.com").case, team=team, actor=anna)
    clients = {user.username: logged_in(user) for user in (anna, bruno)}
    answers = {}

    def take(name: str):
        return lambda: answers.__setitem__(name, clients[name].post(url("case_take", case), {"seen_assignee": ""}))

    _results, errors = race_behind(lambda: lock_case(case.pk), take("anna"), take("bruno"))
    assert errors == []
    holder = Case.objects.get(pk=case.pk).assignee
    loser = "bruno" if holder == anna else "anna"
    assert holder in (anna, bruno)
    assert answers[holder.username].status_code == 302
    assert answers[loser].status_code == 400
    assert (f"This case was assigned to {holder.get_full_name()} meanwhile. Click “Assign to me” again to take it over."
            in answers[loser].content.decode())
