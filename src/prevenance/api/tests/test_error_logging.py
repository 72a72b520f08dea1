"""An answer the API reshapes (an unknown path, a method an endpoint lacks) is logged once."""

import io
import logging
from contextlib import contextmanager

import pytest


@contextmanager
def console_written():
    """What the configured console handlers write (the root's, and any of Django's own)."""
    written = io.StringIO()
    handlers = [
        handler for name in ("", "django", "django.request") for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    ]
    previous = [handler.setStream(written) for handler in handlers]
    try:
        yield written
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "line"),
    [
        ("get", "/api/v1/nothing-here", "Not Found: /api/v1/nothing-here"),
        ("put", "/api/v1/cases/1", "Method Not Allowed: /api/v1/cases/1"),
    ],
)
def test_a_reshaped_404_or_405_is_logged_once(agent, api_as, settings, caplog, debug, method, path, line):
    settings.DEBUG = debug  # `make run`: Django's own console handler writes too
    client = api_as(agent).client

    with caplog.at_level(logging.WARNING, logger="django.request"), console_written() as written:
        response = getattr(client, method)(path)

    assert response.status_code in (404, 405)
    assert response["Content-Type"] == "application/json"
    assert [record.getMessage() for record in caplog.records if record.name == "django.request"] == [line]
    assert written.getvalue().splitlines() == [line]
