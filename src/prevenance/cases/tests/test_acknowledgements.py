"""Acknowledgement of receipt on every new case (issue 3, item 4; docs/templates-and-surveys.md)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, MessageKind, TemplatePurpose
from prevenance.cases.models import Case, Message, ReplyTemplate, SLAPolicy
from prevenance.cases.services import (
    acknowledge_case,
    add_inbound_message,
    add_reply,
    change_status,
    ensure_default_templates,
    ingest_email,
    open_case,
)
from prevenance.cases.services.outbound import send_due_emails
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import create_business_calendar, default_calendar_periods
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.choices import IdentityKind
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory
from prevenance.interactions.models import Interaction


@pytest.fixture(autouse=True)
def defaults(db, settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    ensure_default_templates()


def skipped_reasons(case) -> list[str]:
    rows = AuditEvent.objects.filter(kind="case.acknowledgement_skipped", subject_id=str(case.pk)).order_by("id")
    return [row.payload["reason"] for row in rows]


def outbound(case) -> list[Message]:
    return list(Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).order_by("id"))


@pytest.mark.django_db
def test_a_new_email_case_is_acknowledged_with_reference_team_and_due_time(django_capture_on_commit_callbacks):
    # Given a 4-hour first-response target (around the clock) and a team
    SLAPolicy.objects.create(name="Standard", first_response_target=dt.timedelta(hours=4), resolution_target=dt.timedelta(days=2))
    team = TeamFactory(name="Service client")
    # When Claire (French) writes in
    with django_capture_on_commit_callbacks(execute=True):
        intake = open_email_case("claire@example.com", hints={"first_name": "Claire"}, team=team, message_id="c1@example.com")
    case = Case.objects.get(pk=intake.case.pk)
    # Then she gets one acknowledgement, in French, on the thread and her timeline
    [ack] = outbound(case)
    assert ack.author is None and ack.channel == Channel.EMAIL
    assert ack.body_text.startswith("Bonjour Claire,")
    assert case.reference in ack.body_text
    assert "Équipe en charge\u00a0: Service client" in ack.body_text
    due = timezone.localtime(case.first_response_due_at)
    assert "Réponse prévue\u00a0: " in ack.body_text and due.strftime("%H:%M") in ack.body_text
    assert ack.body_text.endswith("Le service client")  # the brand's French sign-off, without an agent line
    assert Interaction.objects.filter(external_id=f"cases.message:{ack.pk}").exists()
    # and the email leaves with the outbox's next sweep, threaded on her message, marked
    # automatic so her auto-responder stays quiet
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        send_due_emails()
    [sent] = mail.outbox
    assert sent.to == ["claire@example.com"]
    assert sent.subject == f"[{case.reference}] Nous avons bien reçu votre message"
    assert sent.extra_headers["In-Reply-To"] == "<c1@example.com>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    # It is not an answer: the first response is still due, the case still new
    assert case.acknowledged_at is not None
    assert (case.first_response_at, case.status) == (None, CaseStatus.NEW)


@pytest.mark.django_db
def test_the_due_time_is_stated_in_the_zone_of_the_calendar_it_was_counted_on(django_capture_on_commit_callbacks):
    # Given a team in Paris, and a policy on its own calendar in Montreal (09:00–17:00 there)
    montreal = create_business_calendar(
        name="Montréal", time_zone="America/Montreal", periods=[(day, "09:00", "17:00") for day in range(5)]
    )
    paris = create_business_calendar(name="Paris", time_zone="Europe/Paris", periods=default_calendar_periods())
    SLAPolicy.objects.create(name="Standard", first_response_target=dt.timedelta(hours=2),
                             resolution_target=dt.timedelta(days=2), calendar=montreal)
    team = TeamFactory(name="Service client", calendar=paris)
    # When a customer writes on Monday 21 December 2026 at 09:00 Montreal (15:00 Paris)
    with django_capture_on_commit_callbacks(execute=True):
        case = open_email_case(received_at=dt.datetime(2026, 12, 21, 14, tzinfo=dt.UTC), team=team).case
    # Then the answer is due at 11:00 Montreal (17:00 Paris), and said at Montreal's 11:00
    assert Case.objects.get(pk=case.pk).first_response_due_at == dt.datetime(2026, 12, 21, 16, tzinfo=dt.UTC)
    [ack] = outbound(case)
    [promise] = [line for line in ack.body_text.splitlines() if line.startswith("Réponse prévue")]
    assert promise.endswith("avant 11:00"), promise


@pytest.mark.django_db
def test_the_agents_first_reply_is_still_the_first_response(agent):
    case = open_email_case().case
    reply = add_reply(case=case, author=agent, body="Nous regardons.")
    case.refresh_from_db()
    assert case.first_response_at == reply.created_at
    assert len(outbound(case)) == 2


@pytest.mark.django_db
def test_an_english_customer_gets_the_english_template():
    john = CustomerFactory(first_name="John", language="en")
    IdentityFactory(customer=john, value="john@example.com")
    case = open_email_case("john@example.com", subject="Where is my parcel?").case
    [ack] = outbound(case)
    assert ack.body_text.startswith("Hello John,")
    assert ack.body_text.endswith("Customer care")


@pytest.mark.django_db
def test_a_template_that_falls_back_to_another_language_is_signed_in_that_language():
    # Only a French acknowledgement is active for an English customer: the body is French, so
    # is its sign-off (an English one under a French text would read as two voices).
    from prevenance.cases.models import Signature

    ReplyTemplate.objects.filter(purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="en").update(active=False)
    Signature.objects.all().delete()
    Signature.objects.create(name="FR", language="fr", sign_off="Bien à vous,\nLe service client")
    Signature.objects.create(name="EN", language="en", sign_off="Kind regards,\nCustomer care")
    john = CustomerFactory(first_name="John", language="en")
    IdentityFactory(customer=john, value="john@example.com")
    case = open_email_case("john@example.com", subject="Where is my parcel?").case
    [ack] = outbound(case)
    assert ack.body_text.startswith("Bonjour John,")
    assert ack.body_text.endswith("Bien à vous,\nLe service client")


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "language", "greeting"), [
    ("Subject: Broken lamp\r\n\r\nHello, my parcel arrived today and the lamp is broken. Could you replace it? Thanks", "en", "Hello Jane,"),
    ("Subject: Lampe cassée\r\n\r\nBonjour, mon colis est arrivé ce matin et la lampe est cassée. Merci", "fr", "Bonjour Jane,"),
    ("Subject: ?\r\n\r\nOK", "fr", "Bonjour Jane,"),  # too short to tell: the default language
])
def test_a_new_sender_is_answered_in_the_language_they_wrote_in(text, language, greeting):
    raw = f"From: Jane Doe <jane@example.com>\r\nTo: care@prevenance.test\r\nMessage-ID: <j1@example.com>\r\n{text}\r\n"
    result = ingest_email(raw=raw.encode())
    assert result.case.customer.language == language
    [ack] = outbound(result.case)
    assert ack.body_text.startswith(greeting)


@pytest.mark.django_db
def test_a_known_customer_keeps_their_language_whatever_they_write_in():
    lea = CustomerFactory(first_name="Léa", language="fr")
    IdentityFactory(customer=lea, value="lea@example.com")
    raw = (b"From: Lea <lea@example.com>\r\nTo: care@prevenance.test\r\nMessage-ID: <l1@example.com>\r\nSubject: Parcel\r\n\r\n"
           b"Hello, my parcel arrived today and the lamp is broken. Thanks")
    result = ingest_email(raw=raw)
    lea.refresh_from_db()
    assert lea.language == "fr" and outbound(result.case)[0].body_text.startswith("Bonjour")


@pytest.mark.django_db
def test_the_case_language_chooses_the_template():
    # Given a case whose language is English (set by routing) for a customer on file as French
    case = open_email_case("eve@example.com", hints={"first_name": "Eve"}).case
    Case.objects.filter(pk=case.pk).update(language="en", acknowledged_at=None)
    Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).delete()
    case = Case.objects.select_related("customer").get(pk=case.pk)
    ack = acknowledge_case(case=case)
    assert ack.body_text.startswith("Hello Eve,")
    assert "we have received it" in ack.body_text and ack.body_text.endswith("Customer care")
    assert "Handled by:" not in ack.body_text  # no team yet: no label followed by nothing


@pytest.mark.django_db
def test_an_auto_reply_is_never_acknowledged_and_the_reason_is_recorded():
    intake = open_email_case("robot@example.com", subject="Absence du bureau", automatic="auto_reply")
    case = Case.objects.get(pk=intake.case.pk)
    assert outbound(case) == []
    assert case.acknowledged_at is None
    assert skipped_reasons(case) == ["automatic"]


@pytest.mark.django_db
def test_a_customer_without_an_email_address_is_not_acknowledged_and_the_reason_is_recorded():
    intake = open_case(identities=[IdentityInput(IdentityKind.PHONE, "+33612345678")], channel=Channel.PHONE,
                       subject="Appel", body="Le client appelle pour son colis.")
    case = Case.objects.get(pk=intake.case.pk)
    assert outbound(case) == []
    assert case.acknowledged_at is None
    assert skipped_reasons(case) == ["no_address"]


@pytest.mark.django_db
def test_a_phone_call_from_a_known_email_customer_is_acknowledged_by_email_with_the_phone_template():
    identities = [IdentityInput(IdentityKind.EMAIL, "paul@example.com"), IdentityInput(IdentityKind.PHONE, "+33611111111")]
    intake = open_case(identities=identities, hints={"first_name": "Paul"},
                       channel=Channel.PHONE, subject="Appel", body="Le client appelle.")
    [ack] = outbound(intake.case)
    assert ack.channel == Channel.EMAIL
    assert ack.body_text.startswith(f"Bonjour Paul,\n\nSuite à votre appel, nous avons enregistré votre demande sous la "
                                    f"référence {intake.case.reference}.")


@pytest.mark.django_db
@pytest.mark.parametrize(("channel", "opening"), [(Channel.STORE, "Following your visit to our store,"),
                                                  (Channel.FIELD_VISIT, "Following our technician's visit,")])
def test_a_visit_is_acknowledged_with_its_own_words(channel, opening):
    identities = [IdentityInput(IdentityKind.EMAIL, "ann@example.com")]
    intake = open_case(identities=identities, hints={"first_name": "Ann", "language": "en"}, channel=channel,
                       subject="Visit", body="The customer came with a broken lamp.")
    [ack] = outbound(intake.case)
    assert ack.body_text.startswith(f"Hello Ann,\n\n{opening} we have filed your request under the reference {intake.case.reference}.")


@pytest.mark.django_db
def test_without_an_active_template_nothing_is_sent_and_nothing_is_recorded():
    ReplyTemplate.objects.filter(purpose=TemplatePurpose.ACKNOWLEDGEMENT).update(active=False)
    case = open_email_case().case
    case.refresh_from_db()
    assert (outbound(case), case.acknowledged_at, skipped_reasons(case)) == ([], None, [])


@pytest.mark.django_db
def test_exactly_once_per_case_even_when_called_again_or_the_message_is_delivered_twice():
    first = open_email_case(message_id="dup@example.com")
    assert acknowledge_case(case=first.case) is None
    again = open_email_case(message_id="dup@example.com")
    assert not again.created
    assert len(outbound(first.case)) == 1


@pytest.mark.django_db
def test_a_reply_to_a_closed_case_opens_a_follow_up_case_which_is_acknowledged(agent):
    case = open_email_case().case
    change_status(case=case, status=CaseStatus.CLOSED, actor=agent)
    follow = add_inbound_message(case=case, body="Toujours rien reçu.", channel=Channel.EMAIL, sender_address="claire@example.com")
    assert follow.case_opened
    [ack] = outbound(follow.case)
    assert follow.case.reference in ack.body_text
    # while a plain reply on an open case is not acknowledged again
    other = open_email_case("zoe@example.com").case
    add_inbound_message(case=other, body="Une précision.", sender_address="zoe@example.com")
    assert len(outbound(other)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acknowledgements_of_one_case_send_one_message():
    ReplyTemplate.objects.filter(purpose=TemplatePurpose.ACKNOWLEDGEMENT).update(active=False)
    case = open_email_case().case
    ReplyTemplate.objects.filter(purpose=TemplatePurpose.ACKNOWLEDGEMENT).update(active=True)
    results, errors = run_concurrently(*[lambda: acknowledge_case(case=Case.objects.select_related("customer").get(pk=case.pk))] * 2)
    assert errors == []
    assert sorted(result is None for result in results) == [False, True]
    assert len(outbound(case)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("known_before", [False, True], ids=["new customer", "known customer"])
def test_the_acknowledgement_answers_the_address_the_customer_wrote_from(known_before):
    # open_case decides the acknowledgement from what the intake knows (a customer it created
    # has only the addresses it was given); a known customer's addresses are read.
    if known_before:
        IdentityFactory(customer=CustomerFactory(), kind=IdentityKind.EMAIL, value="ana@example.com", normalized="ana@example.com")
    identities = [IdentityInput(IdentityKind.EMAIL, "ana@example.com"), IdentityInput(IdentityKind.EMAIL, "Ana.Pro@Example.com")]
    intake = open_case(identities=identities, channel=Channel.EMAIL, subject="Facture", body="Ma facture est fausse.",
                       sender_address="Ana.Pro@Example.com", message_id="ana-1@example.com", references="older@example.com")
    [ack] = outbound(intake.case)
    assert ack.to_addresses == ["Ana.Pro@Example.com"]
    assert (ack.in_reply_to, ack.references) == ("ana-1@example.com", "older@example.com ana-1@example.com")


@pytest.mark.django_db
def test_an_api_case_without_a_sender_is_acknowledged_to_the_customers_first_address():
    identities = [IdentityInput(IdentityKind.EMAIL, "Leo@Example.com"), IdentityInput(IdentityKind.EMAIL, "leo.bis@example.com")]
    intake = open_case(identities=identities, channel=Channel.API, subject="Question", body="Quels horaires ?")
    [ack] = outbound(intake.case)
    assert ack.to_addresses == ["leo@example.com"]
    assert (ack.in_reply_to, ack.references) == ("", "")
    assert Case.objects.get(pk=intake.case.pk).acknowledged_at == ack.created_at
