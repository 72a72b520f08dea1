"""What the intake endpoints answer when the case lands where the caller cannot see it, when a
`message_id` comes again, and the priority left to the score (docs/api.md, "Cases")."""

import pytest

from prevenance.cases.models import Case, Message
from prevenance.cases.services import assign_case, change_status, open_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.test_cases_api import ApiClient, field_errors
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_CASE = {"email": "claire@example.com", "subject": "Colis abîmé", "body": "Mon colis est arrivé abîmé.", "type": "complaint"}
THANKS = "Merci beaucoup, tout est parfait, super service, bravo !"


def _closed_case_assigned_to(agent, supervisor) -> Case:
    """A closed case of a team the agent has left, still assigned to them (so they see it)."""
    team = TeamFactory(members=[supervisor, agent])
    case = assign_case(case=open_email_case(team=team).case, assignee=agent, team=team, actor=supervisor)
    team.members.remove(agent)
    change_status(case=case, status="resolved", actor=supervisor)
    return change_status(case=case, status="closed", actor=supervisor)


# A customer message that opens a follow-up case the poster cannot see ----------------------------


def test_a_customer_message_opening_a_follow_up_in_another_team_answers_that_case(agent, supervisor):
    case = _closed_case_assigned_to(agent, supervisor)
    client = ApiClient(agent)
    assert client.get(f"/cases/{case.pk}").status_code == 200  # seen through the assignment only

    response = client.post(f"/cases/{case.pk}/messages", {"kind": "inbound", "body": "Toujours rien reçu."})

    assert response.status_code == 201, response.content
    follow_up = Case.objects.get(reopened_from=case)
    body = response.json()
    assert (body["case_opened"], body["case"]["id"], body["case"]["team_id"], body["case"]["assignee_id"]) == (
        True, follow_up.pk, case.team_id, None,
    )
    assert body["message"]["id"] == Message.objects.get(body_text="Toujours rien reçu.").pk
    # Answered, not shown: the follow-up stays out of the agent's reach.
    assert client.get(f"/cases/{follow_up.pk}").status_code == 404


def test_that_customer_message_sent_again_with_its_message_id_answers_the_follow_up(agent, supervisor):
    case = _closed_case_assigned_to(agent, supervisor)
    client = ApiClient(agent)
    sent = {"kind": "inbound", "body": "Toujours rien reçu.", "message_id": "chat-41"}
    first = client.post(f"/cases/{case.pk}/messages", sent)

    again = client.post(f"/cases/{case.pk}/messages", sent)

    assert again.status_code == 201, again.content
    assert again.json()["case"]["id"] == first.json()["case"]["id"]
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert Case.objects.filter(reopened_from=case).count() == 1
    assert Message.objects.filter(message_id="chat-41").count() == 1


def test_a_message_id_stored_on_a_case_the_poster_cannot_see_names_no_case(agent):
    hidden = open_email_case(team=TeamFactory()).case
    Message.objects.filter(case=hidden).update(message_id="chat-77")
    mine = open_email_case().case  # no team: the agent sees it

    response = ApiClient(agent).post(f"/cases/{mine.pk}/messages", {"kind": "inbound", "body": "Bonjour", "message_id": "chat-77"})

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "message_id"], "msg": field_errors(response)["message_id"], "type": "message_id_taken"}]
    assert hidden.reference not in response.content.decode()
    assert mine.messages.count() == 1


# POST /cases sent again with its message_id ---------------------------------------------------


def test_a_case_opened_into_another_team_is_found_again_by_its_message_id(agent):
    other_team = TeamFactory()
    client = ApiClient(agent)
    sent = {**NEW_CASE, "team_id": other_team.pk, "message_id": "shop-ticket-1"}
    first = client.post("/cases", sent)

    again = client.post("/cases", sent)

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["team_id"] == other_team.pk
    assert Case.objects.count() == 1
    assert client.get(f"/cases/{first.json()['id']}").status_code == 404  # still not theirs to read


def test_a_message_id_someone_else_used_for_a_case_you_cannot_see_is_refused_without_it(agent):
    other_team = TeamFactory()
    colleague = UserFactory(username="colleague", role="agent")
    theirs = ApiClient(colleague).post("/cases", {**NEW_CASE, "team_id": other_team.pk, "message_id": "shop-ticket-2"})

    response = ApiClient(agent).post("/cases", {**NEW_CASE, "message_id": "shop-ticket-2"})

    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in response.json()["detail"]] == [(["body", "message_id"], "message_id_taken")]
    assert theirs.json()["reference"] not in response.content.decode()
    assert Case.objects.count() == 1


def test_a_message_id_someone_else_used_for_a_case_you_see_answers_that_case(agent):
    colleague = UserFactory(username="colleague", role="agent")
    theirs = ApiClient(colleague).post("/cases", {**NEW_CASE, "message_id": "shop-ticket-3"})  # no team: everyone's queue

    response = ApiClient(agent).post("/cases", {**NEW_CASE, "message_id": "shop-ticket-3"})

    assert response.status_code == 200
    assert response.json()["id"] == theirs.json()["id"]


# The priority -----------------------------------------------------------------------------------


def test_a_case_opened_without_priority_gets_the_one_its_score_says(agent):
    direct = open_case(identities=[IdentityInput("email", "x@example.com")], channel="api", subject="Merci", body=THANKS).case
    assert direct.priority == "low"  # what the score says for this message

    response = ApiClient(agent).post("/cases", {"email": "y@example.com", "subject": "Merci", "body": THANKS})

    assert response.status_code == 201
    assert response.json()["priority"] == "low"


def test_a_priority_given_is_a_floor(agent):
    response = ApiClient(agent).post("/cases", {"email": "y@example.com", "subject": "Merci", "body": THANKS, "priority": "normal"})

    assert response.json()["priority"] == "normal"


def test_the_openapi_schema_says_priority_is_optional(agent):
    schema = ApiClient(agent).get("/openapi.json").json()
    case_in = schema["components"]["schemas"]["CaseIn"]

    assert "priority" not in case_in.get("required", [])
    assert {"type": "null"} in case_in["properties"]["priority"]["anyOf"]
    assert "floor" in case_in["properties"]["priority"]["description"]
