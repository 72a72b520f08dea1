"""The breach check's escalation: one priority step whichever periodic job runs first, the
supervisors' email (wording, zone, language) and its being marked sent only once sent."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from prevenance.cases.choices import Priority, SLAEventKind
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.services import add_reply
from prevenance.cases.services import priority as priority_services
from prevenance.cases.services import sla as sla_services
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import create_business_calendar, default_calendar_periods
from prevenance.core.models import TaskEffect
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def french_team():
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar, routing_method="manual")
    team.members.add(UserFactory(role="supervisor", email="chef@staff.example"))
    return team


def policy(name="Standard", first=2 * H, resolution=8 * H, **fields) -> SLAPolicy:
    return SLAPolicy.objects.create(name=name, first_response_target=first, resolution_target=resolution, **fields)


def state(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return case.priority, case.priority_score


# One step per breach -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["refresh", "check"])
def test_a_breach_raises_the_priority_one_step_whichever_job_runs_first(french_team, first):
    # Given a normal case (Monday 09:00 Paris) whose first response is overdue at 11:30
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team, body="Bonjour, une question.").case
    before = state(case)
    assert before[0] == Priority.NORMAL and before[1] < 30  # below high: the overdue 30 points alone would reach it
    now = utc(2026, 12, 21, 10, 30)
    jobs = {
        "refresh": lambda: priority_services.refresh_priority_scores(now=now),
        "check": lambda: sla_services.check_sla_breaches(now=now),
    }
    # When both periodic jobs run, in either order, and again
    for name in (first, *(set(jobs) - {first}), first):
        jobs[name]()
    # Then the breach raised it one step: high, never urgent
    assert state(case) == (Priority.HIGH, before[1] + 30)


def test_an_escalation_checks_the_due_time_again_once_the_case_is_locked(french_team, agent, monkeypatch):
    # Given a breach seen by the check, but the case answered before the check locks it
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    seen = Case.objects.get(pk=case.pk).first_response_due_at
    monkeypatch.setattr(timezone, "now", lambda: utc(2026, 12, 21, 9))
    add_reply(case=case, author=agent, body="Nous regardons.")
    # When the escalation runs on what the check had read
    event = sla_services._escalate(case.pk, SLAEventKind.FIRST_RESPONSE_BREACHED, seen, utc(2026, 12, 21, 10, 30))
    # Then nothing is recorded nor raised
    assert event is None
    assert not SLAEvent.objects.exists()
    assert Case.objects.get(pk=case.pk).priority == Priority.NORMAL


# The notice is marked sent once sent -------------------------------------------------------


def test_a_notice_another_run_is_sending_is_not_marked_sent_and_is_sent_later_if_that_run_failed(french_team):
    # Given a recorded breach whose notice another run has claimed and is sending
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    now = utc(2026, 12, 21, 10, 30)
    event = sla_services._escalate(case.pk, SLAEventKind.FIRST_RESPONSE_BREACHED, utc(2026, 12, 21, 10), now)
    claim = TaskEffect.objects.create(key=f"sla-notice:{event.pk}", claimed_at=timezone.now())
    # When this run meets it
    assert sla_services.check_sla_breaches(now=now) == 0
    # Then it sends nothing and leaves the event to be notified
    assert mail.outbox == []
    assert SLAEvent.objects.get(pk=event.pk).notified_at is None
    # When the other run's send fails (its claim is released) and the next run comes
    claim.delete()
    sla_services.check_sla_breaches(now=now + 5 * timedelta(minutes=1))
    # Then the supervisor is told, once, and the event marked
    assert [message.to for message in mail.outbox] == [["chef@staff.example"]]
    assert SLAEvent.objects.get(pk=event.pk).notified_at is not None
    sla_services.check_sla_breaches(now=now + 10 * timedelta(minutes=1))
    assert len(mail.outbox) == 1


def test_a_notice_another_run_has_sent_is_marked_without_sending_again(french_team):
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    now = utc(2026, 12, 21, 10, 30)
    event = sla_services._escalate(case.pk, SLAEventKind.FIRST_RESPONSE_BREACHED, utc(2026, 12, 21, 10), now)
    TaskEffect.objects.create(key=f"sla-notice:{event.pk}", claimed_at=timezone.now(), done_at=timezone.now())
    assert sla_services.notify_sla_event(event_id=event.pk) is False
    assert mail.outbox == []
    assert SLAEvent.objects.get(pk=event.pk).notified_at is not None


# The notice's wording ----------------------------------------------------------------------


@pytest.fixture
def montreal_team():
    calendar = create_business_calendar(
        name="Montréal", time_zone="America/Montreal", periods=[(day, "09:00", "17:00") for day in range(5)]
    )
    team = TeamFactory(calendar=calendar, routing_method="manual")
    team.members.add(UserFactory(role="supervisor", email="chef@staff.example"))
    return team


def test_the_notices_say_due_soon_or_overdue_in_the_calendars_zone(montreal_team, settings):
    # Given a server in Paris and a team in Montreal: a case opened Monday 09:00 Montreal,
    # first response due at 11:00 Montreal (17:00 Paris)
    settings.TIME_ZONE = "Europe/Paris"
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 14), team=montreal_team).case
    # When the check runs near the due time, then after it
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 15, 40)) == 1
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 16, 5)) == 1
    near, breached = mail.outbox
    # Then each says it in its own tense, at Montreal's time written as English writes it, named
    assert near.body == (
        f"Case {case.reference} (Colis abîmé) is due at 21 Dec 2026, 11:00 (America/Montreal time).\nPriority: Normal."
    )
    assert breached.body == (
        f"Case {case.reference} (Colis abîmé) was due at 21 Dec 2026, 11:00 (America/Montreal time) and is overdue."
        "\nPriority: High."
    )
    assert near.subject == f"Case {case.reference}: First response due soon"


def test_the_notice_is_written_in_the_sites_language_whatever_the_worker_runs_in(french_team, settings):
    settings.LANGUAGE_CODE = "fr"
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    with translation.override("en"):
        assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 9, 40)) == 1
        [notice] = mail.outbox
        assert notice.subject == f"Dossier {case.reference}\u00a0: Première réponse bientôt due"  # French spacing
        assert translation.get_language() == "en"  # the worker's language is left as it was


def test_a_due_soon_notice_held_up_until_the_case_was_answered_is_not_sent(french_team, agent, monkeypatch):
    # Given a near breach recorded while the mail server was down (its notice left for later)
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    with monkeypatch.context() as down:
        down.setattr(sla_services, "send_mail", lambda **kwargs: (_ for _ in ()).throw(OSError("connection refused")))
        assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 9, 40)) == 1
    # When the agent answers before the mail server is back
    monkeypatch.setattr(timezone, "now", lambda: utc(2026, 12, 21, 9, 50))
    add_reply(case=case, author=agent, body="Nous regardons.")
    mail.outbox.clear()  # the reply itself
    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 9, 55))
    # Then the supervisor is not told the first response "is due" on a case already answered
    assert mail.outbox == []
    assert not SLAEvent.objects.filter(notified_at=None).exists()  # nor is it tried again


def test_a_due_soon_notice_its_breach_overtook_is_not_sent_after_the_breach(french_team, monkeypatch):
    # Given a near breach recorded while the mail server was down (its notice left for later)
    policy()
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=french_team).case
    with monkeypatch.context() as down:
        down.setattr(sla_services, "send_mail", lambda **kwargs: (_ for _ in ()).throw(OSError("connection refused")))
        assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 9, 40)) == 1
    assert mail.outbox == []
    # When the mail server is back only after the due time, and the check records the breach
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 5)) == 1
    # Then the supervisor is told it is overdue, not also that it "is due" at a time gone by
    assert [message.subject for message in mail.outbox] == [f"Case {case.reference}: First response overdue"]
    assert not SLAEvent.objects.filter(notified_at=None).exists()  # nor is it tried again
    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 10))
    assert len(mail.outbox) == 1
