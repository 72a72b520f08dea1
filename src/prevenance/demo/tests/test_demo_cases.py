from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from prevenance.cases.choices import CaseStatus, GestureStatus, MessageKind, SLAEventKind
from prevenance.cases.models import (
    Case,
    Gesture,
    Message,
    RootCause,
    SatisfactionSurvey,
    SLAEvent,
    Tag,
)
from prevenance.cases.services.priority import refresh_priority_scores
from prevenance.cases.services.sla import check_sla_breaches
from prevenance.cases.services.surveys import ANSWER_WINDOW
from prevenance.cases.workflow import ACTIVE
from prevenance.demo.case_texts import ROOT_CAUSES, TAGS
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
    # each survey was sent, its invitation in the case's thread after the closing reply
    assert not SatisfactionSurvey.objects.filter(due_at__isnull=False).exists()
    for survey in SatisfactionSurvey.objects.all():
        invitation = Message.objects.get(case=survey.case_id, automatic_purpose="survey")
        assert invitation.created_at >= survey.case.resolved_at


def test_demo_gestures_and_survey_answers_look_like_a_live_service(transactional_db):
    load_demo_company(customers=600, seed=1, today=TODAY)
    statuses = set(Gesture.objects.values_list("status", flat=True))
    # the agents' 50 EUR limit grants small gestures at once and sends bigger ones for approval
    assert {GestureStatus.GRANTED, GestureStatus.REQUESTED} <= statuses
    # surveys: some never answered, the others answered hours to days after they were sent,
    # within the answer window and before the demo's day
    surveys = list(SatisfactionSurvey.objects.all())
    answered = [s for s in surveys if s.answered_at]
    assert 0 < len(answered) < len(surveys)
    for survey in answered:
        assert survey.sent_at < survey.answered_at < min(survey.sent_at + ANSWER_WINDOW, START_OF_TODAY)
    assert any(s.answered_at - s.sent_at > timedelta(hours=12) for s in answered)
    # spread over the two months: the dashboard's 7 and 30 days differ
    assert max(s.answered_at for s in answered) - min(s.answered_at for s in answered) > timedelta(days=30)
    assert all(s.csat is None for s in surveys if not s.answered_at)
    # mostly satisfied, some not; effort from 1 to 7, sometimes left out; a few comments
    scores = [s.csat for s in answered]
    assert set(scores) <= {1, 2, 3, 4, 5}
    assert sum(score >= 4 for score in scores) > len(scores) / 2
    assert any(score <= 3 for score in scores)
    efforts = [s.ces for s in answered]
    assert None in efforts and {e for e in efforts if e} <= set(range(1, 8)) and len(set(efforts)) > 2
    assert any(s.comment for s in answered) and not all(s.comment for s in answered)


def test_demo_cases_are_built_once(demo_cases):
    # when the case part runs again (demo --force on the same database)
    summary = build_demo_cases(count=10, seed=9, now=START_OF_TODAY)
    # then it adds none
    assert summary.cases == 0
    assert Case.objects.count() == len(demo_cases)


def test_demo_cases_are_filed_under_tags_and_root_causes(demo_cases):
    # the demo's tags and root-cause tree are there
    assert sorted(Tag.objects.values_list("name", flat=True)) == sorted(TAGS)
    categories = RootCause.objects.filter(parent=None)
    assert sorted(c.name for c in categories) == sorted(ROOT_CAUSES)
    for category in categories:
        assert sorted(category.children.values_list("name", flat=True)) == sorted(ROOT_CAUSES[category.name])
    # answered cases carry tags, settled ones a root cause, nobody filed a case not yet answered
    tagged = [case for case in demo_cases if case.tags.exists()]
    with_cause = [case for case in demo_cases if case.root_cause_id]
    assert tagged and with_cause
    assert all(case.first_response_at for case in tagged)
    assert all(case.status == CaseStatus.RESOLVED for case in with_cause)
    assert all(RootCause.objects.get(pk=case.root_cause_id).parent_id for case in with_cause)


def test_demo_inbox_is_in_order_from_the_start_and_sent_no_email(demo_cases):
    # the periodic jobs have nothing left to do at the demo's "now"
    assert refresh_priority_scores(now=START_OF_TODAY) == 0
    assert check_sla_breaches(now=START_OF_TODAY) == 0
    # a case waiting past its first-response time is marked breached and scored for it
    late = [case for case in demo_cases if case.status in ACTIVE and not case.first_response_at
            and case.first_response_due_at < START_OF_TODAY]
    assert late
    for case in late:
        assert case.priority_score > 0
        assert case.sla_events.filter(kind=SLAEventKind.FIRST_RESPONSE_BREACHED).exists()
    # the supervisor was told of each event, by the dummy backend: no email reached anybody
    assert SLAEvent.objects.exists() and not SLAEvent.objects.filter(notified_at=None).exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_demo_teams_count_business_hours_and_the_first_live_check_finds_nothing_new():
    from datetime import UTC, datetime

    from prevenance.cases.models import Team
    from prevenance.cases.services.sla import check_sla_breaches
    from prevenance.demo.services import load_demo_company

    load_demo_company(customers=150, seed=5, today=datetime.now(UTC).date())
    assert all(team.calendar is not None and team.calendar.periods.exists() for team in Team.objects.all())
    # What fell due between the demo's midnight and now was settled during the load.
    assert check_sla_breaches(now=datetime.now(UTC)) == 0
