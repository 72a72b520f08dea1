"""`prevenance serve`: the web server and a background worker as one program.

What `make run` starts on a single machine. The worker runs beat inside it (the periodic
schedule in settings), which is right for exactly one worker; with several, run
`celery -A prevenance beat` once on its own (docs/background-jobs.md).

If either process stops, the other is stopped too, and Ctrl-C (or SIGTERM) stops both: a
web server without its worker would accept work that never gets done.
"""

import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

# How long each process is given to finish its current requests and tasks before it is killed.
STOP_GRACE_SECONDS = 20


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
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: stopping.append(signum))

        # Own process groups: a Ctrl-C reaches this command only, which then stops each
        # process once, in order, instead of every process getting it at the same time.
        processes = {
            name: subprocess.Popen(command, start_new_session=True) for name, command in commands.items()
        }
        self.stdout.write(_("Serving on http://%(bind)s/ with a background worker; Ctrl-C stops both.") % {"bind": bind})
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
