"""The Assignee picker of the case page (Assignment): agents grouped by team, the case's team
first, so the agent picks someone assign_case accepts; read in two queries however many teams."""

import pytest
from django.urls import reverse

from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.select_options import select_options
from prevenance.cases.views.case_forms import AssignForm
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def picker(response) -> list[tuple]:
    return select_options(response, "assignee")


def groups(options) -> dict[str | None, list[str]]:
    """Group label -> option labels, in the page's order."""
    shown: dict[str | None, list[str]] = {}
    for group, label, _value, _selected in options:
        shown.setdefault(group, []).append(label)
    return shown


def person(username, first_name="", last_name="", role="agent"):
    user = UserFactory(username=username, role=role)
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.fixture
def people(agent, supervisor):
    agent.first_name, agent.last_name = "Sarah", "Petit"
    agent.save(update_fields=["first_name", "last_name"])
    return {
        "sarah": agent,
        "bruno": person("bruno.durand", "Bruno", "Durand"),
        "zoe": person("zoe.martin", "Zoé", "Martin"),  # in no team
        "lucas": person("lucas"),  # no name: shown by login
        "marketer": person("mona", "Mona", "Lisa", role="marketing"),  # cannot handle cases: not offered
        "supervisor": supervisor,
    }


@pytest.fixture
def teams(people):
    return {
        "service": TeamFactory(name="Service client", members=[people["sarah"], people["lucas"]]),
        "after_sales": TeamFactory(name="Après-vente", members=[people["bruno"], people["sarah"]]),
        "delivery": TeamFactory(name="Livraisons", members=[people["supervisor"], people["marketer"]]),
        "empty": TeamFactory(name="Équipe vide", members=[people["marketer"]]),
    }


@pytest.fixture
def case(people, teams):
    opened = open_email_case("camille@example.com", subject="Colis abîmé", body="Mon colis est arrivé abîmé.").case
    return assign_case(case=opened, team=teams["service"], actor=people["supervisor"])


def page(client, user, case):
    client.force_login(user)
    return client.get(reverse("cases:case", kwargs={"case_id": case.pk}))


def test_agents_are_grouped_by_team_the_cases_team_first_then_those_in_no_team(client, people, case):
    shown = groups(picker(page(client, people["sarah"], case)))
    assert shown == {
        None: ["Nobody"],
        "Service client": ["lucas", "Sarah Petit"],  # the case's team, first; names in reading order
        "Après-vente": ["Bruno Durand", "Sarah Petit"],  # Sarah is in both teams: under each
        "Livraisons": ["supervisor"],  # the marketer, a member too, cannot handle cases
        "No team": ["Zoé Martin"],  # a team with no agent ("Équipe vide") has no group
    }
    assert list(shown) == [None, "Service client", "Après-vente", "Livraisons", "No team"]


def test_the_group_labels_follow_the_language_and_the_assignee_is_selected_under_the_cases_team(client, people, teams, case):
    assign_case(case=case, team=teams["service"], assignee=people["sarah"], actor=people["supervisor"])
    client.force_login(people["sarah"])
    options = picker(client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="fr"))
    assert [(group, label) for group, label, _value, selected in options if selected] == [("Service client", "Sarah Petit")]
    assert ("Aucune équipe", "Zoé Martin") in {(group, label) for group, label, _value, _selected in options}


def test_a_member_of_the_cases_team_picked_from_its_group_is_assigned(client, people, teams, case):
    options = picker(page(client, people["sarah"], case))
    lucas = next(value for group, label, value, _selected in options if (group, label) == ("Service client", "lucas"))
    response = client.post(reverse("cases:case_assign", kwargs={"case_id": case.pk}), {"team": teams["service"].pk, "assignee": lucas})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.team, case.assignee) == (teams["service"], people["lucas"])


def test_an_agent_in_no_team_is_assigned_when_the_case_is_given_to_no_team(client, people, case):
    client.force_login(people["sarah"])
    response = client.post(reverse("cases:case_assign", kwargs={"case_id": case.pk}), {"team": "", "assignee": people["zoe"].pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.team, case.assignee) == (None, people["zoe"])


def test_picking_someone_outside_the_team_is_refused_with_their_name(client, people, teams, case):
    client.force_login(people["sarah"])
    response = client.post(reverse("cases:case_assign", kwargs={"case_id": case.pk}),
                           {"team": teams["service"].pk, "assignee": people["bruno"].pk}, **HX)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Bruno Durand is not a member of the team Service client." in text
    assert "bruno.durand" not in text
    case.refresh_from_db()
    assert case.assignee is None


def test_the_picker_is_read_in_two_queries_however_many_teams(people, teams, case, django_assert_num_queries):
    for n in range(6):
        TeamFactory(name=f"Renfort {n}", members=[person(f"renfort{n}", "Renfort", str(n)), people["bruno"]])
    form = AssignForm(initial={"team": case.team, "assignee": None}, current_team_id=case.team_id)
    with django_assert_num_queries(2):  # the agents, then their teams
        html = str(form["assignee"])
    assert html.count("<optgroup") == 4 + 6
