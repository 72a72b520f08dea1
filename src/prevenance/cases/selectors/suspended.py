"""Reads of the suspended queue (cases/services/suspension.py keeps the messages)."""

from django.db.models import QuerySet
from django.utils import timezone

from prevenance.cases.choices import SuspendedStatus
from prevenance.cases.models import SuspendedDiscardJob, SuspendedMessage
from prevenance.cases.services.suspended_discard import DISCARD_JOB_LEASE, discard_job_left

VIEW_SUSPENDED = "cases.view_suspendedmessage"
# The queue's columns: the raw copy and the form's fields stay in the row until a page needs them.
_LISTED = ("id", "channel", "reason", "status", "received_at", "sender", "subject", "body", "mailbox", "case_id", "handled_at", "handled_by_id")


def _may_view(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(VIEW_SUSPENDED))


def waiting_suspended(user, *, reason: str = "", channel: str = "") -> QuerySet[SuspendedMessage]:
    """The messages waiting for review, of this reason and channel (blank: any), the newest
    first; none for who may not see the queue."""
    if not _may_view(user):
        return SuspendedMessage.objects.none()
    rows = SuspendedMessage.objects.filter(status=SuspendedStatus.WAITING)
    if reason:
        rows = rows.filter(reason=reason)
    if channel:
        rows = rows.filter(channel=channel)
    return rows.only(*_LISTED, "form_data", "form_files", "files_refused").order_by("-received_at", "-id")


def recently_recovered(user, *, limit: int = 20) -> list[SuspendedMessage]:
    if not _may_view(user):
        return []
    rows = SuspendedMessage.objects.filter(status=SuspendedStatus.RECOVERED).select_related("case", "handled_by")
    return list(rows.only(*_LISTED, "case__reference", "handled_by__username", "handled_by__first_name", "handled_by__last_name")
                .order_by("-handled_at", "-id")[:limit])


def discards_under_way(user) -> list[SuspendedDiscardJob]:
    """The background "Discard all" jobs under way, the oldest first, each with `left`: how
    many messages it still has to discard (a job with none left is as good as done, one that
    stopped progressing is presumed lost: neither is listed); none for who may not see the queue."""
    if not _may_view(user):
        return []
    jobs = SuspendedDiscardJob.objects.filter(finished_at=None, progressed_at__gt=timezone.now() - DISCARD_JOB_LEASE)
    under_way = []
    for job in jobs.order_by("requested_at", "id"):
        job.left = discard_job_left(job)
        if job.left:
            under_way.append(job)
    return under_way


def waiting_suspended_count(user) -> int:
    """How many messages wait for review (the menu's badge): one COUNT, 0 for who may not see them."""
    return waiting_suspended(user).count() if _may_view(user) else 0


def suspended_original(user, suspended_id: int) -> SuspendedMessage | None:
    """A waiting email whose original this user may download, or None."""
    return waiting_suspended(user).filter(pk=suspended_id).defer(None).first() if _may_view(user) else None


def suspended_form_file(user, suspended_id: int, index: int) -> dict | None:
    """The `index`-th kept file ({name, path, size, content_type}) of a waiting contact form
    this user may see, or None."""
    row = waiting_suspended(user).filter(pk=suspended_id).first()
    if row is None or not 0 <= index < len(row.form_files):
        return None
    return row.form_files[index]
