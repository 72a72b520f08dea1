"""The demo's people are fictional: the emails their story makes go nowhere."""

import contextlib
from collections.abc import Iterator

from django.test.utils import override_settings

from prevenance.celery import app as celery_app


@contextlib.contextmanager
def emails_nowhere() -> Iterator[None]:
    """Emails written while the demo loads are sent through the dummy backend, in this process
    (eager tasks, run as each transaction commits) and marked sent: none waits in the broker
    for the first worker start, which would send it through the real backend."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            yield
    finally:
        celery_app.conf.task_always_eager = eager
