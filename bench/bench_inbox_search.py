"""Latency of the inbox's search box ("q") on a large database: the first page of "all open"
with what agents type, for agents and supervisors.

    .venv/bin/python bench/bench_inbox_search.py --samples 100 --explain \
        --database-url sqlite:///var/bench/large.sqlite3 \
        --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

The cases come from bench/build_cases.py (its 20 subjects, each on about 5 % of the cases),
the customers from bench/build_large.py. Searches (cases.selectors.inbox.inbox(user,
view="open", filters={"q": ...}), the 25 most urgent matches with their customer, team and
assignee, as the page shows them):
- "common word": a word of a frequent subject ("colis");
- "two words, any order": "livraison délai" for "Délai de livraison";
- "without accents": "abime" for "abîmé";
- "customer last name", "first and last name": of a customer with an active case, drawn anew
  for each sample (rare words: each names a few cases among the million);
- "case number": the number alone of an active case ("48213"); "partial reference": "C-2026-48213";
- "no match": a word no case has (the worst case: every visible active case is read).
Each sample draws a user (`--users` agents and supervisors taking turns). --explain prints the
SQL of the slowest sample of each kind with its plan. Each database runs in its own child
process. Writes nothing.
"""

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inbox import ROLES, bench_users, explain_sql, percentiles, setup_django  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50
FIXED = {"common word": "colis", "two words, any order": "livraison délai", "without accents": "abime",
         "no match": "introuvable"}
KINDS = [*FIXED, "customer last name", "first and last name", "case number", "partial reference"]


def draw_queries(samples: int, seed: int) -> dict[str, list[str]]:
    """The typed texts of each kind: numbers and names of active cases (what an agent looks for)."""
    from prevenance.cases.models import Case
    from prevenance.cases.workflow import ACTIVE

    rng = random.Random(seed)
    ids = list(Case.objects.filter(status__in=ACTIVE).order_by().values_list("id", flat=True))
    picked = Case.objects.filter(pk__in=rng.sample(ids, min(samples, len(ids)))).select_related("customer")
    cases = [case for case in picked if case.customer is not None]
    rng.shuffle(cases)
    queries = {kind: [text] * samples for kind, text in FIXED.items()}
    queries["customer last name"] = [c.customer.last_name for c in cases]
    queries["first and last name"] = [f"{c.customer.first_name} {c.customer.last_name}" for c in cases]
    queries["case number"] = [str(int(c.reference.rsplit("-", 1)[1])) for c in cases]
    queries["partial reference"] = [f"C-{c.reference.split('-')[1]}-{int(c.reference.rsplit('-', 1)[1])}" for c in cases]
    return queries


def run_child(url: str, samples: int, users_per_role: int, seed: int, explain: bool) -> dict:
    setup_django(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from prevenance.cases.models import Case
    from prevenance.cases.selectors.inbox import inbox

    users = bench_users(users_per_role, seed)
    queries = draw_queries(samples, seed)

    def first_page(user, text):
        return inbox(user, view="open", filters={"q": text}).items

    for role_users in users.values():  # warm-up
        for kind in KINDS:
            first_page(role_users[0], queries[kind][0])
    timings: dict[str, list[float]] = {}
    rows: dict[str, list[int]] = {}
    slowest: dict[str, tuple[float, object, str]] = {}
    for i in range(samples):
        for role, role_users in users.items():
            user = role_users[i % len(role_users)]
            for kind in KINDS:
                text = queries[kind][i % len(queries[kind])]
                started = time.perf_counter()
                items = first_page(user, text)
                elapsed = (time.perf_counter() - started) * 1000
                key = f"{role}|{kind}"
                timings.setdefault(key, []).append(elapsed)
                rows.setdefault(key, []).append(len(items))
                if elapsed > slowest.get(key, (-1,))[0]:
                    slowest[key] = (elapsed, user, text)
    out = {
        "vendor": connection.vendor,
        "cases": Case.objects.count(),
        "stats": {key: percentiles(values) for key, values in timings.items()},
        "rows": {key: sum(values) / len(values) for key, values in rows.items()},
        "plans": {},
    }
    if explain:
        for key, (_elapsed, user, text) in slowest.items():
            with CaptureQueriesContext(connection) as captured:
                first_page(user, text)
            out["plans"][key] = [(text, q["sql"], explain_sql(connection, q["sql"])) for q in captured]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", action="append", required=True)
    parser.add_argument("--samples", type=int, default=100, help="samples of each kind and role")
    parser.add_argument("--users", type=int, default=10, help="agents and supervisors taking turns (each)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_child(args.database_url[0], args.samples, args.users, args.seed, args.explain)))
        return
    results = {}
    for url in args.database_url:
        name = urlparse(url).scheme.replace("postgres", "postgresql")
        print(f"{name}: {url} ...", flush=True)
        command = [sys.executable, __file__, "--child", "--database-url", url, "--samples", str(args.samples),
                   "--users", str(args.users), "--seed", str(args.seed)] + (["--explain"] if args.explain else [])
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the run on {url} failed")
        results[name] = json.loads(lines[-1].removeprefix("RESULT "))
    names = list(results)
    print(f"\n{args.samples} samples of each; milliseconds p50 / p95 / p99; rows = mean rows on the first page")
    for name, result in results.items():
        print(f"{name}: {result['cases']:,} cases")
    print(f"{'role':10} {'search':22} " + " ".join(f"{n + ' (rows)':>34}" for n in names))
    for role in ROLES:
        for kind in KINDS:
            key = f"{role}|{kind}"
            cells = [f"{results[n]['stats'][key]['p50']:7.2f} / {results[n]['stats'][key]['p95']:7.2f} / "
                     f"{results[n]['stats'][key]['p99']:7.2f} ({results[n]['rows'][key]:4.1f})" for n in names]
            print(f"{role:10} {kind:22} " + " ".join(f"{c:>34}" for c in cells))
    if args.explain:
        for name, result in results.items():
            for key, plans in result["plans"].items():
                print(f"\n== {name} {key}: slowest sample, its queries and plans")
                for text, sql, plan in plans:
                    print(f"  [{text}] {sql[:600]}\n{plan}")


if __name__ == "__main__":
    main()
