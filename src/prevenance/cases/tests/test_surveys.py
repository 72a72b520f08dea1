"""Satisfaction surveys at resolution, the one-click answer page, and the CSAT/CES report."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, MessageKind, TemplatePurpose
from prevenance.cases.models import Case, Message, ReplyTemplate, SatisfactionSurvey
from prevenance.cases.selectors.satisfaction import satisfaction_summary
from prevenance.cases.services import (
    add_inbound_message,
    answer_survey,
    assign_case,
    change_status,
    ensure_default_templates,
    open_case,
    reply_and_set_status,
    send_survey,
)
from prevenance.cases.services.outbound import deliver, send_due_emails
from prevenance.cases.services.surveys import ANSWER_WINDOW, QUIET_PERIOD, send_due_surveys
from prevenance.cases.services.threads import merge_cases
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.choices import ConsentMethod, ConsentPurpose, IdentityKind
from prevenance.customers.services import IdentityInput, grant_consent, withdraw_consent
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, UserFactory

LINK = re.compile(r"(https?://\S+/cases/survey/([\w-]+)/)\?csat=(\d)")


@pytest.fixture(autouse=True)
def defaults(db, settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    settings.PREVENANCE_BASE_URL = "https://care.example.com"
    ensure_default_templates()


def resolved_case(agent, email="claire@example.com", *, team=None, channel=Channel.EMAIL, **kwargs) -> Case:
    """A case resolved, and its survey sent as the sweep sends it once due (send_survey; the
    delay and the order of sending have their own tests below)."""
    team = team or TeamFactory(members=[agent])
    case = open_email_case(email, channel=channel, hints={"first_name": "Claire"}, **kwargs).case
    assign_case(case=case, assignee=agent, team=team, actor=agent)
    case = change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    send_survey(case=case)
    return case


def survey_of(case) -> SatisfactionSurvey:
    return SatisfactionSurvey.objects.get(case=case)


# --- sending -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_resolving_a_case_sends_one_survey_with_a_link_per_answer(agent, django_capture_on_commit_callbacks):
    agent.first_name = "Hugo"
    agent.save()
    with django_capture_on_commit_callbacks(execute=True):
        case = resolved_case(agent)
    survey = survey_of(case)
    assert (survey.agent, survey.team, survey.channel, survey.language, survey.customer) == (
        agent, case.team, Channel.EMAIL, "fr", case.customer)
    assert len(survey.token) >= 40 and survey.answered_at is None
    invitation = Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).order_by("-id").first()
    # The link only preselects the answer (the page records it): the email says so, and lists
    # the answers in the page's order
    assert ("Choisissez votre note, puis confirmez-la sur la page qui s’ouvre\u00a0:\n\n"
            "1 – Très insatisfait\u00a0: https://care.example.com/cases/survey/") in invitation.body_text
    assert "clic" not in invitation.body_text
    links = LINK.findall(invitation.body_text)
    assert [score for _url, _token, score in links] == ["1", "2", "3", "4", "5"]
    page = Client().get(f"/cases/survey/{survey.token}/?csat=4").content.decode()
    assert re.findall(r'name="csat" value="(\d)"', page) == ["1", "2", "3", "4", "5"]
    assert {token for _url, token, _score in links} == {survey.token}
    assert links[0][0] == f"https://care.example.com/cases/survey/{survey.token}/"
    assert invitation.body_text.endswith("Bien cordialement,\nHugo\nLe service client")
    sent = mail.outbox[-1]
    assert sent.subject == f"[{case.reference}] Votre avis sur le traitement de votre demande"
    assert f"/cases/survey/{survey.token}/?csat=5" in sent.body


@pytest.mark.django_db
def test_the_survey_goes_to_the_customer_alone_not_to_the_people_in_copy(agent, django_capture_on_commit_callbacks):
    # Claire's husband was in copy of the case: its replies copy him, but the survey's one-click
    # links answer for Claire, so only she gets it.
    with django_capture_on_commit_callbacks(execute=True):
        case = resolved_case(agent, cc=["paul@example.com"])
    assert case.cc_addresses == ["paul@example.com"]
    invitation = mail.outbox[-1]
    assert f"/cases/survey/{survey_of(case).token}/" in invitation.body
    assert (invitation.to, invitation.cc) == (["claire@example.com"], [])


@pytest.mark.django_db
def test_a_reopened_case_resolved_again_gets_no_second_survey_within_30_days(agent):
    case = resolved_case(agent)
    add_inbound_message(case=case, body="En fait non, toujours cassé.", sender_address="claire@example.com")
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert SatisfactionSurvey.objects.filter(case=case).count() == 1
    # 30 days later, a case resolved again is asked again
    SatisfactionSurvey.objects.filter(case=case).update(sent_at=timezone.now() - QUIET_PERIOD - dt.timedelta(minutes=1))
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert SatisfactionSurvey.objects.filter(case=case).count() == 2


@pytest.mark.django_db
def test_no_survey_without_an_email_address_and_the_reason_is_recorded(agent):
    intake = open_case(identities=[IdentityInput(IdentityKind.PHONE, "+33612345678")], channel=Channel.PHONE, subject="Appel", body="x")
    change_status(case=intake.case, status=CaseStatus.RESOLVED, actor=agent)
    assert not SatisfactionSurvey.objects.exists()
    reasons = AuditEvent.objects.filter(kind="case.survey_skipped").values_list("payload", flat=True)
    assert list(reasons) == [{"reason": "no_address"}]


@pytest.mark.django_db
def test_a_customer_who_withdrew_consent_to_surveys_is_not_asked_and_why_is_recorded(agent):
    case = open_email_case("claire@example.com").case
    grant_consent(customer=case.customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.WEB,
                  occurred_at=timezone.now() - dt.timedelta(days=30))
    withdraw_consent(customer=case.customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.EMAIL,
                     method=ConsentMethod.UNSUBSCRIBE_LINK, occurred_at=timezone.now() - dt.timedelta(days=1))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert not SatisfactionSurvey.objects.exists()
    assert list(AuditEvent.objects.filter(kind="case.survey_skipped").values_list("payload", flat=True)) == [{"reason": "declined"}]
    # consent given again: asked at the next resolution
    grant_consent(customer=case.customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.WEB)
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert SatisfactionSurvey.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_no_survey_without_an_active_survey_template(agent):
    ReplyTemplate.objects.filter(purpose=TemplatePurpose.SURVEY).delete()
    case = resolved_case(agent)
    assert not SatisfactionSurvey.objects.exists()
    assert case.messages.filter(kind=MessageKind.OUTBOUND).count() == 1  # the acknowledgement only


@pytest.mark.django_db
def test_an_english_customer_gets_the_survey_in_english(agent):
    john = CustomerFactory(first_name="John", language="en")
    IdentityFactory(customer=john, value="john@example.com")
    case = resolved_case(agent, "john@example.com")
    assert survey_of(case).language == "en"
    invitation = case.messages.filter(kind=MessageKind.OUTBOUND).order_by("-id").first()
    assert ("Pick your rating, then confirm it on the page that opens:\n\n"
            "1 – Very dissatisfied: https://care.example.com/cases/survey/") in invitation.body_text
    assert "5 – Very satisfied: https://care.example.com/cases/survey/" in invitation.body_text
    assert "One click" not in invitation.body_text


# --- sending after the delay --------------------------------------------------------------------

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """The outbox's periodic task (tasks.send_due_emails) as it runs at `now`: the surveys due,
    then the emails due, each task run when its transaction commits (eager in the tests)."""
    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            surveys = send_due_surveys(now=now)
        with django_capture_on_commit_callbacks(execute=True):
            send_due_emails(now=now)
        return surveys
    return run


def invitations(case) -> list[Message]:
    return list(Message.objects.filter(case=case, automatic_purpose="survey"))


def survey_mails() -> list:
    return [sent for sent in mail.outbox if "/cases/survey/" in sent.body]


def resolve(agent, email="claire@example.com", **kwargs) -> Case:
    case = open_email_case(email, hints={"first_name": "Claire"}, **kwargs).case
    assign_case(case=case, assignee=agent, team=TeamFactory(members=[agent]), actor=agent)
    return change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)


@pytest.mark.django_db
def test_the_survey_is_sent_by_the_sweep_after_the_delay_not_at_resolution(agent, settings, sweep):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    survey = survey_of(case)
    # Resolved: the survey waits, nothing is sent, and its link leads nowhere yet
    assert (survey.sent_at, survey.due_at) == (None, case.resolved_at + 60 * MINUTE)
    assert (survey.agent, survey.language) == (agent, "fr")
    assert invitations(case) == []
    assert Client().get(f"/cases/survey/{survey.token}/?csat=5").status_code == 404
    with pytest.raises(ValidationError) as refused:
        answer_survey(token=survey.token, csat=5)
    assert refused.value.message_dict == {"survey": ["This survey is closed."]}
    # A minute before it is due: still nothing (the acknowledgement goes, the survey does not)
    assert sweep(case.resolved_at + 59 * MINUTE) == 0
    assert mail.outbox and survey_mails() == [] and invitations(case) == []
    # Due: sent once, its link works
    assert sweep(case.resolved_at + 60 * MINUTE) == 1
    assert sweep(case.resolved_at + 61 * MINUTE) == 0
    survey.refresh_from_db()
    assert (survey.sent_at, survey.due_at) == (case.resolved_at + 60 * MINUTE, None)
    [invitation] = invitations(case)
    assert invitation.sent_at is not None and invitation.created_at == survey.sent_at
    [sent] = survey_mails()
    assert f"/cases/survey/{survey.token}/?csat=4" in sent.body
    assert Client().get(f"/cases/survey/{survey.token}/?csat=4").status_code == 200


@pytest.mark.django_db
def test_a_case_reopened_before_the_delay_gets_no_survey_until_its_next_resolution(agent, settings, sweep):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    first_due = survey_of(case).due_at
    # The customer writes back: "still broken" reopens the case before the survey is due
    add_inbound_message(case=case, body="En fait non, toujours cassé.", sender_address="claire@example.com")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert sweep(first_due + MINUTE) == 0
    assert survey_mails() == [] and invitations(case) == []
    assert not SatisfactionSurvey.objects.filter(case=case).exists()
    skipped = AuditEvent.objects.filter(kind="case.survey_skipped", subject_id=str(case.pk)).values_list("payload", flat=True)
    assert list(skipped) == [{"reason": "reopened"}]
    # Resolved again: one survey, due the delay after this resolution, sent once
    case = change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    assert survey_of(case).due_at == case.resolved_at + 60 * MINUTE
    assert sweep(case.resolved_at + 60 * MINUTE) == 1
    assert sweep(case.resolved_at + 120 * MINUTE) == 0
    assert len(survey_mails()) == 1 and len(invitations(case)) == 1


@pytest.mark.django_db
def test_reopened_and_resolved_again_within_the_delay_the_one_survey_waits_from_the_last_resolution(agent, settings, sweep):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    token = survey_of(case).token
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    SatisfactionSurvey.objects.filter(case=case).update(due_at=timezone.now() - 30 * MINUTE)  # the first resolution, earlier
    case = change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    survey = survey_of(case)  # one row, the same link
    assert (survey.token, survey.due_at) == (token, case.resolved_at + 60 * MINUTE)
    assert sweep(case.resolved_at + 59 * MINUTE) == 0
    assert sweep(case.resolved_at + 60 * MINUTE) == 1
    assert len(survey_mails()) == 1


@pytest.mark.django_db
def test_a_case_merged_before_the_delay_gets_no_survey(agent, settings, sweep):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    survivor = open_email_case("claire@example.com", subject="Colis abîmé, suite").case
    merge_cases(survivor=survivor, loser=case, actor=agent)
    assert sweep(timezone.now() + 61 * MINUTE) == 0
    assert survey_mails() == [] and not SatisfactionSurvey.objects.exists()
    skipped = AuditEvent.objects.filter(kind="case.survey_skipped", subject_id=str(case.pk)).values_list("payload", flat=True)
    assert list(skipped) == [{"reason": "merged"}]


@pytest.mark.django_db
def test_a_customer_who_withdraws_consent_before_the_delay_is_not_asked(agent, settings, sweep):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    sweep(timezone.now())  # the acknowledgement
    withdraw_consent(customer=case.customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.EMAIL,
                     method=ConsentMethod.UNSUBSCRIBE_LINK)
    assert sweep(case.resolved_at + 61 * MINUTE) == 0
    assert survey_mails() == [] and not SatisfactionSurvey.objects.exists()
    assert list(AuditEvent.objects.filter(kind="case.survey_skipped").values_list("payload", flat=True)) == [{"reason": "declined"}]


@pytest.mark.django_db
def test_send_and_resolve_delivers_the_reply_before_the_survey(agent, settings, sweep, django_capture_on_commit_callbacks):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 60
    case = resolve(agent)
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    SatisfactionSurvey.objects.all().delete()
    sweep(timezone.now())  # the acknowledgement
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reply = reply_and_set_status(case=case, author=agent, status=CaseStatus.RESOLVED, body="Un nouveau colis part demain.")
    # At resolution: the reply alone
    assert [sent.subject for sent in mail.outbox] == [f"Re: [{case.reference}] Colis abîmé"]
    case.refresh_from_db()
    assert sweep(case.resolved_at + 60 * MINUTE) == 1
    assert [sent.subject for sent in mail.outbox] == [
        f"Re: [{case.reference}] Colis abîmé", f"[{case.reference}] Votre avis sur le traitement de votre demande"]
    reply.refresh_from_db()
    assert reply.sent_at < survey_of(case).sent_at


@pytest.mark.django_db
def test_with_no_delay_the_survey_follows_the_reply_once_the_reply_has_gone(agent, settings, sweep, django_capture_on_commit_callbacks):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 0
    case = open_email_case("claire@example.com", hints={"first_name": "Claire"}).case
    assign_case(case=case, assignee=agent, team=TeamFactory(members=[agent]), actor=agent)
    sweep(timezone.now())  # the acknowledgement
    mail.outbox.clear()
    # The reply's task has not run yet (a busy worker, or two tasks racing): it is still in the outbox
    with django_capture_on_commit_callbacks(execute=False):
        reply = reply_and_set_status(case=case, author=agent, status=CaseStatus.RESOLVED, body="Un nouveau colis part demain.")
    now = timezone.now()
    assert survey_of(case).due_at <= now
    assert send_due_surveys(now=now) == 0  # due, but the reply has not been handed to the backend
    assert mail.outbox == [] and invitations(case) == []
    # The reply goes (its task runs), then the next sweep sends the survey, after it
    assert deliver(message_id=reply.pk) is True
    assert sweep(now) == 1
    assert [sent.subject for sent in mail.outbox] == [
        f"Re: [{case.reference}] Colis abîmé", f"[{case.reference}] Votre avis sur le traitement de votre demande"]


@pytest.mark.django_db
def test_a_reply_due_again_after_a_failed_attempt_holds_the_survey_back(agent, settings, sweep, django_capture_on_commit_callbacks):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 0
    case = open_email_case("claire@example.com").case
    sweep(timezone.now())  # the acknowledgement
    with django_capture_on_commit_callbacks(execute=False):
        reply = reply_and_set_status(case=case, author=agent, status=CaseStatus.RESOLVED, body="C'est réglé.")
    retry_at = timezone.now() + 5 * MINUTE
    Message.objects.filter(pk=reply.pk).update(delivery_due_at=retry_at, delivery_attempts=1, send_error="451 Try again later")
    assert sweep(retry_at - MINUTE) == 0
    assert survey_mails() == []
    assert sweep(retry_at) == 0  # this sweep sends the reply...
    assert sweep(retry_at) == 1  # ... and the next the survey
    assert [sent.subject.startswith("Re:") for sent in mail.outbox[-2:]] == [True, False]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_survey_once(settings):
    settings.PREVENANCE_SURVEY_DELAY_MINUTES = 0
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    ensure_default_templates()
    agent = UserFactory(username="agent", role="agent")
    cases = [resolve(agent, f"client{n}@example.com") for n in range(4)]
    send_due_emails()  # the acknowledgements (their tasks run at commit here)
    mail.outbox.clear()
    counts, errors = run_concurrently(send_due_surveys, send_due_surveys)
    assert errors == []
    assert sum(counts) == 4
    assert sorted(address for sent in mail.outbox for address in sent.to) == [f"client{n}@example.com" for n in range(4)]
    assert [len(invitations(case)) for case in cases] == [1, 1, 1, 1]
    assert not SatisfactionSurvey.objects.filter(sent_at=None).exists()


# --- answering -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_link_only_shows_the_answer_preselected_and_a_click_on_the_page_records_it(agent):
    survey = survey_of(resolved_case(agent))
    client = Client()
    url = f"/cases/survey/{survey.token}/"
    # A link scanner (or the customer) opens the "4" link: the page shows 4 checked, nothing is recorded
    page = client.get(f"{url}?csat=4")
    assert page.status_code == 200
    assert page["Content-Language"] == "fr" and page["Cache-Control"] == "no-store"
    assert re.search(r'value="4"\s+checked', page.content.decode())
    assert "confirm-note" in page.content.decode()  # says the choice is not recorded until sent
    survey.refresh_from_db()
    assert (survey.csat, survey.answered_at) == (None, None)
    # The customer confirms: recorded, then the effort question
    confirmed = client.post(url, {"step": "csat", "csat": "4"})
    assert confirmed.status_code == 302 and confirmed["Location"] == url
    survey.refresh_from_db()
    assert survey.csat == 4 and survey.answered_at is not None
    effort = client.get(url)
    assert 'data-step="effort"' in effort.content.decode()
    done = client.post(url, {"step": "effort", "ces": "6", "comment": "  Rapide et aimable.  "})
    assert done.status_code == 302 and done["Location"] == f"{url}?thanks=1"
    survey.refresh_from_db()
    assert (survey.csat, survey.ces, survey.comment) == (4, 6, "Rapide et aimable.")
    assert 'data-step="thanks"' in client.get(done["Location"]).content.decode()
    # Changing a recorded answer: nothing is waiting to be sent, so no such note
    assert "confirm-note" not in client.get(f"{url}?edit=1").content.decode()


@pytest.mark.django_db
def test_the_page_is_in_the_surveys_language_unless_the_visitor_chooses_another_with_the_switch(agent):
    survey = survey_of(resolved_case(agent))
    assert survey.language == "fr"
    client = Client()
    url = f"/cases/survey/{survey.token}/"
    # A browser set to English gets the survey's language all the same...
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "fr"
    assert "Quelle est votre satisfaction" in page.content.decode()
    # ... until the visitor picks English in the page's language switch: the choice wins.
    switched = client.post("/i18n/setlang/", {"language": "en", "next": url})
    assert switched.status_code == 302 and switched["Location"] == url
    page = client.get(url)
    assert page["Content-Language"] == "en"
    assert "How satisfied are you with the way we handled your request?" in page.content.decode()
    assert re.search(r'<option value="en"\s+selected', page.content.decode())
    # An answer posted then is recorded the same, and the next step stays in English.
    client.post(url, {"step": "csat", "csat": "5"})
    assert client.get(url)["Content-Language"] == "en"
    survey.refresh_from_db()
    assert (survey.csat, survey.language) == (5, "fr")


@pytest.mark.django_db
def test_answers_can_be_changed_for_seven_days_then_the_survey_is_closed(agent):
    survey = survey_of(resolved_case(agent))
    answer_survey(token=survey.token, csat=2)
    first_answer = SatisfactionSurvey.objects.get(pk=survey.pk).answered_at
    answer_survey(token=survey.token, csat=5, ces=7)
    survey.refresh_from_db()
    assert (survey.csat, survey.ces, survey.answered_at) == (5, 7, first_answer)  # the first answer's time stays
    late = survey.sent_at + ANSWER_WINDOW + dt.timedelta(seconds=1)
    with pytest.raises(ValidationError) as closed:
        answer_survey(token=survey.token, csat=1, now=late)
    assert closed.value.message_dict == {"survey": ["This survey is closed."]}
    SatisfactionSurvey.objects.filter(pk=survey.pk).update(sent_at=timezone.now() - ANSWER_WINDOW - dt.timedelta(minutes=1))
    client = Client()
    page = client.get(f"/cases/survey/{survey.token}/?csat=1")
    assert page.status_code == 410 and 'data-step="closed"' in page.content.decode()
    posted = client.post(f"/cases/survey/{survey.token}/", {"step": "csat", "csat": "1"})
    assert posted.status_code == 410
    survey.refresh_from_db()
    assert survey.csat == 5


@pytest.mark.django_db
def test_an_unknown_token_gets_a_404_page():
    page = Client().get("/cases/survey/not-a-real-token/?csat=5")
    assert page.status_code == 404
    assert "This survey link is not valid." in page.content.decode()
    with pytest.raises(ValidationError) as refused:
        answer_survey(token="not-a-real-token", csat=5)
    assert "token" in refused.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "field"), [
    ({"step": "csat", "csat": "9"}, "csat"),
    ({"step": "csat", "csat": "abc"}, "csat"),
    ({"step": "csat"}, "csat"),
    ({"step": "effort", "ces": "0"}, "ces"),
    ({"step": "effort", "ces": "8"}, "ces"),
    ({"step": "effort", "comment": "x" * 2001}, "comment"),
])
def test_bad_answers_are_refused_with_the_reason_and_nothing_changes(agent, fields, field):
    survey = survey_of(resolved_case(agent))
    answer_survey(token=survey.token, csat=3)
    page = Client().post(f"/cases/survey/{survey.token}/", fields)
    assert page.status_code == 400
    assert 'class="errorlist"' in page.content.decode()
    survey.refresh_from_db()
    assert (survey.csat, survey.ces, survey.comment) == (3, None, "")


# A comment as a browser posts it: 90 lines, 1,980 characters in the textarea (each line break
# counts one against maxlength=2000), 2,070 on the wire (each line break is CRLF).
BROWSER_COMMENT = "Livraison très rapide\r\n" * 90


@pytest.mark.django_db
def test_a_comment_with_line_breaks_is_counted_and_stored_as_the_page_counts_it(agent):
    survey = survey_of(resolved_case(agent))
    assert len(BROWSER_COMMENT) == 2_070 and len(BROWSER_COMMENT.replace("\r\n", "\n")) == 1_980

    page = Client().post(f"/cases/survey/{survey.token}/", {"step": "effort", "ces": "6", "comment": BROWSER_COMMENT})

    assert page.status_code == 302
    survey.refresh_from_db()
    assert survey.comment == BROWSER_COMMENT.replace("\r\n", "\n").strip() and "\r" not in survey.comment
    answer_survey(token=survey.token, comment="Un\rdeux\r\ntrois")  # a lone CR (old Mac) too
    assert SatisfactionSurvey.objects.get(pk=survey.pk).comment == "Un\ndeux\ntrois"
    with pytest.raises(ValidationError) as refused:
        answer_survey(token=survey.token, comment="x" * 2_000 + "\r\n" + "y")
    assert refused.value.message_dict == {"comment": ["At most 2000 characters (got 2002)."]}


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "field"), [
    ({"ces": "5", "comment": "Trop long. " * 200}, "comment"),
    ({"ces": "8", "comment": "Très bien, merci.\r\nÀ bientôt."}, "ces"),
])
def test_a_refused_effort_answer_gives_back_what_the_customer_typed(agent, fields, field):
    survey = survey_of(resolved_case(agent))
    answer_survey(token=survey.token, csat=3, ces=2, comment="Ancien commentaire")

    page = Client().post(f"/cases/survey/{survey.token}/", {"step": "effort", **fields})

    assert page.status_code == 400 and list(page.context["errors"]) == [field]
    html = page.content.decode()
    typed = fields["comment"].replace("\r\n", "\n").replace("'", "&#x27;")
    assert re.search(r'<textarea id="id_comment" name="comment" maxlength="2000">\s(.*?)</textarea>', html, re.S).group(1) \
        .replace("\r\n", "\n") == typed
    checked = re.findall(r'name="ces" value="(\d)"\s+checked', html)
    assert checked == (["5"] if fields["ces"] == "5" else ["2"])  # the score sent, or the stored one if it was refused
    survey.refresh_from_db()
    assert (survey.ces, survey.comment) == (2, "Ancien commentaire")


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_the_same_moment_both_land_whole():
    agent = UserFactory(username="agent", role="agent")
    survey = survey_of(resolved_case(agent))
    _results, errors = run_concurrently(
        lambda: answer_survey(token=survey.token, csat=5), lambda: answer_survey(token=survey.token, ces=2, comment="ok"),
    )
    assert errors == []
    survey.refresh_from_db()
    assert (survey.csat, survey.ces, survey.comment) == (5, 2, "ok")
    assert survey.answered_at is not None


# --- reporting -----------------------------------------------------------------------------------

def answered(agent, email, *, csat=None, ces=None, team=None, channel=Channel.EMAIL):
    survey = survey_of(resolved_case(agent, email, team=team, channel=channel))
    if csat is not None or ces is not None:
        answer_survey(token=survey.token, csat=csat, ces=ces)
    return survey


@pytest.mark.django_db
def test_csat_is_the_share_of_4_and_5_and_ces_the_mean_non_answers_never_count(supervisor):
    hugo, lea = UserFactory(username="hugo", first_name="Hugo", role="agent"), UserFactory(username="lea", role="agent")
    team_a, team_b = TeamFactory(name="A", members=[hugo]), TeamFactory(name="B", members=[lea])
    answered(hugo, "c1@example.com", csat=5, ces=7, team=team_a)
    answered(hugo, "c2@example.com", csat=4, team=team_a)
    answered(hugo, "c3@example.com", csat=2, ces=3, team=team_a, channel=Channel.WEB)
    answered(lea, "c4@example.com", ces=6, team=team_b)  # effort only
    answered(lea, "c5@example.com", team=team_b)  # never answered: in no denominator
    now = timezone.now()
    summary = satisfaction_summary(supervisor, start=now - dt.timedelta(days=1), end=now + dt.timedelta(minutes=1), group_by="team")
    assert (summary.total.csat_responses, summary.total.csat_satisfied, str(summary.total.csat)) == (3, 2, "66.7")
    assert (summary.total.ces_responses, str(summary.total.ces)) == (3, "5.33")
    assert [(line.label, line.csat_responses, line.csat, line.ces_responses, line.ces) for line in summary.lines] == [
        ("A", 3, summary.total.csat, 2, 5), ("B", 0, None, 1, 6),
    ]
    by_channel = satisfaction_summary(supervisor, start=now - dt.timedelta(days=1), end=now + dt.timedelta(minutes=1), group_by="channel")
    assert [(line.key, line.csat_responses, str(line.csat)) for line in by_channel.lines] == [("email", 2, "100.0"), ("web", 1, "0.0")]
    by_agent = satisfaction_summary(supervisor, start=now - dt.timedelta(days=1), end=now + dt.timedelta(minutes=1), group_by="agent")
    assert [(line.label, line.csat_responses, line.ces_responses) for line in by_agent.lines] == [("Hugo", 3, 2), ("lea", 0, 1)]
    # outside the period: nothing
    empty = satisfaction_summary(supervisor, start=now - dt.timedelta(days=3), end=now - dt.timedelta(days=2))
    assert (empty.total.csat_responses, empty.total.csat, empty.total.ces, empty.lines) == (0, None, None, [])


@pytest.mark.django_db
def test_the_report_only_counts_the_cases_the_user_may_see(supervisor):
    hugo, lea = UserFactory(username="hugo", role="agent"), UserFactory(username="lea", role="agent")
    team_a, team_b = TeamFactory(name="A", members=[hugo]), TeamFactory(name="B", members=[lea])
    answered(hugo, "c1@example.com", csat=5, team=team_a)
    answered(lea, "c2@example.com", csat=1, team=team_b)
    now = timezone.now()
    window = {"start": now - dt.timedelta(days=1), "end": now + dt.timedelta(minutes=1)}
    assert satisfaction_summary(supervisor, **window).total.csat_responses == 2
    assert (satisfaction_summary(hugo, **window).total.csat_responses, str(satisfaction_summary(hugo, **window).total.csat)) == (1, "100.0")
    assert satisfaction_summary(UserFactory(username="nobody"), **window).total.csat_responses == 0


@pytest.mark.django_db
def test_the_report_refuses_a_bad_grouping_or_period(supervisor):
    now = timezone.now()
    with pytest.raises(ValidationError) as bad_group:
        satisfaction_summary(supervisor, start=now - dt.timedelta(days=1), end=now, group_by="weather")
    assert "group_by" in bad_group.value.message_dict
    with pytest.raises(ValidationError) as bad_period:
        satisfaction_summary(supervisor, start=now, end=now)
    assert "end" in bad_period.value.message_dict


@pytest.mark.django_db
def test_send_survey_on_an_erased_customers_case_records_why(agent):
    case = open_email_case().case
    Case.objects.filter(pk=case.pk).update(customer=None)
    case.refresh_from_db()
    assert send_survey(case=case) is None
    assert list(AuditEvent.objects.filter(kind="case.survey_skipped").values_list("payload", flat=True)) == [{"reason": "erased"}]
