"""A holiday's row in the calendar admin names its date as the reader's language writes it."""

import pytest
from django.test import Client
from django.utils import translation

from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def christmas():
    calendar = create_business_calendar(name="Siège", time_zone="Europe/Paris", periods=default_calendar_periods())
    return add_holiday(calendar=calendar, date="2027-12-25", name="Noël")


@pytest.mark.parametrize(("language", "shown"), [("fr", "25/12/2027 Noël"), ("en", "25/12/2027 Noël")])
def test_a_holiday_is_named_by_its_date_as_the_language_writes_it(christmas, language, shown):
    # The project's English is written day first too (prevenance/formats/en), never 2027-12-25.
    with translation.override(language):
        assert str(christmas) == shown


def test_the_calendar_admin_shows_its_holiday_rows_with_the_local_date(christmas, django_user_model):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(django_user_model.objects.create_superuser("root", "root@staff.example", "pw"))

    page = client.get(f"/admin/core/businesscalendar/{christmas.calendar_id}/change/").content.decode()

    assert "25/12/2027 Noël" in page
    assert "2027-12-25 Noël" not in page
