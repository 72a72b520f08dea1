"""Identities, consents, orders, interactions and the timeline of one customer, over the API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from prevenance.api.tests.helpers import field_errors
from prevenance.customers.models import ConsentEvent, Identity, Order
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def _walk(client, path, limit, **params):
    """Every item of a cursor-paginated list, and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        response = client.get(path, {"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        items += response.json()["items"]
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items, pages


# Identities -----------------------------------------------------------------------------


def test_identities_list_add_and_delete(agent, admin_user, api_as):
    customer = CustomerFactory()
    IdentityFactory(customer=customer, value="first@example.com")
    agent_client = api_as(agent)
    added = agent_client.post(f"/customers/{customer.pk}/identities", {"kind": "phone", "value": "+44 20 7946 0958"})
    assert added.status_code == 201
    assert added.json()["normalized"] == "+442079460958"
    listed = agent_client.get(f"/customers/{customer.pk}/identities")
    assert [i["normalized"] for i in listed.json()["items"]] == ["first@example.com", "+442079460958"]
    deleted = api_as(admin_user).delete(f"/customers/{customer.pk}/identities/{added.json()['id']}")
    assert deleted.status_code == 204
    assert list(customer.identities.values_list("normalized", flat=True)) == ["first@example.com"]


def test_an_identity_says_whether_its_address_bounced(agent, api_as):
    customer = CustomerFactory()
    IdentityFactory(customer=customer, value="gone@example.com", bounced_at=timezone.now(), bounce_reason="5.1.1 User unknown")
    IdentityFactory(customer=customer, value="fine@example.com")
    items = api_as(agent).get(f"/customers/{customer.pk}/identities").json()["items"]
    assert [(i["normalized"], i["bounced_at"] is not None, i["bounce_reason"]) for i in items] == [
        ("gone@example.com", True, "5.1.1 User unknown"), ("fine@example.com", False, ""),
    ]


def test_adding_an_identity_of_another_customer_is_refused(agent, api_as):
    owner, other = CustomerFactory(), CustomerFactory()
    IdentityFactory(customer=owner, value="taken@example.com")
    response = api_as(agent).post(f"/customers/{other.pk}/identities", {"kind": "email", "value": "TAKEN@example.com"})
    assert response.status_code == 422
    assert "value" in field_errors(response)
    assert other.identities.count() == 0


def test_deleting_an_identity_of_another_customer_answers_404(admin_user, api_as):
    one, two = CustomerFactory(), CustomerFactory()
    identity = IdentityFactory(customer=one)
    response = api_as(admin_user).delete(f"/customers/{two.pk}/identities/{identity.pk}")
    assert response.status_code == 404
    assert Identity.objects.filter(pk=identity.pk).exists()


# Consents -------------------------------------------------------------------------------


def test_consent_grant_withdraw_states_and_history(agent, api_as):
    customer = CustomerFactory()
    client = api_as(agent)
    granted = client.post(f"/customers/{customer.pk}/consents/grant", {"purpose": "marketing_sms", "channel": "phone", "method": "verbal"})
    assert granted.status_code == 201
    assert granted.json()["action"] == "granted"
    states = {s["purpose"]: s["state"] for s in client.get(f"/customers/{customer.pk}/consents").json()["states"]}
    assert states["marketing_sms"] == "granted" and states["surveys"] == "unknown"
    assert client.get(f"/customers/{customer.pk}/consents").json()["qualification"] == "opted_in"
    withdrawn = client.post(f"/customers/{customer.pk}/consents/withdraw", {"purpose": "marketing_sms", "channel": "web"})
    assert withdrawn.status_code == 201
    after = client.get(f"/customers/{customer.pk}/consents").json()
    assert {s["purpose"]: s["state"] for s in after["states"]}["marketing_sms"] == "withdrawn"
    assert after["qualification"] == "identified"
    history, _pages = _walk(client, f"/customers/{customer.pk}/consents/history", 1)
    assert [e["action"] for e in history] == ["withdrawn", "granted"]
    assert ConsentEvent.objects.filter(recorded_by=agent).count() == 2


def test_email_consent_by_checkbox_is_only_requested_until_confirmed(agent, api_as):
    customer = CustomerFactory()
    IdentityFactory(customer=customer, value="optin@example.com")
    response = api_as(agent).post(f"/customers/{customer.pk}/consents/grant", {"purpose": "marketing_email", "channel": "web"})
    assert response.status_code == 201
    assert response.json()["action"] == "requested"
    assert list(ConsentEvent.objects.values_list("action", flat=True)) == ["requested"]


@pytest.mark.parametrize("action", ["grant", "withdraw"])
def test_a_consent_sent_with_only_its_purpose_takes_the_documented_defaults(agent, api_as, action):
    customer = CustomerFactory()

    response = api_as(agent).post(f"/customers/{customer.pk}/consents/{action}", {"purpose": "surveys"})

    assert response.status_code == 201
    assert (response.json()["channel"], response.json()["method"]) == ("api", "checkbox")
    assert ConsentEvent.objects.get().channel == "api"


def test_unknown_consent_purpose_is_refused(agent, api_as):
    customer = CustomerFactory()
    response = api_as(agent).post(f"/customers/{customer.pk}/consents/grant", {"purpose": "spam", "channel": "web"})
    assert response.status_code == 422
    assert field_errors(response).keys() == {"purpose"}
    assert ConsentEvent.objects.count() == 0


# Orders ---------------------------------------------------------------------------------


def test_order_upsert_by_reference_is_idempotent(supervisor, api_as):
    customer = CustomerFactory()
    client = api_as(supervisor)
    order = {"reference": "WEB-1001", "ordered_at": "2026-03-01T10:00:00+01:00", "amount": "59.90", "status": "paid"}
    first = client.post(f"/customers/{customer.pk}/orders", order)
    again = client.post(f"/customers/{customer.pk}/orders", order)
    updated = client.post(f"/customers/{customer.pk}/orders", {**order, "status": "shipped", "amount": 61})
    assert (first.status_code, again.status_code, updated.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == updated.json()["id"]
    assert first.json()["amount"] == "59.90"
    stored = Order.objects.get()
    assert (stored.reference, stored.status, stored.amount) == ("WEB-1001", "shipped", Decimal("61.00"))


def test_order_of_another_customer_or_bad_amount_is_refused(supervisor, api_as):
    owner, other = CustomerFactory(), CustomerFactory()
    OrderFactory(customer=owner, reference="REF-1")
    client = api_as(supervisor)
    taken = client.post(f"/customers/{other.pk}/orders", {"reference": "REF-1", "ordered_at": "2026-03-01T10:00:00Z", "amount": 10})
    bad = client.post(f"/customers/{other.pk}/orders", {"reference": "REF-2", "ordered_at": "2026-03-01T10:00:00Z", "amount": "ten"})
    assert (taken.status_code, bad.status_code) == (422, 422)
    assert field_errors(taken).keys() == {"reference"}
    assert field_errors(bad).keys() == {"amount"}
    assert list(Order.objects.values_list("reference", "customer_id")) == [("REF-1", owner.pk)]


def test_orders_list_pages(agent, api_as):
    customer = CustomerFactory()
    orders = OrderFactory.create_batch(5, customer=customer)
    OrderFactory()  # someone else's
    items, pages = _walk(api_as(agent), f"/customers/{customer.pk}/orders", 2)
    assert [o["id"] for o in items] == sorted((o.pk for o in orders), reverse=True)
    assert pages == 3


# Interactions and timeline ---------------------------------------------------------------


def test_create_interaction_records_the_agent_and_is_idempotent_by_external_id(agent, api_as):
    customer = CustomerFactory()
    order = OrderFactory(customer=customer)
    client = api_as(agent)
    body = {"channel": "phone", "direction": "inbound", "summary": "Asks where the parcel is", "order_id": order.pk, "external_id": "call-77"}
    first = client.post(f"/customers/{customer.pk}/interactions", body)
    again = client.post(f"/customers/{customer.pk}/interactions", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    stored = Interaction.objects.get()
    assert (stored.agent_id, stored.order_id, stored.customer_id) == (agent.pk, order.pk, customer.pk)


def test_an_external_id_never_answers_with_another_customers_entry(agent, supervisor, api_as):
    # Case messages are timeline entries under "cases.message:<id>": an agent who could post
    # that id on a customer they see got back another team's complaint, and one who claimed
    # the next ids ahead of time stopped the intake of the messages that would take them.
    from prevenance.cases.services import assign_case
    from prevenance.cases.tests.factories import TeamFactory, open_email_case

    TeamFactory(name="Mine", members=[agent])
    secret = open_email_case("vip@example.com", subject="Secret complaint", body="My lawyer will sue").case
    assign_case(case=secret, team=TeamFactory(name="Legal"), actor=supervisor)
    message = secret.messages.get()
    mine = CustomerFactory()
    client = api_as(agent)
    body = {"channel": "phone", "direction": "inbound", "summary": "x"}
    for claimed, code in ((f"cases.message:{message.pk}", "external_id_reserved"), (f"cases.message:{message.pk + 1}", "external_id_reserved"),
                          (f"cases.email:{message.message_id}", "external_id_reserved")):
        response = client.post(f"/customers/{mine.pk}/interactions", {**body, "external_id": claimed})
        assert response.status_code == 422
        assert [(e["loc"], e["type"]) for e in response.json()["detail"]] == [(["body", "external_id"], code)]
        assert "lawyer" not in response.content.decode()
    # "email:" is an integration's to use (the platform's automatic emails are "cases.email:").
    assert client.post(f"/customers/{mine.pk}/interactions", {**body, "external_id": "email:crm-77"}).status_code == 201
    # An id of the caller's own kind, already on another customer's timeline: refused, not shown.
    other = CustomerFactory()
    Interaction.objects.create(customer=other, channel="phone", direction="inbound", summary="Private call", external_id="call-9")
    taken = client.post(f"/customers/{mine.pk}/interactions", {**body, "external_id": "call-9"})
    assert [e["type"] for e in taken.json()["detail"]] == ["external_id_taken"]
    assert "Private call" not in taken.content.decode()
    assert list(Interaction.objects.filter(customer=mine).values_list("external_id", flat=True)) == ["email:crm-77"]
    # The intake still takes the next message under its own id.
    follow = open_email_case("new@example.com", subject="New request").message
    assert follow.interaction.external_id == f"cases.message:{follow.pk}"


def test_interaction_with_an_order_of_someone_else_is_refused(agent, api_as):
    customer = CustomerFactory()
    foreign = OrderFactory()
    response = api_as(agent).post(
        f"/customers/{customer.pk}/interactions",
        {"channel": "email", "direction": "inbound", "summary": "Hello", "order_id": foreign.pk},
    )
    assert response.status_code == 422
    assert field_errors(response).keys() == {"order_id"}
    assert Interaction.objects.count() == 0


def test_interactions_list_filters_by_channel(agent, api_as):
    customer = CustomerFactory()
    email = Interaction.objects.create(customer=customer, channel="email", direction="inbound", summary="a")
    Interaction.objects.create(customer=customer, channel="phone", direction="inbound", summary="b")
    response = api_as(agent).get(f"/customers/{customer.pk}/interactions", {"channel": "email"})
    assert [i["id"] for i in response.json()["items"]] == [email.pk]


def test_timeline_merges_interactions_and_orders_newest_first_across_pages(agent, api_as):
    customer = CustomerFactory()
    start = timezone.now() - dt.timedelta(days=10)
    expected = []
    for day in range(7):
        at = start + dt.timedelta(days=day)
        if day % 2:
            order = OrderFactory(customer=customer, ordered_at=at)
            expected.append(("order", order.pk))
        else:
            interaction = Interaction.objects.create(customer=customer, channel="chat", direction="inbound", summary=f"day {day}", occurred_at=at)
            expected.append(("interaction", interaction.pk))
    Interaction.objects.create(customer=CustomerFactory(), channel="chat", direction="inbound", summary="other")
    items, pages = _walk(api_as(agent), f"/customers/{customer.pk}/timeline", 3)
    assert [(e["kind"], e[e["kind"]]["id"]) for e in items] == list(reversed(expected))
    assert pages == 3


def test_an_order_and_the_interaction_recording_it_are_one_timeline_entry(supervisor, api_as):
    # An integration posts the order, then the touchpoint that recorded it (same moment, same channel).
    customer = CustomerFactory()
    client = api_as(supervisor)
    order = client.post(f"/customers/{customer.pk}/orders", {"reference": "W-77", "ordered_at": "2025-03-04T10:00:00+01:00",
                                                             "amount": "59.90", "channel": "web"}).json()
    placed = client.post(f"/customers/{customer.pk}/interactions", {
        "channel": "web", "direction": "inbound", "nature": "transactional", "phase": "during", "summary": "Order W-77 placed",
        "occurred_at": "2025-03-04T09:00:00Z", "order_id": order["id"]}).json()
    confirmed = client.post(f"/customers/{customer.pk}/interactions", {
        "channel": "email", "direction": "outbound", "summary": "Your order W-77 is confirmed",
        "occurred_at": "2025-03-04T09:02:00Z", "order_id": order["id"]}).json()

    items, _pages = _walk(client, f"/customers/{customer.pk}/timeline", 1)

    assert [(e["kind"], e[e["kind"]]["id"], (e["interaction"] or {}).get("id")) for e in items] == [
        ("interaction", confirmed["id"], confirmed["id"]), ("order", order["id"], placed["id"]),
    ]
    assert items[1]["interaction"]["summary"] == "Order W-77 placed"


def test_timeline_channel_filter(agent, api_as):
    customer = CustomerFactory()
    chat = Interaction.objects.create(customer=customer, channel="chat", direction="inbound", summary="a")
    Interaction.objects.create(customer=customer, channel="email", direction="inbound", summary="b")
    OrderFactory(customer=customer, channel="store")
    response = api_as(agent).get(f"/customers/{customer.pk}/timeline", {"channel": "chat"})
    assert response.status_code == 200
    assert [(e["kind"], e["interaction"]["id"]) for e in response.json()["items"]] == [("interaction", chat.pk)]
