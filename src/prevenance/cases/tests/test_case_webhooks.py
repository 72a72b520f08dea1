"""The case services emit their webhook events on commit (core/webhooks; a real HTTP receiver)."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from prevenance.cases.services import (
    add_inbound_message,
    add_note,
    add_reply,
    assign_case,
    change_status,
    merge_cases,
    request_gesture,
    split_message,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case

pytestmark = pytest.mark.django_db


def bodies(receiver) -> list[dict]:
    return [json.loads(call["body"]) for call in receiver.calls]


def test_a_new_case_is_sent_as_case_created(receiver, committed):
    with committed():
        intake = open_email_case()

    [event] = bodies(receiver)
    assert event["type"] == "case.created"
    assert event["data"]["object"]["reference"] == intake.case.reference
    assert event["data"]["object"]["customer_id"] == intake.case.customer_id


def test_changes_replies_resolution_and_gestures_are_events(receiver, committed, agent):
    team = TeamFactory(members=[agent])
    with committed():
        case = open_email_case().case
    with committed():
        assign_case(case=case, team=team, assignee=agent, actor=agent)
    with committed():
        add_reply(case=case, author=agent, body="Nous renvoyons un colis.", channel="chat")
    with committed():
        add_note(case=case, author=agent, body="Interne.")
    with committed():
        change_status(case=case, status="resolved", actor=agent)
    with committed():
        request_gesture(case=case, type="voucher", amount="10", currency="EUR", reason="Retard", actor=agent)

    events = bodies(receiver)
    assert [e["type"] for e in events] == [
        "case.created", "case.updated", "case.updated", "case.updated", "case.resolved", "gesture.requested",
    ]
    assert events[1]["data"]["changes"] == {"assignee": {"from": None, "to": agent.pk}, "team": {"from": None, "to": team.pk}}
    assert events[2]["data"]["changes"]["message"]["kind"] == "outbound"
    assert events[2]["data"]["changes"]["status"] == {"from": "new", "to": "open"}  # the first answer opens it
    assert events[3]["data"]["changes"] == {"status": {"from": "open", "to": "resolved"}}
    assert events[4]["data"] == events[3]["data"]
    assert events[4]["id"] != events[3]["id"]
    gesture = events[5]["data"]["object"]
    assert (gesture["case_id"], gesture["amount"], gesture["status"]) == (case.pk, "10.00", "granted")


def test_a_customer_reply_is_an_update_and_a_late_one_a_new_case(receiver, committed, agent):
    with committed():
        case = open_email_case().case
        add_inbound_message(case=case, body="Des nouvelles ?")
        change_status(case=case, status="closed", actor=agent)
        follow_up = add_inbound_message(case=case, body="Toujours rien.").case

    assert [e["type"] for e in bodies(receiver)] == ["case.created", "case.updated", "case.updated", "case.created"]
    assert bodies(receiver)[-1]["data"]["object"]["reopened_from_id"] == case.pk
    assert follow_up.pk != case.pk


def test_a_customer_reply_that_reopens_or_ends_the_wait_says_so(receiver, committed, agent):
    with committed():
        case = open_email_case().case
        change_status(case=case, status="pending_customer", actor=agent)
    with committed():
        add_inbound_message(case=case, body="Voici la photo.")
    with committed():
        change_status(case=case, status="resolved", actor=agent)
    with committed():
        add_inbound_message(case=case, body="En fait, toujours cassé.")
    with committed():
        add_inbound_message(case=case, body="Et aussi la notice manque.")

    updates = [e["data"]["changes"] for e in bodies(receiver) if e["type"] == "case.updated"]
    reply_changes = [changes.get("status") for changes in updates if "message" in changes]
    assert reply_changes == [
        {"from": "pending_customer", "to": "open"}, {"from": "resolved", "to": "open"}, None,  # a plain reply moves nothing
    ]


def test_a_merge_that_opens_the_resolved_survivor_says_so(receiver, committed, supervisor):
    survivor = open_email_case("same@example.com", subject="Colis").case
    loser = open_email_case("same@example.com", subject="Re: colis").case
    change_status(case=survivor, status="resolved", actor=supervisor)
    with committed():
        merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    changes = {e["data"]["object"]["id"]: e["data"]["changes"] for e in bodies(receiver) if e["type"] == "case.updated"}
    assert changes[survivor.pk] == {"merged_from": {"from": None, "to": loser.pk}, "status": {"from": "resolved", "to": "open"}}
    assert changes[loser.pk]["status"] == {"from": "new", "to": "closed"}


def test_the_first_reply_to_a_new_case_says_it_opened_it(receiver, committed, agent):
    with committed():
        case = open_email_case().case
    with committed():
        add_reply(case=case, author=agent, body="Nous regardons.", channel="chat")
    with committed():
        add_reply(case=case, author=agent, body="Toujours en cours.", channel="chat")

    replies = [e["data"]["changes"] for e in bodies(receiver) if e["type"] == "case.updated"]
    assert [changes.get("status") for changes in replies] == [{"from": "new", "to": "open"}, None]


def test_nothing_is_sent_when_the_change_is_rolled_back(receiver, committed, agent):
    case = open_email_case().case
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        change_status(case=case, status="resolved", actor=agent)
        raise RuntimeError("later in the same transaction")

    assert receiver.calls == []


def test_a_refused_change_sends_nothing(receiver, committed, agent):
    case = open_email_case().case
    with committed(), pytest.raises(ValidationError):
        change_status(case=case, status="new", actor=agent)

    assert receiver.calls == []


def test_merging_and_splitting_are_sent_as_updates_and_a_new_case(receiver, committed, supervisor):
    with committed():
        survivor = open_email_case("same@example.com", subject="Colis", body="Le colis est abîmé.").case
        loser = open_email_case("same@example.com", subject="Re: colis", body="Photo jointe.").case
    receiver.calls.clear()
    with committed():
        merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    merged = {event["data"]["object"]["reference"]: event["data"]["changes"] for event in bodies(receiver)}
    assert merged[loser.reference]["status"] == {"from": "new", "to": "closed"}
    assert merged[loser.reference]["merged_into"] == {"from": None, "to": survivor.pk}
    assert merged[survivor.reference] == {"merged_from": {"from": None, "to": loser.pk}}

    receiver.calls.clear()
    message = survivor.messages.order_by("created_at", "id").last()
    with committed():
        new_case = split_message(message=message, actor=supervisor)
    events = {(event["type"], event["data"]["object"]["reference"]) for event in bodies(receiver)}
    assert events == {("case.created", new_case.reference), ("case.updated", survivor.reference)}


def test_tags_changed_on_the_case_page_are_sent_as_from_the_api(receiver, committed, agent):
    from prevenance.cases.models import Tag
    from prevenance.cases.services import classify_case

    with committed():
        case = open_email_case().case
    receiver.calls.clear()
    with committed():
        classify_case(case=case, type=case.type, language=case.language or "fr", tags=[Tag.objects.create(name="livraison")],
                      root_cause=None, actor=agent)
    [event] = bodies(receiver)
    assert event["type"] == "case.updated"
    assert event["data"]["changes"]["tags"] == {"from": [], "to": ["livraison"]}


def test_a_voucher_granted_at_once_is_sent_with_its_code(receiver, committed, agent):
    with committed():
        case = open_email_case().case
    receiver.calls.clear()
    with committed():
        gesture = request_gesture(case=case, type="voucher", amount="10", currency="EUR", reason="Colis abîmé", actor=agent)
    [event] = bodies(receiver)
    sent = event["data"]["object"]
    assert event["type"] == "gesture.requested"
    assert (sent["status"], sent["voucher_code"], sent["reason"]) == ("granted", gesture.voucher_code, "Colis abîmé")
    assert sent["decided_by_id"] == agent.pk and sent["decided_at"]


def test_erasing_a_customer_blanks_their_words_in_the_delivery_log(receiver, committed, agent, admin_user):
    from prevenance.core.models import WebhookDelivery
    from prevenance.customers.services import erase_customer

    with committed():
        case = open_email_case("lea@example.com", subject="Mme Léa Martin, 12 rue des Lilas").case
        other = open_email_case("paul@example.com", subject="Paul garde son sujet").case
    with committed():
        request_gesture(case=case, type="refund", amount="10", currency="EUR", reason="Mme Martin a un colis abîmé", actor=agent)
    erase_customer(customer=case.customer, actor=admin_user)
    logged = json.dumps([delivery.payload for delivery in WebhookDelivery.objects.all()], ensure_ascii=False)
    assert "Lilas" not in logged and "Mme Martin" not in logged
    assert "Paul garde son sujet" in logged  # another customer's events are left alone
    erased = [d.payload["data"]["object"] for d in WebhookDelivery.objects.filter(event="case.created")
              if d.payload["data"]["object"]["id"] == case.pk]
    assert erased and all(item["customer_id"] is None and item["reference"] == case.reference for item in erased)
    [gesture] = [d.payload["data"]["object"] for d in WebhookDelivery.objects.filter(event="gesture.requested")]
    assert (gesture["customer_id"], gesture["reason"], gesture["amount"]) == (None, "", "10.00")
    assert other.customer_id is not None
