"""A business calendar changed afterwards (a strike entered as a holiday the day after, new
opening hours): the due times of the open cases whose SLA clocks run on it are recalculated on
demand from the calendar's admin page, exactly those cases, breached ones included, paused
clocks left paused, and the page that saved the change says how many cases it concerns."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from prevenance.cases.admin_calendars import CalendarAdmin
from prevenance.cases.choices import CaseStatus, CaseType
from prevenance.cases.models import Case, SLAPolicy
from prevenance.cases.services import change_status
from prevenance.cases.services import sla as sla_services
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
    delete_business_calendar,
)
from prevenance.core.models import AuditEvent, BusinessCalendar
from prevenance.core.tests.calendar_admin_forms import page_form, staff_client
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
# Wednesday 9 December 2026, 10:00 in Paris: the strike was yesterday.
NOW = datetime(2026, 12, 9, 9, tzinfo=UTC)
STRIKE = "2026-12-08"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def office():
    # Paris, Monday to Friday 09:00-12:30 and 13:30-18:00: eight business hours a day
    return create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())


@pytest.fixture
def elsewhere():
    return create_business_calendar(name="Elsewhere", time_zone="Europe/Paris", periods=default_calendar_periods())


@pytest.fixture
def staff(supervisor):
    return staff_client(supervisor)


@pytest.fixture
def cases(office, elsewhere, agent, monkeypatch):
    """Every case opened on Monday 7 December at 09:00 in Paris, due three business days later
    (Wednesday 18:00) but for the first reply (Monday 14:00)."""
    targets = {"first_response_target": 4 * H, "resolution_target": 24 * H}
    SLAPolicy.objects.create(name="Standard", **targets)  # no calendar: the team's
    SLAPolicy.objects.create(name="Complaints", case_type=CaseType.COMPLAINT, calendar=office, **targets)
    SLAPolicy.objects.create(name="Incidents", case_type=CaseType.INCIDENT, calendar=elsewhere, **targets)
    office_team, other_team = TeamFactory(calendar=office), TeamFactory(calendar=elsewhere)

    def case(name, team, **kwargs) -> Case:
        return open_email_case(f"{name}@example.com", received_at=utc(2026, 12, 7, 8), team=team, **kwargs).case

    made = {
        "team's calendar": case("team", office_team),
        "policy's calendar": case("policy", other_team, type=CaseType.COMPLAINT),
        "paused": case("paused", office_team),
        "other team's calendar": case("other", other_team),
        "policy's other calendar": case("incident", office_team, type=CaseType.INCIDENT),
        "resolved": case("resolved", office_team),
    }
    monkeypatch.setattr(timezone, "now", lambda: utc(2026, 12, 7, 9))
    change_status(case=made["paused"], status=CaseStatus.PENDING_CUSTOMER, actor=agent)  # Monday 10:00 Paris
    change_status(case=made["resolved"], status=CaseStatus.RESOLVED, actor=agent)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return made


def due(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return case.first_response_due_at, case.resolution_due_at


BEFORE = (utc(2026, 12, 7, 13), utc(2026, 12, 9, 17))  # Monday 14:00, Wednesday 18:00 in Paris
AFTER = (utc(2026, 12, 7, 13), utc(2026, 12, 10, 17))  # Thursday 18:00: the strike day did not count


def test_a_strike_entered_the_day_after_moves_the_open_cases_on_that_calendar_one_business_day_later(
    staff, office, cases, django_capture_on_commit_callbacks,
):
    assert {name: due(case) for name, case in cases.items()} == dict.fromkeys(cases, BEFORE)
    paused_at = Case.objects.get(pk=cases["paused"].pk).sla_paused_at

    # Given the strike entered in the admin: the page says which open cases it concerns
    response = staff.post(f"/admin/core/businesscalendar/{office.pk}/change/",
                          page_form(office, holidays=[(STRIKE, "Grève")]), follow=True)
    prompt = [str(m) for m in response.context["messages"] if "SLA clocks" in str(m)]
    assert prompt == [
        f'3 open cases run their SLA clocks on this calendar over the days this change touches: their due times '
        f'do not move by themselves. <a href="/admin/core/businesscalendar/{office.pk}/recalculate/">Recalculate '
        f'the due times</a>']
    assert due(cases["team's calendar"]) == BEFORE  # nothing moves by itself

    # When the link is followed and the recalculation confirmed
    page = staff.get(f"/admin/core/businesscalendar/{office.pk}/recalculate/")
    assert "3 open cases run their SLA clocks on “Office”." in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff.post(f"/admin/core/businesscalendar/{office.pk}/recalculate/", follow=True)

    # Then the cases whose clocks run on the calendar, by their team's or their policy's, are due a day later
    assert len(callbacks) == 1
    assert response.redirect_chain == [(f"/admin/core/businesscalendar/{office.pk}/change/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "The due times of the 3 open cases on “Office” are being recalculated with the calendar as it is now, "
        "breached ones included."]
    assert {name: due(case) for name, case in cases.items()} == {
        "team's calendar": AFTER, "policy's calendar": AFTER, "paused": AFTER,
        "other team's calendar": BEFORE, "policy's other calendar": BEFORE, "resolved": BEFORE,
    }
    # The paused clock stays paused (its pause counts when it resumes), and who asked is on record.
    assert Case.objects.get(pk=cases["paused"].pk).sla_paused_at == paused_at
    assert list(AuditEvent.objects.filter(kind="calendar.due_times_recalculated").values_list(
        "actor__username", "subject_id", "payload")) == [
        ("supervisor", str(office.pk), {"open_cases": 3, "breached_included": True})]


def test_the_action_on_the_list_recalculates_each_calendar_selected_and_a_second_run_changes_nothing(
    staff, office, elsewhere, cases, django_capture_on_commit_callbacks,
):
    staff.post(f"/admin/core/businesscalendar/{office.pk}/change/", page_form(office, holidays=[(STRIKE, "Grève")]),
               follow=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/admin/core/businesscalendar/", {
            "action": "recalculate_due_times", "_selected_action": [office.pk, elsewhere.pk]}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "The due times of the 2 open cases on “Elsewhere” are being recalculated with the calendar as it is now, "
        "breached ones included.",
        "The due times of the 3 open cases on “Office” are being recalculated with the calendar as it is now, "
        "breached ones included."]
    assert due(cases["team's calendar"]) == AFTER and due(cases["other team's calendar"]) == BEFORE
    # Idempotent: run again, nothing more moves.
    assert sla_services.recalculate_calendar_due_times(calendar=office) == 0
    assert due(cases["team's calendar"]) == AFTER


def test_the_service_selects_exactly_the_open_cases_on_the_calendar_and_is_idempotent(office, elsewhere, cases):
    assert set(sla_services.cases_on_calendar(office)) == {
        cases["team's calendar"], cases["policy's calendar"], cases["paused"]}
    assert set(sla_services.cases_on_calendar(elsewhere)) == {cases["other team's calendar"], cases["policy's other calendar"]}
    add_holiday(calendar=office, date=STRIKE, name="Grève")

    assert sla_services.recalculate_calendar_due_times(calendar=office) == 3
    assert sla_services.recalculate_calendar_due_times(calendar=office) == 0
    assert sla_services.recalculate_calendar_due_times(calendar=elsewhere) == 0


def test_new_opening_hours_prompt_too_and_a_renamed_holiday_or_a_calendar_without_open_cases_does_not(
    staff, office, elsewhere, cases,
):
    def prompts(calendar, **changes) -> list[str]:
        response = staff.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, **changes), follow=True)
        assert response.redirect_chain, response.context["adminform"].form.errors
        return [str(m) for m in response.context["messages"] if "SLA clocks" in str(m)]

    assert len(prompts(office, changed_periods={(4, "13:30"): {"end_time": "17:00"}})) == 1
    assert len(prompts(office, time_zone="Europe/Brussels")) == 1
    assert len(prompts(office, holidays=[(STRIKE, "Grève")])) == 1
    assert prompts(office, changed={"Grève": {"name": "Grève (fermé)"}}) == []  # renamed: no clock moves
    assert prompts(office) == []  # saved unchanged
    empty = create_business_calendar(name="Unused", periods=default_calendar_periods())
    assert prompts(empty, holidays=[(STRIKE, "Grève")]) == []


def test_the_prompt_counts_only_the_open_cases_whose_clocks_run_over_the_days_a_holiday_change_touches(
    staff, office, cases,
):
    # Besides the three cases on the office due by Wednesday 18:00, one opened now (Wednesday
    # 10:00 in Paris): first reply due at 15:00, resolution on Monday 14 December at 10:00.
    late = open_email_case("late@example.com", received_at=NOW, team=cases["team's calendar"].team).case
    assert due(late) == (utc(2026, 12, 9, 14), utc(2026, 12, 14, 9))
    add_holiday(calendar=office, date="2026-11-11", name="Armistice")  # before any of these cases opened
    add_holiday(calendar=office, date="2026-11-10", name="Pont")

    def counted(**changes) -> list[int]:
        response = staff.post(f"/admin/core/businesscalendar/{office.pk}/change/", page_form(office, **changes), follow=True)
        assert response.redirect_chain, response.context["adminform"].form.errors
        return [int(str(m).split()[0]) for m in response.context["messages"] if "SLA clocks" in str(m)]

    # A holiday after every due time, or one before every case opened, reaches none of them.
    assert counted(holidays=[("2027-05-01", "Fête du travail")]) == []
    assert counted(deleted={"Pont"}) == []
    assert counted(deleted={"Fête du travail"}) == []
    # Friday: only the case still running then; moved from before the cases to Tuesday: those running on Tuesday.
    assert counted(holidays=[("2026-12-11", "Pont de décembre")]) == [1]
    assert counted(changed={"Armistice": {"date": "2026-12-08"}}) == [3]
    # New opening hours: every open case on the calendar.
    assert counted(changed_periods={(4, "13:30"): {"end_time": "17:00"}}) == [4]


def test_no_calendar_selected_is_said_and_nothing_is_queued(staff, cases, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # As the list's form sends it with no box ticked
        response = staff.post("/admin/core/businesscalendar/", {"action": "recalculate_due_times", "index": "0"},
                              follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Items must be selected in order to perform actions on them. No items have been changed."]
    assert callbacks == [] and not AuditEvent.objects.filter(kind="calendar.due_times_recalculated").exists()


def test_an_unknown_calendar_is_not_found(staff, office):
    assert staff.get("/admin/core/businesscalendar/999999/recalculate/").status_code == 404
    assert staff.post("/admin/core/businesscalendar/999999/recalculate/").status_code == 404


def test_only_those_who_may_change_calendars_recalculate(office, cases, django_capture_on_commit_callbacks):
    # Staff allowed to read calendars, not to change them
    reader = UserFactory(username="reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_businesscalendar"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reader)
    # An agent (no staff status) does not reach the admin at all
    agent = Client(HTTP_ACCEPT_LANGUAGE="en")
    agent.force_login(UserFactory(username="agent2", role="agent"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused = [
            client.get(f"/admin/core/businesscalendar/{office.pk}/recalculate/").status_code,
            client.post(f"/admin/core/businesscalendar/{office.pk}/recalculate/").status_code,
            agent.post(f"/admin/core/businesscalendar/{office.pk}/recalculate/").status_code,
        ]
        listing = client.post("/admin/core/businesscalendar/", {
            "action": "recalculate_due_times", "_selected_action": [office.pk]}, follow=True)

    assert refused == [403, 403, 302]  # the agent is sent to the admin's login
    assert "recalculate_due_times" not in listing.content.decode()
    assert callbacks == [] and not AuditEvent.objects.filter(kind="calendar.due_times_recalculated").exists()
    with pytest.raises(PermissionDenied):
        sla_services.request_calendar_recalculation(calendar=office, actor=reader)


def test_a_calendar_a_team_or_a_policy_uses_cannot_be_deleted_and_nothing_is_written(office, elsewhere, cases, supervisor):
    before = AuditEvent.objects.count()
    for calendar in (office, elsewhere):  # the office: by its team and a policy; elsewhere: by a team and a policy
        with pytest.raises(ValidationError) as in_use:
            delete_business_calendar(calendar=calendar, actor=supervisor)
        assert in_use.value.message_dict == {"calendar": [
            f"The calendar “{calendar.name}” is used by a team or an SLA policy: give them another calendar first."]}
    assert AuditEvent.objects.count() == before
    assert BusinessCalendar.objects.count() == 2


# A calendar taken into use while it is being deleted ------------------------------------------


@pytest.fixture
def root():
    # Administrators delete calendars, supervisors do not (core/roles.py)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def taken_after_the_pages_check(monkeypatch, calendar, take):
    """Another administrator's save lands between the delete page's check (the confirmation
    page's, made again on the POST) and the delete itself."""
    checked = CalendarAdmin.get_deleted_objects

    def then_taken(self, objs, request):
        found = checked(self, objs, request)
        take(calendar)
        return found

    monkeypatch.setattr(CalendarAdmin, "get_deleted_objects", then_taken)


def test_a_calendar_a_policy_starts_using_while_it_is_deleted_is_kept_with_a_clear_error(root, monkeypatch):
    seasonal = create_business_calendar(name="Saisonnier", periods=default_calendar_periods())
    taken_after_the_pages_check(monkeypatch, seasonal, lambda calendar: SLAPolicy.objects.create(
        name="Été", calendar=calendar, first_response_target=4 * H, resolution_target=24 * H))

    response = root.post(f"/admin/core/businesscalendar/{seasonal.pk}/delete/", {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(f"/admin/core/businesscalendar/{seasonal.pk}/change/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was deleted: The calendar “Saisonnier” is used by a team or an SLA policy: give them another "
        "calendar first."]
    assert BusinessCalendar.objects.filter(pk=seasonal.pk).exists()
    assert not AuditEvent.objects.filter(kind="calendar.deleted").exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_the_bulk_delete_of_calendars_one_of_which_a_team_takes_meanwhile_deletes_none(root, monkeypatch):
    first = create_business_calendar(name="Hiver", periods=default_calendar_periods())
    second = create_business_calendar(name="Été", periods=default_calendar_periods())
    taken_after_the_pages_check(monkeypatch, second, lambda calendar: TeamFactory(calendar=calendar))

    response = root.post("/admin/core/businesscalendar/", {
        "action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/admin/core/businesscalendar/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was deleted: The calendar “Été” is used by a team or an SLA policy: give them another calendar first."]
    assert BusinessCalendar.objects.count() == 2
    assert not AuditEvent.objects.filter(kind="calendar.deleted").exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
