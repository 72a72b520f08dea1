"""A refusal about the record a request acts on (a closed case, an erased customer) points at
the path parameter that names it, ["path", "case_id"], or at [] when nothing in the request
names it, as a 404 does; never at a body field the client did not send (["body", "case"])."""

import pytest
from django.core.exceptions import ValidationError

from prevenance.api.errors import django_error_body
from prevenance.cases.models import Case
from prevenance.cases.services import add_inbound_message
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.validation import invalid
from prevenance.customers.services import erase_customer
from prevenance.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

GESTURE = {"type": "refund", "amount": "10", "currency": "EUR", "reason": "Colis abîmé"}


def located(response) -> list[tuple[list, str]]:
    assert response.status_code == 422, response.content
    return [(item["loc"], item["type"]) for item in response.json()["detail"]]


def closed_case(client) -> Case:
    case = open_email_case().case
    assert client.patch(f"/cases/{case.pk}", {"status": "closed"}).status_code == 200
    return case


# A case named in the path ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/cases/{id}/messages", {"kind": "reply", "body": "Bonjour", "channel": "email"}),
    ("patch", "/cases/{id}", {"priority": "high"}),
    ("post", "/cases/{id}/route", {}),
])
def test_acting_on_a_closed_case_points_at_its_id_in_the_path(supervisor, api_as, method, path, body):
    client = api_as(supervisor)
    case = closed_case(client)
    refused = getattr(client, method)(path.format(id=case.pk), body)
    assert located(refused) == [(["path", "case_id"], "case_closed")]


def test_reopening_a_closed_case_by_its_status_points_at_the_status_sent(supervisor, api_as):
    client = api_as(supervisor)
    case = closed_case(client)
    assert located(client.patch(f"/cases/{case.pk}", {"status": "open"})) == [(["body", "status"], "case_closed")]


def test_merging_points_at_the_closed_case_path_or_body(supervisor, api_as):
    client = api_as(supervisor)
    survivor = closed_case(client)
    loser = open_email_case().case
    assert located(client.post(f"/cases/{survivor.pk}/merge", {"loser_id": loser.pk})) == [(["path", "case_id"], "case_closed")]
    # The other way round the closed case is the one the body names.
    assert located(client.post(f"/cases/{loser.pk}/merge", {"loser_id": survivor.pk})) == [(["body", "loser_id"], "case_closed")]
    assert located(client.post(f"/cases/{loser.pk}/merge", {"loser_id": loser.pk})) == [(["body", "loser_id"], "same_case")]


def test_splitting_off_a_message_points_at_the_case_or_the_message_in_the_path(supervisor, api_as):
    client = api_as(supervisor)
    case = open_email_case().case
    add_inbound_message(case=case, body="Et le deuxième colis aussi.", channel="email", sender_address="claire@example.com")
    reply = client.post(f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Nous regardons.", "channel": "email"})
    reply_id = reply.json()["message"]["id"]
    assert located(client.post(f"/cases/{case.pk}/messages/{reply_id}/split")) == [(["path", "message_id"], "not_inbound")]
    opening = case.messages.order_by("id").first()
    assert client.patch(f"/cases/{case.pk}", {"status": "closed"}).status_code == 200
    assert located(client.post(f"/cases/{case.pk}/messages/{opening.pk}/split")) == [(["path", "case_id"], "case_closed")]


def test_a_case_whose_customer_was_erased_points_at_its_id_in_the_path(agent, admin_user, api_as):
    case = open_email_case().case
    erase_customer(customer=case.customer, actor=admin_user)
    client = api_as(agent)
    assert located(client.post(f"/cases/{case.pk}/gestures", GESTURE)) == [(["path", "case_id"], "customer_erased")]
    reply = client.post(f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Bonjour", "channel": "email"})
    assert located(reply) == [(["path", "case_id"], "customer_erased")]


def test_a_gesture_path_names_no_case_so_its_case_refusal_points_nowhere(agent, supervisor, admin_user, api_as):
    case = open_email_case().case
    waiting = api_as(agent).post(f"/cases/{case.pk}/gestures", {**GESTURE, "amount": "120"})
    assert waiting.json()["status"] == "requested"
    erase_customer(customer=case.customer, actor=admin_user)
    refused = api_as(supervisor).post(f"/gestures/{waiting.json()['id']}/approve", {})
    assert located(refused) == [([], "customer_erased")]


# An erased customer named in the path ------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("patch", "/customers/{id}", {"first_name": "Anne"}),
    ("post", "/customers/{id}/identities", {"kind": "email", "value": "anne@example.com"}),
    ("post", "/customers/{id}/consents/grant", {"purpose": "marketing_email", "channel": "web"}),
    ("post", "/customers/{id}/consents/withdraw", {"purpose": "marketing_email", "channel": "web"}),
    ("post", "/customers/{id}/orders", {"reference": "REF-1", "ordered_at": "2026-03-01T10:00:00Z", "amount": 10}),
    ("post", "/customers/{id}/interactions", {"channel": "phone", "direction": "inbound", "summary": "Appel"}),
])
def test_writing_to_an_erased_customer_points_at_its_id_in_the_path(admin_user, api_as, method, path, body):
    customer = CustomerFactory()
    erase_customer(customer=customer, actor=admin_user)
    refused = getattr(api_as(admin_user), method)(path.format(id=customer.pk), body)
    assert located(refused) == [(["path", "customer_id"], "customer_gone")]


def test_a_record_refusal_with_nothing_in_the_path_to_name_it_points_nowhere():
    # POST /cases finds its customer from an address: no parameter names the record.
    gone = ValidationError("This customer was erased or merged and can no longer be edited.", code="customer_gone")
    assert [item["loc"] for item in django_error_body(gone)["detail"]] == [[]]
    closed = invalid("case", "Case C-2026-000001 is closed.", "case_closed")
    assert [item["loc"] for item in django_error_body(closed, {"gesture_id"})["detail"]] == [[]]
    # A refusal on a field stays on the body's field.
    assert [item["loc"] for item in django_error_body(invalid("status", "No.", "case_closed"), {"case_id"})["detail"]] == [["body", "status"]]
