"""SLA after the opening: reopened, follow-up and split cases, tiers, due times recalculated when
a policy changes, and the time left shown to agents."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from prevenance.cases import sla
from prevenance.cases.choices import CaseStatus, Priority, SLAEventKind
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.services import (
    add_inbound_message,
    add_reply,
    change_status,
    split_message,
)
from prevenance.cases.services import sla as sla_services
from prevenance.cases.services.updates import change_case_type, change_priority
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import AuditEvent
from prevenance.customers.models import Customer
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def french_team():
    # Paris, Monday to Friday 09:00-12:30 and 13:30-18:00; Christmas off
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return TeamFactory(calendar=calendar, routing_method="manual")


def policy(name="Standard", first=2 * H, resolution=8 * H, **fields) -> SLAPolicy:
    return SLAPolicy.objects.create(name=name, first_response_target=first, resolution_target=resolution, **fields)


def fresh(case: Case) -> Case:
    return Case.objects.select_related("sla_policy", "team__calendar").get(pk=case.pk)


# Reopened cases ----------------------------------------------------------------------------


def test_a_customer_reply_reopening_a_case_restarts_the_resolution_target_across_the_weekend(french_team, agent, monkeypatch):
    # Given a case opened Monday 21 December 09:00 Paris, answered, resolved, breached on the way
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    add_reply(case=case, author=agent, body="C'est réglé.")
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 17, 30)) == 1  # resolution overdue
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    first_due = fresh(case).first_response_due_at
    # When the customer answers on Thursday 24 December at 17:00 Paris (within the reopen window)
    at(monkeypatch, utc(2026, 12, 24, 16))
    add_inbound_message(case=case, body="Toujours pas reçu.", received_at=utc(2026, 12, 24, 16))
    # Then 8 business hours from the reopening: 1 h on Thursday, Christmas off, Monday 28 until 17:00
    reopened = fresh(case)
    assert (reopened.status, reopened.reopen_count) == (CaseStatus.OPEN, 1)
    assert reopened.resolution_due_at == utc(2026, 12, 28, 16)
    assert reopened.first_response_due_at == first_due  # the first response was given: untouched
    # and the previous resolution breach is cleared so that the new clock escalates again
    assert not SLAEvent.objects.filter(case=case, kind=SLAEventKind.RESOLUTION_BREACHED).exists()
    # (the customer's reply, never answered, is overdue on its reply clock too: test_sla_next_reply.py)
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 16, 30)) == 2
    assert SLAEvent.objects.get(case=case, kind=SLAEventKind.RESOLUTION_BREACHED).due_at == utc(2026, 12, 28, 16)


def test_an_agent_reopening_a_case_restarts_the_resolution_target(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 10))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    at(monkeypatch, utc(2026, 12, 22, 8))  # Tuesday 09:00 Paris
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    assert fresh(case).resolution_due_at == utc(2026, 12, 22, 17)  # Tuesday 18:00 Paris


def test_a_reopened_case_keeps_its_due_time_when_recalculated_with_the_same_policy(french_team, agent, monkeypatch):
    standard = policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 10))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    at(monkeypatch, utc(2026, 12, 22, 8))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    assert sla_services.recalculate_due_times(policy=standard) == 0
    assert fresh(case).resolution_due_at == utc(2026, 12, 22, 17)


# Follow-up and split cases -----------------------------------------------------------------


def test_a_late_reply_opens_a_follow_up_with_its_own_clock(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 1, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 1, 9))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    # Saturday 19 December, 10:00 Paris: long after the window; counted from Monday 09:00
    follow_up = add_inbound_message(case=case, body="Encore moi.", received_at=utc(2026, 12, 19, 9)).case
    follow_up = fresh(follow_up)
    assert follow_up.reopened_from_id == case.pk
    assert (follow_up.first_response_due_at, follow_up.resolution_due_at) == (utc(2026, 12, 21, 10), utc(2026, 12, 21, 17))
    # the same matter: same team, language and priority, with its reasons
    source = fresh(case)
    assert (follow_up.team, follow_up.language, follow_up.priority, follow_up.priority_score, follow_up.priority_reasons) == (
        source.team, "fr", source.priority, source.priority_score, source.priority_reasons
    )


def test_a_split_case_gets_its_own_clock_from_its_creation(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    second = add_inbound_message(case=case, body="Autre sujet : ma facture.", received_at=utc(2026, 12, 21, 9)).message
    at(monkeypatch, utc(2026, 12, 21, 16))  # Monday 17:00 Paris
    split = fresh(split_message(message=second, actor=agent))
    assert split.sla_policy is not None
    assert split.first_response_due_at == utc(2026, 12, 22, 9)  # 1 h Monday, 1 h Tuesday: 10:00
    assert split.resolution_due_at == utc(2026, 12, 22, 16)


def test_a_policy_for_a_customer_tier_applies_to_customers_of_that_tier():
    policy("Gold", first=1 * H, customer_tier="gold")
    policy("Others", first=4 * H)
    customer = open_email_case("gold@example.com", subject="Q", body="x").case.customer
    Customer.objects.filter(pk=customer.pk).update(tier="gold")
    gold = open_email_case("gold@example.com", subject="Q", body="x").case
    plain = open_email_case("plain@example.com", subject="Q", body="x").case
    assert (fresh(gold).sla_policy.name, fresh(plain).sla_policy.name) == ("Gold", "Others")


def test_the_policy_follows_the_priority_the_score_gives():
    policy("Urgent", first=1 * H, priority=Priority.URGENT)
    policy("Others", first=4 * H)
    angry = open_email_case(
        "angry@example.com", subject="Inadmissible", body="C'est un scandale, INADMISSIBLE, HONTEUX !! Mon avocat suivra.",
        type="complaint",
    ).case
    assert (fresh(angry).priority, fresh(angry).sla_policy.name) == (Priority.URGENT, "Urgent")


def test_a_priority_set_by_hand_gets_that_prioritys_policy_from_the_cases_creation(agent, monkeypatch):
    # Around the clock (no calendar): opened at 08:00, raised to urgent at 09:00, the urgent
    # policy's 1 h first response is due at 09:00, counted from the opening, not from the change.
    policy("Urgent", first=1 * H, resolution=4 * H, priority=Priority.URGENT)
    policy("Others", first=24 * H, resolution=48 * H)
    at(monkeypatch, utc(2026, 12, 21, 8))
    case = open_email_case("calm@example.com", subject="Question", body="Bonjour, une question.").case
    assert (fresh(case).sla_policy.name, fresh(case).first_response_due_at) == ("Others", utc(2026, 12, 22, 8))
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_priority(case=case, priority=Priority.URGENT, actor=agent)
    raised = fresh(case)
    assert (raised.sla_policy.name, raised.first_response_due_at, raised.resolution_due_at) == (
        "Urgent", utc(2026, 12, 21, 9), utc(2026, 12, 21, 12))
    audit = AuditEvent.objects.filter(kind="case.priority_changed").get()
    assert audit.payload["sla_policy"] == [SLAPolicy.objects.get(name="Others").pk, raised.sla_policy_id]


def test_a_resolved_cases_sla_result_is_not_judged_again_by_a_later_priority(agent, monkeypatch):
    policy("Urgent", first=1 * H, resolution=4 * H, priority=Priority.URGENT)
    policy("Others", first=24 * H, resolution=48 * H)
    at(monkeypatch, utc(2026, 12, 21, 8))
    case = open_email_case("calm@example.com", subject="Question", body="Bonjour, une question.").case
    at(monkeypatch, utc(2026, 12, 21, 13))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)  # within the 48 h
    before = (fresh(case).sla_policy.name, fresh(case).resolution_due_at)
    at(monkeypatch, utc(2026, 12, 22, 9))
    change_priority(case=case, priority=Priority.URGENT, actor=agent)
    # its result stays (due times unchanged); the policy follows, for a reopening to restart on
    assert fresh(case).resolution_due_at == before[1] == utc(2026, 12, 23, 8)
    assert before[0] == "Others" and fresh(case).sla_policy.name == "Urgent"
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)  # reopened at 09:00: 4 h from now
    assert fresh(case).resolution_due_at == utc(2026, 12, 22, 13)


# Recalculation when a policy changes -------------------------------------------------------


def test_changing_a_policy_moves_the_due_times_of_open_cases_not_yet_breached(french_team, agent, monkeypatch):
    standard = policy()
    waiting = open_email_case("a@example.com", received_at=utc(2026, 12, 21, 8), team=french_team).case
    late = open_email_case("b@example.com", received_at=utc(2026, 12, 14, 8), team=french_team).case
    done = open_email_case("c@example.com", received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    change_status(case=done, status=CaseStatus.RESOLVED, actor=agent)
    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 8, 30))  # `late` is breached on both clocks
    before_late = (fresh(late).first_response_due_at, fresh(late).resolution_due_at)
    before_done = fresh(done).resolution_due_at
    # When the targets become 4 h and 16 h
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_target=4 * H, resolution_target=16 * H)
    standard.refresh_from_db()
    assert sla_services.recalculate_due_times(policy=standard) == 1
    assert sla_services.recalculate_due_times(policy=standard) == 0  # idempotent
    # Then Monday 09:00 + 4 h = 13:30 lunch excluded → 13:30+0:30 = 14:00 Paris; 16 h → Tuesday 18:00 Paris
    moved = fresh(waiting)
    assert (moved.first_response_due_at, moved.resolution_due_at) == (utc(2026, 12, 21, 13), utc(2026, 12, 22, 17))
    assert (fresh(late).first_response_due_at, fresh(late).resolution_due_at) == before_late
    assert fresh(done).resolution_due_at == before_done
    # The admin's action includes the breached ones
    assert sla_services.recalculate_due_times(policy=standard, include_breached=True) == 1
    assert fresh(late).resolution_due_at == utc(2026, 12, 15, 17)


def test_a_clock_whose_due_time_moves_warns_again_before_its_new_due_time(french_team, agent, monkeypatch):
    standard = policy()
    case = open_email_case("a@example.com", received_at=utc(2026, 12, 21, 8), team=french_team).case
    SLAEvent.objects.create(case=case, kind=SLAEventKind.FIRST_RESPONSE_NEAR, due_at=fresh(case).first_response_due_at)
    SLAEvent.objects.create(case=case, kind=SLAEventKind.RESOLUTION_NEAR, due_at=fresh(case).resolution_due_at)
    # When only the first-response target changes, only that clock's warning goes
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_target=4 * H)
    standard.refresh_from_db()
    assert sla_services.recalculate_due_times(policy=standard) == 1
    assert list(SLAEvent.objects.filter(case=case).values_list("kind", flat=True)) == [SLAEventKind.RESOLUTION_NEAR]


def test_a_recalculation_keeps_the_time_spent_waiting_for_the_customer(french_team, agent, monkeypatch):
    standard = policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    at(monkeypatch, utc(2026, 12, 22, 9))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)  # 8 business hours paused
    assert fresh(case).resolution_due_at == utc(2026, 12, 22, 17)
    SLAPolicy.objects.filter(pk=standard.pk).update(resolution_target=9 * H)
    standard.refresh_from_db()
    assert sla_services.recalculate_due_times(policy=standard) == 1
    assert fresh(case).resolution_due_at == utc(2026, 12, 23, 9)  # one business hour more: Wednesday 10:00


def test_saving_new_targets_in_the_admin_recalculates_and_the_action_includes_breached_cases(
    french_team, django_capture_on_commit_callbacks
):
    standard = policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    form = {
        "name": "Standard", "active": "on", "case_type": "", "priority": "", "customer_tier": "",
        "first_response_target": "04:00:00", "resolution_target": "08:00:00", "calendar": "", "near_breach_percent": "80",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/admin/cases/slapolicy/{standard.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    assert callbacks, "the recalculation is queued after commit"
    assert fresh(case).first_response_due_at == utc(2026, 12, 21, 13)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/admin/cases/slapolicy/", {"action": "recalculate_due_times", "_selected_action": [standard.pk]})
    assert (response.status_code, len(callbacks)) == (302, 1)


def test_new_targets_through_the_service_the_api_uses_recalculate_too(french_team, supervisor, django_capture_on_commit_callbacks):
    from prevenance.cases.services.sla_policies import update_sla_policy

    standard = policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        update_sla_policy(policy=standard, actor=supervisor, first_response_target=4 * H)
    assert len(callbacks) == 1
    assert fresh(case).first_response_due_at == utc(2026, 12, 21, 13)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        update_sla_policy(policy=standard, actor=supervisor, name="Standard FR", first_response_target=4 * H)
    assert callbacks == []  # nothing a due time is computed from changed


# Time left ---------------------------------------------------------------------------------


def test_time_left_follows_the_first_response_then_the_resolution(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 18, 16), team=french_team).case  # Friday 17:00 Paris
    left = sla.sla_time_left(fresh(case), utc(2026, 12, 18, 16, 30))
    assert (left.clock, left.left, left.near, left.breached) == ("first_response", 90 * timedelta(minutes=1), False, False)
    # Over the weekend the clock does not run: still 1 h on Monday 08:00 UTC (09:00 Paris)
    assert sla.sla_time_left(fresh(case), utc(2026, 12, 21, 8)).left == 1 * H
    assert sla.sla_time_left(fresh(case), utc(2026, 12, 21, 8, 40)).state == "near"
    overdue = sla.sla_time_left(fresh(case), utc(2026, 12, 21, 10))
    assert (overdue.left, overdue.state) == (-1 * H, "breached")
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    add_reply(case=case, author=agent, body="Nous regardons.")
    resolution = sla.sla_time_left(fresh(case), utc(2026, 12, 21, 9))
    assert (resolution.clock, resolution.due_at, resolution.left) == ("resolution", utc(2026, 12, 21, 16), 6 * H)


def test_time_left_stands_still_while_waiting_for_the_customer_and_is_none_without_a_clock(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    add_reply(case=case, author=agent, body="Une photo ?")
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    paused = sla.sla_time_left(fresh(case), utc(2026, 12, 23, 9))
    assert (paused.paused, paused.left, paused.state) == (True, 7 * H, "")
    at(monkeypatch, utc(2026, 12, 21, 10))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert sla.sla_time_left(fresh(case), utc(2026, 12, 23, 9)) is None
    no_policy = open_email_case("other@example.com", subject="Q", body="x").case
    SLAPolicy.objects.all().delete()
    assert sla.sla_time_left(fresh(no_policy), utc(2026, 12, 23, 9)) is None


def test_the_case_page_says_business_hours_only_when_a_calendar_counts_them(french_team, supervisor, monkeypatch):
    # Given one case on the team's office hours and one under a policy with no calendar at all
    policy()
    at(monkeypatch, utc(2026, 12, 21, 9))
    office = open_email_case("bureau@example.com", received_at=utc(2026, 12, 21, 9), team=french_team).case
    anytime = open_email_case("partout@example.com", received_at=utc(2026, 12, 21, 9)).case
    client = Client()
    client.force_login(supervisor)

    def sla_line(case) -> str:
        page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        start = page.index('id="sla-left"')
        return page[start:page.index("</p>", start)]

    assert "(business hours)" in sla_line(office)
    assert "left" in sla_line(anytime) and "(business hours)" not in sla_line(anytime)  # its clock runs around the clock


def test_a_policy_that_applies_to_a_case_waiting_for_the_customer_starts_paused(agent, monkeypatch):
    # Given a case no policy matched, put to wait for the customer (no clock then to pause)
    policy("Complaints", first=1 * H, resolution=4 * H, case_type="complaint")
    at(monkeypatch, utc(2026, 12, 21, 8))
    case = open_email_case("calm@example.com", subject="Question", body="Bonjour, une question.").case
    add_reply(case=case, author=agent, body="Pouvez-vous nous envoyer la facture ?")
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    assert fresh(case).sla_policy is None
    # When it is reclassified as a complaint while still waiting
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_case_type(case=case, type="complaint", actor=agent)
    # Then the complaint policy's resolution clock starts paused: no breach while the customer is awaited
    waiting = fresh(case)
    assert (waiting.sla_policy.name, waiting.sla_paused_at) == ("Complaints", utc(2026, 12, 21, 9))
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 23, 8)) == 0
    # and it runs again, moved by the time waited, when the customer answers
    at(monkeypatch, utc(2026, 12, 21, 11))
    add_inbound_message(case=case, body="Voici la facture.", received_at=utc(2026, 12, 21, 11))
    assert fresh(case).resolution_due_at == utc(2026, 12, 21, 14)
