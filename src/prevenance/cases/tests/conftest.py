"""Fixtures shared by the cases app's tests that watch webhooks go out."""

import pytest

from prevenance.core.models import WebhookEndpoint
from prevenance.core.tests.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A local HTTP server registered as the one webhook endpoint (every event). It listens on
    127.0.0.1: the setting that lets webhooks reach private addresses is on for the test."""
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    server = Receiver()
    WebhookEndpoint.objects.create(name="CRM", url=server.url)
    yield server
    server.close()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the on-commit callbacks (webhooks, emails) of what it wraps."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
