import datetime as dt

import pytest
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.customers.choices import IdentityKind
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory
from prevenance.interactions.choices import Direction
from prevenance.interactions.services import record_interaction


@pytest.fixture
def login(client):
    """Log a user in on the test client and hand the client back."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def known_customer(db):
    """A customer with an email, a loyalty card, an order and two interactions."""
    customer = CustomerFactory(first_name="Camille", last_name="Durand", city="Lyon", postal_code="69003")
    IdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value="camille.durand@example.com")
    IdentityFactory(customer=customer, kind=IdentityKind.LOYALTY_CARD, value="CARD0042", normalized="CARD0042")
    OrderFactory(customer=customer, reference="ORD-CAMILLE-1")
    now = timezone.now()
    record_interaction(customer=customer, channel=Channel.PHONE, direction=Direction.INBOUND,
                       summary="Asked about delivery delay", occurred_at=now - dt.timedelta(days=2))
    record_interaction(customer=customer, channel=Channel.EMAIL, direction=Direction.OUTBOUND,
                       summary="Sent the tracking link", occurred_at=now - dt.timedelta(days=1))
    return customer
