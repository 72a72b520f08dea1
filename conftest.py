"""Fixtures shared by every app's tests."""

import pytest

from prevenance.customers.tests.factories import UserFactory


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", role="agent")


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", role="supervisor")


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", role="marketing")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role="admin")


@pytest.fixture
def nobody(db):
    """A logged-in user with no role at all."""
    return UserFactory(username="nobody")
