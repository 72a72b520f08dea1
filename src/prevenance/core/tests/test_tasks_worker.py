"""End to end with a real worker: enqueue on commit, a worker consumes, the effect happens once.

Every scenario runs on the embedded filesystem broker (always) and on Redis (when
CELERY_TEST_REDIS_URL is set; .ci/run sets it).
"""

import threading

import pytest
from celery import current_app, shared_task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from prevenance.celery import create_app
from prevenance.core.models import TaskEffect
from prevenance.core.queue import enqueue_on_commit, run_once
from prevenance.core.tests.worker import (
    BROKERS,
    broker_settings,
    queued_messages,
    running_worker,
    wait_for,
)

runs: list[tuple[str, str]] = []
effects: list[str] = []


@shared_task(name="prevenance.core.tests.note_once")
def note_once(key: str) -> None:
    run_once(key=key, effect=lambda: effects.append(key))
    runs.append((key, threading.current_thread().name))  # last: a finished run is a counted one


@pytest.fixture(autouse=True)
def _fresh_lists():
    runs.clear()
    effects.clear()


@pytest.fixture(scope="class", params=BROKERS)
def worker(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("broker")
    with running_worker(broker_settings(request.param, folder)) as app:
        yield app
    if request.param == "embedded":
        # This folder, not var/celery, carried the messages, and none is left behind.
        assert [path.name for path in (folder / "queue").iterdir()] == ["claimed"]


@pytest.mark.django_db(transaction=True)
class TestWithARealWorker:
    def test_each_effect_happens_once_however_often_it_is_enqueued(self, worker):
        with transaction.atomic():
            enqueue_on_commit(note_once, "greet:1")
            enqueue_on_commit(note_once, "greet:1")  # a redelivery, or a double click upstream
            enqueue_on_commit(note_once, "greet:2")
            assert queued_messages(worker) == 0  # nothing leaves before the commit

        wait_for(lambda: len(runs) == 3, what="the worker to run the three messages")
        assert sorted(key for key, _ in runs) == ["greet:1", "greet:1", "greet:2"]
        assert threading.current_thread().name not in {thread for _, thread in runs}
        assert sorted(effects) == ["greet:1", "greet:2"]
        done = TaskEffect.objects.filter(done_at__isnull=False).values_list("key", flat=True)
        assert sorted(done) == ["greet:1", "greet:2"]

    def test_nothing_reaches_the_worker_from_a_rolled_back_transaction(self, worker):
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(note_once, "greet:rolled-back")
            raise RuntimeError("the write fails")
        enqueue_on_commit(note_once, "greet:after")  # outside a transaction: sent at once
        wait_for(lambda: len(runs) == 1, what="the worker to run the committed message")
        assert [key for key, _ in runs] == ["greet:after"]
        assert effects == ["greet:after"]
        assert list(TaskEffect.objects.values_list("key", flat=True)) == ["greet:after"]


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_broker_is_logged_and_the_write_kept(caplog):
    app = create_app(
        task_always_eager=False,
        broker_url="redis://127.0.0.1:1/0",  # nothing listens on port 1
        broker_transport=None,
        broker_transport_options={"max_retries": 0},
        task_publish_retry=False,
    )
    with app.connection() as connection, pytest.raises(OperationalError):
        connection.ensure_connection(max_retries=0)
    previous = current_app._get_current_object()
    app.set_current()
    try:
        with transaction.atomic():
            TaskEffect.objects.create(key="the-write", claimed_at=timezone.now())
            enqueue_on_commit(note_once, "greet:lost")
    finally:
        previous.set_current()
        app.close()
    assert list(TaskEffect.objects.values_list("key", flat=True)) == ["the-write"]
    assert "Could not enqueue prevenance.core.tests.note_once('greet:lost',)" in caplog.text
    assert runs == []
