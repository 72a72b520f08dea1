"""Latency of customer search and of the timeline's first page, on a large data set.

    .venv/bin/python bench/bench_search.py \
        --database-url sqlite:///var/bench/large.sqlite3 \
        --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

Measures p50/p95/p99 of: exact search by email, by phone (typed "06 12 34 56 78"),
name-prefix search (2 to 4 letters taken from real names in the data) and the first
timeline page of customers with many interactions,
(a) through the service layer (customers.selectors.search_customers,
    interactions.selectors.customer_timeline, after access_customer), and
(b) over HTTP against gunicorn on 127.0.0.1 (started and stopped here), on
    GET /api/v1/customers?q=... and GET /api/v1/customers/{id}/timeline with a Bearer key.
Each database runs in its own child process; the table puts them side by side.
--explain prints the plan of the slowest query of each kind (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN ANALYZE on PostgreSQL).
Writes into the database: one user "bench" (superuser) and one API key per run.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {"email": 5, "phone": 5, "name_prefix": 50, "timeline": 20}
KINDS = list(TARGETS_MS)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered), "n": len(ordered)}


# -- child: one database ----------------------------------------------------------------------


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prevenance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def sample_queries(samples: int, seed: int) -> dict[str, list]:
    from django.db.models import Count, Max

    from prevenance.core.text import search_key
    from prevenance.customers.models import Customer, Identity
    from prevenance.interactions.models import Interaction

    rng = random.Random(seed)
    top_identity = Identity.objects.aggregate(m=Max("id"))["m"]
    emails, phones = [], []
    while len(emails) < samples or len(phones) < samples:
        ids = [rng.randint(1, top_identity) for _ in range(2000)]
        for kind, value in Identity.objects.filter(id__in=ids, kind__in=["email", "phone"]).values_list("kind", "value"):
            target = emails if kind == "email" else phones
            if len(target) < samples:
                target.append(value)
    top_customer = Customer.objects.aggregate(m=Max("id"))["m"]
    names = list(
        Customer.objects.filter(id__in=[rng.randint(1, top_customer) for _ in range(samples * 2)], kind="person")
        .values_list("last_name", flat=True)[:samples]
    )
    # What a person types: the first 2, 3 or 4 letters of a surname they heard.
    prefixes = [name[: rng.choice([2, 3, 4])] for name in names if len(search_key(name)) >= 2]
    # The busiest customers: the timeline's worst case. A tenth of the ids keeps the scan short
    # (heavy customers are spread evenly over the ids).
    busiest = list(
        Interaction.objects.filter(customer_id__lte=max(top_customer // 10, 1000)).values("customer_id")
        .annotate(n=Count("id")).order_by("-n").values_list("customer_id", "n")[:samples]
    )
    rng.shuffle(busiest)
    return {"email": emails, "phone": phones, "name_prefix": prefixes, "timeline": busiest}


def bench_user():
    from django.contrib.auth import get_user_model

    from prevenance.api.services import create_api_key

    User = get_user_model()
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User.objects.create_superuser(username="bench", email="", password=None)
    key, raw = create_api_key(user=user, name=f"bench {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return User.objects.get(pk=user.pk), raw


def time_service(user, kind: str, values: list, explain: bool) -> tuple[list[float], dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from prevenance.customers.selectors import access_customer, search_customers
    from prevenance.interactions.selectors import customer_timeline

    def call(value):
        if kind == "timeline":
            customer = access_customer(user, value[0], perm="interactions.view_interaction")
            return customer_timeline(customer, limit=25).items
        return search_customers(user, value, limit=20)

    for value in values[:20]:  # warm caches and the connection
        call(value)
    timings, slowest = [], (0.0, None)
    for value in values:
        started = time.perf_counter()
        found = call(value)
        elapsed = (time.perf_counter() - started) * 1000
        timings.append(elapsed)
        if kind in ("email", "phone") and len(found) != 1:
            raise SystemExit(f"exact search for {value!r} found {len(found)} customers, expected 1")
        if elapsed > slowest[0]:
            slowest = (elapsed, value)
    plans = {}
    if explain and slowest[1] is not None:
        with CaptureQueriesContext(connection) as ctx:
            call(slowest[1])
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        with connection.cursor() as cursor:
            for query in ctx.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute(prefix + sql)
                plans[sql] = [" ".join(str(col) for col in row) for row in cursor.fetchall()]
        plans = {"value": str(slowest[1]), "ms": round(slowest[0], 2), "queries": plans}
    return timings, plans


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, ALLOWED_HOSTS="127.0.0.1")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "prevenance.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def time_http(port: int, key: str, kind: str, values: list) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}

    def path(value):
        if kind == "timeline":
            return f"/api/v1/customers/{value[0]}/timeline?limit=25"
        return f"/api/v1/customers?q={quote(value)}&limit=20"

    def get(value):
        # gunicorn's sync workers close the connection after each response, as a client sees it.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path(value), headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"GET {path(value)} answered {response.status}: {body[:300]!r}")
        return body

    for value in values[:20]:
        get(value)
    timings = []
    for value in values:
        started = time.perf_counter()
        get(value)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def run_one(url: str, samples: int, seed: int, explain: bool, http_too: bool) -> dict:
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    # The data set may predate a newer migration (the API keys table, say): catch up first.
    call_command("migrate", verbosity=0)

    queries = sample_queries(samples, seed)
    user, key = bench_user()
    result = {"vendor": connection.vendor, "load": os.getloadavg(), "service": {}, "http": {}, "plans": {},
              "busiest": [n for _, n in queries["timeline"][:3]]}
    for kind in KINDS:
        timings, plans = time_service(user, kind, queries[kind], explain)
        result["service"][kind] = percentiles(timings)
        if plans:
            result["plans"][kind] = plans
    connection.close()
    if http_too:
        port = free_port()
        server = start_server(url, port)
        try:
            for kind in KINDS:
                result["http"][kind] = percentiles(time_http(port, key, kind, queries[kind]))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return result


# -- parent: every database, side by side --------------------------------------------------------


def label(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme} {Path(parsed.path).name}"


def report(results: dict[str, dict]) -> str:
    urls = list(results)
    lines = ["| query | layer | target p95 | " + " | ".join(f"{label(u)} p50 / p95 / p99 (ms)" for u in urls) + " |",
             "|---|---|---|" + "---|" * len(urls)]
    for kind in KINDS:
        for layer in ("service", "http"):
            cells = []
            for url in urls:
                stats = results[url][layer].get(kind)
                if not stats:
                    cells.append("—")
                    continue
                verdict = "ok" if stats["p95"] <= TARGETS_MS[kind] else "**missed**"
                cells.append(f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f} ({verdict})")
            if any(cell != "—" for cell in cells):
                lines.append(f"| {kind} | {layer} | ≤ {TARGETS_MS[kind]} ms | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", action="append", required=True)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--no-http", action="store_true", help="service layer only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_one(args.database_url[0], args.samples, args.seed, args.explain, not args.no_http)))
        return
    results = {}
    for url in args.database_url:
        command = [sys.executable, __file__, "--child", "--database-url", url, "--samples", str(args.samples),
                   "--seed", str(args.seed)] + (["--explain"] if args.explain else []) + (["--no-http"] if args.no_http else [])
        print(f"measuring {url} ...", file=sys.stderr, flush=True)
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        results[url] = json.loads(out.stdout.strip().splitlines()[-1])
    print(report(results))
    for url, result in results.items():
        print(f"\n{label(url)}: busiest sampled timelines hold {result['busiest']} interactions; "
              f"load average at start {[round(x, 2) for x in result['load']]}")
        for kind, plan in result["plans"].items():
            print(f"\n{label(url)} — slowest {kind} ({plan['value']!r}, {plan['ms']} ms):")
            for sql, rows in plan["queries"].items():
                # The selected columns are long and tell nothing about the plan.
                head, _sep, tail = sql.partition(" FROM ")
                print(f"  {head[:60]} ... FROM {tail}")
                for row in rows:
                    print(f"      {row}")


if __name__ == "__main__":
    main()
