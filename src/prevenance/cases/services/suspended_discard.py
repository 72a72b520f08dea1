"""Discarding suspended messages (suspended.py recovers them): those a supervisor ticked, or
every one that matches the page's filter ("Discard all"), in the background when they are
many. Its own module, with nothing of the intake in it: the cases app's tasks import it while
the services package is still loading. See docs/email-intake.md, "Suspended messages"."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

# The module, not its function (docs/background-jobs.md, "import cycles").
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import SuspendedAuditKind, SuspendedStatus
from prevenance.cases.models import SuspendedDiscardJob, SuspendedMessage
from prevenance.cases.services.suspended_retention import delete_suspended
from prevenance.core.audit import audit_event, record_audits
from prevenance.core.queue import enqueue_on_commit

DISCARD_BATCH = 500
# "Discard all" of more messages than this is a background job (about 0.12 s a thousand on
# SQLite: a flood of a few hundred thousand would outlast gunicorn's 30 s timeout); of fewer,
# the page answers with the result at once.
DISCARD_IN_BACKGROUND_ABOVE = 2_000
# A background discard that has not begun a batch for this long is presumed lost (its worker
# killed, its message lost with it, or still queued behind others): the page no longer says it
# is under way, and a new request for the same filter takes over from it.
DISCARD_JOB_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class DiscardAll:
    """What a "Discard all" request did: `count` messages discarded now, or, with `job`, being
    discarded in the background (`already`: that job was under way before this request and
    nothing new was queued; `count` is then what it has left)."""

    count: int
    job: SuspendedDiscardJob | None = None
    already: bool = False


def discard_suspended(*, suspended_ids: Sequence[int], actor) -> int:
    """Delete these suspended messages that still wait (one audit row each, with what they
    were); the number deleted. Those handled meanwhile are left as they are."""
    with transaction.atomic():
        rows = list(SuspendedMessage.objects.select_for_update().filter(pk__in=list(suspended_ids), status=SuspendedStatus.WAITING)
                    .order_by("pk"))
        if not rows:
            return 0
        record_audits([
            audit_event(kind=SuspendedAuditKind.DISCARDED, actor=actor, subject=row,
                        payload={"reason": row.reason, "channel": row.channel, "sender": row.sender[:200], "subject": row.subject})
            for row in rows
        ])
        delete_suspended(rows)
    return len(rows)


def discard_all_suspended(*, actor, up_to_id: int, reason: str = "", channel: str = "") -> int:
    """Delete every waiting suspended message of this reason and channel (blank: any) that was
    kept up to the row `up_to_id`, the newest the supervisor saw counted: one that comes in
    meanwhile is not theirs to discard unseen. The number deleted.

    In batches of DISCARD_BATCH, each its own transaction (discard_suspended: an audit row per
    message, files removed after its commit), so that a flood of robots' forms holds no lock
    for long; a failure leaves the earlier batches discarded and the others waiting."""
    matching = _discardable(up_to_id=up_to_id, reason=reason, channel=channel)
    return sum(discard_suspended(suspended_ids=ids, actor=actor) for ids in _batches(matching))


def request_discard_all_suspended(*, actor, up_to_id: int, reason: str = "", channel: str = "") -> DiscardAll:
    """The page's "Discard all": at once when at most DISCARD_IN_BACKGROUND_ABOVE messages
    match (discard_all_suspended), else a SuspendedDiscardJob whose task does the same work
    once this commits (run_suspended_discard_job). While a job for this filter is under way, a
    second request queues nothing and answers with that job; one that stopped progressing
    (lost) is closed and a new job takes over (the lost task, if it ever runs, does nothing)."""
    count = _discardable(up_to_id=up_to_id, reason=reason, channel=channel).count()
    if count <= DISCARD_IN_BACKGROUND_ABOVE:
        return DiscardAll(count=discard_all_suspended(actor=actor, up_to_id=up_to_id, reason=reason, channel=channel))
    now = timezone.now()
    under_way = SuspendedDiscardJob.objects.filter(reason=reason, channel=channel, finished_at=None)
    try:
        with transaction.atomic():
            running = under_way.select_for_update().first()
            if running is not None:
                if running.progressed_at > now - DISCARD_JOB_LEASE:
                    return DiscardAll(count=discard_job_left(running), job=running, already=True)
                running.finished_at = now
                running.save(update_fields=["finished_at"])
            job = SuspendedDiscardJob.objects.create(reason=reason, channel=channel, up_to_id=up_to_id, requested_by=actor,
                                                     requested_at=now, progressed_at=now, matched=count)
            enqueue_on_commit(case_tasks.discard_suspended_messages, job.pk)
    except IntegrityError:  # PostgreSQL: another request found none either and created its job first
        running = under_way.get()
        return DiscardAll(count=discard_job_left(running), job=running, already=True)
    return DiscardAll(count=count, job=job)


def run_suspended_discard_job(*, job_id: int) -> int:
    """Do a background "Discard all" (request_discard_all_suspended): the batches of
    discard_all_suspended, with the job's filter and `up_to_id`, in the name of who asked.
    Each batch commits with the job's count and progress, so a crash keeps what was done and a
    run again (a redelivery, a retry) goes on with what still waits: each message is discarded,
    and audited, once. Does nothing for a job finished or taken over, and stops after its
    current batch when that happens meanwhile. The number this run deleted."""
    job = SuspendedDiscardJob.objects.select_related("requested_by").filter(pk=job_id, finished_at=None).first()
    if job is None:
        return 0
    this_job = SuspendedDiscardJob.objects.filter(pk=job_id, finished_at=None)
    deleted = 0
    for ids in _batches(_discardable(up_to_id=job.up_to_id, reason=job.reason, channel=job.channel)):
        with transaction.atomic():
            # The job's row first (SQLite's write lock, PostgreSQL's row lock): a takeover and
            # this batch happen one after the other, never half each.
            if not this_job.update(progressed_at=timezone.now()):
                return deleted
            count = discard_suspended(suspended_ids=ids, actor=job.requested_by)
            this_job.update(discarded=F("discarded") + count)
        deleted += count
    this_job.update(finished_at=timezone.now(), progressed_at=timezone.now())
    return deleted


def discard_job_left(job: SuspendedDiscardJob) -> int:
    """How many messages this job still has to discard: those of its filter and up to its row
    that wait now (recovered or discarded meanwhile by someone else: not counted)."""
    return _discardable(up_to_id=job.up_to_id, reason=job.reason, channel=job.channel).count()


def _discardable(*, up_to_id: int, reason: str, channel: str) -> QuerySet[SuspendedMessage]:
    matching = SuspendedMessage.objects.filter(status=SuspendedStatus.WAITING, pk__lte=up_to_id)
    if reason:
        matching = matching.filter(reason=reason)
    if channel:
        matching = matching.filter(channel=channel)
    return matching


def _batches(matching: QuerySet[SuspendedMessage]) -> Iterator[list[int]]:
    """The ids of `matching`, DISCARD_BATCH at a time in id order, each batch read once the one
    before it is done (a message recovered meanwhile is not in it)."""
    after = 0
    while ids := list(matching.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:DISCARD_BATCH]):
        yield ids
        after = ids[-1]
