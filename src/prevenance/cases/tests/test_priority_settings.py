"""The figures of the priority score, set by an administrator in the admin (they were the
PREVENANCE_PRIORITY setting): the service and its audit rows, what it refuses, who may change
them, the migration that copies the former setting, the check that says to remove it, the
cases scored with the new figures at once (in this process and in another), and the open cases
scored again on request."""

import importlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prevenance.cases import priority
from prevenance.cases.checks import priority_setting_moved_to_the_admin
from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, Priority
from prevenance.cases.models import Case, PrioritySettings
from prevenance.cases.selectors.kept_settings import priority_config
from prevenance.cases.services import change_status
from prevenance.cases.services import priority as priority_services
from prevenance.cases.services.case_settings import update_priority_settings
from prevenance.cases.services.updates import change_priority
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.core.roles import ADMIN, AGENT, SUPERVISOR, assign_role
from prevenance.customers.models import Customer
from prevenance.customers.tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

seeding = importlib.import_module("prevenance.cases.migrations.0023_priority_settings")
SETTINGS_URL = "/admin/cases/prioritysettings/1/change/"
RESCORE_URL = "/admin/cases/prioritysettings/rescore/"
ANGRY = "C'est inadmissible, je vais résilier !!"


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def root():
    return client_of(UserFactory(username="root", is_staff=True, is_superuser=True))


def form(**changes) -> dict:
    """The admin form as the page shows the row now, with `changes` (and, hidden, each figure as
    the page showed it: what the save compares with to know what this page changed)."""
    row = PrioritySettings.objects.get()
    shown = {name: getattr(row, name) for name in PrioritySettings.FIGURES}
    data = {**shown, **changes, **{f"initial-{name}": value for name, value in shown.items()}}
    return {name: value for name, value in data.items() if value is not None}


def audits(kind: str = "priority_settings.changed") -> list[tuple[str, dict]]:
    return [(event.actor.username if event.actor else "", event.payload)
            for event in AuditEvent.objects.filter(kind=kind).order_by("pk")]


def score_of(case) -> tuple[int, str, dict]:
    case = Case.objects.get(pk=case.pk)
    return case.priority_score, case.priority, {reason["code"]: reason["points"] for reason in case.priority_reasons}


# --- the service ---------------------------------------------------------------------------

def test_the_migration_starts_with_the_defaults_the_rules_had():
    assert PrioritySettings.objects.get().as_priority_config() == priority.PriorityConfig()


def test_a_change_leaves_an_audit_row_with_who_before_and_after_and_an_unchanged_save_none(admin_user):
    update_priority_settings(actor=admin_user, vip_points=40, value_step1_amount="400", public_channels=["forum"])
    update_priority_settings(actor=admin_user, vip_points=40, value_step1_amount=Decimal("400.00"))

    assert audits() == [("admin", {
        "value_step1_amount": ["500.00", "400.00"], "vip_points": [25, 40], "public_channels": [["social", "forum"], ["forum"]],
    })]
    assert PrioritySettings.objects.get().vip_points == 40


@pytest.mark.parametrize(("figures", "errors"), [
    ({"vip_points": -1}, {"vip_points": ["Ensure this value is greater than or equal to 0."]}),
    ({"churn_points": 1001}, {"churn_points": ["Ensure this value is less than or equal to 1000."]}),
    ({"value_step1_amount": "-5"}, {"value_step1_amount": ["Ensure this value is greater than or equal to 0."]}),
    ({"value_step2_amount": "500"}, {"value_step2_amount": ["Each step starts above the one before (500.00)."]}),
    ({"value_step3_amount": "1000"}, {"value_step3_amount": ["Each step starts above the one before (1500.00)."]}),
    ({"age_step2_days": 1}, {"age_step2_days": ["Each step starts above the one before (1)."]}),
    ({"urgent_threshold": 30}, {"urgent_threshold": ["Urgent starts above high (30)."]}),
    ({"high_threshold": 0}, {"high_threshold": ["High starts above normal (0)."]}),
    ({"normal_threshold": 45}, {"high_threshold": ["High starts above normal (45)."]}),
    ({"public_channels": ["twitter"]}, {"public_channels": ["“twitter” is not a channel."]}),
    ({"currency": "ZZZ"}, {"currency": ["A currency code of ISO 4217, in three letters (EUR, USD, GBP...)."]}),
])
def test_the_service_refuses_bad_figures_on_their_field_and_writes_nothing(admin_user, figures, errors):
    with pytest.raises(ValidationError) as refused:
        update_priority_settings(actor=admin_user, **figures)

    assert refused.value.message_dict == errors
    assert PrioritySettings.objects.get().as_priority_config() == priority.PriorityConfig()
    assert audits() == []


def test_levels_may_move_together_and_normal_may_be_negative(admin_user):
    update_priority_settings(actor=admin_user, urgent_threshold=100, high_threshold=70, normal_threshold=-10)

    conf = priority_config()
    assert [priority.level_for(points, conf) for points in (-11, -10, 69, 70, 100)] == ["low", "normal", "normal", "high", "urgent"]


def test_the_channels_are_kept_once_each_in_the_channel_list_order(admin_user):
    update_priority_settings(actor=admin_user, public_channels=["forum", "chat", "forum"])
    assert PrioritySettings.objects.get().public_channels == ["chat", "forum"]


def test_an_unknown_figure_is_a_programming_error(admin_user):
    with pytest.raises(TypeError, match="vip"):
        update_priority_settings(actor=admin_user, vip=3)


# --- the admin page ------------------------------------------------------------------------

def test_the_settings_are_one_row_never_added_or_deleted(root):
    assert root.get("/admin/cases/prioritysettings/").url == SETTINGS_URL
    assert root.get("/admin/cases/prioritysettings/add/").status_code == 403
    assert root.post("/admin/cases/prioritysettings/1/delete/", {"post": "yes"}).status_code == 403
    page = root.get(SETTINGS_URL).content.decode()
    assert "Customer value" in page and "Urgent from" in page and RESCORE_URL in page


def test_the_admin_saves_through_the_service_and_offers_to_score_the_open_cases_again(root):
    open_email_case("a@example.com")
    open_email_case("b@example.com")
    response = root.post(SETTINGS_URL, form(complaint_points=35, public_channels=["social", "chat"]), follow=True)

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("2 open cases keep the score they were given with the previous figures." in text and RESCORE_URL in text
               for text in shown)
    assert audits() == [("root", {"complaint_points": [20, 35], "public_channels": [["social", "forum"], ["chat", "social"]]})]  # in the channel list order


def test_saving_the_page_unchanged_writes_nothing_and_offers_nothing(root):
    open_email_case()
    response = root.post(SETTINGS_URL, form(), follow=True)

    assert not any("keep the score" in str(message) for message in response.context["messages"])
    assert audits() == []


def test_a_page_opened_before_another_administrators_save_leaves_their_figures_as_they_set_them(root, admin_user):
    page = form()  # opened by root, who gets each figure as shown, hidden, with it
    shown = root.get(SETTINGS_URL).content.decode()
    assert 'name="initial-vip_points" value="25"' in shown and 'name="initial-public_channels" value="forum"' in shown
    update_priority_settings(actor=admin_user, vip_points=40)  # another administrator saves meanwhile

    response = root.post(SETTINGS_URL, {**page, "complaint_points": 35}, follow=True)

    assert response.status_code == 200
    row = PrioritySettings.objects.get()
    assert (row.vip_points, row.complaint_points) == (40, 35)
    assert audits() == [("admin", {"vip_points": [25, 40]}), ("root", {"complaint_points": [20, 35]})]


def test_figures_that_no_longer_hold_with_another_administrators_save_are_refused_whole(root, admin_user):
    page = form()
    update_priority_settings(actor=admin_user, value_step2_amount=1000)  # meanwhile: still above the first step's 500

    response = root.post(SETTINGS_URL, {**page, "value_step1_amount": "1200", "vip_points": 30}, follow=True)

    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        "Nothing was saved: Each step starts above the one before (1200). The page now shows the figures as "
        "they are, with the changes saved meanwhile."]
    row = PrioritySettings.objects.get()
    assert (row.value_step1_amount, row.value_step2_amount, row.vip_points) == (500, 1000, 25)
    assert audits() == [("admin", {"value_step2_amount": ["1500.00", "1000.00"]})]


def shown_channels(page: str) -> list[str]:
    """The hidden inputs of the channels the page showed, as a browser sends them (no value: "")."""
    return re.findall(r'<input type="hidden" name="initial-public_channels"(?: value="([^"]*)")?', page)


def test_channels_ticked_on_a_page_shown_again_for_an_error_are_saved_once_it_is_corrected(root, admin_user):
    update_priority_settings(actor=admin_user, public_channels=[])  # none ticked when the page opens
    assert shown_channels(root.get(SETTINGS_URL).content.decode()) == [""]

    # Chat ticked, and a figure mistyped: the page comes back with the error
    again = root.post(SETTINGS_URL, {**form(public_channels=["chat"], vip_points="lots"), "initial-public_channels": [""]})
    assert again.status_code == 200
    # It still says it showed no channel at first: the channels ticked are a change, saved once the figure is corrected
    assert shown_channels(again.content.decode()) == [""]
    root.post(SETTINGS_URL, {**form(public_channels=["chat"]), "initial-public_channels": [""]})
    assert PrioritySettings.objects.get().public_channels == ["chat"]


@pytest.mark.parametrize(("changes", "errors"), [
    ({"urgent_threshold": 20}, {"urgent_threshold": ["Urgent starts above high (30)."]}),
    ({"age_step3_days": 3}, {"age_step3_days": ["Each step starts above the one before (3)."]}),
    ({"exclamation_points": -2}, {"exclamation_points": ["Ensure this value is greater than or equal to 0."]}),
    ({"public_channels": ["twitter"]}, {"public_channels": ["Select a valid choice. twitter is not one of the available choices."]}),
    ({"vip_points": "lots"}, {"vip_points": ["Enter a whole number."]}),
])
def test_the_admin_shows_the_error_on_the_field_and_keeps_the_figures(root, changes, errors):
    response = root.post(SETTINGS_URL, form(**changes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == errors
    assert PrioritySettings.objects.get().as_priority_config() == priority.PriorityConfig()


# --- who changes them ----------------------------------------------------------------------

def test_an_administrator_changes_them_a_supervisor_reads_them_an_agent_is_refused():
    users = {role: UserFactory(username=role) for role in (ADMIN, SUPERVISOR, AGENT)}
    for role, user in users.items():
        assign_role(user=user, role=role)
    as_admin, as_supervisor, as_agent = (client_of(users[role]) for role in (ADMIN, SUPERVISOR, AGENT))

    assert as_admin.post(SETTINGS_URL, form(vip_points=30)).status_code == 302
    assert as_admin.get(RESCORE_URL).status_code == 200
    supervisor_page = as_supervisor.get(SETTINGS_URL)
    assert supervisor_page.status_code == 200 and RESCORE_URL not in supervisor_page.content.decode()
    as_supervisor.post(SETTINGS_URL, form(vip_points=90))
    assert as_supervisor.get(RESCORE_URL).status_code == 403
    assert as_supervisor.post(RESCORE_URL).status_code == 403
    # An agent is no staff: the admin sends them to its login page; made staff, still refused.
    assert as_agent.get(SETTINGS_URL).url.startswith("/admin/login/")
    users[AGENT].is_staff = True
    users[AGENT].save(update_fields=["is_staff"])
    assert as_agent.get(SETTINGS_URL).status_code == 403
    assert as_agent.get("/admin/cases/prioritysettings/").status_code == 403
    assert as_agent.post(RESCORE_URL).status_code == 403
    assert PrioritySettings.objects.get().vip_points == 30
    assert [actor for actor, _payload in audits()] == ["admin"]
    assert not AuditEvent.objects.filter(kind="priority_settings.rescore_requested").exists()


# --- scoring with the figures just saved ---------------------------------------------------

def test_the_next_case_is_scored_with_the_figures_just_saved(admin_user):
    before = open_email_case("a@example.com", subject="Question", body=ANGRY, type=CaseType.COMPLAINT).case
    update_priority_settings(actor=admin_user, complaint_points=50, churn_points=0, urgent_threshold=70)
    after = open_email_case("b@example.com", subject="Question", body=ANGRY, type=CaseType.COMPLAINT).case

    assert score_of(before)[2] == {"case_type": 20, "sentiment_negative": 12, "exclamations": 5, "churn_threat": 20}
    assert score_of(after) == (67, Priority.HIGH, {"case_type": 50, "sentiment_negative": 12, "exclamations": 5})


def test_figures_changed_by_another_process_are_seen_through_the_version(admin_user):
    assert priority_config().vip_points == 25
    row = PrioritySettings.objects.get()
    # A queryset update sends no signal here, as a save in another process reaches none: its
    # updated_at moves (the service's save does that), so the version changes.
    PrioritySettings.objects.filter(pk=row.pk).update(vip_points=60, updated_at=row.updated_at + timedelta(seconds=1))

    assert priority_config().vip_points == 60
    customer = open_email_case("vip@example.com", subject="Question", body="Bonjour").case.customer
    Customer.objects.filter(pk=customer.pk).update(is_vip=True)
    case = open_email_case("vip@example.com", subject="Question", body="Bonjour").case
    assert score_of(case) == (60, Priority.URGENT, {"vip": 60})


def test_an_intake_reads_the_figures_through_the_kept_settings_not_a_statement_of_its_own():
    open_email_case("a@example.com")
    with CaptureQueriesContext(connection) as queries:
        open_email_case("b@example.com")
    reading_the_figures = [query["sql"] for query in queries if "cases_prioritysettings" in query["sql"]]
    assert len(reading_the_figures) == 1 and "COUNT(*)" in reading_the_figures[0]  # the version statement


# --- scoring the open cases again ----------------------------------------------------------

def test_the_open_cases_are_scored_again_with_the_new_figures_and_levels_only_rise(admin_user, agent):
    complaint = open_email_case("a@example.com", subject="Réclamation", body=ANGRY, type=CaseType.COMPLAINT).case
    question = open_email_case("b@example.com", subject="Question", body="Bonjour").case
    by_hand = open_email_case("c@example.com", subject="Question", body="Bonjour").case
    change_priority(case=by_hand, priority=Priority.HIGH, actor=agent)
    resolved = change_status(case=open_email_case("d@example.com", body=ANGRY).case, status=CaseStatus.RESOLVED, actor=agent)
    assert score_of(complaint) == (57, Priority.HIGH, {"case_type": 20, "sentiment_negative": 12, "exclamations": 5,
                                                       "churn_threat": 20})
    resolved_before = score_of(resolved)
    update_priority_settings(actor=admin_user, churn_points=40, high_threshold=40, question_points=5)

    assert priority_services.rescore_open_cases() == 3
    assert score_of(complaint) == (77, Priority.URGENT, {"case_type": 20, "sentiment_negative": 12, "exclamations": 5,
                                                         "churn_threat": 40})
    assert score_of(question) == (5, Priority.NORMAL, {"case_type": 5})
    # Chosen by hand: kept, its top-up now to the new high threshold.
    assert score_of(by_hand) == (40, Priority.HIGH, {"case_type": 5, priority.LEVEL_FLOOR: 35})
    assert score_of(resolved) == resolved_before
    raised = AuditEvent.objects.filter(kind=CaseAuditKind.PRIORITY_RAISED)
    assert [(event.subject_id, event.payload["priority_to"]) for event in raised] == [(str(complaint.pk), "urgent")]
    assert priority_services.rescore_open_cases() == 0  # idempotent


def test_lower_figures_lower_the_score_but_never_the_level(admin_user):
    complaint = open_email_case("a@example.com", subject="Réclamation", body=ANGRY, type=CaseType.COMPLAINT).case
    update_priority_settings(actor=admin_user, churn_points=0, negative_points_per_unit=0)

    assert priority_services.rescore_open_cases() == 1
    assert score_of(complaint) == (30, Priority.HIGH, {"case_type": 20, "exclamations": 5, priority.LEVEL_FLOOR: 5})


def test_the_customer_value_counts_the_orders_before_the_case_opened(admin_user):
    opened = timezone.now() - timedelta(days=10)
    customer = open_email_case("buyer@example.com", subject="Adresse", body="Bonjour", received_at=opened - timedelta(days=1)).case.customer
    OrderFactory(customer=customer, amount=Decimal("400"), ordered_at=opened - timedelta(days=30))
    OrderFactory(customer=customer, amount=Decimal("1200"), ordered_at=opened - timedelta(days=400))  # too old then
    OrderFactory(customer=customer, amount=Decimal("1200"), ordered_at=opened + timedelta(days=2))  # after it opened
    case = open_email_case("buyer@example.com", subject="Question", body="Bonjour", received_at=opened).case
    update_priority_settings(actor=admin_user, value_step1_amount="300")

    priority_services.rescore_open_cases(now=opened + timedelta(hours=1))
    assert score_of(case)[2] == {"customer_value": 10}


def test_the_rescore_reads_in_batches(admin_user):
    for number in range(5):
        open_email_case(f"c{number}@example.com", subject="Question", body="Bonjour")
    update_priority_settings(actor=admin_user, question_points=7)

    assert priority_services.rescore_open_cases(batch_size=2) == 5
    assert set(Case.objects.values_list("priority_score", flat=True)) == {7}


def test_asking_for_it_in_the_admin_queues_it_with_an_audit_row(admin_user, committed):
    case = open_email_case(subject="Question", body="Bonjour").case
    update_priority_settings(actor=admin_user, question_points=12)
    assign_role(user=admin_user, role=ADMIN)  # and staff
    as_admin = client_of(admin_user)

    assert "1 open case keeps the score" in as_admin.get(RESCORE_URL).content.decode()
    with committed():
        response = as_admin.post(RESCORE_URL, follow=True)
    assert response.redirect_chain[-1][0] == SETTINGS_URL
    assert "The 1 open case is being scored again" in str(list(response.context["messages"])[0])
    assert score_of(case) == (12, Priority.NORMAL, {"case_type": 12})
    assert audits("priority_settings.rescore_requested") == [("admin", {"open_cases": 1})]


def test_only_who_may_change_the_figures_may_ask_for_it(supervisor):
    with pytest.raises(PermissionDenied):
        priority_services.request_rescore(actor=supervisor)
    assert not AuditEvent.objects.filter(kind="priority_settings.rescore_requested").exists()


# --- upgrading from the PREVENANCE_PRIORITY setting ----------------------------------------

FORMER_SETTING = {
    "value_thresholds": [(1000, 15), (200, 5), (3000, 25)],
    "currency": "gbp",
    "vip_points": 40,
    "type_points": {CaseType.COMPLAINT: 30, "question": 1},
    "public_channels": (Channel.SOCIAL, Channel.CHAT),
    "age_steps": ((10, 30), (2, 4), (5, 12)),
    "levels": {Priority.URGENT: 80, Priority.HIGH: 40, Priority.NORMAL: -5},
}


def test_the_migration_copies_the_figures_of_the_former_setting(settings):
    settings.PREVENANCE_PRIORITY = FORMER_SETTING
    PrioritySettings.objects.all().delete()

    seeding.seed_from_setting(apps, None)
    row = PrioritySettings.objects.get()
    row.full_clean()  # what the migration writes, the admin accepts
    conf = row.as_priority_config()
    assert conf.value_thresholds == ((3000, 25), (1000, 15), (200, 5))
    assert (conf.currency, conf.vip_points, conf.public_channels) == ("GBP", 40, ("chat", "social"))
    assert conf.type_points == {"complaint": 30, "incident": 0, "request": 0, "question": 1}  # left out: 0, as before
    assert conf.age_steps == ((10, 30), (5, 12), (2, 4))
    assert conf.levels == {"urgent": 80, "high": 40, "normal": -5}
    assert conf.churn_points == 20  # not in the setting: the default


def test_the_migration_starts_from_the_defaults_without_the_setting_and_keeps_a_row_already_there(settings, admin_user):
    assert seeding.figures_from_setting(None) == {}
    update_priority_settings(actor=admin_user, vip_points=33)
    settings.PREVENANCE_PRIORITY = FORMER_SETTING

    seeding.seed_from_setting(apps, None)  # run again: nothing changes
    assert PrioritySettings.objects.get().vip_points == 33


@pytest.mark.parametrize(("value", "named"), [
    (["vip_points"], "PREVENANCE_PRIORITY must be a dict"),
    ({"nonsense": 1}, "unknown keys: ['nonsense']"),
    ({"vip_points": -5}, "['vip_points']"),
    ({"vip_points": 2.5}, "['vip_points']"),
    ({"vip_points": "20"}, "['vip_points']"),
    ({"legal_points": 5000}, "['legal_points']"),
    ({"levels": {"urgent": 10, "high": 20, "normal": 0}}, "['levels']"),
    ({"levels": {"urgent": 60, "high": 30}}, "['levels']"),
    ({"age_steps": [("x", 1), (2, 2), (3, 3)]}, "['age_steps']"),
    ({"age_steps": [(1, 5), (3, 10)]}, "['age_steps']"),
    ({"value_thresholds": [(500, 10), (500, 20), (900, 30)]}, "['value_thresholds']"),
    ({"value_thresholds": [(-1, 10), (500, 20), (900, 30)]}, "['value_thresholds']"),
    ({"value_thresholds": "500"}, "['value_thresholds']"),
    ({"public_channels": ["twitter"]}, "['public_channels']"),
    ({"public_channels": "social"}, "['public_channels']"),
    ({"currency": "EURO"}, "['currency']"),
    ({"type_points": {"bug": 5}}, "['type_points']"),
])
def test_the_migration_stops_with_the_key_on_a_value_it_cannot_read(settings, value, named):
    settings.PREVENANCE_PRIORITY = value
    PrioritySettings.objects.all().delete()

    with pytest.raises(ValueError) as stopped:
        seeding.seed_from_setting(apps, None)
    assert named in str(stopped.value)
    assert not PrioritySettings.objects.exists()


def test_the_setting_still_there_is_reported_as_no_longer_read(settings, capsys):
    assert priority_setting_moved_to_the_admin(None) == []
    settings.PREVENANCE_PRIORITY = {"vip_points": 40}

    warnings = priority_setting_moved_to_the_admin(None)
    assert [warning.id for warning in warnings] == ["prevenance.W002"]
    assert "PREVENANCE_PRIORITY is set but read only once" in warnings[0].msg
    assert "after migrating" in warnings[0].hint
    call_command("check")
    assert "prevenance.W002" in capsys.readouterr().err


def test_time_rules_use_the_new_age_steps_in_the_periodic_refresh(admin_user):
    opened = datetime(2026, 12, 1, 9, tzinfo=UTC)
    case = open_email_case(subject="Question", body="Bonjour", received_at=opened).case
    update_priority_settings(actor=admin_user, age_step1_days=2, age_step1_points=8)

    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=1, hours=1)) == 0
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=2, hours=1)) == 1
    assert score_of(case)[2] == {"age": 8}


def test_a_case_changed_while_it_is_rescored_is_left_as_it_was_changed(admin_user, agent, monkeypatch):
    case = open_email_case(subject="Question", body="Bonjour").case
    update_priority_settings(actor=admin_user, question_points=9)
    rescored = priority_services._rescored

    def a_person_raises_it_meanwhile(read, *args):
        change_priority(case=read, priority=Priority.URGENT, actor=agent)  # after the batch was read
        return rescored(read, *args)

    monkeypatch.setattr(priority_services, "_rescored", a_person_raises_it_meanwhile)
    assert priority_services.rescore_open_cases() == 0
    assert score_of(case)[:2] == (60, Priority.URGENT)
