"""Files stored by a transaction, deleted again when it does not commit.

The storage is not transactional: a file written inside a transaction that rolls back is a
file no row points to. Code that stores files calls `note_stored` as soon as each is written;
the `files_discarded_on_failure()` block around the transaction collects those names and
deletes the files when the block raises. A block that succeeded hands its names to the
enclosing block, if any: an outer transaction can still roll back (the Idempotency-Key
middleware does so on a 5xx answer, and then deletes what it collected).
"""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)
_collecting: ContextVar[list[str] | None] = ContextVar("prevenance_files_stored", default=None)


def discard_files(names: Sequence[str]) -> None:
    """Remove files written by a transaction that was rolled back (no row points to them).

    Called while the failure that rolled it back propagates: a file that cannot be removed
    (the storage down, a name it refused to write) is logged and the others are still
    removed, and that failure, not the storage's, reaches the caller."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("Could not remove %s, written by a transaction that was rolled back", name)


def store_file(name: str, content) -> str:
    """Write `content` (a Django File) through the storage under `name`, or the free name the
    storage picks, reported to the enclosing files_discarded_on_failure() block before and after."""
    note_stored(name)  # a write that fails half-way leaves a file under this very name
    stored = default_storage.save(name, content)
    if stored != name:
        note_stored(stored)
    return stored


def note_stored(*names: str) -> None:
    """Tell the enclosing files_discarded_on_failure() block about files just written."""
    collected = _collecting.get()
    if collected is not None:
        collected.extend(names)


@contextmanager
def files_discarded_on_failure() -> Iterator[list[str]]:
    """The names of the files stored inside this block (note_stored), deleted if it raises."""
    names: list[str] = []
    token = _collecting.set(names)
    try:
        yield names
    except BaseException:
        discard_files(names)
        raise
    finally:
        _collecting.reset(token)
    note_stored(*names)
