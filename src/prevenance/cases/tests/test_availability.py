"""An agent's own availability and caps (/cases/me/availability/): what routing then does."""

import pytest
from django.urls import reverse

from prevenance.cases.choices import RoutingMethod
from prevenance.cases.models import AgentProfile, RoutingRule
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("cases:my_availability")


def test_an_agent_sees_their_settings_and_load(client, agent):
    client.force_login(agent)
    page = client.get(URL).content.decode()
    assert "Available for new cases" in page and "0 open cases assigned to you" in page


def test_an_agent_who_steps_away_gets_no_new_case_and_comes_back(client, agent):
    colleague = UserFactory(username="bruno", role="agent")
    team = TeamFactory(name="Livraisons", members=[agent, colleague], routing_method=RoutingMethod.LEAST_LOAD)
    RoutingRule.objects.create(name="Tout", position=1, team=team)
    client.force_login(agent)
    response = client.post(URL, {"max_open_cases": "", "max_chats": ""})  # the box unticked: away
    assert response.status_code == 302
    assert AgentProfile.objects.get(user=agent).available is False
    assignees = {open_email_case(f"c{n}@example.com").case.assignee for n in range(3)}
    assert assignees == {colleague}
    client.post(URL, {"available": "on", "max_open_cases": "", "max_chats": ""})
    assert open_email_case("back@example.com").case.assignee == agent  # least load: they have none
    assert AuditEvent.objects.filter(kind="agent.settings_changed", actor_id=agent.pk).count() >= 2


def test_an_agent_at_their_cap_gets_no_new_case(client, agent):
    team = TeamFactory(name="Livraisons", members=[agent], routing_method=RoutingMethod.LEAST_LOAD)
    RoutingRule.objects.create(name="Tout", position=1, team=team)
    client.force_login(agent)
    client.post(URL, {"available": "on", "max_open_cases": "1", "max_chats": "3"})
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.max_open_cases, profile.max_chats) == (1, 3)
    first, second = (open_email_case(f"c{n}@example.com").case for n in range(2))
    assert (first.assignee, second.assignee) == (agent, None)  # the second waits in the team queue
    assert "You are at your cap" in client.get(URL).content.decode()


def test_a_bad_cap_is_refused_with_its_reason_and_nothing_changes(client, agent):
    client.force_login(agent)
    response = client.post(URL, {"available": "on", "max_open_cases": "-2", "max_chats": "lots"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "greater than or equal to 0" in page and "Enter a whole number" in page
    assert not AgentProfile.objects.filter(user=agent).exists()


def test_the_page_is_for_people_who_handle_cases(client, marketer):
    client.force_login(marketer)
    assert client.get(URL).status_code == 403
