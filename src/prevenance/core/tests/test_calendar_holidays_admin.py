"""Holidays in the calendar admin: the coming ones on top, the past ones kept below; a holiday
entered on a day already past (most often a wrong year) or a past one deleted is told about;
the list of calendars says when their holidays have run out."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import Holiday
from prevenance.core.tests.calendar_admin_forms import page_form

pytestmark = pytest.mark.django_db

# Monday 30 November 2026, 23:30 UTC: already Tuesday 1 December, 00:30, in Paris.
NOW = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def root(django_user_model):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(django_user_model.objects.create_superuser("root", "root@staff.example", "pw"))
    return client


@pytest.fixture
def calendar():
    calendar = create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-11-11", name="Armistice")
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return calendar


def save(root, calendar, **changes):
    response = root.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", page_form(calendar, **changes), follow=True)
    assert response.status_code == 200 and response.redirect_chain, response.context["adminform"].form.errors
    return [str(message) for message in response.context["messages"] if message.level_tag == "warning"]


def test_a_holiday_entered_on_a_day_already_past_is_kept_and_the_year_questioned(root, calendar):
    warnings = save(root, calendar, holidays=[("2025-12-31", "Saint-Sylvestre"), ("2027-01-01", "Jour de l'an")])

    assert warnings == [
        "The holiday “Saint-Sylvestre” on 31 Dec 2025 is a day already past: check the year. Due times already "
        "computed do not move; for a closure that really happened, recalculate the due times of the open cases "
        "on this calendar."]
    assert set(calendar.holidays.values_list("name", flat=True)) == {"Armistice", "Noël", "Saint-Sylvestre", "Jour de l'an"}


def test_the_past_is_reckoned_in_the_calendars_zone(root, calendar):
    # 30 November is over in Paris although UTC still reads 30 November.
    assert save(root, calendar, holidays=[("2026-11-30", "Fermeture exceptionnelle")]) == [
        "The holiday “Fermeture exceptionnelle” on 30 Nov 2026 is a day already past: check the year. Due times "
        "already computed do not move; for a closure that really happened, recalculate the due times of the open "
        "cases on this calendar."]
    assert save(root, calendar, holidays=[("2026-12-01", "Pont")]) == []  # today is not past


def test_moving_a_holiday_into_the_past_is_questioned_renaming_a_past_one_is_not(root, calendar):
    assert save(root, calendar, changed={"Noël": {"date": "2025-12-25"}}) == [
        "The holiday “Noël” on 25 Dec 2025 is a day already past: check the year. Due times already computed do "
        "not move; for a closure that really happened, recalculate the due times of the open cases on this "
        "calendar."]
    assert save(root, calendar, changed={"Armistice": {"name": "Armistice 1918"}}) == []
    assert set(calendar.holidays.values_list("date", "name")) == {
        (dt.date(2025, 12, 25), "Noël"), (dt.date(2026, 11, 11), "Armistice 1918")}


def test_deleting_a_past_holiday_says_what_it_changes_deleting_a_coming_one_does_not(root, calendar):
    assert save(root, calendar, deleted={"Noël"}) == []
    assert save(root, calendar, deleted={"Armistice"}) == [
        "The holiday “Armistice” on 11 Nov 2026 was a day already past: due times recalculated from now on count "
        "it as open for the cases open since. Past holidays are best kept."]
    assert not Holiday.objects.exists()


def test_holidays_are_listed_newest_first_and_the_calendar_list_says_when_they_ran_out(root, calendar):
    add_holiday(calendar=calendar, date="2026-07-14", name="Fête nationale")
    page = root.get(f"/admin/core/businesscalendar/{calendar.pk}/change/")
    inline = next(formset for formset in page.context["inline_admin_formsets"] if formset.formset.model is Holiday)
    assert [form.instance.name for form in inline.formset.forms] == ["Noël", "Armistice", "Fête nationale"]

    assert "25 Dec 2026 Noël" in root.get("/admin/core/businesscalendar/").content.decode()
    Holiday.objects.filter(name="Noël").delete()
    listing = root.get("/admin/core/businesscalendar/")
    assert "none ahead" in listing.content.decode() and "Armistice" not in listing.content.decode()
