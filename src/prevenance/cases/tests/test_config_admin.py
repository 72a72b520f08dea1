"""The configuration admin (SLA policies, teams, calendars, routing, costs, limits): the API's
rules and services, no silent loss of an SLA clock or a team's cases, and the roles reach it."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from prevenance.cases.models import ChannelCost, DelegationLimit, RoutingRule
from prevenance.cases.tests.factories import TeamFactory
from prevenance.core.roles import ADMIN, AGENT, SUPERVISOR, assign_role
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


# Routing rules, costs and limits: values a case or an amount can actually have.


@pytest.mark.parametrize("language", ["fr_BE", "zz"])
def test_routing_rule_admin_refuses_a_language_the_site_does_not_speak(root, language):
    team = TeamFactory()
    form = {"name": "Belgique", "position": "10", "active": "on", "channel": "", "case_type": "",
            "language": language, "keywords": "", "team": str(team.pk), "required_skill": ""}

    assert root.post("/admin/cases/routingrule/add/", form).status_code == 200
    assert not RoutingRule.objects.exists()
    assert root.post("/admin/cases/routingrule/add/", {**form, "language": "fr"}).status_code == 302
    assert RoutingRule.objects.get().language == "fr"


@pytest.mark.parametrize("currency", ["e", "ZZZ", "eu1"])
def test_channel_costs_and_delegation_limits_refuse_a_currency_iso_4217_does_not_know(root, currency):
    cost = root.post("/admin/cases/channelcost/add/", {"channel": "email", "unit_cost": "1.50", "currency": currency})
    limit = root.post("/admin/cases/delegationlimit/add/", {"group": str(Group.objects.get(name=AGENT).pk),
                                                            "user": "", "currency": currency, "max_amount": "10"})

    message = ["A currency code of ISO 4217, in three letters (EUR, USD, GBP...)."]
    assert cost.context["adminform"].form.errors == {"currency": message}
    assert limit.context["adminform"].form.errors == {"currency": message}
    assert not ChannelCost.objects.exists() and not DelegationLimit.objects.filter(currency=currency).exists()


def test_a_currency_in_lower_case_is_stored_in_capitals(root):
    response = root.post("/admin/cases/channelcost/add/", {"channel": "email", "unit_cost": "1.50", "currency": "chf"})

    assert response.status_code == 302
    assert ChannelCost.objects.values_list("currency", "unit_cost").get() == ("CHF", Decimal("1.50"))


# Roles: administrators and supervisors are staff and reach what they configure.


@pytest.mark.parametrize("model", ["routingrule", "skill", "agentprofile", "channelcost", "slapolicy", "team"])
def test_an_administrator_who_is_not_superuser_can_configure_routing_and_costs(model):
    user = UserFactory(username="anne")
    assign_role(user=user, role=ADMIN)
    client = Client()
    client.force_login(user)

    assert user.is_staff and not user.is_superuser
    assert client.get(f"/admin/cases/{model}/").status_code == 200
    assert client.get(f"/admin/cases/{model}/add/").status_code == 200


def test_a_supervisor_is_staff_and_configures_routing_rules_sla_policies_and_templates_not_costs():
    user = UserFactory(username="nadia")
    assign_role(user=user, role=SUPERVISOR)
    client = Client()
    client.force_login(user)

    assert user.is_staff
    for model in ("routingrule", "slapolicy", "replytemplate", "signature"):
        assert client.get(f"/admin/cases/{model}/add/").status_code == 200, model
    for model in ("channelcost", "skill", "agentprofile", "delegationlimit"):
        assert client.get(f"/admin/cases/{model}/add/").status_code == 403, model


def test_an_agent_is_not_staff():
    user = UserFactory(username="camille")
    assign_role(user=user, role=AGENT)

    assert not user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == [AGENT]
