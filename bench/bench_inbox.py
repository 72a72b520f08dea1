"""Latency of the inbox's first page with 1,000,000 cases, for each view, agent and supervisor.

    .venv/bin/python bench/bench_inbox.py --samples 200 [--layers "first page"] --explain \
        --database-url sqlite:///var/bench/large.sqlite3 \
        --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

The cases come from bench/build_cases.py. For each view (mine, my teams, unassigned,
breaching soon, all open, by channel, status and priority, all cases (every status), its
resolved ones, the user's own resolved ones and the unassigned resolved ones, and a shared saved view) and each
role (agents and supervisors, `--users` of each drawn from the bench users, taking turns),
three layers are timed:
- "first page": cases.selectors.inbox(user, view=..., filters=...), the 25 most urgent cases
  with their customer, team and assignee (what the table shows);
- "tab counts": inbox_counts over every tab the user has (the page shows them, capped);
- "whole page": GET /cases/?view=... through Django's test client in this process (session,
  middleware, the view, both of the above, the template), without a network.
Samples of all views and roles are interleaved, so each view sees the same machine load.
Target (issue 3): first page p95 <= 50 ms for every view. --explain prints the SQL of the
slowest first page of each view with its plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE
on PostgreSQL). Each database runs in its own child process.
Writes into the database: one shared saved view (created once) and the test client's sessions.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50
SAVED_VIEW_NAME = "Bench: urgent complaints of my teams"
SAVED_VIEW_FILTERS = {"base": "team", "type": ["complaint"], "priority": ["high", "urgent"]}
# (label, view, filters)
VIEWS = [
    ("mine", "mine", {}),
    ("my teams", "team", {}),
    ("unassigned", "unassigned", {}),
    ("breaching soon", "breaching", {}),
    ("all open", "open", {}),
    ("channel: social", "open", {"channel": ["social"]}),
    ("channel: email", "open", {"channel": ["email"]}),
    ("channel: field visit", "open", {"channel": ["field_visit"]}),
    ("status: pending customer", "open", {"status": ["pending_customer"]}),
    ("priority: urgent", "open", {"priority": ["urgent"]}),
    ("all cases", "all", {}),
    ("all cases: resolved", "all", {"status": ["resolved"]}),
    ("all cases: mine, resolved", "all", {"assignee": ["me"], "status": ["resolved"]}),
    ("all cases: unassigned, resolved", "all", {"assignee": ["none"], "status": ["resolved"]}),
    ("saved view", "saved", {}),
]
ROLES = ("agent", "supervisor")
LAYERS = ("first page", "tab counts", "whole page")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": len(ordered)}


# -- child: one database ----------------------------------------------------------------------


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prevenance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def bench_users(count: int, seed: int) -> dict[str, list]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True).order_by("id")
    agents = list(users.filter(username__startswith="bench-agent-"))
    supervisors = list(users.filter(username__startswith="bench-supervisor-"))
    if not agents or not supervisors:
        raise SystemExit("No bench users: run bench/build_cases.py on this database first.")
    rng = random.Random(seed)
    return {"agent": rng.sample(agents, min(count, len(agents))), "supervisor": rng.sample(supervisors, min(count, len(supervisors)))}


def shared_saved_view() -> str:
    from prevenance.cases.models import SavedView

    saved, _ = SavedView.objects.get_or_create(name=SAVED_VIEW_NAME, owner=None, defaults={"filters": SAVED_VIEW_FILTERS})
    return f"saved-{saved.pk}"


def page_url(view: str, filters: dict) -> str:
    pairs = [("view", view)] + [(key, v) for key, values in filters.items() for v in values]
    return "/cases/?" + urlencode(pairs)


def run_child(url: str, samples: int, users_per_role: int, seed: int, explain: bool, only: list[str]) -> dict:
    setup_django(url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from prevenance.cases.models import Case
    from prevenance.cases.selectors.inbox import inbox, inbox_counts, inbox_views

    users = bench_users(users_per_role, seed)
    saved_key = shared_saved_view()
    views = [(label, saved_key if view == "saved" else view, filters) for label, view, filters in VIEWS]
    clients = {}
    for role_users in users.values():
        for user in role_users:
            client = Client()
            client.force_login(user)
            clients[user.pk] = client

    def first_page(user, view, filters):
        return inbox(user, view=view, filters=filters).items

    def tab_counts(user, _view, _filters):
        return inbox_counts(user, inbox_views(user))

    class PageFailed(Exception):
        pass

    def whole_page(user, view, filters):
        response = clients[user.pk].get(page_url(view, filters))
        if response.status_code != 200:
            raise PageFailed(f"GET {page_url(view, filters)} as {user.username}: HTTP {response.status_code}")
        return response

    layers = {"first page": first_page, "tab counts": tab_counts, "whole page": whole_page}
    layers = {name: call for name, call in layers.items() if name in only}
    timings: dict[str, list[float]] = {}
    rows: dict[str, list[int]] = {}
    slowest: dict[str, tuple[float, object, str, dict]] = {}
    errors = {}
    for role_users in users.values():  # warm-up: connections, caches, templates
        for _label, view, filters in views:
            for layer, call in list(layers.items()):
                try:
                    call(role_users[0], view, filters)
                except PageFailed as exc:  # reported, and that layer left out of this run
                    errors[layer] = str(exc)
                    del layers[layer]
    for i in range(samples):
        for role, role_users in users.items():
            user = role_users[i % len(role_users)]
            for label, view, filters in views:
                for layer, call in layers.items():
                    if layer == "tab counts" and label != "all open":
                        continue  # the same tabs whatever the view: timed once a sample
                    started = time.perf_counter()
                    result = call(user, view, filters)
                    elapsed = (time.perf_counter() - started) * 1000
                    key = f"{role}|{label}|{layer}"
                    timings.setdefault(key, []).append(elapsed)
                    if layer == "first page":
                        rows.setdefault(key, []).append(len(result))
                        if elapsed > slowest.get(key, (-1,))[0]:
                            slowest[key] = (elapsed, user, view, filters)
    out = {
        "vendor": connection.vendor,
        "cases": Case.objects.count(),
        "load": os.getloadavg()[0],
        "stats": {key: percentiles(values) for key, values in timings.items()},
        "rows": {key: statistics.fmean(values) for key, values in rows.items()},
        "plans": {},
        "errors": errors,
    }
    if explain:
        for key, (_elapsed, user, view, filters) in slowest.items():
            with CaptureQueriesContext(connection) as queries:
                first_page(user, view, filters)
            out["plans"][key] = [(q["sql"], explain_sql(connection, q["sql"])) for q in queries]
    return out


def explain_sql(connection, sql: str) -> str:
    # The captured SQL has its parameters inlined, as the database ran it.
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        plan = cursor.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in plan)
    return "\n".join(f"    {row[0]}" for row in plan)


# -- parent -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", action="append", required=True)
    parser.add_argument("--samples", type=int, default=200, help="samples of each view, layer and role")
    parser.add_argument("--users", type=int, default=10, help="agents and supervisors taking turns (each)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--layers", default=",".join(LAYERS), help=f"comma-separated, among: {', '.join(LAYERS)} (default: all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = [name.strip() for name in args.layers.split(",") if name.strip()]
    if not only or set(only) - set(LAYERS):
        parser.error(f"--layers: choose among {', '.join(LAYERS)}")
    if args.child:
        result = run_child(args.database_url[0], args.samples, args.users, args.seed, args.explain, only)
        print("RESULT " + json.dumps(result))
        return

    results = {}
    for url in args.database_url:
        name = urlparse(url).scheme.replace("postgres", "postgresql")
        print(f"{name}: {url} ...", flush=True)
        command = [sys.executable, __file__, "--child", "--database-url", url, "--samples", str(args.samples),
                   "--users", str(args.users), "--seed", str(args.seed), "--layers", ",".join(only)]
        command += ["--explain"] if args.explain else []
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the run on {url} failed")
        results[name] = json.loads(lines[-1].removeprefix("RESULT "))
    report(results, args)


def report(results: dict[str, dict], args) -> None:
    names = list(results)
    print(f"\n{args.samples} samples of each; milliseconds p50 / p95 / p99; first page target p95 <= {TARGET_MS} ms")
    for name, result in results.items():
        print(f"{name}: {result['cases']:,} cases, load average {result['load']:.1f} at the end")
        for layer, error in result["errors"].items():
            print(f"  {layer} NOT MEASURED: {error}")
    header = f"{'role':10} {'view':24} {'layer':10} {'rows':>5} " + " ".join(f"{n:>30}" for n in names)
    print(header)
    missed = []
    for role in ROLES:
        for label, _view, _filters in VIEWS:
            for layer in LAYERS:
                key = f"{role}|{label}|{layer}"
                if any(key not in result["stats"] for result in results.values()):
                    continue
                cells = []
                for name in names:
                    stats = results[name]["stats"][key]
                    verdict = ""
                    if layer == "first page":
                        verdict = " ok" if stats["p95"] <= TARGET_MS else " MISS"
                        if verdict == " MISS":
                            missed.append(f"{name} {role} {label}")
                    cells.append(f"{stats['p50']:7.2f} / {stats['p95']:7.2f} / {stats['p99']:7.2f}{verdict:5}")
                rows = results[names[0]]["rows"].get(key)
                shown_label = "tabs (all)" if layer == "tab counts" else label
                shown_rows = "" if rows is None else f"{rows:5.1f}"
                print(f"{role:10} {shown_label:24} {layer:10} {shown_rows:>5} " + " ".join(f"{c:>30}" for c in cells))
    print("\nfirst page p95 over the target: " + (", ".join(missed) if missed else "none"))
    if args.explain:
        for name, result in results.items():
            for key, queries in result["plans"].items():
                print(f"\n== {name} {key.replace('|', ' / ')}: slowest first page, {len(queries)} queries")
                for sql, plan in queries:
                    print(f"  {sql[:600]}\n{plan}")


if __name__ == "__main__":
    main()
