"""Throughput of resolve_customer for new inbound contacts (an email and a phone each).

    .venv/bin/python bench/bench_resolve.py                      # a fresh SQLite file in var/bench/
    .venv/bin/python bench/bench_resolve.py --database-url sqlite:///var/bench/large.sqlite3
    .venv/bin/python bench/bench_resolve.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

One process, one contact after the other, each through the whole service (normalise,
look up both identities, create the customer and its two identities, one transaction).
Each run uses new numbers and addresses (per-run tag), so every contact is a new customer;
it writes them into the database given. Without --database-url a fresh SQLite file is
migrated under var/bench/ and removed afterwards.
"""

import argparse
import time
from pathlib import Path

from benchdb import django_on

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args()

    with django_on(args.database_url, "resolve"):
        measure(args)


def measure(args) -> None:
    from django.db import connection

    from prevenance.customers.services import IdentityInput, resolve_customer

    # A per-run two-digit block of French landlines (01 to 05, valid but for three blocks
    # skipped here) keeps every contact new, run after run.
    tags = [t for t in range(10, 100) if t not in (62, 90, 94)]
    tag = tags[int(time.time()) % len(tags)]

    def contact(n: int, block: int) -> list[IdentityInput]:
        return [
            IdentityInput("email", f"Bench.Contact{block}x{n}@Example.org"),
            IdentityInput("phone", f"0{1 + n % 5} {block} {n // 10_000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}"),
        ]

    warm_tag = tags[(tags.index(tag) + 1) % len(tags)]
    for n in range(200):  # warm-up (imports, caches, the connection), in another block
        resolve_customer(identities=contact(n + int(time.time()) % 1000 * 1000, warm_tag), channel="email")
    created = 0
    started = time.perf_counter()
    for n in range(args.contacts):
        created += resolve_customer(identities=contact(n, tag), channel="email").created
    elapsed = time.perf_counter() - started
    vendor = connection.vendor
    if created != args.contacts:
        raise SystemExit(f"only {created} of {args.contacts} contacts were new: pick another run tag")
    print(f"{vendor}: {args.contacts} new contacts in {elapsed:.2f} s = {args.contacts / elapsed:,.0f} resolutions/s "
          f"({elapsed / args.contacts * 1000:.3f} ms each)")


if __name__ == "__main__":
    main()
