"""The retention of the suspended queue: kept messages are deleted after
PREVENANCE_SUSPENDED_RETENTION_DAYS. Its own module, with nothing of the intake in it: the
cases app's tasks import it while the services package is still loading."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prevenance.cases.models import SuspendedMessage
from prevenance.core.files import discard_files

PURGE_BATCH = 500


def purge_suspended(*, now: datetime | None = None) -> int:
    """Delete the suspended messages received more than PREVENANCE_SUSPENDED_RETENTION_DAYS ago,
    waiting or recovered (run daily by beat); the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PREVENANCE_SUSPENDED_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(SuspendedMessage.objects.select_for_update(skip_locked=True).filter(received_at__lt=cutoff).order_by("pk")[:PURGE_BATCH])
            if not rows:
                return deleted
            delete_suspended(rows)
        deleted += len(rows)


def delete_suspended(rows: list[SuspendedMessage]) -> None:
    """Delete these rows, and their files (raw copies, a form's files) once the transaction commits."""
    files = [name for row in rows for name in row.stored_file_names()]
    SuspendedMessage.objects.filter(pk__in=[row.pk for row in rows]).delete()
    if files:
        transaction.on_commit(lambda: discard_files(files))
