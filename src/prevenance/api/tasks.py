"""Background tasks of the API."""

from celery import shared_task

from prevenance.api import services


@shared_task(name="prevenance.api.tasks.prune_idempotency_keys")
def prune_idempotency_keys() -> int:
    """Run hourly by beat (CELERY_BEAT_SCHEDULE): stored answers expire after 24 hours."""
    return services.prune_idempotency_keys()
