"""What one email intake costs, counted rather than timed: SQL statements for a first message
and for a reply, and Python function calls and CPU over a batch, under cProfile. Counts do not
swing with the machine's load as timings do; compare two versions by running it twice:

    .venv/bin/python bench/count_email_intake.py
    PYTHONPATH=/tmp/before/src .venv/bin/python bench/count_email_intake.py   # git worktree of another commit

Each run uses a fresh SQLite file in a temporary folder (migrated first), the default reply
templates (so every new case is acknowledged, as after `prevenance bootstrap`), a warm-up of
50 first messages and their replies, then `--messages` first messages and their replies.
"""

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def batch(start: int, count: int, run: str) -> tuple[list[bytes], list[bytes]]:
    from bench_email_intake import message

    numbers = range(start, start + count)
    firsts = [message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"first-{n}.{run}@exemple.fr",
                      subject="Commande_n=C2=B0_48213_jamais_re=C3=A7ue", n=n) for n in numbers]
    replies = [message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"reply-{n}.{run}@exemple.fr",
                       subject="Re:_Commande_jamais_re=C3=A7ue", n=n, in_reply_to=f"first-{n}.{run}@exemple.fr") for n in numbers]
    return firsts, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200, help="first messages measured (and as many replies)")
    parser.add_argument("--top", type=int, default=15, help="functions listed, by own time")
    options = parser.parse_args()
    sys.path.insert(0, str(HERE))
    folder = tempfile.mkdtemp(prefix="prevenance-count-")
    os.environ.update({"PREVENANCE_VAR_DIR": folder, "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
                       "DJANGO_SETTINGS_MODULE": "prevenance.settings"})
    subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"], check=True)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import prevenance
    from prevenance.cases.services import ensure_default_templates, ingest_email

    ensure_default_templates()
    firsts, replies = batch(0, 50, "warm")
    for raw in firsts + replies:
        ingest_email(raw=raw)
    firsts, replies = batch(1000, options.messages + 1, "measured")
    with CaptureQueriesContext(connection) as first:
        ingest_email(raw=firsts[0])
    with CaptureQueriesContext(connection) as reply:
        ingest_email(raw=replies[0])
    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    for raw in firsts[1:] + replies[1:]:
        ingest_email(raw=raw)
    profile.disable()
    cpu = time.process_time() - started
    stats = pstats.Stats(profile)
    print(f"code: {Path(prevenance.__file__).parent}")
    print(f"statements: {len(first)} for a first message, {len(reply)} for a reply")
    print(f"{2 * options.messages} messages: {stats.total_calls:,} function calls, {cpu:.2f} s of CPU under the profiler")
    listing = io.StringIO()
    pstats.Stats(profile, stream=listing).sort_stats("tottime").print_stats(options.top)
    print(listing.getvalue())


if __name__ == "__main__":
    main()
