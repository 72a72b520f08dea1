"""Background tasks of the customers app: ids in, one service call, idempotent."""

import smtplib

from celery import shared_task

# The module, not its function: consents schedules this task, so each side reads the
# other's attribute only when it runs.
from prevenance.customers.services import consents


@shared_task(
    name="prevenance.customers.tasks.send_consent_confirmation",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_consent_confirmation(event_id: int) -> bool:
    """Email the double opt-in link of consent request `event_id` (once, however often run)."""
    return consents.send_consent_confirmation(event_id=event_id)
