"""The journey phase of a case's entries on the customer's timeline: before purchase for a
prospect who never ordered, after purchase for a customer who has or a case about an order."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseType
from prevenance.cases.services import add_inbound_message, add_reply, ingest_email
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.services.web_form import submit_contact_form
from prevenance.cases.tests.factories import open_email_case
from prevenance.customers.models import Customer
from prevenance.customers.services import record_order
from prevenance.customers.tests.factories import IdentityFactory, OrderFactory
from prevenance.interactions.choices import JourneyPhase
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db
BEFORE, AFTER = JourneyPhase.BEFORE, JourneyPhase.AFTER


def phases(case) -> list[str]:
    return list(Interaction.objects.filter(ref_type="cases.case", ref_id=str(case.pk)).order_by("pk").values_list("phase", flat=True))


def contact_form(email: str, **kwargs):
    return submit_contact_form(
        submission_id=str(uuid.uuid4()), first_name="Inès", last_name="Moreau", email=email, type=CaseType.QUESTION,
        subject="Canapé en velours", body="Existe-t-il en vert ?", **kwargs,
    )


def eml(*, sender: str, subject: str, message_id: str, headers: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    ).encode()


def test_a_prospects_request_and_the_answers_are_before_purchase(agent):
    # given a visitor nobody knows asks a question through the contact form (a new prospect)
    intake = contact_form("ines.moreau@example.fr")
    # when an agent answers and the visitor writes back
    add_reply(case=intake.case, author=agent, body="Oui, en vert sauge.")
    add_inbound_message(case=intake.case, body="Merci, je vais réfléchir.")
    # then none of the three says "after purchase": there was no purchase
    assert phases(intake.case) == [BEFORE, BEFORE, BEFORE]


def test_a_known_customer_who_never_ordered_is_still_before_purchase():
    IdentityFactory(value="lea@example.com")  # known (a newsletter sign-up, say), no order

    intake = open_email_case("lea@example.com")

    assert phases(intake.case) == [BEFORE]


def test_a_customer_who_has_ordered_is_after_purchase_even_on_a_case_naming_no_order(agent):
    customer = IdentityFactory(value="paul@example.com").customer
    OrderFactory(customer=customer)

    intake = open_email_case("paul@example.com")
    add_reply(case=intake.case, author=agent, body="Bonjour Paul.")
    add_inbound_message(case=intake.case, body="Merci.")

    assert intake.case.order_id is None
    assert phases(intake.case) == [AFTER, AFTER, AFTER]


def test_a_case_about_an_order_is_after_purchase():
    order = OrderFactory(customer=IdentityFactory(value="ines.moreau@example.fr").customer, reference="W-1042")

    intake = contact_form("ines.moreau@example.fr", order_reference="W-1042")

    assert intake.case.order_id == order.pk
    assert phases(intake.case) == [AFTER]


def test_a_prospect_who_orders_is_after_purchase_from_then_on_and_the_earlier_entries_stay(agent):
    intake = open_email_case("nina@example.com")
    record_order(customer=intake.case.customer, reference="W-2001", ordered_at=timezone.now(), amount="89.00")

    add_reply(case=intake.case, author=agent, body="Votre commande est partie.")

    assert phases(intake.case) == [BEFORE, AFTER]


def test_the_email_intake_says_before_purchase_for_a_new_sender_and_after_once_they_have_ordered():
    first = ingest_email(raw=eml(sender="Zoé <zoe@example.fr>", subject="Une question", message_id="q1@example.fr"))
    OrderFactory(customer=first.case.customer)

    reply = ingest_email(raw=eml(sender="zoe@example.fr", subject="Re: Une question", message_id="q2@example.fr",
                                 headers="In-Reply-To: <q1@example.fr>\r\n"))

    assert reply.case == first.case
    assert phases(first.case) == [BEFORE, AFTER]


@pytest.mark.parametrize(("ordered", "phase"), [(False, BEFORE), (True, AFTER)])
def test_an_auto_reply_on_the_timeline_only_has_the_customers_phase(ordered, phase):
    customer = IdentityFactory(value="absent@example.fr").customer
    if ordered:
        OrderFactory(customer=customer)

    result = ingest_email(raw=eml(sender="absent@example.fr", subject="Absence", message_id="ooo1@example.fr",
                                  headers="Auto-Submitted: auto-replied\r\n"))

    assert result.outcome == Outcome.AUTOMATIC_ON_TIMELINE
    assert result.interaction.phase == phase


def test_the_360_page_does_not_say_after_purchase_for_a_prospect(client, agent):
    intake = contact_form("ines.moreau@example.fr")
    client.force_login(agent)

    page = client.get(reverse("web:customer", args=[intake.case.customer_id]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert Customer.objects.get(pk=intake.case.customer_id).lifecycle_state == "prospect"
    assert "Avant l’achat" in page
    assert "Après l’achat" not in page
