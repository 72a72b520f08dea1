"""SLA clocks of a reopened case: a case never answered gets a new first-response clock from the
reopening, kept by a recalculation; a case already answered keeps its first response."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from prevenance.cases import sla
from prevenance.cases.choices import CaseAuditKind, CaseStatus, SLAEventKind
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

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def paris_hours():
    # Paris, Monday to Friday 09:00-12:30 and 13:30-18:00; Christmas off
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return calendar


@pytest.fixture
def french_team(paris_hours):
    return TeamFactory(calendar=paris_hours, routing_method="manual")


def policy(first=2 * H, resolution=8 * H, **fields) -> SLAPolicy:
    return SLAPolicy.objects.create(name="Standard", first_response_target=first, resolution_target=resolution, **fields)


def fresh(case: Case) -> Case:
    return Case.objects.select_related("sla_policy__calendar", "team__calendar").get(pk=case.pk)


def kinds(case: Case) -> set[str]:
    return set(SLAEvent.objects.filter(case=case).values_list("kind", flat=True))


def resolved_unanswered(agent, monkeypatch, **open_fields) -> Case:
    """Opened Monday 21 December 09:00 Paris (first response due 11:00), breached on its first
    response at 11:30, resolved at noon without any reply to the customer."""
    case = open_email_case(received_at=utc(2026, 12, 21, 8), **open_fields).case
    assert fresh(case).first_response_due_at == utc(2026, 12, 21, 10)
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 30)) == 1
    assert kinds(case) == {SLAEventKind.FIRST_RESPONSE_BREACHED}
    at(monkeypatch, utc(2026, 12, 21, 11))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    return case


def reopen_by_reply(case: Case, monkeypatch, moment: datetime) -> Case:
    at(monkeypatch, moment)
    add_inbound_message(case=case, body="Toujours rien reçu, et personne ne m'a répondu.", received_at=moment)
    reopened = fresh(case)
    assert (reopened.status, reopened.reopen_count) == (CaseStatus.OPEN, 1)
    return reopened


def test_a_reply_reopening_a_never_answered_case_restarts_its_first_response_clock_across_holiday_and_weekend(
    french_team, agent, monkeypatch
):
    policy()
    case = resolved_unanswered(agent, monkeypatch, team=french_team)
    # When the customer writes on Thursday 24 December at 17:30 Paris
    reopened = reopen_by_reply(case, monkeypatch, utc(2026, 12, 24, 16, 30))
    # Then 2 business hours from the reopening: 30 min on Thursday, Christmas and the weekend
    # off, 1 h 30 on Monday 28: due 10:30 Paris
    assert reopened.first_response_clock_started_at == utc(2026, 12, 24, 16, 30)
    assert reopened.first_response_due_at == utc(2026, 12, 28, 9, 30)
    assert reopened.resolution_due_at == utc(2026, 12, 28, 16, 30)  # 8 h: Monday 17:30 Paris
    # The old breach is gone (its audit row stays), and the check finds nothing to report
    assert kinds(case) == set()
    assert AuditEvent.objects.filter(kind=CaseAuditKind.SLA_BREACHED).count() == 1
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 24, 16, 31)) == 0
    left = sla.sla_time_left(reopened, utc(2026, 12, 24, 16, 31))
    assert (left.clock, left.left, left.state) == ("first_response", 2 * H - MINUTE, "")
    # The new clock warns (24 min left at 10:06 Paris) and escalates again
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 5)) == 0
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 7)) == 1
    assert kinds(case) == {SLAEventKind.FIRST_RESPONSE_NEAR}
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 31)) == 1
    breach = SLAEvent.objects.get(case=case, kind=SLAEventKind.FIRST_RESPONSE_BREACHED)
    assert breach.due_at == utc(2026, 12, 28, 9, 30)
    assert AuditEvent.objects.filter(kind=CaseAuditKind.SLA_BREACHED).count() == 2


def test_an_agent_reopening_a_never_answered_case_restarts_its_first_response_clock(french_team, agent, monkeypatch):
    policy()
    case = resolved_unanswered(agent, monkeypatch, team=french_team)
    at(monkeypatch, utc(2026, 12, 22, 7))  # Tuesday 08:00 Paris, before the opening
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    reopened = fresh(case)
    assert (reopened.first_response_clock_started_at, reopened.first_response_due_at) == (utc(2026, 12, 22, 7), utc(2026, 12, 22, 10))
    assert kinds(case) == set()
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 22, 8)) == 0


def test_a_case_already_answered_keeps_its_first_response_and_its_breach_on_reopening(french_team, agent, monkeypatch):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 30)) == 1  # first response late
    at(monkeypatch, utc(2026, 12, 21, 10, 45))
    add_reply(case=case, author=agent, body="Veuillez nous excuser, c'est réglé.")
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    reopened = reopen_by_reply(case, monkeypatch, utc(2026, 12, 24, 16, 30))
    assert reopened.first_response_at == utc(2026, 12, 21, 10, 45)
    assert (reopened.first_response_due_at, reopened.first_response_clock_started_at) == (utc(2026, 12, 21, 10), None)
    assert kinds(case) == {SLAEventKind.FIRST_RESPONSE_BREACHED}  # answered late: that stays a fact
    assert reopened.resolution_due_at == utc(2026, 12, 28, 16, 30)


def test_a_recalculation_keeps_the_first_response_clock_of_the_reopening_and_applies_new_targets_from_it(
    paris_hours, agent, monkeypatch
):
    # The calendar is the policy's here (the case has no team)
    standard = policy(calendar=paris_hours)
    case = resolved_unanswered(agent, monkeypatch)
    reopened = reopen_by_reply(case, monkeypatch, utc(2026, 12, 24, 16, 30))
    due = (reopened.first_response_due_at, reopened.resolution_due_at)
    assert due == (utc(2026, 12, 28, 9, 30), utc(2026, 12, 28, 16, 30))
    # The same policy: nothing moves (recomputing from the creation would say Monday 21, 11:00)
    assert sla_services.recalculate_due_times(policy=standard) == 0
    assert (fresh(case).first_response_due_at, fresh(case).resolution_due_at) == due
    # A first-response target of 4 h counts from the reopening: 30 min Thursday, Monday 09:00-12:30
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_target=4 * H)
    standard.refresh_from_db()
    assert sla_services.recalculate_due_times(policy=standard) == 1
    assert (fresh(case).first_response_due_at, fresh(case).resolution_due_at) == (utc(2026, 12, 28, 11, 30), due[1])
    assert sla_services.recalculate_due_times(policy=standard) == 0  # idempotent
