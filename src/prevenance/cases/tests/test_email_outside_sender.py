"""A reply threaded into a case by its headers from someone our replies do not go to (neither the
customer, nor in copy, nor one of our mailboxes): kept on the case, flagged `sender_not_on_case`,
shown on the case page with one click to put them in copy (docs/email-intake.md, "Threading")."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, Message
from prevenance.cases.services import add_reply, change_status, ingest_email
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.tests.factories import TeamFactory
from prevenance.customers.tests.factories import IdentityFactory, UserFactory

pytestmark = pytest.mark.django_db

MAILBOX = "sav@boutique.test"
OUTSIDE = {"code": "sender_not_on_case", "detail": "paul.durand@entreprise.example"}
NOTE = "Sent by someone who is neither the customer nor in copy: our replies do not go to them."


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


@pytest.fixture
def team(agent):
    return TeamFactory(name="Service client", email=MAILBOX, members=[agent])


def email(sender: str, *, message_id: str, in_reply_to: str = "", references: str = "", body: str = "Toujours rien reçu.") -> bytes:
    threading = (f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else "") + (f"References: {references}\r\n" if references else "")
    return (
        f"From: {sender}\r\nTo: {MAILBOX}\r\nSubject: Re: Colis\r\nMessage-ID: <{message_id}>\r\n{threading}"
        "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def answered(team, agent, committed) -> tuple[Case, Message]:
    """Claire wrote with Marc in copy; the agent answered her by email. She then forwards our
    answer to her colleague Paul, whose mail client replies to it (In-Reply-To: our reply)."""
    raw = (
        f"From: Claire Martin <claire@example.com>\r\nTo: {MAILBOX}\r\nCc: marc@example.com\r\nSubject: Colis\r\n"
        "Message-ID: <c1@example.com>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nMon colis n'est pas arrivé.\r\n"
    ).encode()
    case = ingest_email(raw=raw).case
    with committed():
        reply = add_reply(case=case, author=agent, body="Nous avons relancé le transporteur.")
    return Case.objects.get(pk=case.pk), reply


def colleague_reply(reply: Message, n: int = 1):
    return ingest_email(raw=email("Paul Durand <Paul.Durand@entreprise.example>", message_id=f"paul-{n}@entreprise.example",
                                  in_reply_to=reply.message_id, body="Je suis le collègue de Claire : le colis est à l'accueil."))


def page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def message_html(text: str, message: Message) -> str:
    thread = text[text.index('id="thread"'):text.index('id="thread-end"')]
    return thread.split(f'id="message-{message.pk}"')[1].split('<li class="msg ')[0]


def test_a_colleagues_reply_threaded_by_in_reply_to_is_attached_and_flagged(answered, agent):
    case, reply = answered
    result = colleague_reply(reply)
    # Attached to Claire's case as any reply is: nothing is lost
    assert (result.outcome, result.threaded_by, result.case.pk) == (Outcome.APPENDED, "in_reply_to", case.pk)
    assert result.message.sender_address == "paul.durand@entreprise.example"
    # but flagged on the message (and in the result the routes report): replies do not reach Paul
    assert result.message.problems == [OUTSIDE]
    assert [(problem.code, problem.detail) for problem in result.problems] == [(OUTSIDE["code"], OUTSIDE["detail"])]
    # The API's messages carry the code with its label
    api = Client()
    api.force_login(agent)
    items = api.get(f"/api/v1/cases/{case.pk}/messages", HTTP_ACCEPT_LANGUAGE="en").json()["items"]
    assert items[-1]["problems"] == [{**OUTSIDE, "label": NOTE}]


def test_a_colleagues_reply_threaded_by_references_alone_is_flagged_too(answered):
    case, reply = answered
    result = ingest_email(raw=email("paul.durand@entreprise.example", message_id="paul-r@entreprise.example",
                                    references=f"<c1@example.com> <{reply.message_id}>"))
    assert (result.outcome, result.threaded_by, result.case.pk, result.message.problems) == (
        Outcome.APPENDED, "references", case.pk, [OUTSIDE])


def test_the_customers_own_reply_and_a_reply_from_someone_in_copy_are_not_flagged(answered):
    case, reply = answered
    # Claire answers from her address, written otherwise (as mail clients may)
    own = ingest_email(raw=email("CLAIRE@Example.com", message_id="c2@example.com", in_reply_to=reply.message_id))
    # Marc, in copy since her first email, answers too
    copied = ingest_email(raw=email("Marc <marc@example.com>", message_id="m1@example.com", in_reply_to=reply.message_id))
    assert [(result.outcome, result.case.pk, result.message.problems) for result in (own, copied)] == [
        (Outcome.APPENDED, case.pk, []), (Outcome.APPENDED, case.pk, [])]


def test_an_email_from_one_of_our_own_mailboxes_is_not_flagged(answered):
    case, reply = answered
    # A colleague answering from the team's mailbox in their mail client, or from the default sender
    team = ingest_email(raw=email(MAILBOX, message_id="t1@boutique.test", in_reply_to=reply.message_id))
    default = ingest_email(raw=email("care@prevenance.test", message_id="d1@prevenance.test", in_reply_to=reply.message_id))
    assert [(result.case.pk, result.message.problems) for result in (team, default)] == [(case.pk, []), (case.pk, [])]


def test_a_subject_reference_still_refuses_that_sender_instead_of_flagging_them(answered):
    case, _reply = answered
    # Without threading headers, Paul's case reference is not honoured: a case of his own, as before
    result = ingest_email(raw=email("paul.durand@entreprise.example", message_id="paul-s@entreprise.example").replace(
        b"Subject: Re: Colis", f"Subject: Re: [{case.reference}] Colis".encode()))
    assert (result.outcome, result.refused_reference, [problem["code"] for problem in result.message.problems]) == (
        Outcome.CREATED, case.reference, ["refused_reference"])


def test_a_colleagues_reply_ends_the_wait_for_the_customer_as_the_customers_would(answered, agent):
    # Decision (docs/email-intake.md): the workflow treats it as the customer's side answering
    case, reply = answered
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    colleague_reply(reply)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_the_case_page_shows_the_note_and_add_to_copy_puts_them_in_copy(client, agent, answered, committed):
    case, reply = answered
    message = colleague_reply(reply).message
    shown = message_html(page(client, agent, case), message)
    # Headed as what it is, not "From the customer"; the note says why, with his address
    assert '<span class="pill pill-warn">Neither the customer nor in copy</span>' in shown and "From the customer" not in shown
    assert NOTE in shown
    assert '<small class="muted outside-sender">(paul.durand@entreprise.example)</small>' in shown
    assert 'name="copies-add" value="paul.durand@entreprise.example"' in shown
    assert ">Add to copy</button>" in shown
    # The customer's own message carries no such note
    claires = message_html(page(client, agent, case), case.messages.order_by("pk").first())
    assert NOTE not in claires and "pill-warn" not in claires and "From the customer" in claires

    # One click: the copies service puts Paul in copy (audited, as any change of copies)
    with committed():
        response = client.post(reverse("cases:case_copies", kwargs={"case_id": case.pk}),
                               {"copies-add": "paul.durand@entreprise.example"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.cc_addresses == ["marc@example.com", "paul.durand@entreprise.example"]
    # The button is gone; the note says he is in copy now
    shown = message_html(page(client, agent, case), message)
    assert "copies-add" not in shown and "in copy now" in shown
    assert "pill-warn" not in shown and "From someone in copy" in shown  # as a reply from anyone in copy

    # His next reply is not flagged, and our next reply copies him
    again = colleague_reply(reply, n=2)
    assert (again.case.pk, again.message.problems) == (case.pk, [])
    with committed():
        sent = add_reply(case=case, author=agent, body="Merci, nous passons le récupérer.")
    assert sent.cc_addresses == ["marc@example.com", "paul.durand@entreprise.example"]


def test_the_button_is_not_offered_to_someone_who_may_not_change_the_case(client, answered):
    case, reply = answered
    message = colleague_reply(reply).message
    reader = UserFactory(username="reader")
    reader.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="cases", codename__in=["view_case", "view_all_cases", "view_message"]))
    shown = message_html(page(client, reader, case), message)
    assert NOTE in shown and "copies-add" not in shown


def test_the_copies_service_refusals_still_apply(client, agent, answered):
    case, reply = answered
    colleague_reply(reply)
    # Meanwhile Paul's address became one of Claire's own (added on her record)
    IdentityFactory(customer=case.customer, value="paul.durand@entreprise.example")
    client.force_login(agent)
    response = client.post(reverse("cases:case_copies", kwargs={"case_id": case.pk}),
                           {"copies-add": "paul.durand@entreprise.example"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "is the customer&#x27;s own address" in response.content.decode()
    case.refresh_from_db()
    assert case.cc_addresses == ["marc@example.com"]


def test_an_out_of_office_from_outside_the_case_is_stored_as_before_without_the_flag(answered):
    case, reply = answered
    raw = email("paul.durand@entreprise.example", message_id="ooo@entreprise.example", in_reply_to=reply.message_id,
                body="Je suis absent jusqu'au 30.").replace(b"Subject: Re: Colis", b"Subject: Absent\r\nAuto-Submitted: auto-replied")
    result = ingest_email(raw=raw)
    # Never answered, never a person to put in copy: an automatic message keeps its own rules
    assert (result.outcome, result.case.pk, result.message.problems) == (Outcome.AUTOMATIC_ON_CASE, case.pk, [])



def test_a_reply_from_someone_in_copy_is_not_called_the_customers(client, agent, answered):
    case, reply = answered
    own = ingest_email(raw=email("Claire Martin <claire@example.com>", message_id="c3@example.com", in_reply_to=reply.message_id))
    copied = ingest_email(raw=email("Marc <marc@example.com>", message_id="m2@example.com", in_reply_to=reply.message_id))
    text = page(client, agent, case)
    assert "From someone in copy" in message_html(text, copied.message) and "From the customer" not in message_html(text, copied.message)
    assert "From the customer" in message_html(text, own.message) and "From someone in copy" not in message_html(text, own.message)
