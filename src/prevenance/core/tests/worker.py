"""A real Celery worker for end-to-end tests, on the embedded broker or on Redis.

Use it from a test marked ``django_db(transaction=True)``: the worker runs in a thread with
its own database connection, so it sees only committed rows, as a worker process would.
"""

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery, shared_task
from celery.contrib.testing.worker import start_worker

from prevenance import celery_app
from prevenance.celery import create_app

REDIS_URL_VARIABLE = "CELERY_TEST_REDIS_URL"


def embedded_broker(folder: Path) -> dict:
    """Celery settings for the filesystem broker in `folder` (the default one lives in var/celery)."""
    return {
        "broker_url": "filesystem://localhost/",
        "broker_transport": "prevenance.core.broker:Transport",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "polling_interval": 0.05,
        },
    }


def redis_broker() -> dict:
    """Celery settings for the Redis named by CELERY_TEST_REDIS_URL, emptied first; skips without it."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        pytest.skip(f"{REDIS_URL_VARIABLE} is not set (e.g. redis://127.0.0.1:6379/15): no Redis to test against")
    redis.Redis.from_url(url).flushdb()
    return {"broker_url": url, "broker_transport": None, "broker_transport_options": {}}


BROKERS = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


def broker_settings(kind: str, folder: Path) -> dict:
    """Celery settings for one of BROKERS; `folder` holds the embedded broker's messages."""
    return embedded_broker(folder) if kind == "embedded" else redis_broker()


@contextmanager
def running_worker(broker: dict) -> Iterator[Celery]:
    """A worker thread consuming from `broker`, whose app is the current one meanwhile, so that
    enqueue_on_commit publishes to it exactly as the project's app does in production.

    Stopping it takes up to two seconds (the worker notices between two polls of the broker):
    start one per test class, not one per test."""
    app = create_app(task_always_eager=False, **broker)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
            yield app
    finally:
        celery_app.set_current()
        celery_app.set_default()
        app.close()
        if broker["broker_url"].startswith("redis"):
            redis.Redis.from_url(broker["broker_url"]).flushdb()  # leave the test database empty


def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "the task's effect") -> None:
    """Poll until `condition()` holds; fail (never hang) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


# The markers the worker ran (wait_for_jobs_queued_before).
_markers_run: list[str] = []


@shared_task(name="prevenance.core.tests.worker.marker")
def _marker(token: str) -> None:
    _markers_run.append(token)


def wait_for_jobs_queued_before(*, what: str) -> None:
    """Publish a marker and wait until the worker ran it: a solo worker takes messages in
    order, so by then every job published before it has finished."""
    token = uuid.uuid4().hex
    _marker.delay(token)
    wait_for(lambda: token in _markers_run, what=what)


def queued_messages(app: Celery) -> int:
    """Messages waiting in the app's default queue (not yet taken by a worker)."""
    with app.connection() as connection:
        return connection.default_channel.queue_declare(app.conf.task_default_queue).message_count
