"""The same form POST sent twice (a double click without JavaScript, a browser or proxy retry,
a lost redirect) writes once: the case page's reply, note and gesture forms and the agent entry
carry a submission id (cases/services/submissions.py). Races of two at once: test_case_actions_concurrency.py."""

import json
import re
import uuid

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from prevenance.cases.choices import GestureStatus, MessageKind
from prevenance.cases.models import Case, Gesture, Message
from prevenance.cases.services import (
    add_note,
    add_reply,
    assign_case,
    ensure_default_limits,
    request_gesture,
)
from prevenance.cases.services.agent_entry import record_agent_contact
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
GESTURE = {"gesture-type": "voucher", "gesture-amount": "20,00", "gesture-currency": "EUR", "gesture-reason": "Colis abîmé"}


def url(name, case):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk})


def submission_ids(html: str) -> dict[str, str]:
    """The hidden submission ids of a rendered page, by field name."""
    return dict(re.findall(r'name="((?:\w+-)?submission_id)" value="([0-9a-f]{32})"', html))


@pytest.fixture
def case(agent, supervisor):
    ensure_default_limits()
    team = TeamFactory(members=[agent])
    return assign_case(case=open_email_case("camille@example.com").case, team=team, actor=supervisor)


@pytest.fixture
def page(client, agent, case):
    """The agent's client and the submission ids of the case page as it was rendered."""
    client.force_login(agent)
    return client, submission_ids(client.get(url("case", case)).content.decode())


def test_each_form_of_the_case_page_carries_its_own_fresh_submission_id(page, client, case):
    _client, ids = page
    assert set(ids) == {"submission_id", "note-submission_id", "gesture-submission_id"}  # reply, note, gesture
    html = client.get(url("case", case)).content.decode()
    assert not set(submission_ids(html).values()) & set(ids.values())  # rendered again: new ids


def test_a_double_clicked_gesture_form_grants_one_gesture_not_two(page, case, receiver, committed):
    client, ids = page
    form = {**GESTURE, "gesture-submission_id": ids["gesture-submission_id"]}
    with committed():
        first = client.post(url("case_gesture", case), form)
    with committed():
        second = client.post(url("case_gesture", case), form)  # the same form, posted again
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == first["Location"]
    [gesture] = Gesture.objects.filter(case=case)
    assert gesture.status == GestureStatus.GRANTED and gesture.submission_id is not None
    assert [json.loads(call["body"])["type"] for call in receiver.calls] == ["gesture.requested"]


def test_a_double_clicked_reply_form_stores_and_sends_one_reply(page, case, agent, receiver, committed):
    client, ids = page
    form = {"body": "Un nouveau colis part demain.", "submission_id": ids["submission_id"]}
    mail.outbox.clear()
    with committed():
        first = client.post(url("case_reply", case), form)
    with committed():
        second = client.post(url("case_reply", case), form)
    assert (first.status_code, second.status_code) == (302, 302)
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 1
    assert len(mail.outbox) == 1
    assert [json.loads(call["body"])["type"] for call in receiver.calls] == ["case.updated"]  # the reply, once


def test_a_reply_sent_again_through_htmx_answers_the_page_as_the_first_did(page, case, agent):
    client, ids = page
    form = {"body": "Un nouveau colis part demain.", "submission_id": ids["submission_id"]}
    first = client.post(url("case_reply", case), form, **HX)
    second = client.post(url("case_reply", case), form, **HX)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content.decode().count("Un nouveau colis part demain.") == 1
    assert ids["submission_id"] not in second.content.decode()  # the answered page's form is a new submission
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 1


def test_a_double_clicked_note_form_stores_one_note(page, case, agent):
    client, ids = page
    form = {"note-body": "Transporteur prévenu.", "note-submission_id": ids["note-submission_id"]}
    assert client.post(url("case_note", case), form).status_code == 302
    assert client.post(url("case_note", case), form).status_code == 302
    assert Message.objects.filter(case=case, kind=MessageKind.NOTE, author=agent).count() == 1


def test_a_new_reply_typed_into_a_page_restored_by_back_is_stored(page, case, agent):
    # The page the Back button restores still holds the first sending's id: a new reply typed
    # into it is a new submission (the id is bound to the words), the same words again are not.
    client, ids = page
    for body in ("Première réponse.", "Deuxième réponse, tapée après un retour arrière.", "Première réponse."):
        assert client.post(url("case_reply", case), {"body": body, "submission_id": ids["submission_id"]}).status_code == 302
    assert list(Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).order_by("pk").values_list("body_text", flat=True)) == [
        "Première réponse.", "Deuxième réponse, tapée après un retour arrière."]


def test_a_refused_submission_can_be_corrected_and_sent_with_the_same_id(page, case, agent):
    client, ids = page
    refused = client.post(url("case_gesture", case), {**GESTURE, "gesture-amount": "0", "gesture-submission_id": ids["gesture-submission_id"]})
    assert refused.status_code == 400
    assert ids["gesture-submission_id"] in refused.content.decode()  # the form shown again is the same submission
    assert client.post(url("case_gesture", case), {**GESTURE, "gesture-submission_id": ids["gesture-submission_id"]}).status_code == 302
    assert Gesture.objects.filter(case=case).count() == 1


def test_two_forms_rendered_apart_are_two_submissions(client, agent, case):
    client.force_login(agent)
    for _ in range(2):
        ids = submission_ids(client.get(url("case", case)).content.decode())
        assert client.post(url("case_reply", case), {"body": "Bien reçu.", "submission_id": ids["submission_id"]}).status_code == 302
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, author=agent).count() == 2


def test_a_malformed_submission_id_is_refused_with_nothing_written(page, case):
    client, _ids = page
    answer = client.post(url("case_reply", case), {"body": "Bien reçu.", "submission_id": "not-a-uuid"})
    assert answer.status_code == 400
    assert "This form has expired; please reload the page." in answer.content.decode()
    assert not Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).exists()


def test_a_submission_id_of_someone_elses_reply_is_refused(case, agent, supervisor):
    submission = uuid.uuid4()
    add_reply(case=case, author=supervisor, body="Bien reçu.", submission_id=submission)
    with pytest.raises(ValidationError) as refused:
        add_reply(case=case, author=agent, body="Bien reçu.", submission_id=submission)
    assert refused.value.message_dict == {"submission_id": ["This form was already sent; please reload the page."]}
    assert Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).count() == 1


def test_the_services_without_a_submission_id_write_each_call(case, agent):
    # The API (with its own Idempotency-Key) and the email intake pass none: unchanged.
    add_reply(case=case, author=agent, body="Bien reçu.")
    add_reply(case=case, author=agent, body="Bien reçu.")
    add_note(case=case, author=agent, body="Vu.")
    add_note(case=case, author=agent, body="Vu.")
    for _ in range(2):
        request_gesture(case=case, type="voucher", amount="5", currency="EUR", reason="Retard", actor=agent)
    assert Message.objects.filter(case=case, author=agent).count() == 4
    assert Gesture.objects.filter(case=case).count() == 2
    assert not Message.objects.filter(submission_id__isnull=False).exists()


def test_a_reply_and_a_note_never_share_a_submission(case, agent):
    submission = uuid.uuid4()
    reply = add_reply(case=case, author=agent, body="Vu.", submission_id=submission)
    note = add_note(case=case, author=agent, body="Vu.", submission_id=submission)
    assert (note.kind, reply.kind) == (MessageKind.NOTE, MessageKind.OUTBOUND) and note.pk != reply.pk


# --- Agent entry ------------------------------------------------------------------------------

ENTRY = {
    "channel": Channel.PHONE, "customer": "", "q": "", "email": "nina@example.com", "phone": "", "first_name": "Nina",
    "last_name": "", "type": "request", "subject": "Changer le créneau", "body": "Samedi plutôt que vendredi.", "order": "",
    "note": "Créneau noté.",
}


def test_a_double_clicked_agent_entry_opens_one_case(client, agent, receiver, committed):
    client.force_login(agent)
    [submission] = submission_ids(client.get("/cases/new/").content.decode()).values()
    with committed():
        first = client.post("/cases/new/", {**ENTRY, "submission_id": submission})
    with committed():
        second = client.post("/cases/new/", {**ENTRY, "submission_id": submission})
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == first["Location"]
    [case] = Case.objects.all()
    assert case.subject == "Changer le créneau" and case.submission_id is not None
    assert Message.objects.filter(case=case, kind=MessageKind.NOTE).count() == 1
    assert [json.loads(call["body"])["type"] for call in receiver.calls] == ["case.created"]


def test_the_agent_entry_search_keeps_the_submission_id(client, agent):
    client.force_login(agent)
    [submission] = submission_ids(client.get("/cases/new/").content.decode()).values()
    shown = client.post("/cases/new/", {**ENTRY, "submission_id": submission, "search": "1", "q": "nina"})
    assert submission_ids(shown.content.decode()) == {"submission_id": submission}


def test_record_agent_contact_returns_the_case_the_submission_opened(agent, supervisor):
    submission = uuid.uuid4()
    fields = {"channel": Channel.PHONE, "subject": "Créneau", "body": "Samedi.", "email": "nina@example.com"}
    first = record_agent_contact(actor=agent, submission_id=submission, **fields)
    again = record_agent_contact(actor=agent, submission_id=submission, **fields)
    assert (first.created, again.created) == (True, False)
    assert (again.case.pk, again.message.pk) == (first.case.pk, first.message.pk)
    with pytest.raises(ValidationError):
        record_agent_contact(actor=UserFactory(username="other", role="agent"), submission_id=submission, **fields)
    assert Case.objects.count() == 1
