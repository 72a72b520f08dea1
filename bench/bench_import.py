"""Benchmark: import N customer rows (email + phone each) from CSV, then re-import them.

    .venv/bin/python bench/bench_import.py --rows 100000
    .venv/bin/python bench/bench_import.py --rows 100000 --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

Generates a realistic French file (semicolons, French headers, DD/MM/YYYY, unique emails and
phones), imports it into a fresh database (a new SQLite file, or the given PostgreSQL
database flushed first) and prints rows per second for the first import and the re-import.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Jean", "Marie", "Pierre", "Camille", "Louis", "Léa", "Hugo", "Chloé", "Gabriel", "Zoé", "Raphaël",
         "Manon", "Arthur", "Inès", "Jules", "Océane", "Théo", "Élodie", "Noé", "Anaïs", "François", "Hélène"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"]
CITIES = [("75011", "Paris"), ("69003", "Lyon"), ("13008", "Marseille"), ("31000", "Toulouse"), ("44000", "Nantes"),
          ("33000", "Bordeaux"), ("59000", "Lille"), ("67000", "Strasbourg"), ("35000", "Rennes"), ("06000", "Nice")]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    from prevenance.core.text import search_key

    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Identifiant client;Prénom;Nom;Courriel;Téléphone;Langue;Date de naissance;Code postal;Ville;Pays\n")
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            postal, city = rng.choice(CITIES)
            # 06 40 to 06 59 (all allocated), then a bijection of i: unique, and spread like real numbers.
            phone = f"06{40 + i // 1_000_000 % 20}{(i * 7919 + 123_457) % 1_000_000:06d}"
            phone = " ".join(phone[k:k + 2] for k in range(0, 10, 2))
            born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2005)}"
            email = f"{search_key(first)}.{search_key(last)}.{i}@exemple.fr"
            out.write(f"CLI{i:07d};{first};{last};{email};{phone};fr;{born};{postal};{city};FR\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (its tables are flushed); default: a new SQLite file")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first import")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prevenance.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from prevenance.core.csvio import run_import
    from prevenance.customers.models import Customer, Identity

    call_command("migrate", verbosity=0)
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    source = workdir / "customers.csv"
    generate(source, args.rows)
    data = source.read_bytes()
    print(f"database: {connection.vendor}; file: {len(data) / 1e6:.1f} MB, {args.rows} rows; "
          f"load average: {os.getloadavg()[0]:.1f}")

    for label in ("first import", "re-import"):
        start, cpu_start = time.perf_counter(), time.process_time()
        if args.profile and label == "first import":
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            report = profiler.runcall(run_import, kind="customers", data=data)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            report = run_import(kind="customers", data=data)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        # CPU time too: on a shared machine the wall clock also counts other people's work.
        print(f"{label}: {elapsed:.2f} s wall, {args.rows / elapsed:,.0f} rows/s; "
              f"{cpu:.2f} s CPU, {args.rows / cpu:,.0f} rows per CPU-second — {report.summary()}")
    print(f"customers: {Customer.objects.count()}, identities: {Identity.objects.count()}")


if __name__ == "__main__":
    main()
