"""Background tasks of the core kernel."""

from datetime import timedelta

from celery import shared_task

from prevenance.core import queue
from prevenance.core.webhooks import services as webhook_services

# Long past any retry or redelivery of the task that did the effect (broker visibility
# timeouts are hours), so forgetting it cannot make the effect happen again.
TASK_EFFECT_RETENTION = timedelta(days=90)


@shared_task(name="prevenance.core.tasks.prune_task_effects")
def prune_task_effects() -> int:
    """Run daily by beat (CELERY_BEAT_SCHEDULE in settings)."""
    return queue.prune_task_effects(older_than=TASK_EFFECT_RETENTION)


@shared_task(name="prevenance.core.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> bool | None:
    """One signed attempt of a webhook delivery; a failure is retried by retry_webhooks, with backoff."""
    return webhook_services.attempt_delivery(delivery_id=delivery_id)


@shared_task(name="prevenance.core.tasks.retry_webhooks")
def retry_webhooks() -> int:
    """Run every minute by beat (CELERY_BEAT_SCHEDULE): sends the deliveries whose next attempt
    is due, except those whose task is already waiting in the queue (QUEUE_LEASE)."""
    return webhook_services.retry_due_deliveries()
