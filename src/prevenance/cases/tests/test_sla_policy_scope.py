"""One active SLA policy per scope (case type, priority, customer tier): a second one would never
apply (the oldest of equally specific policies wins), so the services, the API, the admin and
the database refuse it; a specific policy beside a catch-all stays allowed."""

import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from prevenance.cases import sla
from prevenance.cases.choices import CaseAuditKind, CaseType, Priority
from prevenance.cases.models import Case, SLAPolicy
from prevenance.cases.services import sla_policies
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
TARGETS = {"first_response_target": 4 * H, "resolution_target": 48 * H}
MIGRATION = "0022_sla_policy_one_active_per_scope"
migration = importlib.import_module(f"prevenance.cases.migrations.{MIGRATION}")


def create(actor, name, **fields) -> SLAPolicy:
    return sla_policies.create_sla_policy(actor=actor, name=name, **TARGETS, **fields)


def audits() -> list:
    return list(AuditEvent.objects.filter(kind=CaseAuditKind.SLA_POLICY_CHANGED).order_by("id").values_list("payload", flat=True))


def taken(name: str) -> str:
    return (f"The active SLA policy “{name}” already applies to the same cases (same type, priority and customer tier): "
            f"change one of them, or deactivate “{name}” first.")


@pytest.fixture
def root():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _form(**fields) -> dict:
    return {"name": "P", "active": "on", "case_type": "", "priority": "", "customer_tier": "",
            "first_response_target": "04:00:00", "resolution_target": "48 h", "calendar": "",
            "near_breach_percent": "80", **fields}


# The services -------------------------------------------------------------------------------


def test_a_second_active_policy_of_the_same_scope_is_refused_naming_the_first(supervisor):
    create(supervisor, "Gold complaints", case_type=CaseType.COMPLAINT, customer_tier="Gold")
    before = audits()

    # The tier is compared as matching compares it: spaces and case do not make another scope.
    with pytest.raises(ValidationError) as refused:
        create(supervisor, "Gold complaints again", case_type=CaseType.COMPLAINT, customer_tier=" GOLD ")

    assert refused.value.message_dict == {"active": [taken("Gold complaints")]}
    assert refused.value.error_dict["active"][0].code == "scope_taken"
    assert list(SLAPolicy.objects.values_list("name", flat=True)) == ["Gold complaints"]
    assert audits() == before


def test_a_specific_policy_beside_a_catch_all_and_an_inactive_duplicate_are_allowed(supervisor):
    catch_all = create(supervisor, "Standard")
    complaints = create(supervisor, "Complaints", case_type=CaseType.COMPLAINT)
    urgent_complaints = create(supervisor, "Urgent complaints", case_type=CaseType.COMPLAINT, priority=Priority.URGENT)
    draft = create(supervisor, "Standard, next year", active=False)

    assert SLAPolicy.objects.filter(active=True).count() == 3
    assert not draft.active
    policies = list(SLAPolicy.objects.all())
    assert sla.select_policy(policies, case_type=CaseType.QUESTION, priority=Priority.URGENT) == catch_all
    assert sla.select_policy(policies, case_type=CaseType.COMPLAINT, priority=Priority.NORMAL) == complaints
    assert sla.select_policy(policies, case_type=CaseType.COMPLAINT, priority=Priority.URGENT) == urgent_complaints


def test_activating_a_duplicate_is_refused_until_the_first_is_deactivated(supervisor):
    current = create(supervisor, "Standard")
    draft = create(supervisor, "Standard, next year", active=False)

    with pytest.raises(ValidationError) as refused:
        sla_policies.update_sla_policy(policy=draft, actor=supervisor, active=True)
    assert refused.value.message_dict == {"active": [taken("Standard")]}
    assert SLAPolicy.objects.get(pk=draft.pk).active is False

    sla_policies.update_sla_policy(policy=current, actor=supervisor, active=False)
    sla_policies.update_sla_policy(policy=draft, actor=supervisor, active=True)
    assert list(SLAPolicy.objects.filter(active=True).values_list("name", flat=True)) == ["Standard, next year"]
    # A policy saved again with its own scope is no duplicate of itself.
    sla_policies.update_sla_policy(policy=draft, actor=supervisor, resolution_target=72 * H)


def test_moving_a_policy_onto_the_scope_of_another_is_refused(supervisor):
    create(supervisor, "Complaints", case_type=CaseType.COMPLAINT)
    incidents = create(supervisor, "Incidents", case_type=CaseType.INCIDENT)

    with pytest.raises(ValidationError) as refused:
        sla_policies.update_sla_policy(policy=incidents, actor=supervisor, case_type=CaseType.COMPLAINT)

    assert refused.value.message_dict == {"active": [taken("Complaints")]}
    assert SLAPolicy.objects.get(pk=incidents.pk).case_type == CaseType.INCIDENT


def test_a_race_lost_to_another_saving_the_same_scope_is_refused_by_the_database_and_named(supervisor, monkeypatch):
    # Given the other person's policy committed after this save checked (the check saw nothing)
    create(supervisor, "Standard")
    real = sla_policies.same_scope
    calls = []

    def checked_too_early(*args, **kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(sla_policies, "same_scope", checked_too_early)
    # When / then: the constraint refuses the row, and the refusal names the policy that won
    with pytest.raises(ValidationError) as refused:
        create(supervisor, "Standard too")
    assert refused.value.message_dict == {"active": [taken("Standard")]}
    assert SLAPolicy.objects.count() == 1


def test_the_database_refuses_two_active_policies_of_one_scope():
    SLAPolicy.objects.create(name="Gold", customer_tier="gold", **TARGETS)
    SLAPolicy.objects.create(name="Gold, retired", customer_tier="gold", active=False, **TARGETS)
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.create(name="Gold too", customer_tier="GOLD", **TARGETS)
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.filter(name="Gold, retired").update(active=True)
    assert list(SLAPolicy.objects.filter(active=True).values_list("name", flat=True)) == ["Gold"]


# The API --------------------------------------------------------------------------------------


def test_the_api_answers_422_scope_taken_on_a_duplicate_and_on_activating_one(supervisor):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(supervisor)

    def send(method, path, body):
        return getattr(client, method)("/api/v1" + path, data=json.dumps(body), content_type="application/json")

    assert send("post", "/sla-policies", {"name": "Urgent", "priority": "urgent", "first_response_target": "PT1H",
                                          "resolution_target": "P1D"}).status_code == 201
    duplicate = send("post", "/sla-policies", {"name": "Urgent 2", "priority": "urgent", "first_response_target": "PT2H",
                                               "resolution_target": "P1D"})
    draft = send("post", "/sla-policies", {"name": "Urgent 2", "priority": "urgent", "active": False,
                                           "first_response_target": "PT2H", "resolution_target": "P1D"})
    activated = send("patch", f"/sla-policies/{draft.json()['id']}", {"active": True})

    for response in (duplicate, activated):
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body", "active"], "msg": taken("Urgent"), "type": "scope_taken"}]}
    assert SLAPolicy.objects.get(name="Urgent 2").active is False


# The admin ----------------------------------------------------------------------------------


def test_the_admin_refuses_a_duplicate_naming_the_policy_and_saves_the_policy_itself_again(root):
    assert root.post("/admin/cases/slapolicy/add/", _form(name="Complaints", case_type="complaint")).status_code == 302
    complaints = SLAPolicy.objects.get()

    response = root.post("/admin/cases/slapolicy/add/", _form(name="Complaints 2", case_type="complaint"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"active": [taken("Complaints")]}
    assert SLAPolicy.objects.count() == 1
    # Its own page saves (it is not a duplicate of itself), and an inactive second one is allowed.
    assert root.post(f"/admin/cases/slapolicy/{complaints.pk}/change/",
                     _form(name="Complaints", case_type="complaint", first_response_target="02:00:00")).status_code == 302
    inactive = _form(name="Complaints 2", case_type="complaint")
    del inactive["active"]
    assert root.post("/admin/cases/slapolicy/add/", inactive).status_code == 302
    assert list(SLAPolicy.objects.order_by("pk").values_list("name", "active")) == [("Complaints", True), ("Complaints 2", False)]


def _lose_the_race_to(monkeypatch, service: str, **theirs):
    """The other person's policy (`theirs`) is committed after this page's form was validated,
    just before its save reaches the services; `same_scope` then misses it too when `theirs`
    says checked_too_early (the database's constraint is what refuses)."""
    real, real_same_scope = getattr(sla_policies, service), sla_policies.same_scope
    early = theirs.pop("checked_too_early", False)
    checks = []

    def checked_before_their_commit(*args, **kwargs):  # the service's check, then the real one
        checks.append(1)
        return None if len(checks) == 1 else real_same_scope(*args, **kwargs)

    def racing(**kwargs):
        SLAPolicy.objects.create(**{**TARGETS, **theirs})
        if early:
            monkeypatch.setattr(sla_policies, "same_scope", checked_before_their_commit)
        return real(**kwargs)

    monkeypatch.setattr(sla_policies, service, racing)


@pytest.mark.parametrize("checked_too_early", [False, True])
def test_an_admin_save_that_lost_the_race_for_the_scope_shows_the_refusal_on_the_form_and_writes_nothing(
        root, monkeypatch, checked_too_early):
    from django.contrib.admin.models import LogEntry

    _lose_the_race_to(monkeypatch, "create_sla_policy", name="Complaints (theirs)", case_type="complaint",
                      checked_too_early=checked_too_early)
    before = audits()

    response = root.post("/admin/cases/slapolicy/add/", _form(name="Complaints", case_type="complaint"))

    assert response.status_code == 200
    # When checked too early, the database refused, and the policy that won is named all the same.
    assert response.context["adminform"].form.errors == {"active": [taken("Complaints (theirs)")]}
    assert list(SLAPolicy.objects.values_list("name", flat=True)) == ["Complaints (theirs)"]
    assert audits() == before and not LogEntry.objects.exists()


def test_an_admin_change_that_lost_the_race_for_the_name_shows_the_refusal_on_the_form_and_writes_nothing(root, monkeypatch):
    from django.contrib.admin.models import LogEntry

    complaints = sla_policies.create_sla_policy(actor=UserFactory(username="boss", is_superuser=True), name="Complaints",
                                                case_type=CaseType.COMPLAINT, **TARGETS)
    _lose_the_race_to(monkeypatch, "update_sla_policy", name="Claims", case_type="incident")
    before = audits()

    response = root.post(f"/admin/cases/slapolicy/{complaints.pk}/change/", _form(name="Claims", case_type="complaint"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"name": ["An SLA policy with this name already exists."]}
    assert SLAPolicy.objects.get(pk=complaints.pk).name == "Complaints"
    assert audits() == before and not LogEntry.objects.exists()


def test_the_admin_says_which_of_two_crossing_policies_applies_where_both_match(root):
    root.post("/admin/cases/slapolicy/add/", _form(name="Complaints", case_type="complaint"))
    response = root.post("/admin/cases/slapolicy/add/", _form(name="Urgent", priority="urgent"), follow=True)

    assert [str(message) for message in response.context["messages"] if message.level_tag == "warning"] == [
        "Some cases match both “Urgent” and “Complaints”, which are equally specific: they get “Complaints”, "
        "the older one. To choose otherwise, make one of them more specific."]
    # A catch-all or a more specific policy beside them is layering, not crossing: no warning.
    response = root.post("/admin/cases/slapolicy/add/", _form(name="Urgent complaints", case_type="complaint",
                                                              priority="urgent"), follow=True)
    assert [message for message in response.context["messages"] if message.level_tag == "warning"] == []


def test_crossing_lists_equally_specific_policies_some_case_matches_with_both_unless_a_more_specific_one_takes_it():
    def policy(pk, case_type="", priority="", tier=""):
        return SLAPolicy(pk=pk, name=str(pk), case_type=case_type, priority=priority, customer_tier=tier)

    complaints, urgent = policy(1, case_type="complaint"), policy(2, priority="urgent")
    incidents, gold, anything = policy(3, case_type="incident"), policy(4, tier="Gold"), policy(5)
    gold_complaints, silver_complaints = policy(6, "complaint", tier="gold "), policy(7, "complaint", tier="silver")
    urgent_gold = policy(8, priority="urgent", tier="GOLD")
    active = [complaints, urgent, incidents, gold, anything, silver_complaints]

    # An urgent complaint or a gold customer's incident matches both; complaints and incidents never.
    assert sla.crossing(complaints, active) == [urgent, gold]
    assert sla.crossing(incidents, active) == [urgent, gold]
    assert sla.crossing(anything, active) == []
    assert sla.crossing(silver_complaints, active) == []
    # A more specific policy that takes every case both match settles it: nothing to say.
    assert sla.crossing(complaints, [*active, gold_complaints]) == [urgent]
    assert sla.crossing(urgent, [*active, gold_complaints, urgent_gold, policy(9, "complaint", "urgent")]) == [incidents]
    assert sla.crossing(gold_complaints, [*active, gold_complaints, urgent_gold]) == [urgent_gold]


# The migration --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_oldest_of_each_scope_active_and_deactivates_the_rest():
    executor = MigrationExecutor(connection)
    latest = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "cases"]
    before = executor.loader.graph.node_map[("cases", MIGRATION)].parents
    executor.migrate([parent.key for parent in before if parent.key[0] == "cases"])
    try:
        # Given duplicates saved before the rule, the older of each scope being the one cases get
        old = MigrationExecutor(connection).loader.project_state(
            [parent.key for parent in before if parent.key[0] == "cases"]).apps.get_model("cases", "SLAPolicy")
        standard = old.objects.create(name="Standard", **TARGETS)
        old.objects.create(name="Standard (copy)", **TARGETS)
        gold = old.objects.create(name="Gold", customer_tier="Gold", **TARGETS)
        old.objects.create(name="Gold bis", customer_tier=" gold", **TARGETS)
        old.objects.create(name="Standard, retired", active=False, **TARGETS)
        complaints = old.objects.create(name="Complaints", case_type="complaint", **TARGETS)
        # When
        executor = MigrationExecutor(connection)
        executor.migrate([("cases", MIGRATION)])
    finally:
        MigrationExecutor(connection).migrate(latest)
    # Then
    assert list(SLAPolicy.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)) == [
        standard.pk, gold.pk, complaints.pk]
    assert list(SLAPolicy.objects.filter(active=False).order_by("pk").values_list("name", flat=True)) == [
        "Standard (copy)", "Gold bis", "Standard, retired"]
    assert audits() == [
        {"fields": ["active"], "deactivated": "Standard (copy)", "same_scope_as": "Standard"},
        {"fields": ["active"], "deactivated": "Gold bis", "same_scope_as": "Gold"},
    ]
    # New cases get the policy they got before.
    case = open_email_case().case
    assert Case.objects.get(pk=case.pk).sla_policy_id == standard.pk


def test_the_migration_can_be_run_again_and_finds_nothing_to_do(supervisor):
    create(supervisor, "Standard")
    create(supervisor, "Complaints", case_type=CaseType.COMPLAINT)
    before = audits()
    migration.deactivate_shadowed_duplicates(global_apps, None)
    assert SLAPolicy.objects.filter(active=True).count() == 2 and audits() == before
