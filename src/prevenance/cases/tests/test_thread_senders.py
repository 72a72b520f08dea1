"""Who wrote each customer email, as the case page's thread names them (docs/inbox.md, "Thread"):
the From name, else the case customer's name for their own address, else the address."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.models import Case
from prevenance.cases.services import add_inbound_message, ingest_email

pytestmark = pytest.mark.django_db

MAILBOX = "care@prevenance.test"


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = MAILBOX


def raw_email(sender: str, *, message_id: str, headers: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: {MAILBOX}\r\nCc: paul@example.com\r\nSubject: Colis\r\nMessage-ID: <{message_id}>\r\n{headers}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nToujours rien reçu.\r\n"
    ).encode()


@pytest.fixture
def case() -> Case:
    """Michael wrote from his address without a name; his customer record has his name."""
    case = ingest_email(raw=raw_email("Michael.johnson16@outlook.example", message_id="m1@outlook.example")).case
    case.customer.first_name, case.customer.last_name = "Michael", "Johnson"
    case.customer.save(update_fields=["first_name", "last_name"])
    return Case.objects.get(pk=case.pk)


def thread_of(client, user, case) -> list[str]:
    """Each message of the thread, as HTML."""
    client.force_login(user)
    response = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('id="thread"'):html.index('id="thread-end"')].split('<li class="msg ')[1:]


def from_line(address: str) -> str:
    return f'<span class="recipients-label">From:</span> {address}</div>'


def test_a_nameless_email_from_the_customer_shows_their_name_and_the_address_on_its_from_line(client, agent, case):
    [message] = thread_of(client, agent, case)

    assert "<strong>Michael Johnson</strong>" in message
    assert from_line("michael.johnson16@outlook.example") in message  # as stored: lowercase


def test_the_from_name_wins_and_someone_else_writing_without_a_name_is_known_by_their_address(client, agent, case):
    ingest_email(raw=raw_email("Mike J <michael.johnson16@outlook.example>", message_id="m2@outlook.example",
                               headers="In-Reply-To: <m1@outlook.example>\r\n"))
    add_inbound_message(case=case, body="Je suis son voisin, le colis est chez moi.", sender_address="paul@example.com")

    first, named, neighbour = thread_of(client, agent, case)

    assert "<strong>Michael Johnson</strong>" in first
    assert "<strong>Mike J</strong>" in named and from_line("michael.johnson16@outlook.example") in named
    assert "<strong>paul@example.com</strong>" in neighbour  # not Michael: another person's address
    assert "From:" not in neighbour  # the address heads the message already


def test_naming_the_customer_costs_no_query_per_message(client, agent, case):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            thread_of(client, agent, case)
        return len(captured)

    add_inbound_message(case=case, body="Une relance.", sender_address="michael.johnson16@outlook.example")
    queries()  # the first visit fills caches (session, settings)
    two = queries()
    for n in range(3):
        add_inbound_message(case=case, body=f"Relance {n}.", sender_address="michael.johnson16@outlook.example")

    assert queries() == two
    assert all("<strong>Michael Johnson</strong>" in message for message in thread_of(client, agent, case))
