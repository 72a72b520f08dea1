"""What the admin's titles call a touchpoint: the reader's words and local date."""

import datetime as dt

import pytest
from django.utils import translation

from prevenance.customers.tests.factories import CustomerFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db
# 30 December 2026, 23:30 UTC: already the 31st in Paris (the site's time zone).
LATE = dt.datetime(2026, 12, 30, 23, 30, tzinfo=dt.UTC)


def test_an_interaction_is_named_by_channel_direction_and_local_date_in_the_readers_language():
    interaction = Interaction(customer=CustomerFactory(), channel="email", direction="inbound", summary="Hello", occurred_at=LATE)
    with translation.override("en"):
        assert str(interaction) == "Email · inbound · 31/12/2026"
    with translation.override("fr"):
        assert str(interaction) == "E-mail · entrante · 31/12/2026"

