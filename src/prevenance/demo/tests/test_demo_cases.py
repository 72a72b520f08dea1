from datetime import UTC, datetime

import pytest

from prevenance.cases.choices import CaseStatus, GestureStatus, MessageKind
from prevenance.cases.models import Case, Gesture, Message, SatisfactionSurvey
from prevenance.demo.cases import build_demo_cases
from prevenance.demo.services import load_demo_company
from prevenance.demo.tests.test_demo import TODAY

START_OF_TODAY = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)


@pytest.fixture
def demo_cases(transactional_db):
    # Real commits: the emails are sent by on-commit tasks, as in `make run`.
    load_demo_company(customers=300, seed=3, today=TODAY)
    return list(Case.objects.select_related("team", "assignee"))


def test_demo_cases_tell_a_live_service_story(demo_cases):
    # given the demo company of 300 people: one case for about fifteen of them
    assert len(demo_cases) == 20
    # then the inbox has work waiting as well as history, every case routed to a team
    statuses = {case.status for case in demo_cases}
    assert CaseStatus.RESOLVED in statuses and statuses & {CaseStatus.NEW, CaseStatus.OPEN}
    assert all(case.team is not None for case in demo_cases)
    # the supervisor is not given cases by routing
    assert not any(case.assignee and case.assignee.username == "nadia.supervision" for case in demo_cases)
    # and nothing happened in the future of the demo's day
    stamps = [t for case in demo_cases for t in (case.created_at, case.first_response_at, case.resolved_at) if t]
    stamps += list(Message.objects.values_list("created_at", flat=True))
    assert max(stamps) < START_OF_TODAY


def test_demo_cases_are_acknowledged_answered_and_surveyed(demo_cases):
    for case in demo_cases:
        outbound = list(case.messages.filter(kind=MessageKind.OUTBOUND).order_by("created_at", "id"))
        # every case was acknowledged first; answered ones were answered after
        assert case.acknowledged_at is not None and outbound[0].created_at == case.acknowledged_at
        if case.first_response_at:
            assert case.first_response_at > case.acknowledged_at
        if case.status == CaseStatus.RESOLVED:
            assert case.resolved_at >= case.first_response_at
    # emails were marked sent (to fictional people, by the dummy backend), none left queued
    assert not Message.objects.filter(kind=MessageKind.OUTBOUND, channel="email", sent_at__isnull=True).exists()
    assert SatisfactionSurvey.objects.filter(case__status=CaseStatus.RESOLVED).exists()


def test_demo_gestures_include_some_waiting_for_a_supervisor(transactional_db):
    load_demo_company(customers=600, seed=1, today=TODAY)
    statuses = set(Gesture.objects.values_list("status", flat=True))
    # the agents' 50 EUR limit grants small gestures at once and sends bigger ones for approval
    assert {GestureStatus.GRANTED, GestureStatus.REQUESTED} <= statuses
    assert SatisfactionSurvey.objects.exclude(csat=None).exists()


def test_demo_cases_are_built_once(demo_cases):
    # when the case part runs again (demo --force on the same database)
    summary = build_demo_cases(count=10, seed=9, now=START_OF_TODAY)
    # then it adds none
    assert summary.cases == 0
    assert Case.objects.count() == len(demo_cases)
