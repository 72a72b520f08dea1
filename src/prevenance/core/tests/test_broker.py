"""The embedded broker's publish: a message is whole when a worker can see it, and reaches the
disk when its fsync policy says (always: before the publish returns; everysec: within about a
second, from a background thread; never: when the operating system writes it)."""

import os
import signal
import threading
import time
import uuid

import pytest
from kombu import Connection

from prevenance.core import broker
from prevenance.core.tests.worker import wait_for


def queue_name() -> str:
    # kombu keeps its exchange bindings per process, not per folder: a fresh queue per test.
    return f"jobs{uuid.uuid4().hex}"


def connection(folder, **options) -> Connection:
    return Connection(
        transport="prevenance.core.broker:Transport",
        transport_options={"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder / "control"),
                           **options},
    )


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """The paths fsynced from now on (the real fsync still runs)."""
    paths: list[str] = []
    real = broker._fsync_path
    monkeypatch.setattr(broker, "_fsync_path", lambda path: (paths.append(path), real(path)))
    return paths


def publish(folder, body: dict, **options) -> str:
    """Publish one message; the name of its file."""
    before = set(os.listdir(folder)) if folder.exists() else set()
    with connection(folder, **options) as conn:
        conn.SimpleQueue(queue_name()).put(body)
    [name] = set(os.listdir(folder)) - before - {"claimed", "control"}
    return name


@pytest.mark.parametrize("policy", ["always", "everysec", "never"])
def test_every_policy_delivers_the_message_whole_and_in_order(tmp_path, policy):
    with connection(tmp_path, fsync=policy) as conn:
        queue = conn.SimpleQueue(queue_name())
        for number in range(20):  # many in the same millisecond once nothing waits for the disk
            queue.put({"n": number})
        received = [queue.get(timeout=2) for _ in range(20)]
        for message in received:
            message.ack()
    assert [message.payload for message in received] == [{"n": number} for number in range(20)]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]


def test_always_fsyncs_the_message_and_its_folder_before_the_publish_returns(tmp_path, synced, monkeypatch):
    files: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(broker.os, "fsync", lambda fd: (files.append(fd), real_fsync(fd)))
    publish(tmp_path, {"n": 1}, fsync="always")
    assert files  # the message file itself, before its rename
    assert str(tmp_path) in synced  # then the folder, so the rename survives a power cut too


def test_everysec_returns_at_once_and_fsyncs_the_message_within_about_a_second(tmp_path, synced):
    name = publish(tmp_path, {"n": 1}, fsync="everysec")
    path = str(tmp_path / name)
    assert path not in synced  # not on the publisher's time
    wait_for(lambda: path in synced and str(tmp_path) in synced, timeout=5, what="the background fsync")
    assert [t for t in threading.enumerate() if t.name == "broker-fsync"]


def test_a_message_claimed_before_its_fsync_needs_none(tmp_path, synced):
    # The worker took it (renamed it) before the flusher's pass: nothing to do, no error.
    broker._fsync_path(str(tmp_path / "gone.jobs.msg"))
    assert str(tmp_path / "gone.jobs.msg") in synced


def test_never_leaves_it_to_the_operating_system(tmp_path, synced):
    publish(tmp_path, {"n": 1}, fsync="never")
    broker._flusher.flush()
    assert not [path for path in synced if path.startswith(str(tmp_path))]


def test_everysec_is_the_default(tmp_path):
    with connection(tmp_path) as conn:
        assert conn.default_channel.fsync_policy == "everysec"


def test_an_unknown_policy_is_refused(tmp_path):
    with connection(tmp_path, fsync="sometimes") as conn, pytest.raises(ValueError, match="fsync"):
        conn.default_channel  # noqa: B018 (creating the channel reads the options)


def test_a_forked_child_publishes_and_flushes_on_its_own(tmp_path):
    # A prefork worker: the child must not inherit the parent's lock or its pending files.
    publish(tmp_path, {"n": 0}, fsync="everysec")
    with broker._flusher._lock:  # held at the moment of the fork, as the parent's thread may
        pid = os.fork()
        if pid == 0:  # the child: publish (would hang on an inherited held lock), flush, report
            try:
                publish(tmp_path, {"n": 1}, fsync="everysec")
                broker._flusher.flush()
                os._exit(0 if not broker._flusher._pending else 1)
            except BaseException:
                os._exit(2)
    deadline = time.monotonic() + 10
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the lock it inherited")
    assert os.waitstatus_to_exitcode(done[1]) == 0
