"""SLA policies, due times in business time, the paused clock and the breach check."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from prevenance.cases import events as case_events
from prevenance.cases import sla
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, Priority, SLAEventKind
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.services import add_inbound_message, add_reply, change_status
from prevenance.cases.services import sla as sla_services
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def french_team():
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return TeamFactory(calendar=calendar)


def policy(name="Standard", first=2 * H, resolution=8 * H, **fields) -> SLAPolicy:
    return SLAPolicy.objects.create(name=name, first_response_target=first, resolution_target=resolution, **fields)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


# Policy selection ------------------------------------------------------------------------


def test_the_most_specific_active_policy_wins_then_the_oldest():
    # Given policies from general to specific, one of them inactive
    general = policy("Any")
    complaints = policy("Complaints", case_type=CaseType.COMPLAINT)
    policy("Urgent complaints, retired", case_type=CaseType.COMPLAINT, priority=Priority.URGENT, active=False)
    urgent = policy("Urgent", priority=Priority.URGENT)
    policy("VIP", customer_tier="vip")
    policies = list(SLAPolicy.objects.all())
    # When / then
    assert sla.select_policy(policies, case_type=CaseType.QUESTION, priority=Priority.NORMAL) == general
    assert sla.select_policy(policies, case_type=CaseType.COMPLAINT, priority=Priority.NORMAL) == complaints
    # "Complaints" and "Urgent" cross (equally specific, both match): the older applies
    assert sla.select_policy(policies, case_type=CaseType.COMPLAINT, priority=Priority.URGENT) == complaints
    assert sla.select_policy(policies, case_type=CaseType.QUESTION, priority=Priority.URGENT) == urgent
    assert sla.select_policy(policies, case_type=CaseType.QUESTION, priority=Priority.LOW, customer_tier="vip").name == "VIP"
    assert sla.select_policy([], case_type=CaseType.QUESTION, priority=Priority.LOW) is None


def test_no_policy_no_due_times():
    intake = open_email_case(received_at=utc(2026, 12, 18, 16))
    case = Case.objects.get(pk=intake.case.pk)
    assert (case.sla_policy, case.first_response_due_at, case.resolution_due_at) == (None, None, None)
    assert sla_check(utc(2027, 1, 30)) == 0


def test_a_tier_policy_does_not_apply_to_customers_without_a_tier():
    policy("VIP", customer_tier="vip")
    case = open_email_case(received_at=utc(2026, 12, 18, 16)).case
    assert Case.objects.get(pk=case.pk).sla_policy is None


# Due times -------------------------------------------------------------------------------


def test_due_times_skip_the_night_and_the_weekend(french_team):
    # Given a standard policy and a case opened on Friday 18 December at 17:00 in Paris
    standard = policy()
    # When
    case = open_email_case(received_at=utc(2026, 12, 18, 16), team=french_team).case
    # Then 1 h on Friday, the rest on Monday (09:00–12:30, 13:30–18:00 Paris = UTC+1)
    case = Case.objects.get(pk=case.pk)
    assert case.sla_policy == standard
    assert case.first_response_due_at == utc(2026, 12, 21, 9)   # Monday 10:00
    assert case.resolution_due_at == utc(2026, 12, 21, 16)      # 1 h + 3.5 h + 3.5 h: Monday 17:00


def test_due_times_skip_holidays(french_team):
    policy()
    # Thursday 24 December 17:00; Friday 25 is a holiday
    case = open_email_case(received_at=utc(2026, 12, 24, 16), team=french_team).case
    assert Case.objects.get(pk=case.pk).first_response_due_at == utc(2026, 12, 28, 9)  # Monday 28, 10:00


def test_the_policy_calendar_comes_before_the_team_calendar_and_no_calendar_is_around_the_clock(french_team):
    always = create_business_calendar(
        name="Astreinte", time_zone="Europe/Paris", periods=[(day, "00:00", "24:00") for day in range(7)]
    )
    policy("Incidents", case_type=CaseType.INCIDENT, calendar=always)
    policy("Others")
    incident = open_email_case(received_at=utc(2026, 12, 18, 16), team=french_team, type=CaseType.INCIDENT).case
    teamless = open_email_case("paul@example.com", received_at=utc(2026, 12, 18, 16)).case
    assert Case.objects.get(pk=incident.pk).first_response_due_at == utc(2026, 12, 18, 18)
    assert Case.objects.get(pk=teamless.pk).resolution_due_at == utc(2026, 12, 19, 0)


# The paused clock ------------------------------------------------------------------------


def test_waiting_for_the_customer_moves_the_resolution_due_time_by_the_business_time_paused(french_team, agent, monkeypatch):
    # Given a case opened Monday 21 December 09:00 Paris: resolution due at 18:00 the same day
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    assert Case.objects.get(pk=case.pk).resolution_due_at == utc(2026, 12, 21, 17)
    # When it waits for the customer from Monday 10:00 to Tuesday 10:00 (8 business hours)
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    paused = Case.objects.get(pk=case.pk)
    assert (paused.sla_paused_at, paused.resolution_due_at) == (utc(2026, 12, 21, 9), utc(2026, 12, 21, 17))
    at(monkeypatch, utc(2026, 12, 22, 9))
    add_inbound_message(case=case, body="Voici la photo.", received_at=utc(2026, 12, 22, 9))
    # Then the due time moves by 8 business hours: Tuesday 18:00
    resumed = Case.objects.get(pk=case.pk)
    assert resumed.status == CaseStatus.OPEN
    assert resumed.sla_paused_at is None
    assert resumed.sla_paused_total == 8 * H
    assert resumed.resolution_due_at == utc(2026, 12, 22, 17)


def test_a_paused_case_is_not_breached_and_a_status_change_resumes_it(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    add_reply(case=case, author=agent, body="Pouvez-vous envoyer une photo ?")
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    # While paused, past the original due time: nothing happens
    assert sla_check(utc(2026, 12, 22, 8)) == 0
    # When the agent puts it back to open on Tuesday 09:00 Paris: paused Monday 10:00–18:00, 7 business hours
    at(monkeypatch, utc(2026, 12, 22, 8))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    resumed = Case.objects.get(pk=case.pk)
    assert resumed.sla_paused_total == 7 * H
    # Then Monday 18:00 + 7 business hours: Tuesday 17:00 Paris
    assert resumed.resolution_due_at == utc(2026, 12, 22, 16)


# The breach check ------------------------------------------------------------------------


def sla_check(now: datetime) -> int:
    return sla_services.check_sla_breaches(now=now)


def test_a_first_response_on_time_is_met_and_never_breached(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    add_reply(case=case, author=agent, body="Nous regardons.")
    assert sla_check(utc(2026, 12, 21, 12)) == 0
    assert not SLAEvent.objects.exists()


def test_a_breach_escalates_once_however_often_the_check_runs(french_team, monkeypatch):
    # Given a team with a supervisor and an agent, and a case with no answer past its first response due time
    boss = UserFactory(role="supervisor", email="chef@staff.example")
    other_boss = UserFactory(role="supervisor", email="autre@staff.example")
    worker = UserFactory(role="agent", email="agent@staff.example")
    french_team.members.add(boss, worker)
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case  # first response due 11:00 Paris
    # When the check runs twice after the due time
    assert sla_check(utc(2026, 12, 21, 10, 30)) == 1
    assert sla_check(utc(2026, 12, 21, 10, 35)) == 0
    # Then one event, one priority step, one audit row, one email to the team's supervisor only
    case = Case.objects.get(pk=case.pk)
    assert case.priority == Priority.HIGH
    assert case.priority_score >= 30  # topped up to the high threshold: listed with the high cases
    assert any(reason["code"] == "level_floor" for reason in case.priority_reasons)
    event = SLAEvent.objects.get()
    assert (event.case_id, event.kind, event.due_at) == (case.pk, SLAEventKind.FIRST_RESPONSE_BREACHED, utc(2026, 12, 21, 10))
    assert event.notified_at is not None
    audits = AuditEvent.objects.filter(kind=CaseAuditKind.SLA_BREACHED)
    assert [a.payload["priority_to"] for a in audits] == ["high"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["chef@staff.example"]
    assert case.reference in mail.outbox[0].subject
    assert other_boss.email not in mail.outbox[0].to


def test_a_team_without_a_supervisor_escalates_to_every_supervisor(french_team, caplog):
    # Its members are agents only: the notice goes to the supervisors of the company rather
    # than to nobody (marked as told all the same, it would never be sent again).
    french_team.members.add(UserFactory(role="agent", email="agent@staff.example"))
    UserFactory(role="supervisor", email="chef@staff.example")
    UserFactory(role="supervisor", email="")  # cannot be written to
    policy()
    open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team)
    assert sla_check(utc(2026, 12, 21, 10, 30)) == 1
    assert [message.to for message in mail.outbox] == [["chef@staff.example"]]


def test_with_no_supervisor_to_tell_the_breach_is_logged(french_team, caplog):
    policy()
    open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team)
    assert sla_check(utc(2026, 12, 21, 10, 30)) == 1
    assert mail.outbox == []
    assert "no active supervisor has an email address" in caplog.text


def test_the_escalation_is_sent_as_case_updated(french_team, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(case_events, "emit_event", lambda kind, data: sent.append((kind, data)))
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_check(utc(2026, 12, 21, 10, 30)) == 1
    updates = [data for kind, data in sent if kind == "case.updated"]
    assert updates[-1]["changes"] == {"priority": {"from": "normal", "to": "high"}}
    assert updates[-1]["object"]["id"] == case.pk


def test_near_breach_warns_once_without_raising_the_priority(french_team):
    # Opened 09:00 Paris, first response due 11:00; 80 % of 2 business hours = 1 h 36: near from 10:36
    policy()
    boss = UserFactory(role="supervisor")
    french_team.members.add(boss)
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    assert sla_check(utc(2026, 12, 21, 9, 35)) == 0
    assert sla_check(utc(2026, 12, 21, 9, 37)) == 1
    assert sla_check(utc(2026, 12, 21, 9, 50)) == 0
    assert list(SLAEvent.objects.values_list("kind", flat=True)) == [SLAEventKind.FIRST_RESPONSE_NEAR]
    assert Case.objects.get(pk=case.pk).priority == Priority.NORMAL
    assert AuditEvent.objects.filter(kind=CaseAuditKind.SLA_NEAR_BREACH).count() == 1
    assert len(mail.outbox) == 1
    # and the breach later still escalates once
    assert sla_check(utc(2026, 12, 21, 10, 1)) == 1
    assert Case.objects.get(pk=case.pk).priority == Priority.HIGH
    assert len(mail.outbox) == 2


def test_resolved_cases_are_left_alone(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert sla_check(utc(2027, 1, 30)) == 0
    assert not AuditEvent.objects.filter(kind=CaseAuditKind.SLA_BREACHED).exists()


def test_the_task_runs_the_check_and_an_urgent_case_stays_urgent(monkeypatch):
    policy(priority=Priority.URGENT)
    case = open_email_case(received_at=utc(2026, 12, 21, 8), priority=Priority.URGENT).case
    at(monkeypatch, utc(2026, 12, 31))
    assert case_tasks.check_sla_breaches() == 2  # first response and resolution, both overdue
    assert case_tasks.check_sla_breaches() == 0
    assert Case.objects.get(pk=case.pk).priority == Priority.URGENT
    assert SLAEvent.objects.count() == 2


def test_refused_policies_write_nothing():
    with pytest.raises(IntegrityError), transaction.atomic():
        policy(first=timedelta(0))
    with pytest.raises(IntegrityError), transaction.atomic():
        policy(near_breach_percent=100)
    assert not SLAPolicy.objects.exists()
