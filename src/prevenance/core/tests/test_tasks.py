"""The task machinery itself, run in this process: enqueue_on_commit, run_once, pruning, beat."""

import datetime as dt

import pytest
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from prevenance import celery_app
from prevenance.core import queue
from prevenance.core.models import TaskEffect
from prevenance.core.queue import EFFECT_LEASE, enqueue_on_commit, run_once
from prevenance.core.tasks import TASK_EFFECT_RETENTION, prune_task_effects

received: list[tuple] = []


@shared_task(name="prevenance.core.tests.record_arguments")
def record_arguments(*args):
    received.append(args)


@pytest.fixture(autouse=True)
def _nothing_received():
    received.clear()


class Boom(Exception):
    pass


@pytest.mark.django_db
class TestEnqueueOnCommit:
    def test_task_runs_only_after_the_transaction_commits(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                enqueue_on_commit(record_arguments, 7, "x")
                assert received == []
        assert len(callbacks) == 1
        assert received == [(7, "x")]

    def test_nothing_is_sent_for_a_rolled_back_write(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(Boom), transaction.atomic():
                enqueue_on_commit(record_arguments, 7)
                raise Boom
        assert callbacks == []
        assert received == []

    def test_a_model_instance_is_refused(self, django_capture_on_commit_callbacks):
        effect = TaskEffect(key="greet:1", claimed_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(TypeError, match="takes ids, not a TaskEffect instance"):
                enqueue_on_commit(record_arguments, effect)
        assert callbacks == []
        assert received == []


@pytest.mark.django_db
class TestRunOnce:
    def test_effect_runs_once_per_key(self):
        calls = []
        assert run_once(key="greet:1", effect=lambda: calls.append(1)) is True
        assert run_once(key="greet:1", effect=lambda: calls.append(2)) is False
        assert run_once(key="greet:2", effect=lambda: calls.append(3)) is True
        assert calls == [1, 3]
        effect = TaskEffect.objects.get(key="greet:1")
        assert effect.done_at is not None and effect.done_at >= effect.claimed_at

    def test_a_failed_effect_releases_its_claim_so_a_retry_runs_it(self):
        def fail():
            raise Boom

        with pytest.raises(Boom):
            run_once(key="greet:1", effect=fail)
        assert TaskEffect.objects.count() == 0
        calls = []
        assert run_once(key="greet:1", effect=lambda: calls.append(1)) is True
        assert calls == [1]

    def test_an_effect_claimed_by_a_live_worker_is_left_to_it(self):
        TaskEffect.objects.create(key="greet:1", claimed_at=timezone.now() - EFFECT_LEASE / 2)
        calls = []
        assert run_once(key="greet:1", effect=lambda: calls.append(1)) is False
        assert calls == []
        assert TaskEffect.objects.get().done_at is None

    def test_an_effect_abandoned_by_a_dead_worker_is_taken_over(self):
        stale = timezone.now() - EFFECT_LEASE - dt.timedelta(seconds=1)
        TaskEffect.objects.create(key="greet:1", claimed_at=stale)
        calls = []
        assert run_once(key="greet:1", effect=lambda: calls.append(1)) is True
        assert calls == [1]
        effect = TaskEffect.objects.get()
        assert effect.claimed_at > stale
        assert effect.done_at is not None


@pytest.mark.django_db
class TestPruneTaskEffects:
    def test_only_effects_finished_before_the_retention_are_forgotten(self):
        now = timezone.now()
        old = now - TASK_EFFECT_RETENTION - dt.timedelta(days=1)
        recent = now - TASK_EFFECT_RETENTION + dt.timedelta(days=1)
        TaskEffect.objects.create(key="old-done", claimed_at=old, done_at=old)
        TaskEffect.objects.create(key="recent-done", claimed_at=recent, done_at=recent)
        TaskEffect.objects.create(key="old-unfinished", claimed_at=old)
        assert prune_task_effects.delay().get() == 1
        assert sorted(TaskEffect.objects.values_list("key", flat=True)) == ["old-unfinished", "recent-done"]

    def test_pruning_twice_is_harmless(self):
        old = timezone.now() - TASK_EFFECT_RETENTION - dt.timedelta(days=1)
        TaskEffect.objects.create(key="old-done", claimed_at=old, done_at=old)
        assert queue.prune_task_effects(older_than=TASK_EFFECT_RETENTION) == 1
        assert queue.prune_task_effects(older_than=TASK_EFFECT_RETENTION) == 0
        assert TaskEffect.objects.count() == 0


class TestConfiguration:
    def test_every_scheduled_task_exists(self):
        celery_app.loader.import_default_modules()
        schedule = celery_app.conf.beat_schedule
        assert schedule["prune-task-effects"]["task"] == "prevenance.core.tasks.prune_task_effects"
        assert {entry["task"] for entry in schedule.values()} <= set(celery_app.tasks)

    def test_app_tasks_are_discovered(self):
        celery_app.loader.import_default_modules()
        assert {
            "prevenance.core.tasks.prune_task_effects",
            "prevenance.customers.tasks.send_consent_confirmation",
        } <= set(celery_app.tasks)

    def test_the_worker_log_leaves_out_the_outbox_sweeps_that_did_nothing(self, caplog):
        import logging

        from celery.app import trace

        sweep, other = "prevenance.cases.tasks.send_due_emails", "prevenance.cases.tasks.deliver_message"
        caplog.set_level(logging.INFO)
        logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "send-due-emails", sweep)
        logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "retry-webhooks", "x.retry")
        for name, result in ((sweep, "0"), (sweep, "3"), (other, "True")):
            trace.info(trace.LOG_RECEIVED, {"id": "1", "name": name, "args": "()", "kwargs": "{}"})
            trace.info(trace.LOG_SUCCESS, {"id": "1", "name": name, "return_value": result, "runtime": 0.01, "args": "()", "kwargs": "{}"})
        lines = [record.getMessage() for record in caplog.records]
        assert lines == [
            "Scheduler: Sending due task retry-webhooks (x.retry)",
            f"Task {sweep}[1] succeeded in 0.01s: 3",
            f"Task {other}[1] received",
            f"Task {other}[1] succeeded in 0.01s: True",
        ]
