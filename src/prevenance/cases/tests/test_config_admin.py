"""The configuration admin (SLA policies, teams, calendars, routing, costs, limits): the API's
rules and services, no silent loss of an SLA clock or a team's cases, and the roles reach it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType
from prevenance.cases.models import Case, ChannelCost, DelegationLimit, RoutingRule, SLAPolicy, Team
from prevenance.cases.services import change_status
from prevenance.cases.services.sla import check_sla_breaches
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import create_business_calendar, default_calendar_periods
from prevenance.core.models import AuditEvent, BusinessCalendar
from prevenance.core.roles import ADMIN, AGENT, SUPERVISOR, assign_role
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


@pytest.fixture
def root():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _policy_form(**fields):
    data = {"name": "P", "active": "on", "case_type": "", "priority": "", "customer_tier": "",
            "first_response_target": "8 h", "resolution_target": "72 h", "calendar": "",
            "near_breach_percent": "80"}
    data.update(fields)
    return data


def _audits(policy_pk) -> list:
    return list(AuditEvent.objects.filter(kind=CaseAuditKind.SLA_POLICY_CHANGED, subject_id=str(policy_pk))
                .order_by("id").values_list("payload", flat=True))


# SLA policies: the services' rules and audit rows.


def test_sla_policy_admin_refuses_a_resolution_target_shorter_than_the_first_response_target(root):
    response = root.post("/admin/cases/slapolicy/add/", _policy_form(
        name="Backwards", first_response_target="48 h", resolution_target="1 h"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "resolution_target": ["The resolution target cannot be shorter than the first-response target."]}
    assert not SLAPolicy.objects.exists()


def test_targets_are_typed_in_business_hours_and_the_help_says_what_counts(root):
    page = root.get("/admin/cases/slapolicy/add/").content.decode()
    assert "on a calendar open 8 hours a day, “24 h” is three working days" in page

    # A bare number is hours (it used to be seconds), "8 h 30" and "90 min" are read as written.
    response = root.post("/admin/cases/slapolicy/add/", _policy_form(name="Eight", first_response_target="8 h 30",
                                                                     resolution_target="90"))

    assert response.status_code == 302
    policy = SLAPolicy.objects.get(name="Eight")
    assert (policy.first_response_target, policy.resolution_target) == (8 * H + timedelta(minutes=30), 90 * H)


def test_a_target_in_days_is_refused_saying_to_count_business_hours(root):
    response = root.post("/admin/cases/slapolicy/add/", _policy_form(name="Days", first_response_target="1 j",
                                                                     resolution_target="3 days"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    days = ("A target is counted in business hours, not in days: on a calendar open 8 hours a day, "
            "three working days are “24 h”.")
    assert errors == {"first_response_target": [days], "resolution_target": [days]}
    assert not SLAPolicy.objects.exists()


def test_an_existing_target_is_shown_in_hours_and_saved_unchanged(root):
    # Stored before (the admin's former "3 00:00:00", or the API's seconds): it keeps its meaning.
    policy = SLAPolicy.objects.create(name="Standard", first_response_target=8 * H + timedelta(seconds=30),
                                      resolution_target=timedelta(days=3))
    page = root.get(f"/admin/cases/slapolicy/{policy.pk}/change/").content.decode()
    assert 'value="8 h"' in page and 'value="72 h"' in page

    data = _policy_form(name="Standard", first_response_target="8 h", resolution_target="72 h", near_breach_percent="70")
    assert root.post(f"/admin/cases/slapolicy/{policy.pk}/change/", data).status_code == 302

    policy.refresh_from_db()
    assert (policy.first_response_target, policy.resolution_target) == (8 * H + timedelta(seconds=30), 72 * H)
    assert _audits(policy.pk) == [{"fields": ["near_breach_percent"]}]


def test_sla_policy_created_and_changed_in_the_admin_is_audited_as_through_the_api(root):
    response = root.post("/admin/cases/slapolicy/add/", _policy_form(name="Standard"))
    assert response.status_code == 302
    policy = SLAPolicy.objects.get(name="Standard")
    assert (policy.first_response_target, policy.resolution_target) == (8 * H, 72 * H)

    response = root.post(f"/admin/cases/slapolicy/{policy.pk}/change/", _policy_form(
        name="Standard", first_response_target="4 h", resolution_target="24 h"))

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_target, policy.resolution_target) == (4 * H, 24 * H)
    assert _audits(policy.pk) == [{"created": "Standard"}, {"fields": ["first_response_target", "resolution_target"]}]


def test_an_sla_policy_open_cases_use_cannot_be_deleted_in_the_admin(root):
    policy = SLAPolicy.objects.create(name="Standard", first_response_target=1 * H, resolution_target=2 * H)
    case = open_email_case().case
    assert case.sla_policy_id == policy.pk

    page = root.get(f"/admin/cases/slapolicy/{policy.pk}/delete/").content.decode()
    response = root.post(f"/admin/cases/slapolicy/{policy.pk}/delete/", {"post": "yes"})
    bulk = root.post("/admin/cases/slapolicy/", {"action": "delete_selected", "_selected_action": [policy.pk],
                                                 "post": "yes"})

    message = ("The SLA policy “Standard” is used by 1 active case: deleting it would stop that case&#x27;s "
               "escalation. Deactivate it instead.")
    assert message in page and message in response.content.decode() and message in bulk.content.decode()
    assert SLAPolicy.objects.filter(pk=policy.pk).exists() and _audits(policy.pk) == []
    assert Case.objects.get(pk=case.pk).sla_policy_id == policy.pk
    assert check_sla_breaches(now=timezone.now() + timedelta(days=30)) == 2  # both clocks still escalate


def test_an_sla_policy_no_active_case_uses_is_deleted_through_the_audited_service(root):
    policy = SLAPolicy.objects.create(name="Standard", first_response_target=1 * H, resolution_target=2 * H)
    case = open_email_case().case
    change_status(case=case, actor=UserFactory(), status=CaseStatus.RESOLVED)

    response = root.post(f"/admin/cases/slapolicy/{policy.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not SLAPolicy.objects.exists()
    assert _audits(policy.pk) == [{"deleted": "Standard"}]
    assert Case.objects.get(pk=case.pk).sla_policy_id is None


def test_sla_policy_list_shows_targets_as_business_hours_never_days(root):
    SLAPolicy.objects.create(name="Standard", first_response_target=90 * timedelta(minutes=1),
                             resolution_target=timedelta(days=2))

    english = root.get("/admin/cases/slapolicy/").content.decode()
    french = root.get("/admin/cases/slapolicy/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "1 h 30 min of business time" in english and "48 business hours" in english
    assert "2 d" not in english and "day" not in english
    assert "1 h 30 min ouvrées" in french and "48 h ouvrées" in french and "2 j" not in french


# Teams and calendars: nothing deleted that cases or clocks still need.


def test_a_team_with_active_cases_cannot_be_deleted_and_the_page_says_how_many(root):
    team = TeamFactory(name="Réclamations")
    first = open_email_case(team=team).case
    open_email_case(team=team)

    page = root.get(f"/admin/cases/team/{team.pk}/delete/").content.decode()
    root.post(f"/admin/cases/team/{team.pk}/delete/", {"post": "yes"})

    assert "The team “Réclamations” still has 2 active cases: move them to another team first." in page
    assert Team.objects.filter(pk=team.pk).exists()
    assert Case.objects.get(pk=first.pk).team_id == team.pk


def test_a_team_without_active_cases_can_be_deleted(root):
    team = TeamFactory(name="Ancienne équipe")

    response = root.post(f"/admin/cases/team/{team.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


def test_a_calendar_a_team_uses_cannot_be_deleted_in_the_admin(root):
    calendar = create_business_calendar(name="Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar)

    page = root.get(f"/admin/core/businesscalendar/{calendar.pk}/delete/").content.decode()
    root.post(f"/admin/core/businesscalendar/{calendar.pk}/delete/", {"post": "yes"})

    assert "The calendar “Paris” is used by a team or an SLA policy: give them another calendar first." in page
    team.refresh_from_db()
    assert team.calendar_id == calendar.pk


def test_a_calendar_nobody_uses_can_be_deleted(root):
    calendar = create_business_calendar(name="Lyon", periods=default_calendar_periods())

    assert root.post(f"/admin/core/businesscalendar/{calendar.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not BusinessCalendar.objects.filter(pk=calendar.pk).exists()


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


# Cases: type and priority change through the case page's services only.


def test_the_case_admin_shows_type_and_priority_read_only_and_points_to_the_case_page(root):
    SLAPolicy.objects.create(name="Complaints", case_type=CaseType.COMPLAINT, first_response_target=1 * H,
                             resolution_target=4 * H)
    case = open_email_case(subject="Question", body="Bonjour, une question.").case

    page = root.get(f"/admin/cases/case/{case.pk}/change/").content.decode()

    assert "Type and priority are changed on the case page (Classification)" in page
    assert f'href="/cases/{case.pk}/"' in page
    assert 'name="type"' not in page and 'name="priority"' not in page
