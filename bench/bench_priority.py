"""Priority refresh and routed intake: how long the 5-minute refresh takes over the open cases,
and how many cases per second intake opens with triage (score, rule, round robin under the team lock).

    .venv/bin/python bench/bench_priority.py                 # fresh SQLite file
    .venv/bin/python bench/bench_priority.py --cases 50000 --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

The database given must hold no case (the script refuses otherwise); a fresh SQLite file is
made and removed when none is given.
"""

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import django_on  # noqa: E402

TEXTS = (
    "Bonjour, quand arrive ma commande ?",
    "Je suis très déçu, c'est inadmissible !! Je vais résilier.",
    "My parcel never arrived, I will call my lawyer",
    "Merci beaucoup, parfait",
    "Ma facture est fausse, un prélèvement en trop",
)


def build(count: int, now: datetime) -> None:
    from prevenance.cases import sla  # noqa: PLC0415 - after django.setup()
    from prevenance.cases.choices import CaseStatus  # noqa: PLC0415
    from prevenance.cases.models import Case, SLAPolicy  # noqa: PLC0415

    if Case.objects.exists():
        raise SystemExit("The database already holds cases: give an empty one.")
    policy = SLAPolicy.objects.create(name="bench", first_response_target=timedelta(hours=4), resolution_target=timedelta(days=2))
    spec = sla.around_the_clock()
    rng = random.Random(7)
    rows = []
    for n in range(count):
        opened = now - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
        due = sla.due_times(spec, policy, opened)
        rows.append(Case(
            reference=f"B-{n:09d}", channel="email", subject="bench", status=rng.choice([CaseStatus.NEW, CaseStatus.OPEN]),
            created_at=opened, sla_policy=policy, first_response_due_at=due.first_response, resolution_due_at=due.resolution,
        ))
    Case.objects.bulk_create(rows, batch_size=2000)


def bench_refresh(count: int) -> None:
    from prevenance.cases.services.priority import refresh_priority_scores  # noqa: PLC0415

    now = datetime.now(UTC)
    build(count, now)
    for label in ("first run (every case changes)", "second run (nothing changes)"):
        started = time.perf_counter()
        changed = refresh_priority_scores(now=now)
        elapsed = time.perf_counter() - started
        print(f"refresh {label}: {changed} changed of {count} open cases in {elapsed:.2f} s ({count / elapsed:,.0f} cases/s)")


def bench_intake(count: int) -> None:
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.contrib.auth.models import Group  # noqa: PLC0415

    from prevenance.cases.choices import RoutingMethod  # noqa: PLC0415
    from prevenance.cases.models import RoutingRule, Team  # noqa: PLC0415
    from prevenance.cases.services import open_case  # noqa: PLC0415
    from prevenance.core.roles import AGENT  # noqa: PLC0415
    from prevenance.customers.choices import IdentityKind  # noqa: PLC0415
    from prevenance.customers.services import IdentityInput  # noqa: PLC0415

    group = Group.objects.get(name=AGENT)
    team = Team.objects.create(name="bench routing", routing_method=RoutingMethod.ROUND_ROBIN)
    for n in range(10):
        user = get_user_model().objects.create_user(username=f"bench-router-{n:02d}")
        user.groups.add(group)
        team.members.add(user)
    RoutingRule.objects.create(name="bench", team=team, keywords="commande, facture, parcel")
    started = time.perf_counter()
    for n in range(count):
        open_case(
            identities=[IdentityInput(IdentityKind.EMAIL, f"bench-routing-{n}@example.com")], channel="email",
            subject="Bench", body=TEXTS[n % len(TEXTS)],
        )
    elapsed = time.perf_counter() - started
    print(f"intake with triage: {count} cases in {elapsed:.2f} s ({count / elapsed:,.0f} cases/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--cases", type=int, default=20_000, help="open cases for the refresh (default 20,000)")
    parser.add_argument("--intakes", type=int, default=500, help="cases opened through open_case (default 500)")
    args = parser.parse_args()
    with django_on(args.database_url, "priority"):
        bench_refresh(args.cases)
        bench_intake(args.intakes)


if __name__ == "__main__":
    main()
