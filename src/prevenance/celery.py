"""The Celery application: every app's background work (docs/background-jobs.md).

Configuration comes from the CELERY_* names in prevenance.settings (environment variables);
each app's tasks live in its tasks.py, found by autodiscovery.
"""

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
