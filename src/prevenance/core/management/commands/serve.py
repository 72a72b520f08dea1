"""`prevenance serve`: the web server and a background worker as one program.

What `make run` starts on a single machine. The worker runs beat inside it (the periodic
schedule in settings), which is right for exactly one worker; with several, run
`celery -A prevenance beat` once on its own (docs/background-jobs.md).

If either process stops, the other is stopped too, and Ctrl-C (or SIGTERM) stops both: a
web server without its worker would accept work that never gets done.

Links in emails (surveys, consent confirmations) start with PREVENANCE_BASE_URL. Unset, both
processes get the address this command listens on, so that links lead to this server
instead of the setting's default port (see base_url_for).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from gunicorn.util import parse_address

# How long each process is given to finish its current requests and tasks before it is killed.
STOP_GRACE_SECONDS = 20
# Hosts that mean "every interface": a link to them leads nowhere.
ANY_ADDRESS = {"", "0.0.0.0", "::"}


class BaseURL(NamedTuple):
    url: str | None  # None: the setting's default stays (a socket path has no URL)
    warning: str | None


def base_url_for(bind: str, configured: str) -> BaseURL:
    """The start of links in emails for processes serving on `bind` (gunicorn's syntax).

    Set (`configured`), it is kept as it is: a proxy in front with its own address is normal.
    Unset, it is http://host:port of the bind; on every interface (0.0.0.0, ::) the host is a
    guess, this machine's name, with a warning: only the operator knows the public address.
    """
    if configured:
        if (urlsplit(configured).hostname or "") in ANY_ADDRESS:
            return BaseURL(configured, _(
                "PREVENANCE_BASE_URL is %(url)s: links in emails to that address lead nowhere. Set it to the "
                "address customers open, e.g. https://care.example.com."
            ) % {"url": configured})
        return BaseURL(configured, None)
    try:
        address = parse_address(bind)
    except RuntimeError:
        return BaseURL(None, None)  # not an address: gunicorn says what is wrong with it as it starts
    if not isinstance(address, tuple):  # a unix socket or a file descriptor: a proxy is in front
        return BaseURL(None, _(
            "Serving on %(bind)s, which has no web address: set PREVENANCE_BASE_URL to the address customers "
            "open (e.g. https://care.example.com); until then links in emails start with %(default)s."
        ) % {"bind": bind, "default": settings.PREVENANCE_BASE_URL})
    host, port = address
    if host in ANY_ADDRESS:
        url = f"http://{socket.gethostname()}:{port}"
        return BaseURL(url, _(
            "Listening on every interface: links in emails start with %(url)s, a guess from this machine's name. "
            "Set PREVENANCE_BASE_URL to the address customers open (e.g. https://care.example.com)."
        ) % {"url": url})
    return BaseURL(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}", None)


def static_files_not_collected() -> list[str]:
    """The apps' static files that the last `collectstatic` did not see: newer than its manifest
    (all of them when nothing was collected). The server would keep serving the old copies
    (or plain names), so pages miss the release's scripts and styles; `make run` collects first."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    collected_at = manifest.stat().st_mtime if manifest.exists() else None
    changed = []
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            if collected_at is None or Path(storage.path(path)).stat().st_mtime > collected_at:
                changed.append(path)
    return sorted(changed)


def migrations_not_applied() -> list[str]:
    """The migrations `migrate` would apply ("cases.0028_message_automatic_kind"): pages and
    jobs touching their tables would fail until it runs (as Django's runserver warns)."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class Command(BaseCommand):
    help = _("Serve the web application with a background worker beside it; Ctrl-C stops both.")

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help=_("host:port to listen on"))
        parser.add_argument("--web-workers", type=int, default=3, help=_("gunicorn worker processes"))
        parser.add_argument("--concurrency", type=int, default=2, help=_("tasks run at the same time"))

    def handle(self, *args, bind: str, web_workers: int, concurrency: int, **options):
        if web_workers < 1 or concurrency < 1:
            raise CommandError(_("--web-workers and --concurrency must be at least 1."))
        commands = {
            "web": [sys.executable, "-m", "gunicorn", "prevenance.wsgi", "--bind", bind,
                    "--workers", str(web_workers), "--access-logfile", "-"],
            "worker": [sys.executable, "-m", "celery", "-A", "prevenance", "worker", "--beat",
                       "--loglevel", "INFO", "--concurrency", str(concurrency)],
        }
        # Before the web workers start: the static files' storage reads its manifest once.
        self.collect_changed_static_files()
        self.warn_of_migrations_not_applied()
        base_url = base_url_for(bind, os.environ.get("PREVENANCE_BASE_URL", ""))
        environment = dict(os.environ)
        if base_url.url is not None:
            environment["PREVENANCE_BASE_URL"] = base_url.url
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: stopping.append(signum))

        # Own process groups: a Ctrl-C reaches this command only, which then stops each
        # process once, in order, instead of every process getting it at the same time.
        processes = {
            name: subprocess.Popen(command, start_new_session=True, env=environment) for name, command in commands.items()
        }
        self.stdout.write(_("Serving on http://%(bind)s/ with a background worker; Ctrl-C stops both.") % {"bind": bind})
        if base_url.url is not None:
            self.stdout.write(_("Links in emails start with %(url)s (PREVENANCE_BASE_URL).") % {"url": base_url.url})
        if base_url.warning is not None:
            self.stderr.write(self.style.WARNING(base_url.warning))
        first_out = None
        while not stopping and first_out is None:
            first_out = next((name for name, process in processes.items() if process.poll() is not None), None)
            time.sleep(0.2)
        if first_out is not None:
            self.stderr.write(
                _("The %(name)s process stopped (exit code %(code)s): stopping the others.")
                % {"name": first_out, "code": processes[first_out].returncode}
            )
        stop(processes.values())
        if first_out is not None and processes[first_out].returncode != 0:
            raise CommandError(_("The %(name)s process failed.") % {"name": first_out}, returncode=1)

    def collect_changed_static_files(self) -> None:
        """An upgrade without `collectstatic` would serve the old scripts and styles: collect
        them (a few seconds, local files); where that fails (a read-only STATIC_ROOT), say so."""
        if not (stale := static_files_not_collected()):
            return
        facts = {"count": len(stale), "example": stale[0]}
        try:
            call_command("collectstatic", interactive=False, verbosity=0)
        except (OSError, ImproperlyConfigured) as exc:
            self.stderr.write(self.style.WARNING(ngettext(
                "%(count)d static file changed since the last collectstatic (%(example)s) and could not be "
                "collected (%(error)s): pages would use the old one. Run `prevenance collectstatic --noinput` "
                "where STATIC_ROOT is writable, and start again.",
                "%(count)d static files changed since the last collectstatic (%(example)s…) and could not be "
                "collected (%(error)s): pages would use the old ones. Run `prevenance collectstatic --noinput` "
                "where STATIC_ROOT is writable, and start again.",
                len(stale),
            ) % {**facts, "error": exc}))
            return
        self.stdout.write(ngettext(
            "Collected %(count)d static file changed since the last collectstatic (%(example)s).",
            "Collected %(count)d static files changed since the last collectstatic (%(example)s…).",
            len(stale),
        ) % facts)

    def warn_of_migrations_not_applied(self) -> None:
        try:
            pending = migrations_not_applied()
        except DatabaseError as exc:
            self.stderr.write(self.style.WARNING(_("The database cannot be read (%(error)s).") % {"error": exc}))
            return
        if pending:
            self.stderr.write(self.style.WARNING(ngettext(
                "%(count)d migration is not applied (%(example)s): pages and jobs using its tables will fail. "
                "Stop, run `prevenance migrate` (make run does), and start again.",
                "%(count)d migrations are not applied (%(example)s…): pages and jobs using their tables will fail. "
                "Stop, run `prevenance migrate` (make run does), and start again.",
                len(pending),
            ) % {"count": len(pending), "example": pending[0]}))


def stop(processes) -> None:
    """SIGTERM (gunicorn and celery both finish their current work on it), then SIGKILL."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
