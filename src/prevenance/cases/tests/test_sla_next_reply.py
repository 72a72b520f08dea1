"""The reply clock of a reopened case (Zendesk's "next reply time", docs/cases.md "SLA"): a
customer's message that reopens a case already answered waits for an answer again, due on the
first-response target in the team's business hours; the agent's next reply stops it, a note
does not; "breaching soon", the case page and the SLA check see it; the dashboard's first
response stays the first one."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prevenance.cases import sla
from prevenance.cases.choices import CaseAuditKind, CaseStatus, Priority, SLAEventKind
from prevenance.cases.events import case_data
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.selectors.dashboard import Period, case_dashboard
from prevenance.cases.selectors.inbox import BREACHING, inbox, inbox_count, resolve_view, sla_times
from prevenance.cases.services import (
    add_inbound_message,
    add_note,
    add_reply,
    change_status,
    ingest_email,
    merge_cases,
)
from prevenance.cases.services import sla as sla_services
from prevenance.cases.tests.factories import TeamFactory, open_email_case, reopen_within
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import AuditEvent

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ADDRESS = "claire@example.com"
DECEMBER = Period(start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def paris_hours():
    # Paris, Monday to Friday 09:00-12:30 and 13:30-18:00; Christmas off
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return calendar


@pytest.fixture
def french_team(paris_hours, agent):
    return TeamFactory(calendar=paris_hours, routing_method="manual", members=[agent])


@pytest.fixture
def standard():
    return SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H)


def fresh(case: Case) -> Case:
    return Case.objects.select_related("sla_policy__calendar", "team__calendar").get(pk=case.pk)


def kinds(case: Case) -> set[str]:
    return set(SLAEvent.objects.filter(case=case).values_list("kind", flat=True))


def answered_and_resolved(agent, monkeypatch, team) -> Case:
    """Opened Monday 21 December 09:00 Paris, answered at 09:30 (on time), resolved at 10:00."""
    case = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8), team=team, message_id="first@example.com").case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    add_reply(case=case, author=agent, body="Nous vous envoyons un nouveau colis.")
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    return case


def customer_writes(case: Case, monkeypatch, moment: datetime) -> Case:
    at(monkeypatch, moment)
    add_inbound_message(case=case, body="Le nouveau colis n'est jamais arrivé.", received_at=moment)
    return fresh(case)


# The clock starts ---------------------------------------------------------------------------


def test_a_customer_email_reopening_an_answered_case_starts_a_reply_clock_in_business_hours(
    standard, french_team, agent, monkeypatch
):
    # Given an answered case, resolved; the reopen window is 7 days
    reopen_within(7)
    case = answered_and_resolved(agent, monkeypatch, french_team)
    # When the customer answers by email on Thursday 24 December at 17:30 Paris
    raw = (
        f"From: Claire <{ADDRESS}>\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: Re: Colis abîmé\r\n"
        "Message-ID: <again@example.com>\r\nIn-Reply-To: <first@example.com>\r\nDate: Thu, 24 Dec 2026 17:30:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nLe nouveau colis n'est jamais arrivé.\r\n"
    ).encode()
    at(monkeypatch, utc(2026, 12, 24, 16, 30))
    result = ingest_email(raw=raw, received_at=utc(2026, 12, 24, 16, 30))
    assert result.case.pk == case.pk
    reopened = fresh(case)
    assert (reopened.status, reopened.reopen_count) == (CaseStatus.OPEN, 1)
    # Then the case waits for an answer again: 2 business hours from the reopening, 30 min on
    # Thursday, Christmas and the weekend off, 1 h 30 on Monday 28: due 10:30 Paris
    assert reopened.next_reply_clock_started_at == utc(2026, 12, 24, 16, 30)
    assert reopened.next_reply_due_at == utc(2026, 12, 28, 9, 30)
    # and the first response stays the first one
    assert (reopened.first_response_at, reopened.first_response_due_at) == (utc(2026, 12, 21, 8, 30), utc(2026, 12, 21, 10))
    assert reopened.first_response_clock_started_at is None
    left = sla.sla_time_left(reopened, utc(2026, 12, 24, 16, 31))
    assert (left.clock, left.due_at, left.left, left.state) == ("next_reply", utc(2026, 12, 28, 9, 30), 2 * H - MINUTE, "")


def test_the_case_page_and_the_inbox_name_the_reply_clock(standard, french_team, agent, monkeypatch, client):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    at(monkeypatch, utc(2026, 12, 28, 8))  # Monday 09:00 Paris: 1 h 30 left
    client.force_login(agent)
    html = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    line = html.split('id="sla-left"')[1].split("</p>")[0]
    assert "Next reply · 1 h 30 min left" in line and "(business hours)" in line
    assert 'id="sla-next-reply"' in html and "Next reply due" in html
    badge = sla_times([fresh(case)], now=utc(2026, 12, 28, 8))[case.pk]
    assert (badge.clock, badge.left, badge.business_hours) == ("next_reply", 90 * MINUTE, True)


def test_the_api_and_the_webhook_payload_give_the_reply_due_time(standard, french_team, agent, monkeypatch):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    api = Client()
    api.force_login(agent)
    body = json.loads(api.get(f"/api/v1/cases/{case.pk}").content)
    assert body["next_reply_due_at"].startswith("2026-12-28T09:30:00")
    assert body["first_response_due_at"].startswith("2026-12-21T10:00:00")
    assert case_data(fresh(case))["next_reply_due_at"] == utc(2026, 12, 28, 9, 30)


# What stops it, what does not ------------------------------------------------------------------


def test_the_agents_next_reply_stops_the_clock_and_a_note_does_not(standard, french_team, agent, monkeypatch):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    # An internal note is no answer to the customer
    at(monkeypatch, utc(2026, 12, 28, 8))
    add_note(case=case, author=agent, body="Voir avec le transporteur.")
    assert fresh(case).next_reply_due_at == utc(2026, 12, 28, 9, 30)
    # The agent's reply is
    at(monkeypatch, utc(2026, 12, 28, 8, 15))
    add_reply(case=case, author=agent, body="Nous relançons le transporteur.")
    answered = fresh(case)
    assert (answered.next_reply_due_at, answered.next_reply_clock_started_at) == (None, None)
    assert answered.first_response_at == utc(2026, 12, 21, 8, 30)  # still the first one
    assert sla.sla_time_left(answered, utc(2026, 12, 28, 8, 16)).clock == "resolution"
    # and nothing is reported on the reply clock afterwards
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 31)) == 0
    assert kinds(case) == set()


def test_a_message_on_a_case_not_resolved_starts_no_reply_clock(standard, french_team, agent, monkeypatch):
    case = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    add_reply(case=case, author=agent, body="Nous regardons.")
    assert customer_writes(case, monkeypatch, utc(2026, 12, 21, 9)).next_reply_due_at is None


def test_a_message_after_the_reopen_window_opens_a_follow_up_case_on_its_first_response_clock(
    standard, french_team, agent, monkeypatch
):
    reopen_within(2)
    case = answered_and_resolved(agent, monkeypatch, french_team)
    at(monkeypatch, utc(2026, 12, 28, 8))
    result = add_inbound_message(case=case, body="Toujours rien.", received_at=utc(2026, 12, 28, 8))
    follow_up = fresh(result.case)
    assert result.case_opened and follow_up.reopened_from_id == case.pk
    assert (follow_up.first_response_due_at, follow_up.next_reply_due_at) == (utc(2026, 12, 28, 10), None)
    assert (fresh(case).status, fresh(case).next_reply_due_at) == (CaseStatus.RESOLVED, None)


def test_a_case_never_answered_restarts_its_first_response_clock_as_before(standard, french_team, agent, monkeypatch):
    case = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8), team=french_team).case
    at(monkeypatch, utc(2026, 12, 21, 9))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    reopened = customer_writes(case, monkeypatch, utc(2026, 12, 24, 16, 30))
    assert (reopened.first_response_clock_started_at, reopened.first_response_due_at) == (utc(2026, 12, 24, 16, 30), utc(2026, 12, 28, 9, 30))
    assert (reopened.next_reply_due_at, reopened.next_reply_clock_started_at) == (None, None)
    assert sla.sla_time_left(reopened, utc(2026, 12, 24, 16, 31)).clock == "first_response"


def test_an_agent_reopening_restarts_a_reply_clock_still_running_and_starts_none_otherwise(
    standard, french_team, agent, monkeypatch
):
    # Answered, resolved, reopened by an agent: nobody wrote, nothing awaits an answer
    case = answered_and_resolved(agent, monkeypatch, french_team)
    at(monkeypatch, utc(2026, 12, 21, 9, 30))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    assert fresh(case).next_reply_due_at is None
    # The customer's message reopens it after a second resolution; resolved without an answer,
    # then reopened by an agent on Tuesday 22 at 09:00 Paris: the reply clock runs again from then
    at(monkeypatch, utc(2026, 12, 21, 9, 45))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    # (11:00 Paris, 2 business hours around the lunch break: due 14:00 Paris)
    assert customer_writes(case, monkeypatch, utc(2026, 12, 21, 10)).next_reply_due_at == utc(2026, 12, 21, 13)
    at(monkeypatch, utc(2026, 12, 21, 10, 30))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    at(monkeypatch, utc(2026, 12, 22, 8))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    assert (fresh(case).next_reply_clock_started_at, fresh(case).next_reply_due_at) == (utc(2026, 12, 22, 8), utc(2026, 12, 22, 10))


# "Breaching soon" and the SLA check ----------------------------------------------------------


def test_breaching_soon_lists_the_reopened_case_and_counts_it(standard, french_team, agent, supervisor, monkeypatch):
    reopened = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    # An answered open case whose only clock is the resolution, due later than the horizon
    quiet = open_email_case("marc@example.com", received_at=utc(2026, 12, 28, 7), team=french_team).case
    at(monkeypatch, utc(2026, 12, 28, 7, 5))
    add_reply(case=quiet, author=agent, body="Bien reçu.")
    now = utc(2026, 12, 28, 7)  # Monday 08:00 Paris: the reply is due at 10:30, within 4 hours
    for user in (agent, supervisor):
        page = inbox(user, view=BREACHING, now=now)
        assert [case.pk for case in page.items] == [reopened.pk]
        assert inbox_count(user, view=resolve_view(user, BREACHING), now=now) == 1
    # Answered: it leaves the view (its resolution is due at 17:30 Paris, beyond the horizon)
    add_reply(case=reopened, author=agent, body="Nous relançons le transporteur.")
    assert inbox(agent, view=BREACHING, now=now).items == []
    assert inbox_count(agent, view=resolve_view(agent, BREACHING), now=now) == 0


def test_breaching_soon_reads_the_reply_clock_when_it_is_due_after_the_resolution(standard, french_team, agent, monkeypatch):
    # A resolution target shorter than the reply's (odd, but possible): the case is listed once, by its resolution
    standard.resolution_target = H
    standard.save()
    reopened = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 28, 8))
    assert (reopened.resolution_due_at, reopened.next_reply_due_at) == (utc(2026, 12, 28, 9), utc(2026, 12, 28, 10))
    page = inbox(agent, view=BREACHING, now=utc(2026, 12, 28, 8))
    assert [case.pk for case in page.items] == [reopened.pk]
    assert inbox_count(agent, view=resolve_view(agent, BREACHING), now=utc(2026, 12, 28, 8)) == 1


def test_the_sla_check_warns_then_escalates_the_reply_clock_once(standard, french_team, agent, supervisor, monkeypatch, mailoutbox):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    assert fresh(case).priority == Priority.NORMAL
    # 26 min left (Monday 10:04 Paris): not yet within 20 % of the 2 h target
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 4)) == 0
    # 23 min left: due soon
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 7)) == 1
    assert kinds(case) == {SLAEventKind.NEXT_REPLY_NEAR}
    # Overdue at 10:30 Paris: recorded, escalated one level, supervisors told
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 31)) == 1
    breach = SLAEvent.objects.get(case=case, kind=SLAEventKind.NEXT_REPLY_BREACHED)
    assert breach.due_at == utc(2026, 12, 28, 9, 30)
    assert fresh(case).priority == Priority.HIGH
    audit = AuditEvent.objects.get(kind=CaseAuditKind.SLA_BREACHED)
    assert audit.payload == {"sla_event": "next_reply_breached", "due_at": "2026-12-28T09:30:00+00:00",
                             "priority_from": "normal", "priority_to": "high"}
    subjects = [message.subject for message in mailoutbox]
    assert f"Case {case.reference}: Next reply overdue" in subjects
    assert f"Case {case.reference}: Next reply due soon" in subjects
    # Once: later runs record nothing more and the priority stays
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 45)) == 0
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 11)) == 0
    assert fresh(case).priority == Priority.HIGH
    assert AuditEvent.objects.filter(kind=CaseAuditKind.SLA_BREACHED).count() == 1


def test_a_new_reopening_warns_and_escalates_again(standard, french_team, agent, monkeypatch):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 9, 31)) == 1
    at(monkeypatch, utc(2026, 12, 28, 9, 40))
    add_reply(case=case, author=agent, body="Désolés du retard.")
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    reopened = customer_writes(case, monkeypatch, utc(2026, 12, 29, 8))
    assert reopened.next_reply_due_at == utc(2026, 12, 29, 10)
    assert kinds(case) == set()  # the previous breach goes (its audit row stays)
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 29, 10, 1)) == 1
    assert kinds(case) == {SLAEventKind.NEXT_REPLY_BREACHED}


def test_a_calendar_closure_entered_afterwards_moves_the_reply_due_time(standard, french_team, paris_hours, agent, monkeypatch):
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 24, 16, 30))
    # Monday 28 turns out closed (a strike): the 1 h 30 left run on Tuesday 29
    add_holiday(calendar=paris_hours, date="2026-12-28", name="Grève")
    assert sla_services.recalculate_calendar_due_times(calendar=paris_hours) == 1
    assert fresh(case).next_reply_due_at == utc(2026, 12, 29, 9, 30)
    assert fresh(case).first_response_due_at == utc(2026, 12, 21, 10)  # a stopped clock is left alone


# The dashboard --------------------------------------------------------------------------------


def test_the_dashboards_first_response_is_the_first_one_whatever_the_reply_clock(
    standard, french_team, agent, supervisor, monkeypatch
):
    case = answered_and_resolved(agent, monkeypatch, french_team)
    before = case_dashboard(supervisor, DECEMBER, now=utc(2026, 12, 31))
    # Reopened, answered late on its reply clock
    customer_writes(case, monkeypatch, utc(2026, 12, 24, 16, 30))
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 28, 10)) == 1
    at(monkeypatch, utc(2026, 12, 28, 11))
    add_reply(case=case, author=agent, body="Désolés du retard.")
    after = case_dashboard(supervisor, DECEMBER, now=utc(2026, 12, 31))
    assert after.first_response == before.first_response
    assert after.first_response.median == 30 * MINUTE
    assert after.sla_first_response == before.sla_first_response
    assert (after.sla_first_response.part, after.sla_first_response.total) == (1, 1)


# Merging -------------------------------------------------------------------------------------


def test_merging_a_case_still_awaiting_its_first_answer_into_an_answered_one_makes_it_await_that_answer(
    standard, french_team, agent, monkeypatch
):
    # Given an answered case (Monday 21 December, answered 09:30 Paris), and the same customer's
    # second case, opened Tuesday 22 at 09:00 Paris and not answered: first response due 11:00
    survivor = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8), team=french_team, message_id="a@example.com").case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    add_reply(case=survivor, author=agent, body="Nous regardons.")
    loser = open_email_case(ADDRESS, received_at=utc(2026, 12, 22, 8), team=french_team, message_id="b@example.com").case
    loser = fresh(loser)
    assert loser.first_response_due_at == utc(2026, 12, 22, 10)
    # When the agent merges the second into the first at 10:00 Paris
    at(monkeypatch, utc(2026, 12, 22, 9))
    merged = fresh(merge_cases(survivor=survivor, loser=loser, actor=agent))
    # Then the survivor awaits that answer on the second case's clock: due 11:00 Paris, as the
    # customer was promised, and "breaching soon" shows it from its reply clock
    assert (merged.next_reply_clock_started_at, merged.next_reply_due_at) == (utc(2026, 12, 22, 8), utc(2026, 12, 22, 10))
    left = sla.sla_time_left(merged, utc(2026, 12, 22, 9))
    assert (left.clock, left.due_at) == ("next_reply", utc(2026, 12, 22, 10))
    assert merged.pk in [case.pk for case in inbox(agent, view=BREACHING, now=utc(2026, 12, 22, 9)).items]
    # and the agent's next reply stops it
    at(monkeypatch, utc(2026, 12, 22, 9, 15))
    add_reply(case=merged, author=agent, body="Voici la réponse.")
    assert fresh(merged).next_reply_due_at is None


def test_merging_an_answered_case_changes_no_clock(standard, french_team, agent, monkeypatch):
    # Given two answered cases of the same customer, nothing awaited on either
    survivor = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8), team=french_team, message_id="a@example.com").case
    loser = open_email_case(ADDRESS, received_at=utc(2026, 12, 21, 8, 5), team=french_team, message_id="b@example.com").case
    at(monkeypatch, utc(2026, 12, 21, 8, 30))
    add_reply(case=survivor, author=agent, body="Nous regardons.")
    add_reply(case=loser, author=agent, body="Nous regardons aussi.")
    # When they are merged
    at(monkeypatch, utc(2026, 12, 21, 9))
    merged = fresh(merge_cases(survivor=survivor, loser=fresh(loser), actor=agent))
    # Then no reply clock runs: nobody is waiting for an answer
    assert (merged.next_reply_due_at, merged.next_reply_clock_started_at) == (None, None)


def test_closing_a_case_whose_reply_clock_still_runs_stops_it(standard, french_team, agent, monkeypatch):
    # Given an answered, resolved case the customer reopened ("thanks"), resolved again without an answer
    reopen_within(7)
    case = customer_writes(answered_and_resolved(agent, monkeypatch, french_team), monkeypatch, utc(2026, 12, 21, 10))
    assert case.next_reply_due_at is not None
    at(monkeypatch, utc(2026, 12, 21, 10, 30))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert fresh(case).next_reply_due_at is not None  # kept: reopening it restarts it
    # When it is closed
    change_status(case=case, status=CaseStatus.CLOSED, actor=agent)
    # Then no answer is awaited any more: the case page, the API and the export show none
    closed = fresh(case)
    assert (closed.next_reply_due_at, closed.next_reply_clock_started_at) == (None, None)
    assert case_data(closed)["next_reply_due_at"] is None
