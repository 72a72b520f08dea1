"""SLA clocks and the calendars and targets they are counted on: a calendar without opening
hours is refused where it would be used and never makes an intake fail; targets the API refuses
are refused by the admin too; customer tiers match whatever their case."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from prevenance.cases import sla
from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, SLAPolicy, Team
from prevenance.cases.services import add_inbound_message, change_status
from prevenance.cases.services import sla as sla_services
from prevenance.cases.services.sla_policies import create_sla_policy, update_sla_policy
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    create_business_calendar,
    default_calendar_periods,
    update_business_calendar,
)
from prevenance.core.models import AuditEvent, BusinessCalendar, OpeningPeriod
from prevenance.customers.models import Customer
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
NEVER_OPEN = "The calendar “Fermé” has no opening hours: an SLA clock on it could never run. Add opening periods first."


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def policy(name="Standard", first=2 * H, resolution=8 * H, **fields) -> SLAPolicy:
    return SLAPolicy.objects.create(name=name, first_response_target=first, resolution_target=resolution, **fields)


def fresh(case: Case) -> Case:
    return Case.objects.select_related("sla_policy", "team__calendar").get(pk=case.pk)


@pytest.fixture
def emptied_team():
    """A team on a calendar whose opening periods were all deleted after it was attached (as
    the calendar's admin page still allows)."""
    calendar = create_business_calendar(name="Fermé", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar, routing_method="manual")
    OpeningPeriod.objects.filter(calendar=calendar).delete()
    return team


@pytest.fixture
def root_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


# A calendar never open never loses a message -----------------------------------------------


def test_an_intake_on_a_calendar_without_opening_hours_is_stored_and_counted_around_the_clock(emptied_team, caplog):
    policy()
    # When a customer writes on Saturday 19 December 10:00 Paris
    with caplog.at_level(logging.WARNING, logger="prevenance.cases.services.sla"):
        intake = open_email_case(received_at=utc(2026, 12, 19, 9), team=emptied_team)
    # Then the case and its message are stored, its clocks running around the clock, and the log says why
    case = fresh(intake.case)
    assert case.messages.count() == 1
    assert (case.first_response_due_at, case.resolution_due_at) == (utc(2026, 12, 19, 11), utc(2026, 12, 19, 17))
    assert "has no opening period" in caplog.text
    # and the breach check and the time left count the same way
    assert sla.sla_time_left(case, utc(2026, 12, 19, 10)).left == 1 * H
    assert sla_services.check_sla_breaches(now=utc(2026, 12, 19, 11, 5)) == 1


def test_a_reply_reopening_a_case_on_a_calendar_without_opening_hours_is_kept(agent, monkeypatch):
    # Given a resolved case on a calendar that was fine when it opened, emptied since
    policy()
    calendar = create_business_calendar(name="Fermé", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar, routing_method="manual")
    case = open_email_case(received_at=utc(2026, 12, 21, 8), team=team).case
    monkeypatch.setattr("django.utils.timezone.now", lambda: utc(2026, 12, 21, 9))
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    OpeningPeriod.objects.filter(calendar=calendar).delete()
    # When the customer answers on Tuesday 09:00 UTC
    monkeypatch.setattr("django.utils.timezone.now", lambda: utc(2026, 12, 22, 9))
    add_inbound_message(case=case, body="Toujours rien.", received_at=utc(2026, 12, 22, 9))
    # Then the reply is stored and the case reopens, 8 hours around the clock from now
    reopened = fresh(case)
    assert (reopened.status, reopened.messages.count()) == (CaseStatus.OPEN, 2)
    assert reopened.resolution_due_at == utc(2026, 12, 22, 17)


def test_a_target_too_long_to_compute_leaves_the_due_times_empty_but_keeps_the_case(caplog):
    # A row written before the limits (or in raw SQL): millions of days fall after the year 9999
    SLAPolicy.objects.bulk_create([SLAPolicy(name="Legacy", first_response_target=2 * H, resolution_target=timedelta(days=3_000_000))])
    case = fresh(open_email_case(received_at=utc(2026, 12, 21, 8)).case)
    assert (case.sla_policy.name, case.first_response_due_at, case.resolution_due_at) == ("Legacy", None, None)
    assert "gives no computable due time" in caplog.text


def test_the_recalculation_goes_on_past_a_case_whose_due_time_cannot_be_computed(caplog):
    standard = policy()
    stuck = open_email_case("a@example.com", received_at=utc(2026, 12, 21, 8)).case
    other = open_email_case("b@example.com", received_at=utc(2026, 12, 21, 8)).case
    Case.objects.filter(pk=stuck.pk).update(sla_paused_total=timedelta(days=3_000_000))
    SLAPolicy.objects.filter(pk=standard.pk).update(resolution_target=9 * H)
    assert sla_services.recalculate_due_times(policy=standard) == 1
    assert fresh(other).resolution_due_at == utc(2026, 12, 21, 17)
    assert fresh(stuck).resolution_due_at == utc(2026, 12, 21, 16)  # left as it was
    assert f"Case {stuck.pk}: no computable due time" in caplog.text


# ... and is refused where it would be used -------------------------------------------------


def test_the_policy_services_refuse_a_calendar_without_opening_hours(supervisor):
    closed = create_business_calendar(name="Fermé", time_zone="Europe/Paris")
    with pytest.raises(ValidationError) as excinfo:
        create_sla_policy(actor=supervisor, name="Standard", first_response_target=2 * H, resolution_target=8 * H, calendar=closed)
    assert excinfo.value.message_dict == {"calendar": [NEVER_OPEN]}
    assert not SLAPolicy.objects.exists()
    standard = create_sla_policy(actor=supervisor, name="Standard", first_response_target=2 * H, resolution_target=8 * H)
    with pytest.raises(ValidationError):
        update_sla_policy(policy=standard, actor=supervisor, calendar=closed)
    assert SLAPolicy.objects.get().calendar is None
    # A policy switched off may keep it (it starts no clock)
    update_sla_policy(policy=standard, actor=supervisor, calendar=closed, active=False)
    assert SLAPolicy.objects.get().calendar == closed


def test_the_api_refuses_a_calendar_without_opening_hours(supervisor):
    closed = create_business_calendar(name="Fermé", time_zone="Europe/Paris")
    client = Client()
    client.force_login(supervisor)
    response = client.post(
        "/api/v1/sla-policies", {"name": "Standard", "first_response_target": "PT2H", "resolution_target": "PT8H",
                                 "calendar_id": closed.pk}, content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert [(item["loc"][-1], item["msg"]) for item in response.json()["detail"]] == [("calendar_id", NEVER_OPEN)]
    assert not SLAPolicy.objects.exists()


def test_a_calendar_in_use_cannot_be_emptied_and_one_unused_can():
    used = create_business_calendar(name="Service client", periods=default_calendar_periods())
    TeamFactory(calendar=used)
    with pytest.raises(ValidationError) as excinfo:
        update_business_calendar(calendar=used, periods=[])
    assert excinfo.value.message_dict == {
        "periods": ["This calendar is used by a team or an SLA policy: it needs at least one opening period."]
    }
    assert used.periods.count() == 10
    by_policy = create_business_calendar(name="Astreinte", periods=default_calendar_periods())
    policy(calendar=by_policy)
    with pytest.raises(ValidationError):
        update_business_calendar(calendar=by_policy, periods=[])
    spare = create_business_calendar(name="Brouillon", periods=default_calendar_periods())
    update_business_calendar(calendar=spare, periods=[])
    assert spare.periods.count() == 0


def test_the_admin_refuses_a_calendar_without_opening_hours_on_a_team_and_a_policy(root_client):
    closed = create_business_calendar(name="Fermé", time_zone="Europe/Paris")
    response = root_client.post("/admin/cases/team/add/", {
        "name": "Service client", "calendar": closed.pk, "email": "", "routing_method": "manual",
    })
    assert response.status_code == 200
    assert NEVER_OPEN in response.content.decode()
    assert not Team.objects.exists()
    response = root_client.post("/admin/cases/slapolicy/add/", admin_policy_form(calendar=closed.pk))
    assert response.status_code == 200
    assert NEVER_OPEN in response.content.decode()
    assert not SLAPolicy.objects.exists()


def test_the_calendar_admin_cannot_delete_every_opening_period_of_a_calendar_in_use(root_client):
    from prevenance.core.calendars import default_calendar_periods

    used = create_business_calendar(name="Bureau", time_zone="Europe/Paris", periods=default_calendar_periods())
    TeamFactory(calendar=used)
    periods = list(used.periods.order_by("id"))
    form = {"name": "Bureau", "time_zone": "Europe/Paris", "holidays-TOTAL_FORMS": "0", "holidays-INITIAL_FORMS": "0",
            "periods-TOTAL_FORMS": str(len(periods)), "periods-INITIAL_FORMS": str(len(periods))}
    for n, period in enumerate(periods):
        form |= {f"periods-{n}-id": str(period.pk), f"periods-{n}-calendar": str(used.pk), f"periods-{n}-weekday": str(period.weekday),
                 f"periods-{n}-start_time": period.start_time.strftime("%H:%M"), f"periods-{n}-end_time": period.end_time.strftime("%H:%M"),
                 f"periods-{n}-DELETE": "on"}
    response = root_client.post(f"/admin/core/businesscalendar/{used.pk}/change/", form)
    assert response.status_code == 200
    assert "needs at least one opening period" in response.content.decode()
    assert used.periods.count() == len(periods)


def test_an_administrator_deletes_a_calendar_nobody_uses_and_is_told_why_not_one_in_use(admin_user, supervisor):
    unused = create_business_calendar(name="Lyon", time_zone="Europe/Paris", periods=default_calendar_periods())
    used = create_business_calendar(name="Bureau", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=used)
    clients = {}
    for user in (admin_user, supervisor):
        user.is_staff = True  # as assign_role makes both roles
        user.save(update_fields=["is_staff"])
        clients[user.username] = Client(HTTP_ACCEPT_LANGUAGE="en")
        clients[user.username].force_login(user)

    # Supervisors keep calendars but do not delete them.
    assert clients["supervisor"].post(f"/admin/core/businesscalendar/{unused.pk}/delete/", {"post": "yes"}).status_code == 403
    page = clients["admin"].get(f"/admin/core/businesscalendar/{used.pk}/delete/")
    refused = clients["admin"].post(f"/admin/core/businesscalendar/{used.pk}/delete/", {"post": "yes"})
    deleted = clients["admin"].post(f"/admin/core/businesscalendar/{unused.pk}/delete/", {"post": "yes"})

    in_use = "The calendar “Bureau” is used by a team or an SLA policy: give them another calendar first."
    assert page.status_code == refused.status_code == 200
    assert in_use in page.content.decode() and in_use in refused.content.decode()
    assert deleted.status_code == 302
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Bureau"]
    team.refresh_from_db()
    assert team.calendar_id == used.pk
    assert list(AuditEvent.objects.filter(kind="calendar.deleted").values_list("actor__username", "payload")) == [
        ("admin", {"name": "Lyon", "time_zone": "Europe/Paris"})]


# Targets: the admin refuses what the API refuses -------------------------------------------


def admin_policy_form(**changes) -> dict:
    return {
        "name": "Standard", "active": "on", "case_type": "", "priority": "", "customer_tier": "",
        "first_response_target": "02:00:00", "resolution_target": "08:00:00", "calendar": "", "near_breach_percent": "80",
    } | changes


def test_the_admin_refuses_targets_the_api_refuses_and_intake_keeps_working(root_client):
    response = root_client.post("/admin/cases/slapolicy/add/", admin_policy_form(resolution_target="72000000 h"))
    assert response.status_code == 200
    assert "A target of at least one minute and at most 8760 business hours." in response.content.decode()
    assert not SLAPolicy.objects.exists()
    response = root_client.post("/admin/cases/slapolicy/add/", admin_policy_form(resolution_target="8760 h"))
    assert response.status_code == 302
    case = fresh(open_email_case(received_at=utc(2026, 12, 21, 8)).case)
    assert case.resolution_due_at == utc(2027, 12, 21, 8)


# Tiers -------------------------------------------------------------------------------------


def test_a_tier_matches_whatever_its_case_and_spaces():
    policy("Gold", first=1 * H, customer_tier="Gold")
    policy("Others", first=4 * H)
    customer = open_email_case("gold@example.com", subject="Q", body="x").case.customer
    Customer.objects.filter(pk=customer.pk).update(tier="gold ")
    gold = open_email_case("gold@example.com", subject="Q", body="x").case
    assert fresh(gold).sla_policy.name == "Gold"
