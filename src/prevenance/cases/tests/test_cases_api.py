"""The cases API over HTTP: cases, messages, gestures, approvals, templates, SLA policies."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from prevenance.cases.models import Case, Gesture, Message, ReplyTemplate, SLAPolicy, Tag
from prevenance.cases.services import (
    add_inbound_message,
    change_status,
    create_reply_template,
    sla_policies,
    update_reply_template,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.models import BusinessCalendar
from prevenance.customers.models import Identity
from prevenance.customers.tests.factories import OrderFactory, UserFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db

NEW_CASE = {"email": "Claire.Martin@Example.com", "subject": "Colis abîmé", "body": "Mon colis est arrivé abîmé.", "type": "complaint"}


class ApiClient:
    """JSON to /api/v1 as a logged-in user (the web session; `cases` sits below the `api` app,
    whose keys the tests in api/tests use)."""

    def __init__(self, user):
        self.client = Client()
        self.client.force_login(user)

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {})

    def _send(self, method, path, body):
        return getattr(self.client, method)("/api/v1" + path, data=json.dumps(body or {}), content_type="application/json")

    def post(self, path, body=None):
        return self._send("post", path, body)

    def patch(self, path, body=None):
        return self._send("patch", path, body)

    def delete(self, path):
        return self.client.delete("/api/v1" + path)


def field_errors(response) -> dict:
    return {tuple(item["loc"])[-1] if item["loc"] else "": item["msg"] for item in response.json()["detail"]}


@pytest.fixture
def api_as():
    return ApiClient


@pytest.fixture
def as_agent(api_as, agent):
    return api_as(agent)


@pytest.fixture
def as_supervisor(api_as, supervisor):
    return api_as(supervisor)


# Cases ---------------------------------------------------------------------------------------


def test_opening_a_case_resolves_the_customer_and_writes_the_timeline(as_agent):
    response = as_agent.post("/cases", {**NEW_CASE, "customer": {"first_name": "Claire", "language": "fr"}})

    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get()
    assert body["reference"] == case.reference
    assert (body["type"], body["channel"], body["status"], body["tags"]) == ("complaint", "api", "new", [])
    identity = Identity.objects.get(kind="email")
    assert body["customer_id"] == identity.customer_id
    assert identity.customer.first_name == "Claire"
    assert Message.objects.get().body_text == NEW_CASE["body"]
    assert Interaction.objects.filter(customer_id=identity.customer_id, ref_type="cases.case", ref_id=str(case.pk)).count() == 1


def test_the_same_message_id_returns_the_stored_case(as_agent):
    first = as_agent.post("/cases", {**NEW_CASE, "message_id": "shop-ticket-77"})
    again = as_agent.post("/cases", {**NEW_CASE, "message_id": "shop-ticket-77"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "Sans client"}, "email"),
        ({**NEW_CASE, "type": "rant"}, "type"),
        ({**NEW_CASE, "channel": "pigeon"}, "channel"),
        ({**NEW_CASE, "team_id": 999999}, "team_id"),
        ({**NEW_CASE, "order_id": 999999}, "order_id"),
        ({**NEW_CASE, "subject": "", "body": ""}, "body"),
        ({**NEW_CASE, "email": "not an address"}, "email"),
        ({**NEW_CASE, "body": 12}, "body"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(as_agent, body, field):
    response = as_agent.post("/cases", body)

    assert response.status_code == 422, response.content
    assert field in field_errors(response), response.json()
    assert not Case.objects.exists()


def _locs(response) -> list[tuple[list, str]]:
    return [(item["loc"], item["type"]) for item in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ({**NEW_CASE, "email": "not an address"}, (["body", "email"], "invalid_email")),
        ({**NEW_CASE, "email": None, "phone": "12"}, (["body", "phone"], "invalid_phone")),
        ({**NEW_CASE, "identities": [{"kind": "phone", "value": "12"}]}, (["body", "identities"], "invalid_phone")),
    ],
)
def test_a_refused_identity_is_answered_on_the_field_that_sent_it(as_agent, body, refusal):
    response = as_agent.post("/cases", body)

    assert response.status_code == 422, response.content
    assert _locs(response) == [refusal]
    assert not Case.objects.exists()


def test_a_refused_email_and_phone_are_answered_each_on_its_own_field(as_agent):
    response = as_agent.post("/cases", {**NEW_CASE, "email": "not an address", "phone": "12"})

    assert _locs(response) == [(["body", "email"], "invalid_email"), (["body", "phone"], "invalid_phone")]


def test_someone_elses_order_is_refused_on_order_id(as_agent):
    order = OrderFactory()  # its customer is not the one NEW_CASE's email names

    response = as_agent.post("/cases", {**NEW_CASE, "order_id": order.pk})

    assert response.status_code == 422, response.content
    assert response.json()["detail"] == [
        {"loc": ["body", "order_id"], "msg": "This order belongs to another customer.", "type": "invalid"},
    ]
    assert not Case.objects.exists()


def test_a_role_without_cases_cannot_open_or_list(api_as, marketer):
    client = api_as(marketer)

    assert client.post("/cases", NEW_CASE).status_code == 403
    assert client.get("/cases").json()["items"] == []


def test_an_agent_sees_only_their_teams_cases(api_as, agent):
    mine, theirs = TeamFactory(members=[agent]), TeamFactory()
    visible = open_email_case("a@example.com", team=mine).case
    hidden = open_email_case("b@example.com", team=theirs).case
    client = api_as(agent)

    assert [c["id"] for c in client.get("/cases").json()["items"]] == [visible.pk]
    assert client.get(f"/cases/{hidden.pk}").status_code == 404
    assert client.get(f"/cases/by-reference/{hidden.reference}").status_code == 404
    assert client.patch(f"/cases/{hidden.pk}", {"status": "open"}).status_code == 404
    assert client.get(f"/cases/{hidden.pk}/messages").status_code == 404
    assert client.get(f"/cases/by-reference/{visible.reference.lower()}").json()["id"] == visible.pk


def test_list_filters_and_cursor_pages(as_supervisor, supervisor):
    cases = [open_email_case(f"c{n}@example.com", type="complaint" if n % 2 else "question").case for n in range(5)]

    complaints = as_supervisor.get("/cases", {"type": "complaint"}).json()["items"]
    first = as_supervisor.get("/cases", {"limit": 2}).json()
    second = as_supervisor.get("/cases", {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [c["id"] for c in complaints] == [cases[3].pk, cases[1].pk]
    assert [c["id"] for c in first["items"] + second["items"]] == [c.pk for c in reversed(cases)][:4]
    assert as_supervisor.get("/cases", {"cursor": "forged"}).status_code == 422
    assert as_supervisor.get("/cases", {"unassigned": "true"}).json()["items"][0]["assignee_id"] is None


def test_patch_changes_status_assignment_priority_and_tags_at_once(as_supervisor, agent):
    team = TeamFactory(members=[agent])
    Tag.objects.create(name="livraison")
    case = open_email_case().case

    response = as_supervisor.patch(
        f"/cases/{case.pk}", {"status": "open", "team_id": team.pk, "assignee_id": agent.pk, "priority": "high", "tags": ["livraison"]}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    got = (body["status"], body["team_id"], body["assignee_id"], body["priority"], body["tags"])
    assert got == ("open", team.pk, agent.pk, "high", ["livraison"])


def test_a_refused_change_in_a_patch_keeps_none_of_them(as_supervisor, agent):
    team = TeamFactory(members=[agent])
    case = change_status(case=open_email_case().case, status="resolved", actor=agent)

    response = as_supervisor.patch(f"/cases/{case.pk}", {"team_id": team.pk, "priority": "urgent", "status": "pending_customer"})

    assert response.status_code == 422
    assert "status" in field_errors(response)
    case.refresh_from_db()
    assert (case.team_id, case.priority, case.status) == (None, "normal", "resolved")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tags": ["nope"]}, "tags"), ({"assignee_id": 999999}, "assignee_id"), ({"status": None}, "status"),
        ({"priority": "asap"}, "priority"),
    ],
)
def test_patch_bad_input(as_supervisor, body, field):
    case = open_email_case().case

    response = as_supervisor.patch(f"/cases/{case.pk}", body)

    assert response.status_code == 422
    assert field in field_errors(response)


def test_merge_needs_the_permission_and_folds_the_thread(api_as, agent, supervisor):
    survivor = open_email_case(subject="Colis").case
    loser = open_email_case(subject="Colis encore").case

    assert api_as(agent).post(f"/cases/{survivor.pk}/merge", {"loser_id": loser.pk}).status_code == 403
    response = api_as(supervisor).post(f"/cases/{survivor.pk}/merge", {"loser_id": loser.pk})

    assert response.status_code == 200
    loser.refresh_from_db()
    assert (loser.merged_into_id, loser.status) == (survivor.pk, "closed")
    assert survivor.messages.count() == 2


def test_a_customer_message_is_split_into_its_own_case(api_as, agent):
    case = open_email_case(subject="Colis", body="Le colis est abîmé.").case
    other_matter = add_inbound_message(case=case, body="Et ma facture de mars est fausse.").message
    response = api_as(agent).post(f"/cases/{case.pk}/messages/{other_matter.pk}/split")
    assert response.status_code == 201
    new_case = response.json()
    assert (new_case["split_from_id"], new_case["reference"] != case.reference) == (case.pk, True)
    other_matter.refresh_from_db()
    assert other_matter.case_id == new_case["id"]
    # Refusals keep their reason: the only message left, an unknown message.
    only = api_as(agent).post(f"/cases/{case.pk}/messages/{case.messages.get().pk}/split")
    assert only.status_code == 422 and only.json()["detail"][0]["type"] == "only_message"
    assert api_as(agent).post(f"/cases/{case.pk}/messages/999999/split").status_code == 404


# Messages ------------------------------------------------------------------------------------


def test_reply_note_and_customer_message_make_the_thread(as_agent):
    case = open_email_case().case

    reply = as_agent.post(f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Nous renvoyons un colis.", "channel": "chat"})
    note = as_agent.post(f"/cases/{case.pk}/messages", {"kind": "note", "body": "Transporteur prévenu."})
    inbound = as_agent.post(f"/cases/{case.pk}/messages", {"kind": "inbound", "body": "Merci !", "message_id": "chat-9"})

    assert [r.status_code for r in (reply, note, inbound)] == [201, 201, 201]
    assert reply.json()["case"]["status"] == "open"
    assert reply.json()["case"]["first_response_at"] is not None
    thread = as_agent.get(f"/cases/{case.pk}/messages").json()["items"]
    assert [m["kind"] for m in thread] == ["inbound", "outbound", "note", "inbound"]
    assert thread[-1]["message_id"] == "chat-9"


def test_a_customer_message_on_a_closed_case_opens_a_follow_up(as_agent, agent):
    case = open_email_case().case
    as_agent.patch(f"/cases/{case.pk}", {"status": "closed"})

    response = as_agent.post(f"/cases/{case.pk}/messages", {"kind": "inbound", "body": "Toujours rien reçu."})

    assert response.status_code == 201
    body = response.json()
    assert body["case_opened"] is True
    assert body["case"]["reopened_from_id"] == case.pk


@pytest.mark.parametrize("body", [{"kind": "reply", "body": "   "}, {"kind": "shout", "body": "x"}, {"kind": "note"}])
def test_bad_messages_are_refused(as_agent, body):
    case = open_email_case().case

    assert as_agent.post(f"/cases/{case.pk}/messages", body).status_code == 422
    assert case.messages.count() == 1


def test_a_reply_on_a_closed_case_is_refused(as_agent):
    case = open_email_case().case
    as_agent.patch(f"/cases/{case.pk}", {"status": "closed"})

    response = as_agent.post(f"/cases/{case.pk}/messages", {"kind": "reply", "body": "Bonjour"})

    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["detail"]] == [(["path", "case_id"], "case_closed")]


# Gestures and approvals ----------------------------------------------------------------------


def test_a_reply_with_files_in_base64_and_their_download(as_agent, settings, tmp_path):
    import base64

    settings.MEDIA_ROOT = tmp_path
    case = open_email_case().case
    pdf = b"%PDF-1.4 return label"
    created = as_agent.post(f"/cases/{case.pk}/messages", {
        "kind": "reply", "body": "Voici l'étiquette.",
        "attachments": [{"filename": "label.pdf", "content_base64": base64.b64encode(pdf).decode()}],
    })
    assert created.status_code == 201, created.json()
    [file] = created.json()["message"]["attachments"]
    assert (file["filename"], file["content_type"], file["size"]) == ("label.pdf", "application/pdf", len(pdf))
    thread = as_agent.get(f"/cases/{case.pk}/messages").json()["items"]
    assert thread[-1]["attachments"] == [file]
    download = as_agent.get(f"/cases/{case.pk}/attachments/{file['id']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf
    assert download["Content-Type"] == "application/octet-stream"

    for attachments, kind in (([{"filename": "x.pdf", "content_base64": "%%%"}], "reply"),
                              ([{"filename": "x.exe", "content_base64": base64.b64encode(b"MZ").decode()}], "reply"),
                              ([{"filename": "x.pdf", "content_base64": base64.b64encode(pdf).decode()}], "inbound"),
                              ([{"filename": "..", "content_base64": base64.b64encode(pdf).decode()}], "reply"),
                              ([{"filename": "/", "content_base64": base64.b64encode(pdf).decode()}], "note")):
        refused = as_agent.post(f"/cases/{case.pk}/messages", {"kind": kind, "body": "x", "attachments": attachments})
        assert refused.status_code == 422
        assert "attachments" in field_errors(refused)
    assert len(as_agent.get(f"/cases/{case.pk}/messages").json()["items"]) == len(thread)
    # A path for a name, and base64 wrapped at 76 characters as the tools write it.
    wrapped = base64.encodebytes(pdf * 10).decode()
    assert "\n" in wrapped
    note = as_agent.post(f"/cases/{case.pk}/messages", {
        "kind": "note", "body": "Copie", "attachments": [{"filename": "../../etc/label.pdf", "content_base64": wrapped}]})
    assert note.status_code == 201, note.json()
    assert [(f["filename"], f["size"]) for f in note.json()["message"]["attachments"]] == [("label.pdf", len(pdf) * 10)]


def test_a_gesture_within_the_limit_is_granted_at_once(as_agent):
    case = open_email_case().case

    response = as_agent.post(f"/cases/{case.pk}/gestures", {"type": "voucher", "amount": "20.00", "currency": "EUR", "reason": "Retard"})

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["amount"], body["without_proof"]) == ("granted", "20.00", True)
    assert body["voucher_code"].startswith("PRV-")
    assert [g["id"] for g in as_agent.get(f"/cases/{case.pk}/gestures").json()["items"]] == [body["id"]]


def test_a_big_gesture_goes_to_the_queue_and_a_supervisor_decides(as_agent, as_supervisor):
    case = open_email_case().case
    gesture_id = as_agent.post(f"/cases/{case.pk}/gestures", {"type": "refund", "amount": 120, "reason": "Produit cassé"}).json()["id"]

    assert as_agent.get("/gestures/approvals").status_code == 403
    queue = as_supervisor.get("/gestures/approvals").json()["items"]
    assert [g["id"] for g in queue] == [gesture_id]
    assert as_supervisor.post(f"/gestures/{gesture_id}/refuse", {"reason": ""}).status_code == 422
    approved = as_supervisor.post(f"/gestures/{gesture_id}/approve", {"reason": "OK"})

    assert approved.status_code == 200
    assert approved.json()["status"] == "granted"
    again = as_supervisor.post(f"/gestures/{gesture_id}/refuse", {"reason": "Trop tard"})
    assert again.status_code == 422
    assert Gesture.objects.get().status == "granted"


@pytest.mark.parametrize(("amount", "field"), [(12.5, "amount"), ("-3", "amount"), ("abc", "amount"), ("1.234", "amount"),
                                               (True, "amount"), (None, "amount"), ([10], "amount")])
def test_bad_gesture_amounts_are_refused(as_agent, amount, field):
    case = open_email_case().case

    response = as_agent.post(f"/cases/{case.pk}/gestures", {"type": "refund", "amount": amount, "reason": "x"})

    assert response.status_code == 422
    assert field in field_errors(response)
    assert not Gesture.objects.exists()


def test_the_requester_can_cancel_but_not_approve_their_own(as_supervisor):
    case = open_email_case().case
    gesture_id = as_supervisor.post(f"/cases/{case.pk}/gestures", {"type": "gift", "amount": "5000", "reason": "Geste"}).json()["id"]

    assert as_supervisor.post(f"/gestures/{gesture_id}/approve", {}).status_code == 422
    assert as_supervisor.post(f"/gestures/{gesture_id}/cancel", {}).json()["status"] == "cancelled"


def test_refusals_carry_their_code_in_type(as_agent, as_supervisor):
    # A client acts on the type, not on the translated words (services build their refusals
    # with core.validation.invalid, which keeps the code Django would otherwise drop).
    case = open_email_case().case
    first, second = (as_agent.post(f"/cases/{case.pk}/gestures", {"type": "refund", "amount": "1500", "reason": "Casse"}).json()["id"]
                     for _ in range(2))
    assert as_supervisor.post(f"/gestures/{first}/approve", {}).status_code == 200
    over = as_supervisor.post(f"/gestures/{second}/approve", {})
    assert over.status_code == 422
    assert [(e["loc"], e["type"]) for e in over.json()["detail"]] == [(["path", "gesture_id"], "over_limit")]
    assert "1,500.00 EUR already granted on this case" in over.json()["detail"][0]["msg"]
    again = as_supervisor.post(f"/gestures/{first}/refuse", {"reason": "Trop tard"})
    assert [e["type"] for e in again.json()["detail"]] == ["already_decided"]
    own = as_supervisor.post(f"/cases/{case.pk}/gestures", {"type": "refund", "amount": "2500", "reason": "Geste"}).json()["id"]  # above their limit: it waits
    mine = as_supervisor.post(f"/gestures/{own}/refuse", {"reason": "Non"})
    assert [(e["loc"], e["type"]) for e in mine.json()["detail"]] == [(["path", "gesture_id"], "own_gesture")]
    assert as_agent.patch(f"/cases/{case.pk}", {"status": "closed"}).status_code == 200
    reopened = as_agent.patch(f"/cases/{case.pk}", {"status": "open"})
    assert [(e["loc"], e["type"]) for e in reopened.json()["detail"]] == [(["body", "status"], "case_closed")]


# Templates and SLA policies ------------------------------------------------------------------


def test_templates_crud_for_supervisors_read_only_for_agents(as_agent, as_supervisor):
    created = as_supervisor.post("/templates", {"name": "Retard", "language": "fr", "body": "Bonjour {customer_first_name},"})
    assert created.status_code == 201, created.json()
    template_id = created.json()["id"]

    assert as_agent.get(f"/templates/{template_id}").json()["name"] == "Retard"
    assert as_agent.post("/templates", {"name": "X", "language": "fr", "body": "x"}).status_code == 403
    changed = as_supervisor.patch(f"/templates/{template_id}", {"subject": "Votre commande {order_reference}"})
    assert changed.json()["subject"] == "Votre commande {order_reference}"
    bad = as_supervisor.patch(f"/templates/{template_id}", {"body": "Bonjour {password}"})
    assert bad.status_code == 422
    assert "body" in field_errors(bad)
    assert as_supervisor.delete(f"/templates/{template_id}").status_code == 204
    assert not ReplyTemplate.objects.exists()


def test_sla_policies_crud(as_agent, as_supervisor):
    created = as_supervisor.post(
        "/sla-policies", {"name": "Réclamations", "case_type": "complaint", "first_response_target": "PT4H", "resolution_target": 172800}
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["first_response_target"], body["resolution_target"]) == ("P0DT04H00M00S", "P2DT00H00M00S")

    assert as_agent.get("/sla-policies").json()["items"][0]["name"] == "Réclamations"
    assert as_agent.patch(f"/sla-policies/{body['id']}", {"active": False}).status_code == 403
    assert as_supervisor.patch(f"/sla-policies/{body['id']}", {"near_breach_percent": 100}).status_code == 422
    assert as_supervisor.patch(f"/sla-policies/{body['id']}", {"first_response_target": "PT0S"}).status_code == 422
    duplicate = {"name": "Réclamations", "first_response_target": 60, "resolution_target": 60}
    assert as_supervisor.post("/sla-policies", duplicate).status_code == 422
    assert as_supervisor.patch(f"/sla-policies/{body['id']}", {"active": False}).json()["active"] is False
    assert as_supervisor.delete(f"/sla-policies/{body['id']}").status_code == 204
    assert not SLAPolicy.objects.exists()


def test_an_sla_policy_is_refused_a_resolution_target_shorter_than_its_first_response_or_under_a_minute(as_supervisor):
    backwards = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "P2D", "resolution_target": "PT1H"})
    seconds = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": 8, "resolution_target": 24})

    assert backwards.status_code == 422
    assert field_errors(backwards) == {"resolution_target": "The resolution target cannot be shorter than the first-response target."}
    assert seconds.status_code == 422
    assert field_errors(seconds) == {"first_response_target": "A target of at least one minute and at most 8760 business hours.",
                                     "resolution_target": "A target of at least one minute and at most 8760 business hours."}
    assert not SLAPolicy.objects.exists()


def test_an_sla_policy_active_cases_use_cannot_be_deleted_deactivate_it_instead(as_supervisor):
    policy = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "PT4H", "resolution_target": "P2D"}).json()
    case = open_email_case().case
    assert case.sla_policy_id == policy["id"]

    response = as_supervisor.delete(f"/sla-policies/{policy['id']}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "in_use"
    assert "Deactivate it instead." in field_errors(response)["sla_policy"]
    assert Case.objects.get(pk=case.pk).sla_policy_id == policy["id"]
    assert as_supervisor.patch(f"/sla-policies/{policy['id']}", {"active": False}).status_code == 200


@pytest.mark.parametrize("field", ["active", "name", "case_type", "priority", "first_response_target", "near_breach_percent"])
def test_null_is_refused_for_an_sla_policy_field_that_cannot_be_empty(as_supervisor, field):
    policy = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "PT4H", "resolution_target": "P2D"}).json()

    response = as_supervisor.patch(f"/sla-policies/{policy['id']}", {field: None})

    assert response.status_code == 422
    assert field_errors(response) == {field: "This field cannot be empty."}
    assert as_supervisor.get(f"/sla-policies/{policy['id']}").json() == policy  # nothing changed: still active


def test_a_calendar_never_open_is_refused_on_calendar_id(as_supervisor):
    closed = BusinessCalendar.objects.create(name="Fermé", time_zone="Europe/Paris")
    policy = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "PT4H", "resolution_target": "P2D"}).json()

    created = as_supervisor.post("/sla-policies", {
        "name": "Fermé", "first_response_target": "PT4H", "resolution_target": "P2D", "calendar_id": closed.pk,
    })
    changed = as_supervisor.patch(f"/sla-policies/{policy['id']}", {"calendar_id": closed.pk})

    assert (created.status_code, changed.status_code) == (422, 422)
    assert [item["loc"] for item in created.json()["detail"]] == [["body", "calendar_id"]]
    assert [item["loc"] for item in changed.json()["detail"]] == [["body", "calendar_id"]]


def test_null_clears_an_sla_policys_calendar(as_supervisor):
    policy = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "PT4H", "resolution_target": "P2D"}).json()

    response = as_supervisor.patch(f"/sla-policies/{policy['id']}", {"calendar_id": None, "active": False})

    assert response.status_code == 200
    assert (response.json()["calendar_id"], response.json()["active"]) == (None, False)


@pytest.mark.parametrize("field", ["active", "name", "language", "channel", "body"])
def test_null_is_refused_for_a_template_field_that_cannot_be_empty(as_supervisor, field):
    template = as_supervisor.post("/templates", {"name": "Accueil", "language": "fr", "body": "Bonjour {customer_first_name}"}).json()

    response = as_supervisor.patch(f"/templates/{template['id']}", {field: None, "subject": "Changé ?"})

    assert response.status_code == 422
    assert field_errors(response) == {field: "This field cannot be empty."}
    assert as_supervisor.get(f"/templates/{template['id']}").json() == template


def test_the_template_service_refuses_an_active_that_is_not_a_boolean(supervisor):
    template = create_reply_template(actor=supervisor, name="Accueil", language="fr", body="Bonjour")

    with pytest.raises(ValidationError) as refused:
        update_reply_template(template=template, actor=supervisor, active=None)

    assert refused.value.message_dict == {"active": ["Say true or false."]}
    template.refresh_from_db()
    assert template.active is True


def test_the_sla_policy_service_refuses_an_active_that_is_not_a_boolean(supervisor):
    policy = sla_policies.create_sla_policy(
        actor=supervisor, name="Standard", first_response_target=timedelta(hours=4), resolution_target=timedelta(days=2),
    )

    with pytest.raises(ValidationError) as refused:
        sla_policies.update_sla_policy(policy=policy, actor=supervisor, active=None)

    assert refused.value.message_dict == {"active": ["Say true or false."]}
    policy.refresh_from_db()
    assert policy.active is True


def test_the_openapi_schema_documents_the_cases_endpoints(api_as, agent):
    paths = api_as(agent).get("/openapi.json").json()["paths"]

    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}/messages", "/api/v1/gestures/approvals", "/api/v1/templates",
                 "/api/v1/sla-policies"):
        assert path in paths


def test_the_openapi_schema_says_sla_targets_are_business_hours_and_their_format_is_unchanged(api_as, agent, as_supervisor):
    schemas = api_as(agent).get("/openapi.json").json()["components"]["schemas"]
    for schema in ("SLAPolicyIn", "SLAPolicyPatch", "SLAPolicyOut"):
        for field in ("first_response_target", "resolution_target"):
            assert "24 business hours" in schemas[schema]["properties"][field]["description"]
    # Three working days of 8 hours are "PT24H": stored and answered as before (ISO 8601, with days)
    body = as_supervisor.post("/sla-policies", {"name": "Standard", "first_response_target": "PT8H",
                                                "resolution_target": "PT24H"}).json()
    assert SLAPolicy.objects.get(pk=body["id"]).resolution_target == timedelta(hours=24)
    assert (body["first_response_target"], body["resolution_target"]) == ("P0DT08H00M00S", "P1DT00H00M00S")


def test_the_openapi_schema_says_an_attachment_download_answers_bytes(api_as, agent):
    paths = api_as(agent).get("/openapi.json").json()["paths"]

    answer = paths["/api/v1/cases/{case_id}/attachments/{attachment_id}"]["get"]["responses"]["200"]
    assert answer["content"] == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def test_an_unknown_user_cannot_be_told_apart_from_a_missing_case(as_agent):
    assert as_agent.get("/cases/999999").status_code == 404
    assert as_agent.get(f"/cases/{2**63}").status_code in (404, 422)


def test_assigning_to_someone_outside_the_team_is_refused(as_supervisor):
    team = TeamFactory()
    outsider = UserFactory(username="outsider", role="agent")
    case = open_email_case().case

    response = as_supervisor.patch(f"/cases/{case.pk}", {"team_id": team.pk, "assignee_id": outsider.pk})

    assert response.status_code == 422
    assert _locs(response) == [(["body", "assignee_id"], "not_in_team")]
