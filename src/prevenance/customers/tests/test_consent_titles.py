"""What the admin's titles call a consent event: the reader's words and local date."""

import datetime as dt

import pytest
from django.utils import translation

from prevenance.customers.models import ConsentEvent
from prevenance.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
# 30 December 2026, 23:30 UTC: already the 31st in Paris (the site's time zone).
LATE = dt.datetime(2026, 12, 30, 23, 30, tzinfo=dt.UTC)


def test_a_consent_event_is_named_by_purpose_action_and_local_date_in_the_readers_language():
    event = ConsentEvent(customer=CustomerFactory(), purpose="surveys", action="granted", method="checkbox", channel="web", occurred_at=LATE)
    with translation.override("en"):
        assert str(event) == "Surveys · Granted · 31/12/2026"
    with translation.override("fr"):
        assert str(event) == "Enquêtes · Accordé · 31/12/2026"
