"""The Celery application: every app's background work (docs/background-jobs.md).

Configuration comes from the CELERY_* names in prevenance.settings (environment variables);
each app's tasks live in its tasks.py, found by autodiscovery.
"""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prevenance.settings")


def create_app(**overrides) -> Celery:
    """The project's app; tests build a second one against another broker with `overrides`."""
    app = Celery("prevenance")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    if overrides:
        app.conf.update(overrides)
    app.autodiscover_tasks()
    return app


app = create_app()
# Current in every thread, not only the importing one: a shared_task resolves its app per call,
# and a threaded server would otherwise publish to Celery's built-in default (amqp://localhost).
app.set_default()


# Sweeps that run every few seconds (the email outbox) would fill the worker's INFO log with
# "Sending due task", "received" and "succeeded: 0" lines; a sweep that did something is
# still logged ("succeeded ...: 3").
QUIET_SWEEPS = frozenset({"prevenance.cases.tasks.send_due_emails"})


class QuietSweeps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict):  # trace ("succeeded", with the result) and strategy ("received")
            if args.get("name") in QUIET_SWEEPS:
                return args.get("return_value", "0") not in ("0", 0)
            return True
        if isinstance(args, tuple):  # beat: ("Scheduler: Sending due task %s (%s)", entry name, task name)
            return not any(arg in QUIET_SWEEPS for arg in args if isinstance(arg, str))
        return True


for _name in ("celery.app.trace", "celery.worker.strategy", "celery.beat"):
    logging.getLogger(_name).addFilter(QuietSweeps())
