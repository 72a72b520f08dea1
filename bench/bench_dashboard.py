"""The supervisor dashboard on many cases: how long one page of figures takes to compute.

    .venv/bin/python bench/bench_dashboard.py                       # fresh SQLite file, 100,000 cases
    .venv/bin/python bench/bench_dashboard.py --cases 200000
    .venv/bin/python bench/bench_dashboard.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_dash
    .venv/bin/python bench/bench_dashboard.py --database-url sqlite:///var/bench/dash.sqlite3 --no-load   # measure again

The database must hold no case: the script loads its own, seeded, in bulk (the services would
take an hour for this many and what is measured here are the reads). Cases are spread over
the year before now; ~3 % stay open, the rest are resolved after hours to days, each with one
to three agent replies (a message each), one inbound interaction per case and as many
self-service contacts, a gesture on one case in twelve. Prints the time of `case_dashboard`
(median of 5 runs after a warm-up) for the last 30 days, the last 365 days, and 30 days for
one team, with the number of queries.
"""

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import django_on  # noqa: E402

CHANNELS = [("email", 40), ("phone", 25), ("chat", 12), ("web", 8), ("store", 8), ("social", 5), ("field_visit", 2)]
BATCH = 5000


def load(n_cases: int, seed: int, now: datetime) -> None:
    from django.db import transaction  # noqa: PLC0415 - after django.setup()

    from prevenance.cases.models import Case, Gesture, Message, Team  # noqa: PLC0415
    from prevenance.cases.services import ensure_default_channel_costs  # noqa: PLC0415
    from prevenance.customers.models import Customer  # noqa: PLC0415
    from prevenance.customers.tests.factories import UserFactory  # noqa: PLC0415
    from prevenance.interactions.models import Interaction  # noqa: PLC0415

    if Case.objects.exists():
        sys.exit("The database already holds cases: give an empty one.")
    rng = random.Random(seed)
    ensure_default_channel_costs()
    agents = [UserFactory(username=f"dash-agent-{n}", role="agent") for n in range(20)]
    teams = [Team.objects.create(name=f"Dash team {n}") for n in range(6)]
    customers = Customer.objects.bulk_create([Customer(first_name="Bench", last_name=f"Customer {n}") for n in range(2000)])
    channels, weights = zip(*CHANNELS, strict=True)
    started = time.perf_counter()
    for first in range(0, n_cases, BATCH):
        cases, plans = [], []
        for n in range(first, min(first + BATCH, n_cases)):
            opened = now - timedelta(days=rng.random() * 365)
            answered = opened + timedelta(minutes=rng.lognormvariate(5, 1))
            resolved = answered + timedelta(hours=rng.lognormvariate(3, 1.2))
            active = resolved > now or rng.random() < 0.03
            case = Case(
                reference=f"B-{n:07d}", customer=rng.choice(customers), channel=rng.choices(channels, weights)[0],
                team=rng.choice(teams), assignee=rng.choice(agents), created_at=opened,
                status="open" if active else "resolved", first_response_at=answered if answered < now else None,
                resolved_at=None if active else resolved, first_resolved_at=None if active else resolved,
                reopen_count=int(rng.random() < 0.05),
                first_response_due_at=opened + timedelta(hours=8), resolution_due_at=opened + timedelta(days=3),
            )
            cases.append(case)
            plans.append(rng.choice([1, 1, 1, 2, 3]) if case.first_response_at else 0)
        with transaction.atomic():
            Case.objects.bulk_create(cases)
            messages, interactions, gestures = [], [], []
            for case, replies in zip(cases, plans, strict=True):
                messages.append(Message(case=case, customer=case.customer, kind="inbound", channel=case.channel,
                                        created_at=case.created_at))
                interactions.append(Interaction(customer=case.customer, channel=case.channel, direction="inbound", summary="Case",
                                                occurred_at=case.created_at, ref_type="cases.case", ref_id=str(case.pk)))
                interactions.append(Interaction(customer=case.customer, channel=rng.choice(["chatbot", "forum", "mobile_app"]),
                                                direction="inbound", summary="Self-service", occurred_at=case.created_at))
                messages += [Message(case=case, customer=case.customer, kind="outbound", channel=case.channel, author=case.assignee,
                                     created_at=case.first_response_at) for _r in range(replies)]
                if replies and rng.random() < 1 / 12:
                    gestures.append(Gesture(case=case, customer=case.customer, type="refund", amount=Decimal("15.00"), currency="EUR",
                                            reason="Bench", status="granted", requested_by=case.assignee, decided_by=case.assignee,
                                            decided_at=case.first_response_at))
            Message.objects.bulk_create(messages)
            Interaction.objects.bulk_create(interactions)
            Gesture.objects.bulk_create(gestures)
        print(f"  {first + len(cases):>8,} cases loaded ({time.perf_counter() - started:.0f} s)", flush=True)


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum would gather them a little later on PostgreSQL:
    right after a bulk load it still believes the tables nearly empty and picks nested loops
    (measured: 36 s instead of under 1 s for one team's month). SQLite keeps no statistics
    unless ANALYZE is run, and Prévenance does not run it, so neither does the benchmark."""
    from django.db import connection  # noqa: PLC0415

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(label: str, run) -> None:
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    run()  # warm-up: permission cache, SQLite page cache, PostgreSQL plans
    times = []
    for _n in range(5):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as ctx:
        run()
    print(f"{label:<32} median {statistics.median(times) * 1000:8.1f} ms   max {max(times) * 1000:8.1f} ms   {len(ctx)} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty migrated database (default: a fresh SQLite file)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-load", action="store_true", help="measure a database this script already loaded")
    args = parser.parse_args()
    with django_on(args.database_url, "dashboard") as url:
        from prevenance.cases.models import Case, Team  # noqa: PLC0415
        from prevenance.cases.selectors import Period, case_dashboard  # noqa: PLC0415
        from prevenance.customers.tests.factories import UserFactory  # noqa: PLC0415

        if args.no_load:
            now = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
        else:
            now = datetime.now(UTC)
            print(f"Loading {args.cases:,} cases into {url.split('@')[-1]} ...")
            load(args.cases, args.seed, now)
            _analyze()
        supervisor = UserFactory(username="dash-supervisor", role="supervisor")
        team = Team.objects.order_by("pk").first()
        recent = Case.objects.filter(created_at__gte=now - timedelta(days=30)).count()
        print(f"{Case.objects.count():,} cases; {recent:,} in the last 30 days")
        for label, days, chosen in (("last 30 days", 30, None), ("last 365 days", 365, None), ("last 30 days, one team", 30, team)):
            period = Period(start=now - timedelta(days=days), end=now, team=chosen)
            measure(label, lambda period=period: case_dashboard(supervisor, period, now=now))


if __name__ == "__main__":
    main()
