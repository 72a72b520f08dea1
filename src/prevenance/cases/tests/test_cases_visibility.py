"""Who sees which case: one rule (selectors.visible_cases) behind every list and fetch."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from prevenance.cases.models import Gesture, Message
from prevenance.cases.selectors import access_case, case_by_reference, case_thread, visible_cases
from prevenance.cases.services import add_note, assign_case, merge_cases
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.test_cases_api import ApiClient
from prevenance.core.choices import Channel
from prevenance.core.roles import ROLE_PERMISSIONS
from prevenance.customers.tests.factories import UserFactory
from prevenance.interactions.choices import Direction
from prevenance.interactions.selectors import customer_timeline
from prevenance.interactions.services import record_interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(agent, supervisor):
    """One case for the agent's team, one for another team, one no team has taken yet."""
    mine, theirs = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    ours = assign_case(case=open_email_case("a@example.com").case, team=mine, actor=supervisor)
    other = assign_case(case=open_email_case("b@example.com").case, team=theirs, actor=supervisor)
    triage = open_email_case("c@example.com").case
    return {"ours": ours, "other": other, "triage": triage, "mine": mine}


def test_an_agent_sees_their_teams_cases_and_the_triage_queue(agent, cases):
    assert set(visible_cases(agent)) == {cases["ours"], cases["triage"]}


def test_a_case_assigned_to_the_agent_in_another_team_is_visible_to_them(agent, supervisor, cases):
    theirs = cases["other"].team
    theirs.members.add(agent)
    assign_case(case=cases["other"], team=theirs, assignee=agent, actor=supervisor)
    theirs.members.remove(agent)
    assert set(visible_cases(agent)) == {cases["ours"], cases["triage"], cases["other"]}


def test_a_supervisor_and_an_admin_see_every_case(supervisor, admin_user, cases):
    assert visible_cases(supervisor).count() == 3
    assert visible_cases(admin_user).count() == 3


def test_roles_without_cases_see_none(marketer, nobody, cases):
    assert list(visible_cases(marketer)) == []
    assert list(visible_cases(nobody)) == []


def test_access_case_answers_404_for_missing_and_for_another_team(agent, cases):
    assert access_case(agent, cases["ours"].pk) == cases["ours"]
    assert access_case(agent, str(cases["triage"].pk)) == cases["triage"]
    for hidden in (cases["other"].pk, 10**9, "abc", 2**70, -1):
        with pytest.raises(Http404):
            access_case(agent, hidden)


def test_access_case_without_the_permission_is_forbidden(marketer, agent, cases):
    with pytest.raises(PermissionDenied):
        access_case(marketer, cases["ours"].pk)
    with pytest.raises(PermissionDenied):
        access_case(agent, cases["ours"].pk, perm="cases.merge_case")


def test_a_member_who_leaves_the_team_loses_its_cases(agent, cases):
    cases["mine"].members.remove(agent)
    with pytest.raises(Http404):
        access_case(agent, cases["ours"].pk)


def test_lookup_by_reference_follows_the_same_rule(agent, cases):
    assert case_by_reference(agent, cases["ours"].reference.lower()) == cases["ours"]
    with pytest.raises(Http404):
        case_by_reference(agent, cases["other"].reference)


def test_the_thread_without_notes_is_what_the_customer_sees(agent, cases):
    add_note(case=cases["ours"], author=agent, body="VIP, be gentle.")
    assert [m.kind for m in case_thread(cases["ours"])] == ["inbound", "note"]
    assert [m.kind for m in case_thread(cases["ours"], include_notes=False)] == ["inbound"]


def test_roles_carry_the_case_permissions():
    assert {"cases.view_case", "cases.add_case", "cases.change_case", "cases.add_message"} <= ROLE_PERMISSIONS["agent"]
    assert "cases.view_all_cases" not in ROLE_PERMISSIONS["agent"]
    assert {"cases.view_all_cases", "cases.merge_case"} <= ROLE_PERMISSIONS["supervisor"]
    assert {"cases.delete_case", "cases.change_rootcause", "cases.view_all_cases"} <= ROLE_PERMISSIONS["admin"]
    assert not any(p.startswith("cases.") for p in ROLE_PERMISSIONS["marketing"])


def test_a_user_in_two_teams_sees_each_case_once(agent, cases):
    TeamFactory(members=[agent])
    second = TeamFactory(members=[agent, UserFactory(role="agent")])
    assign_case(case=cases["triage"], team=second, actor=agent)
    assert sorted(c.pk for c in visible_cases(agent)) == sorted([cases["ours"].pk, cases["triage"].pk])


# The messages of a case are on the customer's timeline too: the same rule applies there.


@pytest.fixture
def one_customer_two_teams(agent, supervisor):
    """Léa wrote twice: one case went to the agent's team, one to another team; she also called."""
    mine, theirs = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    ours = assign_case(case=open_email_case("lea@example.com", subject="Livraison", body="Où est mon colis ?").case,
                       team=mine, actor=supervisor)
    other = assign_case(case=open_email_case("lea@example.com", subject="Litige bancaire", body="Mon avocat vous écrira.").case,
                        team=theirs, actor=supervisor)
    assert ours.customer_id == other.customer_id
    record_interaction(customer=ours.customer, channel=Channel.PHONE, direction=Direction.INBOUND, summary="Appel au standard")
    return {"customer": ours.customer, "ours": ours, "other": other}


def _timeline_texts(page) -> str:
    return " ".join(f"{entry.item.summary} {entry.item.body}" for entry in page.items if entry.kind == "interaction")


def test_the_timeline_shows_an_agent_the_messages_of_their_cases_only(agent, supervisor, marketer, one_customer_two_teams):
    customer = one_customer_two_teams["customer"]
    seen = _timeline_texts(customer_timeline(customer, viewer=agent))
    assert "Où est mon colis" in seen and "Appel au standard" in seen
    assert "Litige bancaire" not in seen and "avocat" not in seen
    everything = _timeline_texts(customer_timeline(customer, viewer=supervisor))
    assert "Litige bancaire" in everything and "avocat" in everything
    # Marketing may read the timeline, but sees no case at all.
    assert _timeline_texts(customer_timeline(customer, viewer=marketer)) == "Appel au standard "


def test_the_customer_page_and_the_case_sidebar_follow_the_rule(client, agent, one_customer_two_teams):
    customer, ours = one_customer_two_teams["customer"], one_customer_two_teams["ours"]
    client.force_login(agent)
    for url in (reverse("web:home"), reverse("web:customer", kwargs={"customer_id": customer.pk}),
                reverse("web:customer_timeline", kwargs={"customer_id": customer.pk}),
                reverse("cases:case", kwargs={"case_id": ours.pk})):
        page = client.get(url).content.decode()
        assert "Livraison" in page and "Litige bancaire" not in page, url
    # The 360 page lists the customer's cases the agent may open, with their links, and its
    # timeline entries lead to their case
    page = client.get(reverse("web:customer", kwargs={"customer_id": customer.pk})).content.decode()
    cases_card = page.split('id="customer-cases"')[1].split("</section>")[0]
    assert f'href="{reverse("cases:case", kwargs={"case_id": ours.pk})}"' in cases_card and "Litige bancaire" not in cases_card
    assert page.count(f'href="{reverse("cases:case", kwargs={"case_id": ours.pk})}"') >= 2


def test_the_api_follows_the_rule(agent, supervisor, one_customer_two_teams):
    customer = one_customer_two_teams["customer"]
    api = ApiClient(agent)
    listed = api.get(f"/customers/{customer.pk}/interactions").json()["items"]
    assert not any("Litige" in item["summary"] or "avocat" in item["body"] for item in listed)
    assert any("Livraison" in item["summary"] for item in listed)
    timeline = json.dumps(api.get(f"/customers/{customer.pk}/timeline").json(), ensure_ascii=False)
    assert "Livraison" in timeline and "Litige" not in timeline and "avocat" not in timeline
    assert "avocat" in json.dumps(ApiClient(supervisor).get(f"/customers/{customer.pk}/timeline").json(), ensure_ascii=False)


def test_the_interactions_export_follows_the_rule(client, marketer, supervisor, one_customer_two_teams):
    client.force_login(marketer)  # may export data, may see no case
    exported = b"".join(client.get(reverse("web:export", kwargs={"kind": "interactions"})).streaming_content).decode()
    assert "Appel au standard" in exported and "Livraison" not in exported and "avocat" not in exported
    client.force_login(supervisor)
    exported = b"".join(client.get(reverse("web:export", kwargs={"kind": "interactions"})).streaming_content).decode()
    assert "Livraison" in exported and "avocat" in exported


# Writes that land on a case the agent may not see --------------------------------------------


@pytest.fixture
def merged_away(agent, supervisor, one_customer_two_teams):
    """The agent's case was merged (by a supervisor, who sees all) into the other team's case."""
    ours, other = one_customer_two_teams["ours"], one_customer_two_teams["other"]
    merge_cases(survivor=other, loser=ours, actor=supervisor)
    return {"loser": ours, "survivor": other}


def test_no_gesture_lands_on_a_hidden_survivor_through_a_merged_case(agent, client, merged_away):
    refused = ApiClient(agent).post(f"/cases/{merged_away['loser'].pk}/gestures",
                                    {"type": "refund", "amount": "10", "currency": "EUR", "reason": "Colis abîmé"})
    assert refused.status_code == 422
    assert [(e["loc"], e["type"]) for e in refused.json()["detail"]] == [(["path", "case_id"], "case_not_visible")]
    assert merged_away["survivor"].reference not in refused.content.decode()
    assert not Gesture.objects.exists()
    client.force_login(agent)
    page = client.post(reverse("cases:case_gesture", kwargs={"case_id": merged_away["loser"].pk}),
                       {"gesture-type": "refund", "gesture-amount": "10", "gesture-currency": "EUR", "gesture-reason": "Colis abîmé"})
    assert page.status_code == 400 and not Gesture.objects.exists()


def test_a_gesture_on_a_merged_case_goes_to_a_survivor_the_agent_sees(agent, supervisor, merged_away):
    merged_away["survivor"].team.members.add(agent)
    granted = ApiClient(agent).post(f"/cases/{merged_away['loser'].pk}/gestures",
                                    {"type": "refund", "amount": "10", "currency": "EUR", "reason": "Colis abîmé"})
    assert granted.status_code == 201 and granted.json()["case_id"] == merged_away["survivor"].pk


def test_no_customer_message_lands_on_a_hidden_survivor_through_the_api(agent, merged_away):
    before = Message.objects.count()
    refused = ApiClient(agent).post(f"/cases/{merged_away['loser'].pk}/messages",
                                    {"kind": "inbound", "body": "Toujours rien.", "channel": "chat"})
    assert refused.status_code == 422
    assert [(e["loc"], e["type"]) for e in refused.json()["detail"]] == [(["path", "case_id"], "case_not_visible")]
    assert Message.objects.count() == before


def test_the_merged_case_page_does_not_name_a_hidden_survivor(agent, client, merged_away):
    client.force_login(agent)
    page = client.get(reverse("cases:case", kwargs={"case_id": merged_away["loser"].pk})).content.decode()
    assert "merged into a case of another team" in page
    assert merged_away["survivor"].reference not in page


def test_moving_a_case_to_another_team_answers_with_the_change_made(agent, supervisor, cases, client):
    theirs = cases["other"].team
    moved = ApiClient(agent).patch(f"/cases/{cases['ours'].pk}", {"team_id": theirs.pk})
    assert moved.status_code == 200 and moved.json()["team_id"] == theirs.pk
    # On the page the agent lands back on the inbox, told why the case left it
    back = cases["other"]
    assign_case(case=back, team=cases["mine"], actor=supervisor)
    client.force_login(agent)
    page = client.post(reverse("cases:case_assign", kwargs={"case_id": back.pk}), {"team": theirs.pk, "assignee": ""}, follow=True)
    assert page.redirect_chain[-1][0] == reverse("cases:inbox")
    assert back.reference in page.content.decode()


def test_a_merge_committed_between_the_check_and_the_lock_still_keeps_the_message_off_a_hidden_case(
        agent, supervisor, one_customer_two_teams, monkeypatch):
    from prevenance.cases.services import intake as intake_services

    ours, other = one_customer_two_teams["ours"], one_customer_two_teams["other"]
    lock = intake_services.lock_live_case

    def merge_then_lock(case_id):
        merge_cases(survivor=other, loser=ours, actor=supervisor)  # lands just before the lock
        return lock(case_id)

    monkeypatch.setattr(intake_services, "lock_live_case", merge_then_lock)
    before = Message.objects.count()
    refused = ApiClient(agent).post(f"/cases/{ours.pk}/messages", {"kind": "inbound", "body": "Toujours rien.", "channel": "chat"})
    assert refused.status_code == 422
    assert [(e["loc"], e["type"]) for e in refused.json()["detail"]] == [(["path", "case_id"], "case_not_visible")]
    assert Message.objects.count() == before


def test_a_timeline_entry_whose_case_reference_is_no_case_id_is_text_not_a_500(client, supervisor, one_customer_two_teams):
    from prevenance.interactions.models import Interaction

    customer = one_customer_two_teams["customer"]
    Interaction.objects.filter(customer=customer, ref_type="cases.case").update(ref_id="C-2026-000123")
    client.force_login(supervisor)
    client.raise_request_exception = False
    assert client.get(reverse("web:customer", kwargs={"customer_id": customer.pk})).status_code == 200
