"""The reopen window and the trust-without-proof thresholds, set by an administrator in the admin
(they were environment variables): what the admin accepts and refuses, and what the intake and
the gestures then do."""

import datetime as dt
import importlib
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client

from prevenance.cases.checks import settings_moved_to_the_admin
from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, CaseSettings, TrustThreshold
from prevenance.cases.selectors import reopen_window, trust_threshold
from prevenance.cases.services import add_inbound_message, change_status, request_gesture
from prevenance.cases.services.case_settings import set_trust_threshold, update_case_settings
from prevenance.cases.tests.factories import limits_in, open_email_case, trust_without_proof
from prevenance.core.models import AuditEvent
from prevenance.core.roles import ADMIN, SUPERVISOR, assign_role
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

seeding = importlib.import_module("prevenance.cases.migrations.0021_case_settings")
SETTINGS_URL = "/admin/cases/casesettings/1/change/"


@pytest.fixture
def root():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _reply_days_after_resolution(agent, days: int) -> tuple[Case, Case]:
    case = change_status(case=open_email_case().case, status=CaseStatus.RESOLVED, actor=agent)
    intake = add_inbound_message(case=case, body="Toujours cassé.", received_at=case.resolved_at + dt.timedelta(days=days),
                                 message_id=f"<late-{days}@mail>")
    return case, intake.case


# --- the reopen window ---------------------------------------------------------------------

def test_the_migration_starts_the_window_at_seven_days_and_the_admin_changes_it(root, agent):
    assert CaseSettings.objects.get().reopen_days == 7
    response = root.post(SETTINGS_URL, {"reopen_days": "2"})

    assert response.status_code == 302
    assert reopen_window() == dt.timedelta(days=2)
    old, follow_up = _reply_days_after_resolution(agent, 3)
    assert follow_up.pk != old.pk and follow_up.reopened_from_id == old.pk


def test_within_the_window_set_in_the_admin_the_reply_reopens_the_case(root, agent):
    root.post(SETTINGS_URL, {"reopen_days": "30"})

    old, same = _reply_days_after_resolution(agent, 20)
    assert same.pk == old.pk
    assert Case.objects.get(pk=old.pk).status == CaseStatus.OPEN


def test_a_window_of_zero_days_never_reopens(root, agent):
    root.post(SETTINGS_URL, {"reopen_days": "0"})

    old, follow_up = _reply_days_after_resolution(agent, 0)
    assert follow_up.pk == old.pk  # at the very instant of the resolution: not yet "after" it
    case = change_status(case=open_email_case("b@example.com").case, status=CaseStatus.RESOLVED, actor=agent)
    later = add_inbound_message(case=case, body="Encore.", received_at=case.resolved_at + dt.timedelta(seconds=1)).case
    assert later.pk != case.pk


@pytest.mark.parametrize(("value", "error"), [
    ("-1", "Ensure this value is greater than or equal to 0."),
    ("366", "Ensure this value is less than or equal to 365."),
    ("seven", "Enter a whole number."),
    ("", "This field is required."),
    ("2.5", "Enter a whole number."),
])
def test_the_admin_refuses_a_window_that_is_no_number_of_days_and_keeps_the_old_one(root, value, error):
    response = root.post(SETTINGS_URL, {"reopen_days": value})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"reopen_days": [error]}
    assert CaseSettings.objects.get().reopen_days == 7


def test_the_settings_are_one_row_never_added_or_deleted(root):
    list_page = root.get("/admin/cases/casesettings/")

    assert list_page.status_code == 302 and list_page.url == SETTINGS_URL
    assert root.get("/admin/cases/casesettings/add/").status_code == 403
    assert root.post("/admin/cases/casesettings/1/delete/", {"post": "yes"}).status_code == 403
    assert CaseSettings.objects.count() == 1
    assert "Reopen window (days)" in root.get(SETTINGS_URL).content.decode()


def test_the_list_brings_back_a_missing_row_with_the_default_window(root):
    CaseSettings.objects.all().delete()
    assert reopen_window() == dt.timedelta(days=7)  # a missing row reads as the defaults

    assert root.get("/admin/cases/casesettings/").url == SETTINGS_URL
    assert CaseSettings.objects.get().reopen_days == 7


def test_the_settings_page_is_in_french_for_a_french_administrator(root):
    root.cookies.load({"django_language": "fr"})
    page = root.get(SETTINGS_URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Délai de réouverture (jours)" in page


# --- trust-without-proof thresholds --------------------------------------------------------

def test_the_migration_starts_with_thirty_euros_without_proof(agent):
    assert list(TrustThreshold.objects.values_list("currency", "max_amount")) == [("EUR", Decimal("30.00"))]
    case = open_email_case().case
    gesture = request_gesture(case=case, type="refund", amount="30", currency="EUR", reason="Colis abîmé", actor=agent)
    assert gesture.without_proof is True


def test_a_threshold_added_in_the_admin_applies_to_its_currency_only(root, agent):
    response = root.post("/admin/cases/trustthreshold/add/", {"currency": "gbp", "max_amount": "25"})

    assert response.status_code == 302
    assert trust_threshold("GBP") == Decimal("25.00")
    assert trust_threshold("USD") == Decimal("0.00")
    limits_in("GBP", "USD")
    case = open_email_case().case
    within = request_gesture(case=case, type="refund", amount="25", currency="GBP", reason="Retard", actor=agent)
    beyond = request_gesture(case=case, type="refund", amount="5", currency="USD", reason="Retard", actor=agent)
    assert (within.without_proof, beyond.without_proof) == (True, False)


def test_a_deleted_threshold_means_proof_is_always_asked(root, agent):
    threshold = TrustThreshold.objects.get(currency="EUR")
    root.post(f"/admin/cases/trustthreshold/{threshold.pk}/delete/", {"post": "yes"})

    gesture = request_gesture(case=open_email_case().case, type="refund", amount="1", currency="EUR",
                              reason="Retard", actor=agent)
    assert gesture.without_proof is False


def _thresholds() -> list[tuple[str, Decimal]]:
    return list(TrustThreshold.objects.values_list("currency", "max_amount"))


def _after_migrate() -> None:
    """What `migrate` and `flush` send once the tables are there (the defaults' signal)."""
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")


@pytest.mark.django_db(transaction=True)
def test_a_flushed_and_bootstrapped_installation_has_the_thresholds_of_a_migrated_one(monkeypatch):
    monkeypatch.delenv("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF", raising=False)
    migrated = sorted(seeding.environment_trust_thresholds().items())  # what migration 0021 writes

    call_command("flush", interactive=False, verbosity=0)
    call_command("bootstrap", demo_customers=0, verbosity=0, stdout=StringIO())

    assert _thresholds() == migrated == [("EUR", Decimal("30.00"))]
    gesture = request_gesture(case=open_email_case().case, type="refund", amount="30", currency="EUR",
                              reason="Colis abîmé", actor=UserFactory(role="agent"))
    assert gesture.without_proof is True


def test_thresholds_deleted_without_the_admin_come_back_at_the_next_migrate():
    TrustThreshold.objects.all().delete()  # the shell, SQL: no administrator's decision on record

    _after_migrate()

    assert _thresholds() == [("EUR", Decimal("30.00"))]


def test_a_threshold_an_administrator_changed_or_removed_is_not_brought_back(root):
    eur = TrustThreshold.objects.get(currency="EUR")
    root.post(f"/admin/cases/trustthreshold/{eur.pk}/change/", {"max_amount": "12"})
    _after_migrate()
    assert _thresholds() == [("EUR", Decimal("12.00"))]

    root.post(f"/admin/cases/trustthreshold/{eur.pk}/delete/", {"post": "yes"})
    _after_migrate()
    assert _thresholds() == []


def test_an_installation_with_other_thresholds_only_gets_no_default_added():
    trust_without_proof(GBP="25")  # e.g. upgraded with PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF=GBP=25

    _after_migrate()

    assert _thresholds() == [("GBP", Decimal("25.00"))]


@pytest.mark.parametrize(("form", "errors"), [
    ({"currency": "EUR", "max_amount": "10"}, {"__all__": ["This currency already has a threshold."]}),
    ({"currency": "ZZZ", "max_amount": "10"}, {"currency": ["A currency code of ISO 4217, in three letters (EUR, USD, GBP...)."]}),
    ({"currency": "USD", "max_amount": "-1"}, {"__all__": ["The threshold cannot be negative."]}),
    ({"currency": "USD", "max_amount": "ten"}, {"max_amount": ["Enter a number."]}),
])
def test_the_admin_refuses_a_bad_threshold_and_saves_nothing(root, form, errors):
    response = root.post("/admin/cases/trustthreshold/add/", form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == errors
    assert list(TrustThreshold.objects.values_list("currency", "max_amount")) == [("EUR", Decimal("30.00"))]


# --- who changes them ----------------------------------------------------------------------

def test_an_administrator_changes_them_a_supervisor_only_reads_them():
    admin_user, supervisor = UserFactory(username="anne"), UserFactory(username="nadia")
    assign_role(user=admin_user, role=ADMIN)
    assign_role(user=supervisor, role=SUPERVISOR)
    as_admin, as_supervisor = Client(), Client()
    as_admin.force_login(admin_user)
    as_supervisor.force_login(supervisor)

    assert as_admin.post(SETTINGS_URL, {"reopen_days": "3"}).status_code == 302
    assert as_admin.get("/admin/cases/trustthreshold/add/").status_code == 200
    assert as_supervisor.get(SETTINGS_URL).status_code == 200
    as_supervisor.post(SETTINGS_URL, {"reopen_days": "9"})
    assert CaseSettings.objects.get().reopen_days == 3
    assert as_supervisor.get("/admin/cases/trustthreshold/add/").status_code == 403


# --- upgrading from the environment variables ----------------------------------------------

def test_the_migration_copies_the_environment_values_an_installation_had(monkeypatch):
    monkeypatch.setenv("PREVENANCE_REOPEN_DAYS", "10")
    monkeypatch.setenv("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF", "eur=15, GBP=12.5")
    assert seeding.environment_reopen_days() == 10
    assert seeding.environment_trust_thresholds() == {"EUR": Decimal("15.00"), "GBP": Decimal("12.50")}
    monkeypatch.delenv("PREVENANCE_REOPEN_DAYS")
    monkeypatch.delenv("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF")
    assert seeding.environment_reopen_days() == 7
    assert seeding.environment_trust_thresholds() == {"EUR": Decimal("30.00")}


@pytest.mark.parametrize(("name", "value"), [
    ("PREVENANCE_REOPEN_DAYS", "-1"), ("PREVENANCE_REOPEN_DAYS", "a week"), ("PREVENANCE_REOPEN_DAYS", "400"),
    ("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF", "EUR=-5"), ("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF", "euro=5"),
    ("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF", "EUR=NaN"),
])
def test_the_migration_stops_on_an_environment_value_it_cannot_read(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        seeding.environment_reopen_days() if name == "PREVENANCE_REOPEN_DAYS" else seeding.environment_trust_thresholds()


def test_a_variable_still_set_is_reported_as_no_longer_read(monkeypatch, capsys):
    assert settings_moved_to_the_admin(None) == []
    monkeypatch.setenv("PREVENANCE_REOPEN_DAYS", "10")

    warnings = settings_moved_to_the_admin(None)
    assert [warning.id for warning in warnings] == ["prevenance.W001"]
    assert "PREVENANCE_REOPEN_DAYS is set but read only once" in warnings[0].msg
    assert "after migrating" in warnings[0].hint
    call_command("check")
    assert "PREVENANCE_REOPEN_DAYS is set but read only once" in capsys.readouterr().err


def test_staff_without_the_permission_is_refused_and_nothing_is_created():
    staff = UserFactory(username="sam", is_staff=True)
    client = Client()
    client.force_login(staff)
    CaseSettings.objects.all().delete()

    assert client.get("/admin/cases/casesettings/").status_code == 403
    assert not CaseSettings.objects.exists()


# --- who changed what: audit rows ----------------------------------------------------------

def _audits(kind: str) -> list[tuple[str, dict]]:
    return [(event.actor.username if event.actor else "", event.payload)
            for event in AuditEvent.objects.filter(kind=kind).order_by("pk")]


def test_a_change_of_the_window_leaves_an_audit_row_with_before_and_after_and_an_unchanged_save_none(root):
    root.post(SETTINGS_URL, {"reopen_days": "3"})
    root.post(SETTINGS_URL, {"reopen_days": "3"})

    assert _audits("case_settings.changed") == [("root", {"reopen_days": [7, 3]})]


def test_thresholds_set_changed_and_removed_in_the_admin_leave_audit_rows(root):
    root.post("/admin/cases/trustthreshold/add/", {"currency": "GBP", "max_amount": "25"})
    gbp = TrustThreshold.objects.get(currency="GBP")
    root.post(f"/admin/cases/trustthreshold/{gbp.pk}/change/", {"max_amount": "20"})
    root.post(f"/admin/cases/trustthreshold/{gbp.pk}/change/", {"max_amount": "20.00"})  # unchanged: no row
    eur = TrustThreshold.objects.get(currency="EUR")
    root.post("/admin/cases/trustthreshold/", {"action": "delete_selected", "_selected_action": [str(eur.pk), str(gbp.pk)],
                                               "post": "yes"})

    assert _audits("trust_threshold.set") == [
        ("root", {"currency": "GBP", "max_amount": [None, "25.00"]}),
        ("root", {"currency": "GBP", "max_amount": ["25.00", "20.00"]}),
    ]
    assert sorted(payload["currency"] for _actor, payload in _audits("trust_threshold.removed")) == ["EUR", "GBP"]
    assert not TrustThreshold.objects.exists()


def test_a_thresholds_currency_cannot_be_changed_in_place(root):
    eur = TrustThreshold.objects.get(currency="EUR")
    root.post(f"/admin/cases/trustthreshold/{eur.pk}/change/", {"currency": "USD", "max_amount": "30"})

    assert list(TrustThreshold.objects.values_list("currency", flat=True)) == ["EUR"]


@pytest.mark.parametrize(("amount", "field"), [("-1", "max_amount"), ("abc", "max_amount"), ("1e20", "max_amount")])
def test_the_threshold_service_refuses_a_bad_amount_and_writes_nothing(amount, field):
    with pytest.raises(ValidationError) as refused:
        set_trust_threshold(actor=None, currency="EUR", max_amount=amount)

    assert field in refused.value.message_dict
    assert TrustThreshold.objects.get(currency="EUR").max_amount == Decimal("30.00")
    assert not AuditEvent.objects.filter(kind="trust_threshold.set").exists()


def test_the_window_service_refuses_a_window_over_a_year(agent):
    with pytest.raises(ValidationError):
        update_case_settings(actor=agent, reopen_days=400)
    assert CaseSettings.objects.get().reopen_days == 7
