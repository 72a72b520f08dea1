"""Send and set the status in one go (Zendesk's "Submit as Pending / Solved"): the service
reply_and_set_status, the case page's "Send and …" buttons, the API's `status` on a reply, and
the question the Resolve buttons ask while a gesture waits for approval."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseAuditKind, CaseStatus, GestureStatus, MessageKind
from prevenance.cases.models import Case, Message, SatisfactionSurvey, SLAPolicy
from prevenance.cases.services import (
    add_inbound_message,
    add_reply,
    assign_case,
    change_status,
    ensure_default_limits,
    ensure_default_templates,
    open_case,
    reply_and_set_status,
    request_gesture,
)
from prevenance.cases.services.outbound import send_due_emails
from prevenance.cases.services.surveys import send_due_surveys, survey_delay
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import IdentityKind
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = CaseStatus
HX = {"HTTP_HX_REQUEST": "true"}
WAIT_BUTTON = 'name="then_status" value="pending_customer"'
RESOLVE_BUTTON = 'name="then_status" value="resolved"'


@pytest.fixture(autouse=True)
def surveys_and_policy(settings):
    """Surveys go out after resolution; an SLA policy gives every case a clock that waits can pause."""
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    settings.PREVENANCE_BASE_URL = "https://care.example.com"
    ensure_default_templates()
    ensure_default_limits()
    SLAPolicy.objects.create(name="Standard", first_response_target=timedelta(hours=8), resolution_target=timedelta(days=2))


@pytest.fixture
def team(agent):
    return TeamFactory(members=[agent])


def new_case(team, supervisor, email="camille@example.com") -> Case:
    return assign_case(case=open_email_case(email).case, team=team, actor=supervisor)


def audit_kinds(case) -> list[str]:
    return list(AuditEvent.objects.filter(subject_id=str(case.pk), kind__startswith="case.").order_by("pk").values_list("kind", "payload"))


def events_of(receiver, case) -> list[tuple[str, dict, bool]]:
    """The webhooks sent about `case`: their type, the status change, whether a message came."""
    sent = [json.loads(call["body"]) for call in receiver.calls]
    return [(event["type"], event["data"]["changes"].get("status"), "message" in event["data"]["changes"])
            for event in sent if event["data"]["object"]["id"] == case.pk]


# --- the service ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.PENDING_CUSTOMER, S.RESOLVED])
def test_send_and_set_status_does_what_a_reply_then_a_status_change_do(agent, supervisor, team, receiver, committed, status):
    # Given two new cases, one answered then moved by hand, the other in one go
    apart, together = new_case(team, supervisor, "camille@example.com"), new_case(team, supervisor, "paul@example.com")
    with committed():
        send_due_emails()  # their acknowledgements
    receiver.calls.clear()
    mail.outbox.clear()
    with committed():
        add_reply(case=apart, author=agent, body="Pouvez-vous nous envoyer une photo du colis ?")
    with committed():
        change_status(case=apart, status=status, actor=agent)
    assert len(mail.outbox) == 1  # the reply: the survey waits for its delay
    with committed():
        send_due_surveys(now=timezone.now() + survey_delay())
    apart_mail = [message.subject for message in mail.outbox]
    mail.outbox.clear()
    # When
    with committed():
        message = reply_and_set_status(case=together, author=agent, status=status, body="Pouvez-vous nous envoyer une photo du colis ?")
    assert len(mail.outbox) == 1
    with committed():
        send_due_surveys(now=timezone.now() + survey_delay())
    # Then: the same case, the same audit rows, webhooks and emails
    for row in (apart, together, message):
        row.refresh_from_db()
    assert message.kind == MessageKind.OUTBOUND and message.case_id == together.pk and message.sent_at is not None
    assert together.status == apart.status == status
    for case in (apart, together):
        assert case.first_response_at is not None
        assert (case.sla_paused_at is not None) == (status == S.PENDING_CUSTOMER)
        assert (case.resolved_at is not None) == (status == S.RESOLVED)
    assert [kind for kind, _payload in audit_kinds(together)] == [kind for kind, _payload in audit_kinds(apart)]
    assert audit_kinds(together)[-1] == (CaseAuditKind.STATUS_CHANGED, {"from": S.OPEN, "to": status})  # the reply opened it
    assert events_of(receiver, together) == events_of(receiver, apart)
    assert [subject.replace(together.reference, "REF") for subject in (m.subject for m in mail.outbox)] == [
        subject.replace(apart.reference, "REF") for subject in apart_mail]
    assert len(mail.outbox) == (2 if status == S.RESOLVED else 1)  # the reply, then the survey
    assert SatisfactionSurvey.objects.filter(case=together).count() == (1 if status == S.RESOLVED else 0)


def test_a_refused_move_refuses_the_reply_too_with_nothing_stored_or_sent(agent, supervisor, team, receiver, committed):
    case = new_case(team, supervisor)
    change_status(case=case, status=S.RESOLVED, actor=agent)
    before = (Message.objects.filter(case=case).count(), AuditEvent.objects.count())
    receiver.calls.clear()
    mail.outbox.clear()
    with committed(), pytest.raises(ValidationError) as refused:
        reply_and_set_status(case=case, author=agent, status=S.PENDING_CUSTOMER, body="Avez-vous reçu le colis ?")
    assert refused.value.message_dict == {"status": ["A case cannot go from “Resolved” to “Waiting for the customer”."]}
    case.refresh_from_db()
    assert case.status == S.RESOLVED
    assert (Message.objects.filter(case=case).count(), AuditEvent.objects.count()) == before
    assert (mail.outbox, receiver.calls) == ([], [])


def test_a_case_already_in_the_status_gets_the_reply_alone(agent, supervisor, team):
    case = new_case(team, supervisor)
    change_status(case=case, status=S.PENDING_CUSTOMER, actor=agent)
    reply_and_set_status(case=case, author=agent, status=S.PENDING_CUSTOMER, body="Nous attendons toujours votre photo.")
    case.refresh_from_db()
    assert case.status == S.PENDING_CUSTOMER
    assert [kind for kind, _payload in audit_kinds(case)][-2:] == [CaseAuditKind.STATUS_CHANGED, CaseAuditKind.REPLIED]


def test_the_same_submission_sent_again_changes_nothing_even_after_the_customer_answered(agent, supervisor, team):
    # Given a reply sent with "wait for the customer", and the customer's answer opening the case again
    case = new_case(team, supervisor)
    submission = "0f8fad5b-d9cb-469f-a165-70867728950e"
    first = reply_and_set_status(case=case, author=agent, status=S.PENDING_CUSTOMER, body="Une photo ?", submission_id=submission)
    add_inbound_message(case=case, body="Voici la photo.")
    case.refresh_from_db()
    assert case.status == S.OPEN
    # When the browser sends the first form again (a retry, a lost redirect)
    again = reply_and_set_status(case=case, author=agent, status=S.PENDING_CUSTOMER, body="Une photo ?", submission_id=submission)
    # Then it answers the first reply, and the case stays open for the customer's answer
    case.refresh_from_db()
    assert again.pk == first.pk
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 1
    assert case.status == S.OPEN


# --- the case page -------------------------------------------------------------------------------

def url(name, case):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk})


def page_of(client, case) -> str:
    return client.get(url("case", case)).content.decode()


def test_the_reply_box_offers_the_moves_the_workflow_allows(client, agent, supervisor, team):
    case = new_case(team, supervisor)
    client.force_login(agent)
    html = page_of(client, case)  # new: the reply opens it, then either move is allowed
    assert WAIT_BUTTON in html and RESOLVE_BUTTON in html
    assert "Send and wait for the customer" in html and "Send and resolve" in html
    assert html.index("Send reply") < html.index("Send and wait for the customer")  # the form's default stays first
    change_status(case=case, status=S.PENDING_CUSTOMER, actor=agent)
    html = page_of(client, case)
    assert WAIT_BUTTON not in html and RESOLVE_BUTTON in html
    change_status(case=case, status=S.RESOLVED, actor=agent)
    html = page_of(client, case)
    assert "Send reply" in html and "then_status" not in html


def test_on_a_case_with_no_email_to_send_to_the_buttons_record_the_reply(client, agent, team):
    # A phone case: the agent answers by phone and records it here; "Send" would promise an email.
    case = open_case(identities=[IdentityInput(IdentityKind.PHONE, "+33612345678")], channel=Channel.PHONE,
                     subject="Appel", body="Le client appelle pour son colis.", team=team).case
    client.force_login(agent)
    html = page_of(client, case)
    assert "Record the reply" in html and "Record and wait for the customer" in html and "Record and resolve" in html
    assert "Send reply" not in html and "Send and resolve" not in html


def test_without_the_right_to_change_a_status_the_reply_box_only_sends(client, agent, supervisor, team):
    writer = UserFactory(username="writer")
    writer.user_permissions.add(*Permission.objects.filter(content_type__app_label="cases", codename__in=["view_case", "add_message", "view_all_cases"]))
    case = new_case(team, supervisor)
    client.force_login(writer)
    assert "then_status" not in page_of(client, case)
    response = client.post(url("case_reply", case), {"body": "Merci.", "then_status": S.RESOLVED})
    assert response.status_code == 403
    assert not Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author__isnull=False).exists()


def test_send_and_wait_for_the_customer_from_the_page(client, agent, supervisor, team):
    case = new_case(team, supervisor)
    client.force_login(agent)
    response = client.post(url("case_reply", case), {"body": "Pouvez-vous nous envoyer une photo ?", "then_status": S.PENDING_CUSTOMER}, **HX)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == S.PENDING_CUSTOMER
    assert 'id="case-status">Waiting for the customer<' in response.content.decode()
    assert Message.objects.get(case=case, kind=MessageKind.OUTBOUND, author=agent).body_text.startswith("Pouvez-vous nous envoyer une photo ?")


def test_a_refused_move_is_shown_above_the_reply_box_with_the_reply_kept_for_correction(client, agent, supervisor, team):
    case = new_case(team, supervisor)
    client.force_login(agent)
    html = page_of(client, case)  # offered while the case is new
    change_status(case=case, status=S.RESOLVED, actor=supervisor)  # meanwhile, a colleague resolves it
    response = client.post(url("case_reply", case), {"body": "Une photo ?", "then_status": S.PENDING_CUSTOMER}, **HX)
    assert WAIT_BUTTON in html
    assert response.status_code == 400
    text = response.content.decode()
    assert "A case cannot go from “Resolved” to “Waiting for the customer”." in text
    assert ">Une photo ?</textarea>" in text
    assert not Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author__isnull=False).exists()


def test_a_double_clicked_send_and_resolve_sends_one_reply_and_one_survey(client, agent, supervisor, team):
    case = new_case(team, supervisor)
    client.force_login(agent)
    form = {"body": "Votre remboursement est parti.", "then_status": S.RESOLVED,
            "submission_id": "5d41402abc4b2a76b9719d911017c592"}
    assert client.post(url("case_reply", case), form).status_code == 302
    assert client.post(url("case_reply", case), form).status_code == 302
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 1
    assert SatisfactionSurvey.objects.filter(case=case).count() == 1
    assert [kind for kind, _payload in audit_kinds(case)].count(CaseAuditKind.STATUS_CHANGED) == 1


def test_resolving_while_a_gesture_waits_asks_first_naming_it(client, agent, supervisor, team):
    case = new_case(team, supervisor)
    client.force_login(agent)
    html = page_of(client, case)
    # Close always asks (test_case_page_close_merge_split); the others ask nothing while no gesture waits.
    assert "hx-confirm" not in html.split('id="status-actions"')[1].split('id="close-case"')[0]
    assert "data-confirm=" not in html.split('id="reply-actions"')[1].split("</div>")[0]
    gesture = request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Colis perdu", actor=agent)
    assert gesture.status == GestureStatus.REQUESTED  # above the agent's 50 EUR
    html = page_of(client, case)
    question = "A gesture of 120.00\u00a0EUR is still waiting for approval: resolve anyway?"
    reply_actions = html.split('id="reply-actions"')[1].split("</div>")[0]
    resolve_form = re.search(r'<form [^>]*>(?:(?!</form>).)*name="status" value="resolved"', html, re.S).group(0)
    assert resolve_form.count("<form ") == 1 and f'hx-confirm="{question}"' in resolve_form
    assert f'{RESOLVE_BUTTON} data-confirm="{question}"' in reply_actions
    assert WAIT_BUTTON + ">" in reply_actions  # waiting for the customer asks nothing
    # a second one: both amounts; the service still resolves (a supervisor may decide later)
    request_gesture(case=case, type="voucher", amount="60", currency="EUR", reason="Retard", actor=agent)
    assert "2 gestures (60.00\u00a0EUR, 120.00\u00a0EUR) are still waiting for approval: resolve anyway?" in page_of(client, case)
    assert client.post(url("case_status", case), {"status": S.RESOLVED}).status_code == 302
    case.refresh_from_db()
    assert case.status == S.RESOLVED


# --- the API -------------------------------------------------------------------------------------

def api_post(user, path, body):
    client = Client()
    client.force_login(user)
    return client.post("/api/v1" + path, data=json.dumps(body), content_type="application/json")


def test_the_api_replies_and_sets_the_status_in_one_call(agent, supervisor, team):
    case = new_case(team, supervisor)
    response = api_post(agent, f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Une photo ?", "status": "pending_customer"})
    assert response.status_code == 201
    assert response.json()["case"]["status"] == "pending_customer"
    case.refresh_from_db()
    assert case.status == S.PENDING_CUSTOMER and case.sla_paused_at is not None


def test_the_api_refuses_a_move_or_a_status_on_a_note_with_nothing_written(agent, supervisor, team):
    case = new_case(team, supervisor)
    change_status(case=case, status=S.RESOLVED, actor=agent)
    refused = api_post(agent, f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Une photo ?", "status": "pending_customer"})
    note = api_post(agent, f"/cases/{case.pk}/messages", {"kind": "note", "body": "Photo demandée.", "status": "pending_customer"})
    assert (refused.status_code, note.status_code) == (422, 422)
    assert [(item["loc"][-1], item["msg"]) for item in refused.json()["detail"]] == [
        ("status", "A case cannot go from “Resolved” to “Waiting for the customer”.")]
    assert [item["loc"][-1] for item in note.json()["detail"]] == ["status"]
    assert Message.objects.filter(case=case, kind__in=[MessageKind.OUTBOUND, MessageKind.NOTE]).filter(author=agent).count() == 0
