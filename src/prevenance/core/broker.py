"""The embedded message broker: kombu's filesystem transport, made safe for a worker that
polls while web processes publish.

Each message is one file in a folder under var/celery/. kombu's own transport opens the
final file name and then writes into it, so a polling worker can pick up an empty or
half-written message; it also moves claimed files to the system temporary folder, which
is a copy (not an atomic rename) when /tmp is another file system. Here a message is
written under a name the worker ignores and renamed into place once complete, and a worker
claims a message by renaming it inside the same folder tree: both are atomic.

When a message reaches the disk is the `fsync` transport option (docs/background-jobs.md):
"always" fsyncs each message before the publish returns (3 to 4 ms a message here, most of
what publishing costs); "everysec" (the default, Redis's default policy too) lets the publish
return once the file is renamed into place and fsyncs the files written meanwhile from a
background thread about once a second; "never" leaves it to the operating system. In every
policy a message survives the crash of any process (it is in the kernel's page cache once
written); only an operating-system crash or a power cut can lose the messages of the last
second ("everysec") or of the last half minute or so ("never").
"""

import atexit
import itertools
import logging
import os
import threading
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

_PARTIAL_SUFFIX = ".partial"
FSYNC_POLICIES = ("always", "everysec", "never")
FLUSH_INTERVAL = 1.0  # seconds between two background flushes ("everysec")


def _fsync_path(path: str) -> None:
    """fsync a file or folder by name; a message already claimed and removed needs nothing."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Flusher:
    """The "everysec" policy: messages published by this process are fsynced, with their
    folder (the rename), by one daemon thread about once a second, and at interpreter exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self._wake = threading.Event()
        self._pid: int | None = None

    def after_fork_in_child(self) -> None:
        # The parent's thread is not copied, and its lock may have been held at the fork: start
        # afresh (the parent flushes what it wrote).
        self._lock = threading.Lock()
        self._pending = {}
        self._wake = threading.Event()
        self._pid = None

    def add(self, path: str) -> None:
        with self._lock:
            self._pending[path] = None
            if self._pid != os.getpid():  # first use here, or a forked child: the thread is not inherited
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="broker-fsync", daemon=True).start()

    def flush(self) -> None:
        with self._lock:
            paths, self._pending = list(self._pending), {}
        folders = set()
        for path in paths:
            # The file may have been claimed (renamed) by a worker already: the claimed copy is
            # read at once and removed, so it no longer needs to reach the disk.
            _fsync_path(path)
            folders.add(os.path.dirname(path))
        for folder in folders:
            _fsync_path(folder)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_INTERVAL)
            try:
                self.flush()
            except OSError:
                logger.exception("Could not fsync the broker's messages; the next pass tries again")


_flusher = _Flusher()
os.register_at_fork(after_in_child=_flusher.after_fork_in_child)
_sequence = itertools.count()
atexit.register(_flusher.flush)


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.claimed_folder, self.control_folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.fsync_policy = self.transport_options.get("fsync") or "everysec"
        if self.fsync_policy not in FSYNC_POLICIES:
            raise ValueError(f"The embedded broker's fsync option must be one of {FSYNC_POLICIES}, got {self.fsync_policy!r}")

    @property
    def claimed_folder(self) -> str:
        return self.transport_options.get("claimed_folder") or os.path.join(self.data_folder_in, "claimed")

    def _put(self, queue, payload, **kwargs):
        # Milliseconds first so the worker's sorted listing keeps publishing order, then this
        # process's sequence number: without an fsync, several messages share a millisecond.
        name = f"{int(round(monotonic() * 1000)):015d}_{next(_sequence):012d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + _PARTIAL_SUFFIX
        with open(partial, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
            if self.fsync_policy == "always":
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(partial, final)
        if self.fsync_policy == "always":
            _fsync_path(self.data_folder_out)  # the rename itself
        elif self.fsync_policy == "everysec":
            _flusher.add(final)

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.claimed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            with open(claimed, "rb") as handle:
                payload = handle.read()
            os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
