"""Holidays that trade dates in one save: the calendar as the save leaves it is what is checked
(one holiday a date), not each row against the others' old dates, so two holidays swap dates,
three rotate, or one takes the date another leaves, in one save, written whole or not at all;
two rows that end on one date are refused on their dates and nothing is written. On SQLite
and on PostgreSQL (DATABASE_URL), whose unique constraints both refuse a duplicate at once,
row by row."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError

from prevenance.core import admin as core_admin
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
    services,
)
from prevenance.core.calendars.services import save_holidays
from prevenance.core.models import AuditEvent, Holiday
from prevenance.core.tests.calendar_admin_forms import page_form, staff_client

pytestmark = pytest.mark.django_db

D24, D25, D26, D27 = (dt.date(2026, 12, day) for day in (24, 25, 26, 27))


@pytest.fixture
def calendar():
    calendar = create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())
    for date, name in ((D24, "Réveillon"), (D25, "Noël"), (D26, "Saint-Étienne")):
        add_holiday(calendar=calendar, date=date, name=name)
    return calendar


@pytest.fixture
def client(supervisor):
    return staff_client(supervisor)


def holidays(calendar) -> dict[str, dt.date]:
    return dict(calendar.holidays.values_list("name", "date"))


def state(calendar) -> tuple:
    return sorted(calendar.holidays.values_list("pk", "date", "name")), AuditEvent.objects.count(), LogEntry.objects.count()


def moves(calendar, before: int) -> list[dict]:
    """The audit rows written since `before`, by their order."""
    return list(AuditEvent.objects.filter(subject_id=str(calendar.pk), pk__gt=before).order_by("pk")
                .values_list("kind", "payload"))


def post(client, calendar, **changes):
    return client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, **changes))


def saved(response) -> bool:
    """Whether the page saved: back to the list (a refusal while saving shows the page again)."""
    return response.status_code == 302 and response.url == "/admin/core/businesscalendar/"


def date_errors(response) -> dict[str, list[str]]:
    """The errors on the holiday rows' dates, by the row's name as the page sent it."""
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.model is Holiday]
    assert not formset.non_form_errors() and not any(form.non_field_errors() for form in formset.forms)
    return {form["name"].value(): form.errors["date"] for form in formset.forms if "date" in form.errors}


def last_audit_pk() -> int:
    return AuditEvent.objects.order_by("pk").values_list("pk", flat=True).last() or 0


# The admin page -------------------------------------------------------------------------------


def test_two_holidays_swap_their_dates_in_one_save(client, calendar, supervisor):
    ids, before = dict(calendar.holidays.values_list("name", "pk")), last_audit_pk()

    response = post(client, calendar, changed={"Noël": {"date": "2026-12-26"}, "Saint-Étienne": {"date": "2026-12-25"}})

    assert saved(response)
    assert holidays(calendar) == {"Réveillon": D24, "Noël": D26, "Saint-Étienne": D25}
    assert dict(calendar.holidays.values_list("name", "pk")) == ids  # the same rows, moved
    assert sorted(moves(calendar, before), key=lambda row: row[1]["date"]) == [
        ("calendar.holiday_changed", {"date": "2026-12-25", "name": "Saint-Étienne", "before": {"date": "2026-12-26"}}),
        ("calendar.holiday_changed", {"date": "2026-12-26", "name": "Noël", "before": {"date": "2026-12-25"}}),
    ]
    assert set(AuditEvent.objects.filter(pk__gt=before).values_list("actor", flat=True)) == {supervisor.pk}


def test_three_holidays_rotate_their_dates_in_one_save(client, calendar):
    response = post(client, calendar, changed={
        "Réveillon": {"date": "2026-12-25"}, "Noël": {"date": "2026-12-26"}, "Saint-Étienne": {"date": "2026-12-24"}})

    assert saved(response)
    assert holidays(calendar) == {"Réveillon": D25, "Noël": D26, "Saint-Étienne": D24}


def test_a_date_deleted_on_the_page_is_taken_by_a_moved_row_and_a_new_one_in_the_same_save(client, calendar):
    response = post(client, calendar, deleted={"Noël"}, changed={"Saint-Étienne": {"date": "2026-12-25"}},
                    holidays=[("2026-12-26", "Lendemain de Noël")])

    assert saved(response)
    assert holidays(calendar) == {"Réveillon": D24, "Saint-Étienne": D25, "Lendemain de Noël": D26}


def test_a_swap_refused_once_half_written_leaves_nothing_of_it(client, calendar, monkeypatch):
    # Someone else's holiday on 27 December committed between the page's checks and its writes,
    # and missed by the service's check too: the unique constraint refuses the new row once the
    # swap is written. The page's whole save rolls back and the page shows the refusal on the row.
    form = page_form(calendar, changed={"Noël": {"date": "2026-12-26"}, "Saint-Étienne": {"date": "2026-12-25"}},
                     holidays=[("2026-12-27", "Lendemain")])  # the page as opened
    add_holiday(calendar=calendar, date="2026-12-27", name="Fermeture")
    before = state(calendar)
    for module in (core_admin, services):
        real = module.holidays_taken
        monkeypatch.setattr(module, "holidays_taken", lambda *args, real=real, module=module, **kwargs: (
            monkeypatch.setattr(module, "holidays_taken", real), set())[1])

    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", form)

    assert response.status_code == 200
    assert date_errors(response) == {"Lendemain": ["This calendar already has a holiday on 2026-12-27."]}
    assert state(calendar) == before


def test_two_rows_moved_onto_one_date_are_refused_on_their_dates_and_nothing_is_written(client, calendar):
    before = state(calendar)

    response = post(client, calendar, changed={"Noël": {"date": "2026-12-27"}, "Saint-Étienne": {"date": "2026-12-27"}},
                    name="Head office")

    assert response.status_code == 200
    twice = ["Another holiday on this page is on 2026-12-27 too: a calendar has one holiday a date."]
    assert date_errors(response) == {"Noël": twice, "Saint-Étienne": twice}
    assert state(calendar) == before
    assert calendar.__class__.objects.get().name == "Office"


def test_a_row_moved_onto_a_date_another_row_keeps_is_refused_on_its_date_alone(client, calendar):
    before = state(calendar)

    response = post(client, calendar, changed={"Noël": {"date": "2026-12-24"}}, holidays=[("2026-12-26", "Boxing Day")])

    assert response.status_code == 200
    assert date_errors(response) == {
        "Noël": ["Another holiday on this page is on 2026-12-24 too: a calendar has one holiday a date."],
        "Boxing Day": ["Another holiday on this page is on 2026-12-26 too: a calendar has one holiday a date."],
    }
    assert state(calendar) == before


# The service ----------------------------------------------------------------------------------


def test_the_service_swaps_rotates_and_reuses_dates_in_one_call(calendar, supervisor):
    rows = {holiday.name: holiday for holiday in calendar.holidays.all()}

    added = save_holidays(calendar=calendar, actor=supervisor, removed=[rows["Réveillon"]],
                          changed=[(rows["Noël"], {"date": "2026-12-26"}),
                                   (rows["Saint-Étienne"], {"date": "2026-12-24", "name": "Saint Étienne"})],
                          added=[("2026-12-25", "Noël (fermé)")])

    assert holidays(calendar) == {"Noël": D26, "Saint Étienne": D24, "Noël (fermé)": D25}
    assert [(holiday.date, holiday.name) for holiday in added] == [(D25, "Noël (fermé)")]
    assert (rows["Saint-Étienne"].date, rows["Saint-Étienne"].name) == (D24, "Saint Étienne")  # as stored


def test_the_service_refuses_two_holidays_ending_on_one_date_and_writes_nothing(calendar, supervisor):
    rows = {holiday.name: holiday for holiday in calendar.holidays.all()}
    before = state(calendar)

    with pytest.raises(ValidationError) as refused:
        save_holidays(calendar=calendar, actor=supervisor, changed=[(rows["Noël"], {"date": "2026-12-26"})],
                      added=[("2026-12-27", "Lendemain")])

    assert refused.value.message_dict == {"date": ["This calendar already has a holiday on 2026-12-26."]}
    assert state(calendar) == before
