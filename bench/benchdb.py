"""The database a benchmark runs on: the one given, or a fresh migrated SQLite file."""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def django_on(database_url: str | None, name: str) -> Iterator[str]:
    """Set Django up on `database_url`, or on a new SQLite file under var/bench/ that is
    migrated first and removed afterwards; yields the URL in use."""
    fresh = None
    url = database_url
    if url is None:
        fresh = ROOT / "var" / "bench" / f"{name}-{os.getpid()}.sqlite3"
        fresh.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{fresh}"
        subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"],
                       env=dict(os.environ, DATABASE_URL=url), check=True, cwd=ROOT)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prevenance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django  # noqa: PLC0415 - only once DATABASE_URL is set

    django.setup()
    try:
        yield url
    finally:
        from django.db import connection  # noqa: PLC0415

        connection.close()
        if fresh is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{fresh}{suffix}").unlink(missing_ok=True)
