"""The SLA notices in each supervisor's own language (docs/dashboard.md, "My language"): one
email per supervisor, each sent once, in the site's language for those who chose none."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from prevenance.cases.models import SLAEvent, SLAPolicy
from prevenance.cases.services import sla as sla_services
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import create_business_calendar, default_calendar_periods
from prevenance.core.preferences.services import set_user_language
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def team():
    # A Paris team: a case received Monday 09:00 Paris is due for a first response at 11:00.
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H)
    return TeamFactory(calendar=calendar, routing_method="manual")


def supervisor_of(team, username: str, language: str | None = None):
    user = UserFactory(username=username, role="supervisor")
    team.members.add(user)
    if language is not None:
        set_user_language(user=user, language=language)
    return user


def breach(team):
    """A case whose first response is overdue, checked as the periodic job does."""
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=team).case
    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 5))
    return case


def sent(case) -> dict[tuple[str, ...], tuple[str, str]]:
    return {tuple(message.to): (message.subject, message.body) for message in mail.outbox if case.reference in message.subject}


def test_a_french_and_an_english_supervisor_each_get_the_breach_in_their_language(team, settings):
    settings.LANGUAGE_CODE = "en"
    supervisor_of(team, "amelie", "fr")
    supervisor_of(team, "john", "en")

    case = breach(team)

    assert sent(case) == {
        ("amelie@staff.example",): (
            f"Dossier {case.reference}\u00a0: Première réponse en retard",
            f"Le dossier {case.reference} (Colis abîmé) était dû le 21 décembre 2026 11:00 (heure de Europe/Paris)"
            " et est en retard.\nPriorité\u00a0: Haute.",
        ),
        ("john@staff.example",): (
            f"Case {case.reference}: First response overdue",
            f"Case {case.reference} (Colis abîmé) was due at 21 Dec 2026, 11:00 (Europe/Paris time) and is overdue."
            "\nPriority: High.",
        ),
    }


def test_supervisors_who_chose_no_language_get_the_sites(team, settings):
    settings.LANGUAGE_CODE = "fr"
    supervisor_of(team, "claire")
    supervisor_of(team, "louis", "")  # saved as "as my browser says"
    supervisor_of(team, "john", "en")

    case = breach(team)

    assert {to: subject for to, (subject, _body) in sent(case).items()} == {
        ("claire@staff.example",): f"Dossier {case.reference}\u00a0: Première réponse en retard",
        ("louis@staff.example",): f"Dossier {case.reference}\u00a0: Première réponse en retard",
        ("john@staff.example",): f"Case {case.reference}: First response overdue",
    }


def test_an_address_two_supervisors_share_is_told_once(team):
    supervisor_of(team, "desk1", "fr")
    shared = supervisor_of(team, "desk2", "en")
    shared.email = "desk1@staff.example"
    shared.save()

    case = breach(team)

    assert list(sent(case)) == [("desk1@staff.example",)]
    assert "Dossier" in sent(case)[("desk1@staff.example",)][0]  # the first account's language


def test_the_recipients_and_their_languages_take_the_same_queries_however_many(team, django_assert_num_queries):
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=team).case
    supervisor_of(team, "amelie", "fr")
    with django_assert_num_queries(2):  # the team's supervisors, then their languages
        assert [(r.email, r.language) for r in sla_services.supervisors_to_notify(case)] == [("amelie@staff.example", "fr")]
    for n in range(6):
        supervisor_of(team, f"sup{n}", ("fr", "en", None)[n % 3])

    with django_assert_num_queries(2):
        recipients = sla_services.supervisors_to_notify(case)

    assert [(r.email, r.language) for r in recipients] == [
        ("amelie@staff.example", "fr"), ("sup0@staff.example", "fr"), ("sup1@staff.example", "en"),
        ("sup2@staff.example", "en"), ("sup3@staff.example", "fr"), ("sup4@staff.example", "en"), ("sup5@staff.example", "en"),
    ]


def breach_while_amelies_email_fails(team, monkeypatch):
    """The breach checked while the mail server refuses amelie's email (after john's went)."""
    real_send_mail = sla_services.send_mail

    def amelies_fails(**kwargs):
        if kwargs["recipient_list"] == ["amelie@staff.example"]:
            raise OSError("connection lost")
        return real_send_mail(**kwargs)

    with monkeypatch.context() as flaky:
        flaky.setattr(sla_services, "send_mail", amelies_fails)
        case = breach(team)
    assert [message.to for message in mail.outbox] == [["john@staff.example"]]
    assert SLAEvent.objects.get(case=case).notified_at is None
    return case


def test_after_a_failure_between_two_supervisors_the_next_run_sends_only_the_one_not_sent(team, monkeypatch):
    supervisor_of(team, "john", "en")
    supervisor_of(team, "amelie", "fr")
    case = breach_while_amelies_email_fails(team, monkeypatch)

    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 10))

    assert [message.to for message in mail.outbox] == [["john@staff.example"], ["amelie@staff.example"]]
    assert SLAEvent.objects.get(case=case).notified_at is not None


def test_a_supervisor_who_changes_language_between_a_failure_and_the_retry_is_told_once(team, monkeypatch):
    john = supervisor_of(team, "john", "en")
    supervisor_of(team, "amelie", "fr")
    case = breach_while_amelies_email_fails(team, monkeypatch)
    set_user_language(user=john, language="fr")  # now in amelie's language

    sla_services.check_sla_breaches(now=utc(2026, 12, 21, 10, 10))

    assert [message.to for message in mail.outbox] == [["john@staff.example"], ["amelie@staff.example"]]
    assert mail.outbox[0].subject.startswith("Case ")  # john's, sent before he changed
    assert SLAEvent.objects.get(case=case).notified_at is not None
