"""Background tasks of the core kernel."""

from datetime import timedelta

from celery import shared_task

from prevenance.core import queue

# Long past any retry or redelivery of the task that did the effect (broker visibility
# timeouts are hours), so forgetting it cannot make the effect happen again.
TASK_EFFECT_RETENTION = timedelta(days=90)


@shared_task(name="prevenance.core.tasks.prune_task_effects")
def prune_task_effects() -> int:
    """Run daily by beat (CELERY_BEAT_SCHEDULE in settings)."""
    return queue.prune_task_effects(older_than=TASK_EFFECT_RETENTION)
