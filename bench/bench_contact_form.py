"""Cost of the contact form's rate limit and of a whole submission (docs/contact-form.md, "Figures").

    .venv/bin/python bench/bench_contact_form.py                      # a fresh SQLite file in var/bench/
    .venv/bin/python bench/bench_contact_form.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

One process, Django's test client (no network, no server): the view, the form, the rate limit
in the shared cache (the database table by default; SHARED_CACHE_URL=redis://... for Redis),
open_case (new customer, case, timeline, acknowledgement) and the redirect. Every submission
comes from a new address, so the limit never refuses one; the refused case is measured apart.
Without --database-url a fresh SQLite file is migrated under var/bench/ and removed afterwards.
"""

import argparse
import os
import random
import statistics
import time
import uuid

from benchdb import django_on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--hits", type=int, default=1000)
    args = parser.parse_args()
    # Acknowledgements are emailed after commit; the console would drown the figures.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    with django_on(args.database_url, "contact"):
        measure(args)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(args) -> None:
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client

    from prevenance.cases import ratelimit

    # Keys of this run only (never cache.clear(): on Redis it empties the whole database).
    run = uuid.uuid4().hex[:8]
    block = random.randrange(16, 32)
    taken = [_timed(lambda n=n: ratelimit.hit(f"bench-{run}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", count=5, window=600))
             for n in range(args.hits)]
    for _ in range(5):
        ratelimit.hit(f"bench-{run}", "192.0.2.1", count=5, window=600)
    refused = [_timed(lambda: ratelimit.hit(f"bench-{run}", "192.0.2.1", count=5, window=600)) for _ in range(args.hits)]

    client = Client()
    posts = []
    for n in range(args.submissions):
        data = {
            "first_name": "Inès", "last_name": "Moreau", "email": f"bench-{run}-{n}@example.org", "phone": "",
            "type": "question", "order": "", "subject": "Livraison", "body": "Bonjour, où en est ma commande ?",
            "website": "", "submission_id": uuid.uuid4().hex,
        }
        start = time.perf_counter()
        response = client.post("/cases/contact/", data, REMOTE_ADDR=f"172.{block}.{n // 256 % 256}.{n % 256}")
        posts.append(time.perf_counter() - start)
        if response.status_code != 302:
            raise SystemExit(f"submission {n} answered {response.status_code}")

    print(f"database: {connection.vendor}; shared cache: {caches['shared'].__class__.__name__}")
    print(f"rate limit, slot taken ({args.hits}): {_ms(taken)}")
    print(f"rate limit, refused ({args.hits}): {_ms(refused)}")
    print(f"contact form POST to redirect ({args.submissions}): {_ms(posts)}")


if __name__ == "__main__":
    main()
