"""Reclassifying a case (its type) and routing it again by the rules: the service, the case page, the API."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from prevenance.cases.choices import (
    CaseAuditKind,
    CaseStatus,
    CaseType,
    RoutingMethod,
    SLAEventKind,
)
from prevenance.cases.models import Case, RootCause, RoutingRule, SLAEvent, SLAPolicy
from prevenance.cases.services import (
    assign_case,
    change_case_channel,
    change_case_language,
    change_case_type,
    change_status,
    route_again,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.test_cases_api import ApiClient
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent, WebhookEndpoint
from prevenance.core.tests.receiver import Receiver
from prevenance.customers.tests.factories import UserFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def policies():
    question = SLAPolicy.objects.create(name="Questions", case_type=CaseType.QUESTION,
                                        first_response_target=dt.timedelta(hours=24), resolution_target=dt.timedelta(days=5))
    complaint = SLAPolicy.objects.create(name="Réclamations", case_type=CaseType.COMPLAINT,
                                         first_response_target=dt.timedelta(hours=4), resolution_target=dt.timedelta(days=2))
    return question, complaint


def fresh(case) -> Case:
    return Case.objects.select_related("team", "assignee", "sla_policy").get(pk=case.pk)


def test_a_question_reclassified_as_a_complaint_is_scored_again_and_gets_the_complaint_promise(agent):
    question, complaint = policies()
    case = open_email_case("lea@example.com", subject="Colis", body="Où en est mon colis ?", type=CaseType.QUESTION).case
    before = fresh(case)
    assert before.sla_policy == question

    change_case_type(case=case, type=CaseType.COMPLAINT, actor=agent)

    after = fresh(case)
    assert after.type == CaseType.COMPLAINT
    assert after.priority_score > before.priority_score  # the type rule counts a complaint
    assert any(reason["code"] == "case_type" for reason in after.priority_reasons)
    assert after.sla_policy == complaint
    assert after.first_response_due_at == after.created_at + dt.timedelta(hours=4)  # counted from the opening
    assert after.resolution_due_at == after.created_at + dt.timedelta(days=2)
    audit = AuditEvent.objects.get(kind=CaseAuditKind.TYPE_CHANGED, subject_id=str(case.pk))
    assert audit.actor == agent
    assert (audit.payload["from"], audit.payload["to"], audit.payload["sla_policy"]) == ("question", "complaint", [question.pk, complaint.pk])


def test_a_breached_clock_keeps_its_due_time_and_no_policy_for_the_new_type_keeps_the_promise(agent):
    question, complaint = policies()
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    SLAEvent.objects.create(case=case, kind=SLAEventKind.FIRST_RESPONSE_BREACHED, due_at=fresh(case).first_response_due_at)
    breached_due = fresh(case).first_response_due_at
    change_case_type(case=case, type=CaseType.COMPLAINT, actor=agent)
    assert fresh(case).first_response_due_at == breached_due  # an escalated breach is not hidden
    assert fresh(case).resolution_due_at == fresh(case).created_at + dt.timedelta(days=2)
    change_case_type(case=case, type=CaseType.INCIDENT, actor=agent)  # no policy for incidents
    assert fresh(case).sla_policy == complaint


def test_the_same_type_changes_nothing_and_a_closed_case_or_an_unknown_type_is_refused(agent):
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    change_case_type(case=case, type=CaseType.QUESTION, actor=agent)
    assert not AuditEvent.objects.filter(kind=CaseAuditKind.TYPE_CHANGED).exists()
    with pytest.raises(ValidationError) as unknown:
        change_case_type(case=case, type="rant", actor=agent)
    assert "type" in unknown.value.message_dict
    change_status(case=case, status=CaseStatus.CLOSED, actor=agent)
    with pytest.raises(ValidationError):
        change_case_type(case=case, type=CaseType.COMPLAINT, actor=agent)
    assert fresh(case).type == CaseType.QUESTION


def test_reclassifying_is_sent_as_case_updated(agent, django_capture_on_commit_callbacks, settings):
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    try:
        WebhookEndpoint.objects.create(name="CRM", url=receiver.url)
        case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
        with django_capture_on_commit_callbacks(execute=True):
            change_case_type(case=case, type=CaseType.COMPLAINT, actor=agent)
        [event] = [json.loads(call["body"]) for call in receiver.calls if json.loads(call["body"])["type"] == "case.updated"]
        assert event["data"]["changes"]["type"] == {"from": "question", "to": "complaint"}
    finally:
        receiver.close()


def test_route_again_applies_the_rules_to_the_new_type():
    complaints = TeamFactory(name="Réclamations", routing_method=RoutingMethod.ROUND_ROBIN)
    alice = UserFactory(username="alice", role="agent")
    complaints.members.add(alice)
    RoutingRule.objects.create(name="Réclamations", position=1, team=complaints, case_type=CaseType.COMPLAINT)
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    assert fresh(case).team is None
    change_case_type(case=case, type=CaseType.COMPLAINT, actor=alice)

    routed = route_again(case=case, actor=alice)

    assert (routed.team, routed.assignee) == (complaints, alice)
    audit = AuditEvent.objects.filter(kind=CaseAuditKind.ROUTED, subject_id=str(case.pk)).latest("id")
    assert audit.payload["again"] is True and audit.actor == alice
    # Routed again in the same team: the assignee stays
    bob = UserFactory(username="bob", role="agent")
    complaints.members.add(bob)
    assert route_again(case=case, actor=alice).assignee == alice


def test_route_again_without_a_matching_rule_is_refused_and_moves_nothing(supervisor):
    team = TeamFactory(name="Accueil")
    case = assign_case(case=open_email_case("lea@example.com").case, team=team, actor=supervisor)
    with pytest.raises(ValidationError) as refused:
        route_again(case=case, actor=supervisor)
    assert refused.value.error_dict["case"][0].code == "no_routing_rule"
    assert fresh(case).team == team


def test_the_case_page_reclassifies_and_routes_by_the_rules(client, supervisor):
    complaints = TeamFactory(name="Réclamations", members=[supervisor])
    RoutingRule.objects.create(name="Réclamations", position=1, team=complaints, case_type=CaseType.COMPLAINT)
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    client.force_login(supervisor)

    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), {"type": CaseType.COMPLAINT, "language": "fr"})
    assert response.status_code == 302
    assert fresh(case).type == CaseType.COMPLAINT
    response = client.post(reverse("cases:case_route", kwargs={"case_id": case.pk}))
    assert response.status_code == 302
    assert fresh(case).team == complaints
    bad = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), {"type": "rant", "language": "fr"})
    assert bad.status_code == 400


def test_the_case_page_says_why_routing_again_was_refused(client, supervisor):
    case = open_email_case("lea@example.com").case
    client.force_login(supervisor)
    response = client.post(reverse("cases:case_route", kwargs={"case_id": case.pk}), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "No routing rule matches this case" in response.content.decode()


def test_the_api_reclassifies_with_patch_and_routes_with_post(supervisor):
    complaints = TeamFactory(name="Réclamations", members=[supervisor])
    RoutingRule.objects.create(name="Réclamations", position=1, team=complaints, case_type=CaseType.COMPLAINT)
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    api = ApiClient(supervisor)
    patched = api.patch(f"/cases/{case.pk}", {"type": "complaint"})
    assert patched.status_code == 200 and patched.json()["type"] == "complaint"
    routed = api.post(f"/cases/{case.pk}/route", {})
    assert routed.status_code == 200 and routed.json()["team_id"] == complaints.pk
    assert api.patch(f"/cases/{case.pk}", {"type": "rant"}).status_code == 422
    other = open_email_case("paul@example.com", type=CaseType.QUESTION).case
    refused = api.post(f"/cases/{other.pk}/route", {})
    assert refused.status_code == 422
    assert [(e["loc"], e["type"]) for e in refused.json()["detail"]] == [(["path", "case_id"], "no_routing_rule")]


def test_a_closed_case_still_takes_its_root_cause_from_the_classification_form(client, supervisor):
    cause = RootCause.objects.create(name="Transporteur")
    case = open_email_case("lea@example.com", type=CaseType.QUESTION).case
    change_status(case=case, status=CaseStatus.CLOSED, actor=supervisor)
    client.force_login(supervisor)
    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), {"type": CaseType.QUESTION, "language": "fr", "root_cause": cause.pk})
    assert response.status_code == 302
    assert fresh(case).root_cause == cause
    refused = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), {"type": CaseType.COMPLAINT, "language": "fr", "root_cause": cause.pk})
    assert refused.status_code == 400
    assert fresh(case).type == CaseType.QUESTION


def test_routing_again_works_when_the_assignee_was_deactivated_since(client, supervisor):
    complaints = TeamFactory(name="Réclamations", members=[supervisor])
    gone = UserFactory(username="gone", role="agent")
    complaints.members.add(gone)
    RoutingRule.objects.create(name="Réclamations", position=1, team=complaints, case_type=CaseType.COMPLAINT)
    case = assign_case(case=open_email_case("lea@example.com", type=CaseType.COMPLAINT).case, team=TeamFactory(name="Accueil"), actor=supervisor)
    case = assign_case(case=case, team=complaints, assignee=gone, actor=supervisor)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    client.force_login(supervisor)
    response = client.post(reverse("cases:case_route", kwargs={"case_id": case.pk}))
    assert response.status_code == 302
    assert fresh(case).team == complaints  # same team: the assignee stays, as the rule for routing again says


def test_the_language_written_in_is_corrected_and_replies_follow_it(agent):
    case = open_email_case("john@example.com", hints={"language": "fr"}).case
    assert fresh(case).language == "fr"
    change_case_language(case=case, language="en", actor=agent)
    assert fresh(case).language == "en"
    assert AuditEvent.objects.get(kind=CaseAuditKind.LANGUAGE_CHANGED).payload == {"from": "fr", "to": "en"}
    with pytest.raises(ValidationError):
        change_case_language(case=case, language="de", actor=agent)


def test_saving_the_form_with_the_language_a_case_follows_changes_nothing(client, supervisor):
    case = open_email_case("lea@example.com").case
    Case.objects.filter(pk=case.pk).update(language="")  # follows the customer's (French)
    client.force_login(supervisor)
    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), {"type": case.type, "language": "fr"})
    assert response.status_code == 302
    assert fresh(case).language == ""
    assert not AuditEvent.objects.filter(kind=CaseAuditKind.LANGUAGE_CHANGED).exists()


def test_the_api_corrects_the_language(supervisor):
    case = open_email_case("john@example.com", hints={"language": "fr"}).case
    api = ApiClient(supervisor)
    assert api.patch(f"/cases/{case.pk}", {"language": "en"}).json()["language"] == "en"
    assert api.patch(f"/cases/{case.pk}", {"language": "de"}).status_code == 422


# The origin channel -----------------------------------------------------------------------


def phone_case(agent, **kwargs):
    return open_email_case("lea@example.com", channel=Channel.PHONE, actor=agent, **kwargs)


def test_a_phone_call_recorded_as_a_store_visit_is_corrected_with_its_opening_contact(agent):
    intake = phone_case(agent)
    change_case_channel(case=intake.case, channel=Channel.STORE, actor=agent)
    assert fresh(intake.case).channel == Channel.STORE
    intake.message.refresh_from_db()
    assert intake.message.channel == Channel.STORE
    # The timeline entry too: the contacts and their cost by channel count it.
    assert Interaction.objects.get(pk=intake.message.interaction_id).channel == Channel.STORE
    event = AuditEvent.objects.get(kind=CaseAuditKind.CHANNEL_CHANGED)
    assert (event.actor, event.payload["from"], event.payload["to"]) == (agent, Channel.PHONE, Channel.STORE)


def test_a_case_moved_to_a_public_channel_is_scored_again(agent):
    case = phone_case(agent).case
    before = fresh(case)
    assert not any(reason["code"] == "public_channel" for reason in before.priority_reasons)
    change_case_channel(case=case, channel=Channel.SOCIAL, actor=agent)
    after = fresh(case)
    assert after.priority_score == before.priority_score + 20
    assert any(reason["code"] == "public_channel" for reason in after.priority_reasons)


def test_email_stays_email_and_nothing_becomes_email(agent):
    email_case = open_email_case("paul@example.com").case
    with pytest.raises(ValidationError) as from_email:
        change_case_channel(case=email_case, channel=Channel.PHONE, actor=agent)
    assert from_email.value.error_dict["channel"][0].code == "channel_email"
    case = phone_case(agent).case
    with pytest.raises(ValidationError):
        change_case_channel(case=case, channel=Channel.EMAIL, actor=agent)
    assert (fresh(email_case).channel, fresh(case).channel) == (Channel.EMAIL, Channel.PHONE)


def test_the_same_channel_changes_nothing_and_a_closed_case_or_an_unknown_channel_is_refused(agent):
    case = phone_case(agent).case
    change_case_channel(case=case, channel=Channel.PHONE, actor=agent)
    assert not AuditEvent.objects.filter(kind=CaseAuditKind.CHANNEL_CHANGED).exists()
    with pytest.raises(ValidationError) as unknown:
        change_case_channel(case=case, channel="pigeon", actor=agent)
    assert "channel" in unknown.value.message_dict
    change_status(case=case, status=CaseStatus.CLOSED, actor=agent)
    with pytest.raises(ValidationError):
        change_case_channel(case=case, channel=Channel.STORE, actor=agent)
    assert fresh(case).channel == Channel.PHONE


def test_correcting_the_channel_is_sent_as_case_updated(agent, django_capture_on_commit_callbacks, settings):
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    try:
        WebhookEndpoint.objects.create(name="CRM", url=receiver.url)
        case = phone_case(agent).case
        with django_capture_on_commit_callbacks(execute=True):
            change_case_channel(case=case, channel=Channel.FIELD_VISIT, actor=agent)
        [event] = [json.loads(call["body"]) for call in receiver.calls if json.loads(call["body"])["type"] == "case.updated"]
        assert event["data"]["changes"]["channel"] == {"from": "phone", "to": "field_visit"}
    finally:
        receiver.close()


def test_the_classification_form_corrects_the_channel_and_shows_an_email_case_as_it_is(client, supervisor):
    case = phone_case(supervisor).case
    client.force_login(supervisor)
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
    assert 'name="channel"' in page
    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}),
                           {"type": case.type, "language": "fr", "channel": Channel.STORE})
    assert response.status_code == 302
    assert fresh(case).channel == Channel.STORE

    email_case = open_email_case("paul@example.com").case
    page = client.get(reverse("cases:case", kwargs={"case_id": email_case.pk})).content.decode()
    assert 'name="channel"' not in page and "An email case keeps its channel." in page
    # Without the field, the form saves the rest and the channel stays.
    response = client.post(reverse("cases:case_labels", kwargs={"case_id": email_case.pk}),
                           {"type": CaseType.COMPLAINT, "language": "fr"})
    assert response.status_code == 302
    assert (fresh(email_case).type, fresh(email_case).channel) == (CaseType.COMPLAINT, Channel.EMAIL)


def test_the_api_corrects_the_channel(supervisor):
    case = phone_case(supervisor).case
    api = ApiClient(supervisor)
    assert api.patch(f"/cases/{case.pk}", {"channel": "store"}).json()["channel"] == "store"
    refused = api.patch(f"/cases/{case.pk}", {"channel": "email"})
    assert refused.status_code == 422
    assert api.patch(f"/cases/{case.pk}", {"channel": "pigeon"}).status_code == 422
    assert fresh(case).channel == Channel.STORE
