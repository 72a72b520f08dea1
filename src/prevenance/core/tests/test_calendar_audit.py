"""Every change to a business calendar, its opening periods or its holidays leaves an audit row
naming who made it and what changed, whether made in the admin or through the services."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.test import Client

from prevenance.core.calendars import (
    add_holiday,
    change_holiday,
    create_business_calendar,
    default_calendar_periods,
    remove_holiday,
    update_business_calendar,
)
from prevenance.core.models import AuditEvent, BusinessCalendar, Holiday
from prevenance.core.tests.calendar_admin_forms import new_calendar_form, page_form, staff_client

pytestmark = pytest.mark.django_db

MORNING = {"weekday": 0, "start": "09:00", "end": "12:30"}


@pytest.fixture
def client(supervisor):
    return staff_client(supervisor)


@pytest.fixture
def calendar():
    calendar = create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return calendar


def audits(calendar_id) -> list[tuple]:
    rows = AuditEvent.objects.filter(subject_type="core.businesscalendar", subject_id=str(calendar_id)).order_by("id")
    return [(row.kind, row.actor.username if row.actor else None, row.payload) for row in rows]


@pytest.fixture
def root(django_user_model):
    # A superuser; administrators may delete calendars too, supervisors may not (core/roles.py).
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(django_user_model.objects.create_superuser("root", "root@staff.example", "pw"))
    return client


def saved(client, calendar, **changes):
    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return audits(calendar.pk)


# Holidays in the admin --------------------------------------------------------------------


def test_a_holiday_added_moved_renamed_and_removed_in_the_admin_is_audited_with_its_author(client, calendar):
    before = audits(calendar.pk)

    saved(client, calendar, holidays=[("2026-12-26", "Saint-Étienne")])
    saved(client, calendar, changed={"Noël": {"date": "2026-12-24", "name": "Réveillon"}})
    saved(client, calendar, changed={"Saint-Étienne": {"name": "Lendemain de Noël"}})
    after = saved(client, calendar, deleted={"Réveillon"})

    assert after[len(before):] == [
        ("calendar.holiday_added", "supervisor", {"date": "2026-12-26", "name": "Saint-Étienne"}),
        ("calendar.holiday_changed", "supervisor",
         {"date": "2026-12-24", "name": "Réveillon", "before": {"date": "2026-12-25", "name": "Noël"}}),
        ("calendar.holiday_changed", "supervisor",
         {"date": "2026-12-26", "name": "Lendemain de Noël", "before": {"name": "Saint-Étienne"}}),
        ("calendar.holiday_removed", "supervisor", {"date": "2026-12-24", "name": "Réveillon"}),
    ]
    assert list(Holiday.objects.values_list("date", "name")) == [(Holiday.objects.get().date, "Lendemain de Noël")]


def test_a_holiday_deleted_after_its_date_was_retyped_is_removed_and_audited_at_its_stored_date(client, calendar):
    after = saved(client, calendar, changed={"Noël": {"date": "2026-12-31"}}, deleted={"Noël"})

    assert after[-1] == ("calendar.holiday_removed", "supervisor", {"date": "2026-12-25", "name": "Noël"})
    assert not Holiday.objects.exists()


def test_saving_the_page_unchanged_writes_no_audit_row(client, calendar):
    before = audits(calendar.pk)
    assert saved(client, calendar) == before


def test_a_refused_holiday_writes_nothing(client, calendar):
    before = audits(calendar.pk)
    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/",
                           page_form(calendar, holidays=[("2026-12-25", "Noël again")]))
    assert response.status_code == 200  # the page again, with the error on the row
    assert audits(calendar.pk) == before
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Noël"]


# Opening periods and the calendar itself in the admin ------------------------------------------


def test_opening_periods_added_changed_and_removed_in_the_admin_are_audited(client, calendar):
    before = audits(calendar.pk)

    saved(client, calendar, periods=[(5, "10:00", "13:00")])
    saved(client, calendar, changed_periods={(0, "13:30"): {"end_time": "17:00"}})
    after = saved(client, calendar, deleted_periods=[(5, "10:00")])

    assert after[len(before):] == [
        ("calendar.changed", "supervisor", {"periods_added": [{"weekday": 5, "start": "10:00", "end": "13:00"}]}),
        ("calendar.changed", "supervisor", {"periods_added": [{"weekday": 0, "start": "13:30", "end": "17:00"}],
                                            "periods_removed": [{"weekday": 0, "start": "13:30", "end": "18:00"}]}),
        ("calendar.changed", "supervisor", {"periods_removed": [{"weekday": 5, "start": "10:00", "end": "13:00"}]}),
    ]
    assert calendar.periods.count() == 10
    assert calendar.periods.get(weekday=0, start_time="13:30").end_time.isoformat() == "17:00:00"


def test_overlapping_periods_are_refused_and_write_nothing(client, calendar):
    before = (audits(calendar.pk), list(calendar.periods.values_list("weekday", "start_time", "end_time")))
    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/",
                           page_form(calendar, periods=[(0, "12:00", "14:00")]))
    assert response.status_code == 200
    assert (audits(calendar.pk), list(calendar.periods.values_list("weekday", "start_time", "end_time"))) == before


def test_a_calendar_created_renamed_and_deleted_in_the_admin_is_audited(client, root):
    form = new_calendar_form(**{
        "periods-TOTAL_FORMS": "1", "periods-0-weekday": "0", "periods-0-start_time": "09:00",
        "periods-0-end_time": "12:30", "holidays-TOTAL_FORMS": "1", "holidays-0-date": "2026-12-25",
        "holidays-0-name": "Noël"})
    assert client.post("/admin/core/businesscalendar/add/", form).status_code == 302
    calendar = BusinessCalendar.objects.get()
    saved(client, calendar, name="Head office", time_zone="Europe/Brussels")
    assert client.post(f"/admin/core/businesscalendar/{calendar.pk}/delete/", {"post": "yes"}).status_code == 403
    assert root.post(f"/admin/core/businesscalendar/{calendar.pk}/delete/", {"post": "yes"}).status_code == 302

    # Created with its periods and holidays: one row, then one per later change.
    assert audits(calendar.pk) == [
        ("calendar.created", "supervisor", {"name": "Office", "time_zone": "Europe/Paris", "periods": [MORNING],
                                            "holidays": [{"date": "2026-12-25", "name": "Noël"}]}),
        ("calendar.changed", "supervisor",
         {"name": ["Office", "Head office"], "time_zone": ["Europe/Paris", "Europe/Brussels"]}),
        ("calendar.deleted", "root", {"name": "Head office", "time_zone": "Europe/Brussels"}),
    ]
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_created_in_the_admin_has_its_periods_and_holidays_and_the_admins_change_message(client):
    form = new_calendar_form(**{
        "periods-TOTAL_FORMS": "3", "periods-0-weekday": "0", "periods-0-start_time": "09:00",
        "periods-0-end_time": "12:30", "periods-1-weekday": "0", "periods-1-start_time": "13:30",
        "periods-1-end_time": "18:00", "periods-2-weekday": "5", "periods-2-start_time": "10:00",
        "periods-2-end_time": "13:00", "periods-2-DELETE": "on",  # added, then struck out before saving
        "holidays-TOTAL_FORMS": "2", "holidays-0-date": "2027-01-01", "holidays-0-name": "Jour de l'an",
        "holidays-1-date": "2026-12-25", "holidays-1-name": "Noël"})

    response = client.post("/admin/core/businesscalendar/add/", form, follow=True)

    calendar = BusinessCalendar.objects.get()
    assert response.redirect_chain == [("/admin/core/businesscalendar/", 302)]
    assert [kind for kind, _actor, _payload in audits(calendar.pk)] == ["calendar.created"]
    assert audits(calendar.pk)[0][2] == {
        "name": "Office", "time_zone": "Europe/Paris",
        "periods": [MORNING, {"weekday": 0, "start": "13:30", "end": "18:00"}],
        "holidays": [{"date": "2026-12-25", "name": "Noël"}, {"date": "2027-01-01", "name": "Jour de l'an"}]}
    assert list(calendar.periods.values_list("weekday", "start_time", "end_time")) == [
        (0, dt.time(9), dt.time(12, 30)), (0, dt.time(13, 30), dt.time(18))]
    assert list(calendar.holidays.values_list("date", "name")) == [
        (dt.date(2026, 12, 25), "Noël"), (dt.date(2027, 1, 1), "Jour de l'an")]
    # The admin's history names the rows added, as for any other inline.
    entry = LogEntry.objects.get(object_id=str(calendar.pk))
    assert entry.is_addition() and "Noël" in entry.get_change_message()


def test_a_calendar_created_by_the_services_with_bad_holidays_is_refused_whole(supervisor):
    with pytest.raises(ValidationError) as refused:
        create_business_calendar(name="Office", periods=[(0, "09:00", "12:30")], actor=supervisor, holidays=[
            ("2026-12-25", "Noël"), {"date": "2026-12-25", "name": "Noël again"}, ("25/12/2026", "Noël"), "2026-05-01"])

    assert refused.value.message_dict == {"holidays": [
        "This calendar already has a holiday on 2026-12-25.",
        "Holiday 3: Not a date (expected YYYY-MM-DD).",
        "Holiday 4: expected a date and a name.",
    ]}
    assert not BusinessCalendar.objects.exists() and not AuditEvent.objects.exists()


def test_the_bulk_delete_action_audits_each_calendar(root, calendar):
    other = create_business_calendar(name="Weekend", periods=[(5, "10:00", "13:00")])
    response = root.post("/admin/core/businesscalendar/", {
        "action": "delete_selected", "_selected_action": [calendar.pk, other.pk], "post": "yes"})
    assert response.status_code == 302
    assert [audits(pk)[-1][:2] for pk in (calendar.pk, other.pk)] == [("calendar.deleted", "root")] * 2
    assert not BusinessCalendar.objects.exists()


# The services -----------------------------------------------------------------------------------


def test_the_services_audit_too_and_say_nothing_when_nothing_changed(supervisor):
    calendar = create_business_calendar(name="Office", periods=[(0, "09:00", "12:30")], actor=supervisor)
    holiday = add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    change_holiday(holiday=holiday, name="Noël", actor=supervisor)  # the same: no row
    update_business_calendar(calendar=calendar, name="Office", periods=[(0, "09:00", "12:30")])  # the same: no row
    change_holiday(holiday=holiday, date="2026-12-26", actor=supervisor)
    remove_holiday(calendar=calendar, date="2026-12-26", actor=supervisor)

    assert audits(calendar.pk) == [
        ("calendar.created", "supervisor",
         {"name": "Office", "time_zone": "Europe/Paris", "periods": [MORNING], "holidays": []}),
        ("calendar.holiday_added", None, {"date": "2026-12-25", "name": "Noël"}),  # no actor: the system (the demo)
        ("calendar.holiday_changed", "supervisor", {"date": "2026-12-26", "name": "Noël", "before": {"date": "2026-12-25"}}),
        ("calendar.holiday_removed", "supervisor", {"date": "2026-12-26", "name": "Noël"}),
    ]


def test_the_services_refuse_bad_changes_and_write_nothing(supervisor, calendar):
    other = add_holiday(calendar=calendar, date="2026-12-26", name="Saint-Étienne")
    before = audits(calendar.pk)

    with pytest.raises(ValidationError) as taken:
        change_holiday(holiday=other, date="2026-12-25", actor=supervisor)
    with pytest.raises(ValidationError) as bad:
        change_holiday(holiday=other, date="26/12/2026", name=" ", actor=supervisor)
    with pytest.raises(ValidationError) as missing:
        remove_holiday(calendar=calendar, date="2026-12-31", actor=supervisor)

    assert taken.value.message_dict == {"date": ["This calendar already has a holiday on 2026-12-25."]}
    assert set(bad.value.message_dict) == {"date", "name"}
    assert missing.value.message_dict == {"date": ["This calendar has no holiday on 2026-12-31."]}
    assert audits(calendar.pk) == before
    assert list(calendar.holidays.order_by("date").values_list("name", flat=True)) == ["Noël", "Saint-Étienne"]


def test_a_name_another_calendar_has_once_spaces_collapse_is_refused_on_the_field(client, calendar):
    other = create_business_calendar(name="Paris  office", time_zone="Europe/Paris", periods=default_calendar_periods())
    assert other.name == "Paris office"

    added = client.post("/admin/core/businesscalendar/add/", new_calendar_form(name="Paris   office"))
    renamed = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, name=" Paris  office"))

    for response in (added, renamed):
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {
            "name": ["A business calendar named “Paris office” already exists."]}
    assert sorted(BusinessCalendar.objects.values_list("name", flat=True)) == ["Office", "Paris office"]


def test_a_calendar_keeps_its_own_name_when_saved_again(client, calendar):
    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, name=" Office "))

    assert response.status_code == 302
    assert BusinessCalendar.objects.get(pk=calendar.pk).name == "Office"
