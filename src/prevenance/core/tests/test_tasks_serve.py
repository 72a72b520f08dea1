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

from prevenance.core.management.commands.serve import base_url_for
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


def environment_of(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


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
        env.pop("PREVENANCE_BASE_URL", None)  # `make test` exports one (Makefile)
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
        # Without PREVENANCE_BASE_URL, links in the emails web and worker send lead to this
        # server, not to the setting's default port 8000
        assert [environment_of(pid)["PREVENANCE_BASE_URL"] for pid in children] == [f"http://127.0.0.1:{port}"] * 2

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert [pid for pid in children if is_running(pid)] == []
        output = log.read_text()
        assert f"Serving on http://127.0.0.1:{port}/ with a background worker" in output
        assert f"Links in emails start with http://127.0.0.1:{port} (PREVENANCE_BASE_URL)." in output
        assert "PREVENANCE_BASE_URL to" not in output  # no warning
        # A new var/ folder: nothing migrated, nothing collected. Said and done before serving.
        assert "migrations are not applied (" in output and "Stop, run `prevenance migrate`" in output
        assert "static files changed since the last collectstatic" in output and output.index("Collected ") < output.index("Serving on")
        assert (tmp_path / "static" / "staticfiles.json").exists()

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


# --- where links in emails lead (PREVENANCE_BASE_URL) ----------------------------------------------

@pytest.mark.parametrize(("bind", "url"), [
    ("127.0.0.1:8123", "http://127.0.0.1:8123"),
    ("localhost:8123", "http://localhost:8123"),
    ("care.example.com:80", "http://care.example.com:80"),
    ("[::1]:8123", "http://[::1]:8123"),
    ("127.0.0.1", "http://127.0.0.1:8000"),  # gunicorn's default port
])
def test_unset_the_links_lead_to_the_address_served(bind, url):
    assert base_url_for(bind, "") == (url, None)


def test_set_it_is_kept_without_a_word_whatever_the_address_served():
    # A proxy in front of the server, with its own address, is the normal case
    assert base_url_for("127.0.0.1:8123", "https://care.example.com") == ("https://care.example.com", None)
    assert base_url_for("unix:/run/prevenance.sock", "https://care.example.com") == ("https://care.example.com", None)


@pytest.mark.parametrize("bind", ["0.0.0.0:8123", "[::]:8123"])
def test_on_every_interface_the_links_use_the_machine_name_with_a_warning(bind):
    url, warning = base_url_for(bind, "")
    assert url == f"http://{socket.gethostname()}:8123"
    assert warning == (
        f"Listening on every interface: links in emails start with {url}, a guess from this machine's name. "
        "Set PREVENANCE_BASE_URL to the address customers open (e.g. https://care.example.com)."
    )


def test_a_base_url_on_every_interface_is_warned_about_even_when_set():
    # `make run HOST=0.0.0.0` exports http://0.0.0.0:8000 (Makefile)
    url, warning = base_url_for("0.0.0.0:8000", "http://0.0.0.0:8000")
    assert url == "http://0.0.0.0:8000"
    assert warning.startswith("PREVENANCE_BASE_URL is http://0.0.0.0:8000: links in emails to that address lead nowhere.")


def test_a_socket_has_no_address_to_derive_so_the_default_stays_with_a_warning(settings):
    url, warning = base_url_for("unix:/run/prevenance.sock", "")
    assert url is None
    assert warning.startswith("Serving on unix:/run/prevenance.sock, which has no web address: set PREVENANCE_BASE_URL")
    assert warning.endswith(f"until then links in emails start with {settings.PREVENANCE_BASE_URL}.")


# --- static files collected before this release -------------------------------------------------

def test_serve_names_the_static_files_the_last_collectstatic_did_not_see(settings, tmp_path):
    from django.core.management import call_command  # noqa: PLC0415 - beside its only use

    from prevenance.core.management.commands.serve import static_files_not_collected  # noqa: PLC0415

    settings.STATIC_ROOT = str(tmp_path / "static")
    # The storage `prevenance serve` runs with (the tests' own writes no manifest: conftest.py)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "prevenance.core.staticfiles.ManifestStaticStorage"}}
    assert "cases/shortcuts.js" in static_files_not_collected()  # nothing collected yet: all of them
    call_command("collectstatic", interactive=False, verbosity=0)
    assert static_files_not_collected() == []
    # An upgrade brings a newer script: the collected copy is now the old one.
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    os.utime(manifest, (manifest.stat().st_atime, manifest.stat().st_mtime - 3600 * 24 * 365 * 30))
    assert "cases/shortcuts.js" in static_files_not_collected()


def serve_command():
    from io import StringIO  # noqa: PLC0415 - beside its only use

    from prevenance.core.management.commands.serve import Command  # noqa: PLC0415

    return Command(stdout=StringIO(), stderr=StringIO())


def test_serve_collects_the_static_files_changed_since_the_last_collectstatic(settings, tmp_path):
    from prevenance.core.management.commands.serve import static_files_not_collected  # noqa: PLC0415

    settings.STATIC_ROOT = str(tmp_path / "static")
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "prevenance.core.staticfiles.ManifestStaticStorage"}}
    command = serve_command()
    command.collect_changed_static_files()
    assert static_files_not_collected() == []
    assert command.stdout.getvalue().startswith("Collected ")
    # Nothing changed since: nothing said, nothing collected again.
    again = serve_command()
    again.collect_changed_static_files()
    assert again.stdout.getvalue() == "" and again.stderr.getvalue() == ""


def test_where_the_static_files_cannot_be_collected_serve_says_why_and_what_to_run(settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.STATIC_ROOT = str(tmp_path / "a-file" / "static")
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "prevenance.core.staticfiles.ManifestStaticStorage"}}
    command = serve_command()
    command.collect_changed_static_files()
    warning = command.stderr.getvalue()
    assert "changed since the last collectstatic" in warning and "could not be collected (" in warning
    assert "Run `prevenance collectstatic --noinput` where STATIC_ROOT is writable" in warning


@pytest.mark.django_db
def test_serve_is_silent_about_migrations_on_a_migrated_database():
    from prevenance.core.management.commands.serve import migrations_not_applied  # noqa: PLC0415

    assert migrations_not_applied() == []
    command = serve_command()
    command.warn_of_migrations_not_applied()
    assert command.stderr.getvalue() == ""
