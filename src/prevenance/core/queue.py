"""Scheduling background work after commit, and doing each of its side effects once.

See docs/background-jobs.md for how a task is written with these two.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import connection, models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from prevenance.core.models import TaskEffect

logger = logging.getLogger(__name__)

# How long a claimed effect is left to the worker that claimed it before another may take it
# over (that worker is presumed dead). Longer than any single effect should ever take.
EFFECT_LEASE = timedelta(minutes=10)


def enqueue_on_commit(task, *args, using: str | None = None) -> None:
    """Send `task(*args)` to the workers once the current transaction commits (at once when
    there is none), so a worker never looks for a row that is not committed yet and nothing
    is sent for a write that was rolled back.

    Arguments are ids and plain values, never model instances: the task reads its rows itself.
    A broker that cannot be reached is logged, not raised: the write has already committed
    and the person who made it must not see an error for it.
    """
    for arg in args:
        if isinstance(arg, models.Model):
            raise TypeError(f"enqueue_on_commit({task.name}) takes ids, not a {type(arg).__name__} instance")
    transaction.on_commit(lambda: _send(task, args), using=using)


def _send(task, args: tuple) -> None:
    try:
        task.apply_async(args=args)
    except OperationalError:
        logger.exception("Could not enqueue %s%r: the broker cannot be reached", task.name, args)


def lease_due_rows(
    task, *, table: str, due: str, due_params: Sequence, lease: str, lease_params: Sequence, order_by: str, batch: int,
) -> int:
    """The periodic sweep of an outbox table: pick at most `batch` rows matching `due` (a SQL
    condition on `table`), lease them (`lease`, a SQL SET clause that makes them no longer due
    for a while), and send `task(row id)` for each once this commits. Returns how many.

    One UPDATE both picks the rows and leases them, the condition checked again on each row it
    writes: two sweeps at once send each row's task once. On PostgreSQL a second sweep skips
    the rows the first is leasing instead of waiting on them; SQLite has no such clause, and
    the transaction starts with its write lock (BEGIN IMMEDIATE), so a second sweep waits for
    the first and then sees its leases (a bare statement could start from a snapshot older
    than the first sweep's commit, and SQLite would refuse its write).
    Callers: webhook deliveries and outbound emails (their services say which columns).
    """
    quote = connection.ops.quote_name
    skip = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {lease} WHERE {due} AND {quote('id')} IN "  # noqa: S608 - fragments from our services
            f"(SELECT {quote('id')} FROM {quote(table)} WHERE {due} ORDER BY {order_by} LIMIT %s{skip}) RETURNING {quote('id')}",
            [*lease_params, *due_params, *due_params, batch],
        )
        leased = sorted(row[0] for row in cursor.fetchall())
        for row_id in leased:
            enqueue_on_commit(task, row_id)
    return len(leased)


def run_once(*, key: str, effect: Callable[[], None], lease: timedelta = EFFECT_LEASE) -> bool:
    """Run `effect()` unless it already ran (or is running) for `key`; True when it ran now.

    The claim is committed before the effect runs, so no database lock is held during a slow
    call-out such as an SMTP send. If the effect raises, the claim is released and the error
    propagates, so the task's retry runs it again. A worker killed between the effect and the
    commit of done_at leaves a claim that another run takes over after `lease`: at worst the
    effect happens twice, never zero times. Call it outside any transaction.
    """
    claimed_at = timezone.now()
    with transaction.atomic():
        row, created = TaskEffect.objects.select_for_update().get_or_create(
            key=key, defaults={"claimed_at": claimed_at}
        )
        if not created:
            if row.done_at is not None or claimed_at - row.claimed_at < lease:
                return False
            logger.warning("Taking over the effect %s claimed at %s and never finished", key, row.claimed_at)
            row.claimed_at = claimed_at
            row.save(update_fields=["claimed_at"])
    mine = TaskEffect.objects.filter(key=key, claimed_at=claimed_at, done_at=None)
    try:
        effect()
    except BaseException:
        mine.delete()
        raise
    mine.update(done_at=timezone.now())
    return True


def effects_done(keys: Sequence[str]) -> set[str]:
    """The keys among `keys` whose effect ran to its end (run_once): for a task whose effects
    are parts of one piece of work, which parts went in an earlier run."""
    return set(TaskEffect.objects.filter(key__in=keys, done_at__isnull=False).values_list("key", flat=True))


def prune_task_effects(*, older_than: timedelta) -> int:
    """Forget the effects finished more than `older_than` ago; returns how many."""
    deleted, _ = TaskEffect.objects.filter(done_at__lt=timezone.now() - older_than).delete()
    return deleted
