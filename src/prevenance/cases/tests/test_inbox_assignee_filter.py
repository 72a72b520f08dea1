"""The inbox's Assignee filter (Freshdesk's "Agents"): Any, Me, Unassigned or an agent, on every
tab but "Assigned to me" and "Unassigned"; kept by saved views, "Load more" and the export; an
agent's own resolved cases one click away again ("All cases", Me, Resolved); never a case the
reader may not see."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, SavedView
from prevenance.cases.selectors.inbox import BUILTIN_LABELS, _view_condition, inbox
from prevenance.cases.selectors.visibility import visible_cases
from prevenance.cases.services import save_view
from prevenance.cases.tests import test_inbox
from prevenance.cases.tests.factories import TeamFactory
from prevenance.cases.tests.select_options import select_options
from prevenance.cases.tests.test_inbox import all_pages, make_case, refs, urgency_order
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

spread = test_inbox.spread  # the agent in two teams, their triage queue and own cases, and hidden ones

ACTIVE = ["new", "open", "pending_customer", "pending_internal"]


@pytest.fixture
def desk(agent, supervisor):
    """The agent and a colleague in one team; the supervisor in another. Cases of each, resolved
    and open, assigned or not, and two of the supervisor's: one in the triage queue (the agent
    sees it) and one in the supervisor's team (the agent does not)."""
    colleague = UserFactory(username="colleague", role="agent", first_name="Chloé", last_name="Bernard")
    ours, theirs = TeamFactory(name="Livraisons", members=[agent, colleague]), TeamFactory(name="Facturation", members=[supervisor])
    return {
        "colleague": colleague, "ours": ours, "theirs": theirs,
        "my_resolved": make_case("a@example.com", team=ours, assignee=agent, actor=supervisor, score=20, status=CaseStatus.RESOLVED),
        "my_closed": make_case("b@example.com", team=ours, assignee=agent, actor=supervisor, score=10, status=CaseStatus.CLOSED),
        "my_open": make_case("c@example.com", team=ours, assignee=agent, actor=supervisor, score=50),
        "their_resolved": make_case("d@example.com", team=ours, assignee=colleague, actor=supervisor, score=60,
                                    status=CaseStatus.RESOLVED),
        "their_open": make_case("e@example.com", team=ours, assignee=colleague, actor=supervisor, score=40),
        "nobodys_resolved": make_case("f@example.com", team=ours, actor=supervisor, score=70, status=CaseStatus.RESOLVED),
        "nobodys_open": make_case("g@example.com", team=ours, actor=supervisor, score=30),
        "boss_triage": make_case("h@example.com", assignee=supervisor, actor=supervisor, score=80),
        "boss_hidden": make_case("i@example.com", team=theirs, assignee=supervisor, actor=supervisor, score=90,
                                 status=CaseStatus.RESOLVED),
    }


def ref_list(desk, *keys) -> list[str]:
    return [desk[key].reference for key in keys]


# --- what the filter lists -------------------------------------------------------------------


def test_all_cases_me_resolved_lists_the_agents_own_resolved_cases(agent, desk):
    """The regression the tabs brought: "Assigned to me" + Resolved is now "All cases" + Me + Resolved."""
    assert refs(inbox(agent, view="all", filters={"assignee": "me", "status": "resolved"})) == ref_list(desk, "my_resolved")
    assert refs(inbox(agent, view="all", filters={"assignee": ["me"], "status": ["resolved", "closed"]})) == ref_list(
        desk, "my_resolved", "my_closed")
    assert refs(inbox(agent, view="all", filters={"assignee": ["me"]})) == ref_list(desk, "my_open", "my_resolved", "my_closed")
    assert refs(inbox(agent, view="open", filters={"assignee": ["me"]})) == ref_list(desk, "my_open")


def test_unassigned_a_colleague_and_several_at_once(agent, desk):
    colleague = str(desk["colleague"].pk)
    assert refs(inbox(agent, view="all", filters={"assignee": ["none"]})) == ref_list(desk, "nobodys_resolved", "nobodys_open")
    assert refs(inbox(agent, view="all", filters={"assignee": [colleague]})) == ref_list(desk, "their_resolved", "their_open")
    assert refs(inbox(agent, view="team", filters={"assignee": [colleague]})) == ref_list(desk, "their_open")
    # Several values: any of them (the lists are repeatable, as every filter's)
    assert refs(inbox(agent, view="open", filters={"assignee": ["me", "none"]})) == ref_list(desk, "my_open", "nobodys_open")
    # The agent's own number is the agent
    assert refs(inbox(agent, view="all", filters={"assignee": [str(agent.pk)], "status": ["resolved"]})) == ref_list(
        desk, "my_resolved")


def test_an_agent_picking_someone_outside_their_teams_gets_only_the_cases_they_may_see(agent, supervisor, desk):
    boss = str(supervisor.pk)
    # The supervisor's case in the triage queue is visible to the agent; the one in their own team is not.
    assert refs(inbox(agent, view="all", filters={"assignee": [boss]})) == ref_list(desk, "boss_triage")
    assert refs(inbox(agent, view="team", filters={"assignee": [boss]})) == []
    assert refs(inbox(supervisor, view="all", filters={"assignee": [boss]})) == ref_list(desk, "boss_hidden", "boss_triage")
    assert refs(inbox(supervisor, view="all", filters={"assignee": ["me"]})) == ref_list(desk, "boss_hidden", "boss_triage")


def test_the_filter_keeps_to_the_visibility_rule_view_by_view(agent, supervisor, spread):
    """Pages are read source by source; with the assignee filter too, they must hold exactly
    visible_cases(user) ∩ the view ∩ the assignee, page after page, each case once."""
    first, second, third = spread["teams"]
    newcomer = UserFactory(role="agent")
    Case.objects.update(resolution_due_at=timezone.now() + timezone.timedelta(hours=1))  # all "breaching soon"
    hidden = spread["hidden"][0].reference
    for user in (agent, supervisor, newcomer):
        for view in ("all", "open", "team", "breaching"):
            for assignee in (["me"], ["none"], [str(agent.pk)], [str(supervisor.pk)], ["me", "none", str(supervisor.pk)]):
                for team in (None, [second.pk, third.pk]):
                    filters = {"assignee": assignee, **({"team": team} if team else {})}
                    expected = visible_cases(user).filter(_view_condition(user, view))
                    if view != "all":
                        expected = expected.filter(status__in=ACTIVE if view != "breaching" else ["new", "open", "pending_internal"])
                    who = Case.objects.none()
                    for value in assignee:
                        who |= Case.objects.filter(**(
                            {"assignee": user} if value == "me" else {"assignee__isnull": True} if value == "none"
                            else {"assignee_id": int(value)}))
                    expected = expected.filter(pk__in=who.values("pk"))
                    if team:
                        expected = expected.filter(team_id__in=team)
                    seen = all_pages(user, view=view, filters=filters, limit=3, now=timezone.now())
                    assert sorted(seen) == sorted(expected.values_list("reference", flat=True)), (user, view, filters)
                    assert len(seen) == len(set(seen))
                    if user == agent:
                        assert hidden not in seen


def test_me_and_resolved_reads_the_agents_own_cases_only(agent, spread):
    """"All cases" + Me + Resolved walks the agent's own index for that status: one short read,
    not their teams' nor the triage queue's."""
    with CaptureQueriesContext(connection) as captured:
        page = inbox(agent, view="all", filters={"assignee": ["me"], "status": ["resolved"]})
    reads = [q["sql"] for q in captured if "LIMIT 26" in q["sql"]]
    assert len(reads) == 1
    assert refs(page) == [spread["finished"][0].reference]
    all_cases = urgency_order([case for case in spread["visible"] + spread["finished"] if case.assignee_id == agent.pk])
    assert all_pages(agent, view="all", filters={"assignee": ["me"]}, limit=2) == all_cases


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("view", "assignee", "message"), [
    ("all", ["someone"], "An assignee is “me”, “none” or an agent’s number."),
    ("all", ["-3"], "An assignee is “me”, “none” or an agent’s number."),
    ("all", ["99999999"], "No agent has the number 99999999."),
    ("mine", ["none"], "“Assigned to me” already sets the assignee: filter on it from another tab, such as “All cases”."),
    ("unassigned", ["me"], "“Unassigned” already sets the assignee: filter on it from another tab, such as “All cases”."),
])
def test_a_bad_assignee_is_refused_with_the_reason(client, agent, desk, view, assignee, message):
    with pytest.raises(ValidationError) as caught:
        inbox(agent, view=view, filters={"assignee": assignee})
    assert caught.value.message_dict == {"assignee": [message]}
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"view": view, "assignee": assignee})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert refs(response.context["page"]) == []
    export = client.get(reverse("cases:export"), {"view": view, "assignee": assignee})
    assert export.status_code == 400 and message in export.content.decode()
    with pytest.raises(ValidationError):
        save_view(user=agent, name="Erreur", filters={"assignee": assignee}, base=view)
    assert not SavedView.objects.exists()


def test_the_tab_of_the_assignee_itself_accepts_it_and_lists_the_same(agent, desk):
    assert refs(inbox(agent, view="mine", filters={"assignee": ["me"]})) == refs(inbox(agent, view="mine"))
    assert refs(inbox(agent, view="unassigned", filters={"assignee": ["none"]})) == refs(inbox(agent, view="unassigned"))


# --- the page, saved views, "Load more", the export ---------------------------------------------


def test_the_list_offers_me_unassigned_and_the_agents_of_the_readers_teams(client, agent, supervisor, desk):
    client.force_login(agent)
    options = select_options(client.get(reverse("cases:inbox"), {"view": "all"}), "assignee")
    assert [(group, label, value) for group, label, value, _selected in options[:3]] == [
        (None, "Any", ""), (None, "Me", "me"), (None, "Unassigned", "none")]
    # The agents of the agent's team, by name; not the supervisor, of another team
    assert sorted((group, label, value) for group, label, value, _selected in options[3:]) == sorted([
        ("Livraisons", agent.get_full_name() or agent.username, str(agent.pk)), ("Livraisons", "Chloé Bernard", str(desk["colleague"].pk))])
    client.force_login(supervisor)
    options = select_options(client.get(reverse("cases:inbox"), {"view": "open"}), "assignee")
    groups = [group for group, *_rest in options]
    assert "Facturation" in groups and "Livraisons" in groups
    # On the tabs that are an assignee, no list
    for view in ("mine", "unassigned"):
        assert 'id="f-assignee"' not in client.get(reverse("cases:inbox"), {"view": view}).content.decode()


def test_someone_picked_outside_the_list_is_shown_picked(client, agent, supervisor, desk):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"view": "all", "assignee": str(supervisor.pk)})
    picked = [(group, label) for group, label, _value, selected in select_options(response, "assignee") if selected]
    assert picked == [("Other agents", supervisor.get_full_name() or supervisor.username)]
    assert refs(response.context["page"]) == ref_list(desk, "boss_triage")


def test_a_saved_view_keeps_the_assignee_and_me_is_each_readers_own(client, agent, supervisor, desk):
    client.force_login(agent)
    shown = client.get(reverse("cases:inbox"), {"view": "all", "assignee": "me", "status": "resolved"})
    assert [label for _group, label, _value, selected in select_options(shown, "assignee") if selected] == ["Me"]
    # The save form posts the filters shown, the assignee among them
    saved = client.post(reverse("cases:saved_view_create"), {"name": "Mes résolus", "base": "all", "assignee": "me",
                                                              "status": "resolved"})
    assert saved.status_code == 302
    view = SavedView.objects.get(name="Mes résolus")
    assert view.filters == {"assignee": ["me"], "status": ["resolved"], "base": "all"}
    page = client.get(reverse("cases:inbox"), {"view": f"saved-{view.pk}"})
    assert refs(page.context["page"]) == ref_list(desk, "my_resolved")
    assert [label for _group, label, _value, selected in select_options(page, "assignee") if selected] == ["Me"]
    # "Any" picked on top drops the view's own assignee
    widened = client.get(reverse("cases:inbox") + f"?view=saved-{view.pk}&assignee=")
    assert refs(widened.context["page"]) == ref_list(desk, "nobodys_resolved", "their_resolved", "my_resolved")
    # Shared by a supervisor, "me" is whoever opens it
    shared = save_view(user=supervisor, name="Résolus par moi", filters={"assignee": ["me"], "status": ["resolved"]},
                       base="all", shared=True)
    assert refs(inbox(agent, view=f"saved-{shared.pk}")) == ref_list(desk, "my_resolved")
    assert refs(inbox(supervisor, view=f"saved-{shared.pk}")) == ref_list(desk, "boss_hidden")
    # An agent by number is kept as that number
    theirs = save_view(user=agent, name="Chloé", filters={"assignee": [str(desk["colleague"].pk)]}, base="open")
    assert theirs.filters == {"assignee": [str(desk["colleague"].pk)], "base": "open"}
    assert refs(inbox(agent, view=f"saved-{theirs.pk}")) == ref_list(desk, "their_open")


def test_load_more_keeps_the_assignee(client, agent, supervisor, desk):
    for i in range(30):
        make_case(f"more{i}@example.com", team=desk["ours"], assignee=agent, actor=supervisor, status=CaseStatus.RESOLVED)
    client.force_login(agent)
    first = client.get(reverse("cases:inbox"), {"view": "all", "assignee": "me", "status": "resolved"})
    assert first.context["query"] == "view=all&status=resolved&assignee=me"
    cursor = first.context["page"].next_cursor
    rest = client.get(reverse("cases:inbox") + f"?{first.context['query']}&cursor={cursor}", HTTP_HX_REQUEST="true")
    listed = refs(first.context["page"]) + refs(rest.context["page"])
    expected = Case.objects.filter(assignee=agent, status=CaseStatus.RESOLVED).values_list("reference", flat=True)
    assert sorted(listed) == sorted(expected) and len(listed) == 31
    assert desk["nobodys_resolved"].reference not in rest.content.decode()


def test_the_export_keeps_the_assignee_and_the_visibility_rule(client, agent, supervisor, desk):
    client.force_login(agent)

    def exported(**params) -> list[str]:
        response = client.get(reverse("cases:export"), {"view": "all", **params})
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        return sorted(row[0] for row in rows[1:])

    assert exported(assignee="me", status="resolved") == [desk["my_resolved"].reference]
    assert exported(assignee="none") == sorted(ref_list(desk, "nobodys_resolved", "nobodys_open"))
    assert exported(assignee=str(supervisor.pk)) == [desk["boss_triage"].reference]  # not the case of their team


def test_a_link_to_assigned_to_me_with_resolved_lists_the_agents_resolved_cases(client, agent, desk):
    """Links and bookmarks from before the tabs were base sets ("Assigned to me" + Resolved)."""
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"view": "mine", "status": "resolved"}, follow=True)
    assert response.redirect_chain == [(reverse("cases:inbox") + "?view=all&status=resolved&assignee=me", 302)]
    assert refs(response.context["page"]) == ref_list(desk, "my_resolved")
    unassigned = client.get(reverse("cases:inbox"), {"view": "unassigned", "status": "resolved"}, follow=True)
    assert refs(unassigned.context["page"]) == ref_list(desk, "nobodys_resolved")
    assert str(BUILTIN_LABELS["all"]) in unassigned.content.decode()
