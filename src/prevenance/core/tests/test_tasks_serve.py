"""`prevenance serve` (what `make run` starts): web server and worker together, stopped together.

Real processes on a free port, with their own var/ folder (SQLite, embedded broker).
"""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from prevenance.core.tests.worker import wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(url: str) -> int | None:
    request = urllib.request.Request(url, method="GET")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=2).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def serve(tmp_path):
    """Start `prevenance serve` on `port`; kill whatever is left at the end, whatever happened."""
    started = []

    def start(port: int) -> subprocess.Popen:
        env = {**os.environ, "PREVENANCE_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "CELERY_BROKER_URL": ""}
        process = subprocess.Popen(
            [sys.executable, "-m", "prevenance", "serve", "--bind", f"127.0.0.1:{port}",
             "--web-workers", "1", "--concurrency", "1"],
            env=env, stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        leftovers = children_of(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers:
            if is_running(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
class TestServe:
    def test_serves_with_a_worker_and_ctrl_c_stops_both(self, serve, tmp_path):
        port = free_port()
        process = serve(port)
        wait_for(lambda: status_of(f"http://127.0.0.1:{port}/") == 302, timeout=60, what="the web server")
        log = tmp_path / "serve.log"
        wait_for(lambda: " ready." in log.read_text(), timeout=60, what="the worker to be ready")
        wait_for(lambda: "beat: Starting..." in log.read_text(), timeout=30, what="beat to start")
        children = children_of(process.pid)
        assert len(children) == 2

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert [pid for pid in children if is_running(pid)] == []
        assert f"Serving on http://127.0.0.1:{port}/ with a background worker" in log.read_text()

    def test_when_the_web_server_cannot_start_the_worker_is_stopped_too(self, serve, tmp_path):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            process = serve(taken.getsockname()[1])
            wait_for(lambda: len(children_of(process.pid)) == 2, timeout=30, what="web and worker processes")
            children = children_of(process.pid)
            assert process.wait(timeout=60) == 1
        assert [pid for pid in children if is_running(pid)] == []
        output = (tmp_path / "serve.log").read_text()
        assert "The web process stopped (exit code 1): stopping the others." in output
