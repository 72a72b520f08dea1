"""Two people giving one calendar a holiday on the same date: the second is told so on the date,
by the services and by the admin page, and nothing of theirs is written, whether the first
holiday was saved after the page was opened, or committed between the page's checks and its
writes (a lost race: the unique constraint refuses, and the refusal is the same)."""

import datetime as dt
import threading
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from prevenance.core import admin as core_admin
from prevenance.core.calendars import services
from prevenance.core.calendars.services import add_holiday, change_holiday, create_business_calendar
from prevenance.core.calendars.spec import default_calendar_periods
from prevenance.core.models import AuditEvent, BusinessCalendar, Holiday
from prevenance.core.tests.calendar_admin_forms import page_form, staff_client

TAKEN = "This calendar already has a holiday on 2026-12-26."


@pytest.fixture
def calendar(db):
    calendar = create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    return calendar


@pytest.fixture
def client(supervisor):
    return staff_client(supervisor)


def their_holiday(calendar) -> Holiday:
    """The other person's holiday on 26 December, saved through the services."""
    colleague, _created = get_user_model().objects.get_or_create(username="colleague", defaults={"is_staff": True})
    return add_holiday(calendar=calendar, date="2026-12-26", name="Saint-Étienne", actor=colleague)


def state(calendar) -> tuple:
    return (sorted(calendar.holidays.values_list("date", "name")), AuditEvent.objects.count(), LogEntry.objects.count())


def row_errors(response) -> list[dict]:
    """The errors of the holiday rows that have some, as the page shows them."""
    [holidays] = [inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.model is Holiday]
    return [form.errors for form in holidays.forms if form.errors]


# The services ---------------------------------------------------------------------------------


def _commit_theirs_after_the_check(monkeypatch, calendar):
    """The other person's holiday committed just after the service looked for one on the date
    (and found none): the INSERT or UPDATE then meets the unique constraint. Written here in
    the service's own transaction (one session), it goes when that transaction rolls back."""
    real = services.holidays_taken

    def checked_before_their_commit(*args, **kwargs):
        found = real(*args, **kwargs)
        monkeypatch.setattr(services, "holidays_taken", real)
        their_holiday(calendar)
        return found

    monkeypatch.setattr(services, "holidays_taken", checked_before_their_commit)


def test_a_holiday_added_on_a_date_taken_after_the_check_is_refused_on_the_date(monkeypatch, calendar, supervisor):
    _commit_theirs_after_the_check(monkeypatch, calendar)

    with pytest.raises(ValidationError) as refused:
        add_holiday(calendar=calendar, date="2026-12-26", name="Lendemain de Noël", actor=supervisor)

    assert refused.value.message_dict == {"date": [TAKEN]}
    assert list(calendar.holidays.values_list("name", flat=True)) == ["Noël"]
    assert not AuditEvent.objects.filter(actor=supervisor).exists()


def test_a_holiday_moved_onto_a_date_taken_after_the_check_is_refused_on_the_date(monkeypatch, calendar, supervisor):
    noel = calendar.holidays.get()
    _commit_theirs_after_the_check(monkeypatch, calendar)

    with pytest.raises(ValidationError) as refused:
        change_holiday(holiday=noel, date="2026-12-26", actor=supervisor)

    assert refused.value.message_dict == {"date": [TAKEN]}
    assert list(calendar.holidays.values_list("date", "name")) == [(dt.date(2026, 12, 25), "Noël")]
    assert not AuditEvent.objects.filter(actor=supervisor).exists()


# The admin page -------------------------------------------------------------------------------


def test_a_date_taken_since_the_page_was_opened_is_refused_on_the_row(client, calendar):
    form = page_form(calendar, holidays=[("2026-12-26", "Lendemain de Noël")])  # the page as opened
    their_holiday(calendar)
    before = state(calendar)

    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", form)

    assert response.status_code == 200
    assert row_errors(response) == [{"date": [TAKEN]}]
    assert state(calendar) == before


def test_a_date_freed_on_the_same_page_can_be_taken_by_another_row(client, calendar):
    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/",
                           page_form(calendar, changed={"Noël": {"date": "2026-12-24"}}, holidays=[("2026-12-25", "Noël")]))

    assert response.status_code == 302
    assert sorted(calendar.holidays.values_list("date", "name")) == [
        (dt.date(2026, 12, 24), "Noël"), (dt.date(2026, 12, 25), "Noël")]


def _lose_the_race(monkeypatch, calendar, *, times: int = 1, service_blind: bool = False):
    """The other person's holiday is committed between this page's checks and its writes: it is
    there before the request (so that it outlives the page's rolled-back transaction) but the
    page's check misses it `times` times; with `service_blind`, the service's check misses it
    too once, and the database's constraint is what refuses."""
    their_holiday(calendar)
    real_page, real_service = core_admin.holidays_taken, services.holidays_taken
    misses = {"page": times, "service": 1 if service_blind else 0}

    def blind(which, real):
        def taken(*args, **kwargs):
            if misses[which] > 0:
                misses[which] -= 1
                return set()
            return real(*args, **kwargs)
        return taken

    monkeypatch.setattr(core_admin, "holidays_taken", blind("page", real_page))
    monkeypatch.setattr(services, "holidays_taken", blind("service", real_service))


@pytest.mark.parametrize("service_blind", [False, True], ids=["service-check", "unique-constraint"])
@pytest.mark.parametrize("change", [
    {"holidays": [("2026-12-26", "Lendemain de Noël")]},
    {"changed": {"Noël": {"date": "2026-12-26"}}},
], ids=["added", "moved"])
def test_a_page_that_lost_the_race_for_a_date_shows_the_refusal_on_the_row_and_writes_nothing(
        client, calendar, monkeypatch, change, service_blind):
    form = page_form(calendar, **change, name="Head office")  # renamed too: rolled back with the rest
    _lose_the_race(monkeypatch, calendar, service_blind=service_blind)
    before = state(calendar)

    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", form)

    assert response.status_code == 200
    assert row_errors(response) == [{"date": [TAKEN]}]
    assert state(calendar) == before
    assert BusinessCalendar.objects.get().name == "Office"


def test_a_page_refused_twice_says_nothing_was_saved_and_shows_the_calendar_as_it_is(client, calendar, monkeypatch):
    form = page_form(calendar, holidays=[("2026-12-26", "Lendemain de Noël")])
    _lose_the_race(monkeypatch, calendar, times=2)
    before = state(calendar)

    response = client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", form, follow=True)

    assert response.redirect_chain == [(f"/admin/core/businesscalendar/{calendar.pk}/change/", 302)]
    assert [str(message) for message in response.context["messages"]] == [
        f"Nothing was saved: {TAKEN} The page now shows the calendar as it is."]
    assert state(calendar) == before


# A real race (PostgreSQL: two sessions, row locks) -----------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a race needs two sessions that wait on row locks")
def test_two_pages_adding_the_same_date_at_once_save_one_holiday_and_tell_the_other_on_its_row(supervisor):
    calendar = create_business_calendar(name="Office", time_zone="Europe/Paris", periods=default_calendar_periods())
    forms = [page_form(calendar, holidays=[("2026-12-26", name)]) for name in ("Saint-Étienne", "Lendemain de Noël")]
    clients = [staff_client(supervisor) for _form in forms]
    responses, errors = [], []
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        # Both pages pass their checks, then wait at their INSERT for this lock on the calendar
        # (the holiday's foreign key), so that neither has committed when the other checked.
        try:
            with transaction.atomic():
                BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
                holding.set()
                release.wait(10)
        finally:
            holding.set()
            connection.close()

    def post(client, form) -> None:
        try:
            responses.append(client.post(f"/admin/core/businesscalendar/{calendar.pk}/change/", form))
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    pages = [threading.Thread(target=post, args=pair) for pair in zip(clients, forms, strict=True)]
    for page in pages:
        page.start()
    try:
        _wait_until_blocked_on_a_lock(2)
    finally:
        release.set()
        holder.join()
        for page in pages:
            page.join()

    assert errors == []
    assert sorted(response.status_code for response in responses) == [200, 302]
    [refused] = [response for response in responses if response.status_code == 200]
    assert row_errors(refused) == [{"date": [TAKEN]}]
    assert calendar.holidays.count() == 1
    assert AuditEvent.objects.filter(kind="calendar.holiday_added").count() == 1


def _wait_until_blocked_on_a_lock(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"{count} sessions never waited on the lock")
