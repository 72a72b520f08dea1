"""Add 1,000,000 cases (with teams, agents and supervisors) to a large bench database.

    .venv/bin/python bench/build_cases.py --database-url sqlite:///var/bench/large.sqlite3
    .venv/bin/python bench/build_cases.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

Run it after bench/build_large.py (the cases point at its customers). Rows go in raw, as in
build_large.py (executemany in big transactions on SQLite, COPY on PostgreSQL, the case
indexes dropped during the load and recreated from their own definitions): the services
would take hours for a million cases, and what is measured on this data is the inbox (reads).

What the data looks like (seeded, so two builds give the same cases):
- 14 teams of different sizes, 220 agents (a quarter of them in two teams) and one
  supervisor per team, all in the role groups of core/roles.py; user names `bench-agent-NNN`
  and `bench-supervisor-NN`; 4 SLA policies by priority (around the clock).
- Cases spread over the two years before `--now` (volume growing 60 % over the period), ids
  and references (C-YYYY-NNNNNN, numbered per year, CaseCounter set to match) in creation
  order. Statuses follow age: the last days are mostly new or open, weeks-old cases are mostly
  resolved or closed, and a thin tail of forgotten cases stays open; about 3 % are active.
- Channel, type and priority by realistic weights; the team from the channel or type (social,
  stores, field visits, complaints, English speakers, VIPs have their own); a tenth of the
  new cases wait in the shared triage queue without a team; open and pending cases are
  assigned to a member of their team, new ones mostly not; due times from the policy, so
  old active cases are breached and recent ones come due over the next days.
- No messages or interactions: the inbox lists cases, and the case page is measured elsewhere.
The database must hold no case yet; the script refuses otherwise.
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_large import PostgresLoader, SqliteLoader, Weighted  # noqa: E402  (puts src/ on the path)

from prevenance.core.text import search_key  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# (name, share of the cases routed by default, agents)
TEAMS = [
    ("Service client", 30, 60),
    ("Commandes et livraisons", 18, 30),
    ("Retours et remboursements", 12, 20),
    ("Facturation", 8, 12),
    ("Réclamations", 0, 18),
    ("Réseaux sociaux", 0, 8),
    ("Magasins", 0, 14),
    ("Interventions à domicile", 0, 6),
    ("Clients VIP", 0, 8),
    ("English desk", 0, 10),
    ("Fidélité", 6, 8),
    ("Support technique", 10, 14),
    ("Partenaires", 2, 4),
    ("Back-office", 4, 8),
]
AGENTS = sum(size for _, _, size in TEAMS)
CASE_CHANNELS = [
    ("email", 40), ("phone", 20), ("web", 12), ("chat", 8), ("social", 5), ("store", 5), ("mobile_app", 3),
    ("api", 3), ("sms", 2), ("chatbot", 1), ("field_visit", 1), ("postal", 1), ("forum", 1), ("video", 1),
]
CASE_TYPES = [("question", 40), ("request", 30), ("complaint", 22), ("incident", 8)]
PRIORITIES = [("low", 15), ("normal", 60), ("high", 20), ("urgent", 5)]
BASE_SCORE = {"low": 10, "normal": 30, "high": 60, "urgent": 90}
# (priority, first response, resolution): around the clock, no calendar.
SLA = [("urgent", 1, 8), ("high", 4, 24), ("normal", 8, 72), ("low", 24, 120)]
# Statuses by age of the case (days): recent work is active, old work is done.
STATUS_BY_AGE = [
    (2, [("new", 35), ("open", 35), ("pending_customer", 15), ("pending_internal", 5), ("resolved", 10)]),
    (14, [("new", 5), ("open", 25), ("pending_customer", 15), ("pending_internal", 5), ("resolved", 30), ("closed", 20)]),
    (60, [("open", 5), ("pending_customer", 4), ("pending_internal", 2), ("resolved", 10), ("closed", 79)]),
    (None, [("open", 0.5), ("pending_customer", 0.3), ("pending_internal", 0.2), ("resolved", 1), ("closed", 98)]),
]
ACTIVE = {"new", "open", "pending_customer", "pending_internal"}
SUBJECTS = [
    "Commande jamais reçue", "Colis abîmé à la livraison", "Demande de remboursement", "Erreur sur ma facture",
    "Retour d'un article", "Changement d'adresse de livraison", "Question sur la garantie", "Produit défectueux",
    "Points de fidélité non crédités", "Rendez-vous en magasin", "Annulation de commande", "Code promo refusé",
    "Problème de connexion à mon compte", "Délai de livraison", "Pièce manquante dans le colis", "Technicien absent",
    "Order never arrived", "Refund request", "Wrong item received", "Question about my invoice",
]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

CASE_COLUMNS = (
    "id, created_at, updated_at, reference, type, channel, subject, status, priority, reopen_count, first_response_at, "
    "resolved_at, closed_at, last_customer_message_at, assignee_id, customer_id, order_id, root_cause_id, team_id, "
    "first_response_due_at, resolution_due_at, sla_paused_at, sla_paused_total, sla_policy_id, acknowledged_at, "
    "cc_addresses, language, mailbox, priority_reasons, priority_score, merged_into_id, reopened_from_id, split_from_id, "
    "routing_rule_id, subject_key"
)
COLUMNS = {
    "auth_user": "id, password, last_login, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name",
    "auth_user_groups": "id, user_id, group_id",
    "cases_team": "id, created_at, updated_at, name, calendar_id, email, last_assigned_id, routing_method",
    "cases_team_members": "id, team_id, user_id",
    "cases_slapolicy": (
        "id, created_at, updated_at, name, active, case_type, priority, customer_tier, first_response_target, "
        "resolution_target, near_breach_percent, calendar_id"
    ),
    "cases_casecounter": "year, last",
    "cases_case": CASE_COLUMNS,
}
FIRST_NAMES = ["Camille", "Léa", "Hugo", "Sarah", "Nicolas", "Inès", "Thomas", "Julie", "Karim", "Emma", "Lucas", "Chloé"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon"]


def at(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


class CaseGenerator:
    """Everything but the cases is small and built first; the cases stream in id order."""

    def __init__(self, *, seed: int, cases: int, customers: int, now: datetime, postgres: bool, ids: dict[str, int],
                 groups: dict[str, int], vip: set[int]):
        self.rng = random.Random(seed)
        self.n, self.customers, self.now, self.postgres = cases, customers, now, postgres
        self.ids, self.groups, self.vip = ids, groups, vip
        self.channel = Weighted(CASE_CHANNELS, self.rng)
        self.type = Weighted(CASE_TYPES, self.rng)
        self.priority = Weighted(PRIORITIES, self.rng)
        self.status_by_age = [(limit, Weighted(weights, self.rng)) for limit, weights in STATUS_BY_AGE]
        self.team_ids = {name: ids["cases_team"] + i for i, (name, _share, _size) in enumerate(TEAMS)}
        self.default_team = Weighted([(self.team_ids[name], share) for name, share, _ in TEAMS if share], self.rng)
        self.policy_ids = {priority: ids["cases_slapolicy"] + i for i, (priority, _fr, _res) in enumerate(SLA)}
        self.targets = {priority: (timedelta(hours=fr), timedelta(hours=res)) for priority, fr, res in SLA}
        self.members: dict[int, list[int]] = {team_id: [] for team_id in self.team_ids.values()}
        # Case.subject_key, as Case.refresh_subject_key computes it (the inbox's search box).
        self.subject_keys = {subject: search_key(subject)[:300] for subject in SUBJECTS}

    def duration(self, value: timedelta) -> str | int:
        # DurationField: an interval on PostgreSQL, a count of microseconds on SQLite.
        return str(value) if self.postgres else value // timedelta(microseconds=1)

    # -- the small tables -----------------------------------------------------------------

    def users(self):
        """Agents then supervisors; yields (user row, group name)."""
        joined = at(self.now - timedelta(days=800))
        user_id = self.ids["auth_user"]
        for n in range(1, AGENTS + 1):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            yield (user_id, "!bench", None, False, f"bench-agent-{n:03d}", last, f"agent{n}@bench.example", False, True, joined,
                   first), "agent"
            user_id += 1
        for n in range(1, len(TEAMS) + 1):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            yield (user_id, "!bench", None, False, f"bench-supervisor-{n:02d}", last, f"supervisor{n}@bench.example", False, True,
                   joined, first), "supervisor"
            user_id += 1

    def small_tables(self) -> dict[str, list[tuple]]:
        created = at(self.now - timedelta(days=800))
        users, user_groups, members = [], [], []
        for row, group in self.users():
            users.append(row)
            user_groups.append((self.ids["auth_user_groups"] + len(user_groups), row[0], self.groups[group]))
        agent_ids = [row[0] for row in users[:AGENTS]]
        supervisor_ids = [row[0] for row in users[AGENTS:]]
        position = 0
        for (name, _share, size), supervisor in zip(TEAMS, supervisor_ids, strict=True):
            team_id = self.team_ids[name]
            self.members[team_id] = agent_ids[position:position + size]
            position += size
            members.append((team_id, supervisor))
        for agent in self.rng.sample(agent_ids, AGENTS // 4):  # a quarter of the agents also help a second team
            team_id = self.rng.choice([t for t, people in self.members.items() if agent not in people])
            self.members[team_id].append(agent)
        members += [(team_id, agent) for team_id, people in self.members.items() for agent in people]
        teams = [
            (self.team_ids[name], created, created, name, None, f"equipe{i}@boutique-lumiere.example", None, "round_robin")
            for i, (name, _share, _size) in enumerate(TEAMS)
        ]
        policies = [
            (self.policy_ids[priority], created, created, f"Bench {priority}", True, "", priority, "",
             self.duration(timedelta(hours=fr)), self.duration(timedelta(hours=res)), 80, None)
            for priority, fr, res in SLA
        ]
        return {
            "auth_user": users,
            "auth_user_groups": user_groups,
            "cases_team": teams,
            "cases_team_members": [(self.ids["cases_team_members"] + i, t, u) for i, (t, u) in enumerate(members)],
            "cases_slapolicy": policies,
        }

    # -- the cases ------------------------------------------------------------------------

    def moments(self) -> list[datetime]:
        """Opening times over two years, sorted, the volume growing 60 % over the period."""
        span = 730 * 86400
        out = []
        for _ in range(self.n):
            # Inverse of a linear density rising from 1 to 1.6.
            u = self.rng.random()
            x = (-1 + (1 + 1.2 * u * 1.3) ** 0.5) / 0.6
            out.append(self.now - timedelta(seconds=span * (1 - x)))
        out.sort()
        return out

    def team_for(self, channel: str, case_type: str, language: str, vip: bool) -> int:
        name = None
        if vip:
            name = "Clients VIP"
        elif channel == "social":
            name = "Réseaux sociaux"
        elif channel == "store":
            name = "Magasins"
        elif channel == "field_visit":
            name = "Interventions à domicile"
        elif language == "en":
            name = "English desk"
        elif case_type == "complaint":
            name = "Réclamations"
        return self.team_ids[name] if name else self.default_team()

    def status_for(self, age_days: float) -> str:
        for limit, weighted in self.status_by_age:
            if limit is None or age_days < limit:
                return weighted()
        raise AssertionError("unreachable")

    def score(self, priority: str, case_type: str, channel: str, vip: bool) -> tuple[int, list]:
        reasons = [{"rule": "priority", "points": BASE_SCORE[priority]}]
        if case_type == "complaint":
            reasons.append({"rule": "complaint", "points": 10})
        if channel == "social":
            reasons.append({"rule": "public_channel", "points": 15})
        if vip:
            reasons.append({"rule": "vip", "points": 25})
        score = sum(r["points"] for r in reasons) + self.rng.randrange(20)
        return score, reasons

    def cases(self):
        rng = self.rng
        counters: dict[int, int] = {}
        empty_list = "[]"
        zero = self.duration(timedelta(0))
        for case_id, opened in enumerate(self.moments(), start=1):
            year = opened.year
            counters[year] = counters.get(year, 0) + 1
            customer = int(self.customers * rng.random() ** 1.4) + 1  # some customers write far more often
            vip = customer in self.vip
            channel, case_type, priority = self.channel(), self.type(), self.priority()
            language = "en" if rng.random() < 0.12 else "fr"
            age = (self.now - opened).total_seconds() / 86400
            status = self.status_for(age)
            team = None if status == "new" and rng.random() < 0.1 else self.team_for(channel, case_type, language, vip)
            assigned = team is not None and (status != "new" or rng.random() < 0.3)
            assignee = rng.choice(self.members[team]) if assigned else None
            first_target, resolution_target = self.targets[priority]
            first_due, resolution_due = opened + first_target, opened + resolution_target
            answered = None if status == "new" else opened + first_target * rng.uniform(0.1, 1.4)
            finished = status in ("resolved", "closed")
            resolved = opened + resolution_target * rng.uniform(0.2, 1.5) if finished else None
            closed = resolved + timedelta(days=7) if status == "closed" else None
            # Recent work was done a moment ago, not in the future.
            answered, resolved, closed = (min(m, self.now) if m is not None else None for m in (answered, resolved, closed))
            paused = opened + (self.now - opened) * rng.uniform(0.3, 0.9) if status == "pending_customer" else None
            updated = max(m for m in (opened, answered, resolved, closed, paused) if m is not None)
            score, reasons = self.score(priority, case_type, channel, vip)
            subject = rng.choice(SUBJECTS)
            yield (
                case_id, at(opened), at(updated), f"C-{year}-{counters[year]:06d}", case_type, channel,
                subject, status, priority, 1 if finished and rng.random() < 0.04 else 0,
                at(answered) if answered else None, at(resolved) if resolved else None, at(closed) if closed else None,
                at(opened), assignee, customer, None, None, team, at(first_due), at(resolution_due),
                at(paused) if paused else None, zero, self.policy_ids[priority], at(opened + timedelta(seconds=2)),
                empty_list, language, "service.client@boutique-lumiere.example" if channel == "email" else "",
                json.dumps(reasons), score, None, None, None, None, self.subject_keys[subject],
            )
        self.counters = counters


def next_ids(loader, tables: list[str]) -> dict[str, int]:
    return {table: loader.conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0] for table in tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--now", default=None, help="the build's 'now' (ISO 8601, UTC); default: the current time")
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()

    url, scheme = args.database_url, urlparse(args.database_url).scheme
    now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        loader = SqliteLoader(path if path.startswith("/") else str(ROOT / path))
    else:
        loader = PostgresLoader(url)
    if loader.count("cases_case"):
        sys.exit("The database already holds cases: build them on a database without any.")
    customers = loader.count("customers_customer")
    if not customers:
        sys.exit("No customers: run bench/build_large.py on this database first.")
    groups = dict(loader.conn.execute("SELECT name, id FROM auth_group WHERE name IN ('agent', 'supervisor')").fetchall())
    if len(groups) != 2:
        sys.exit("The role groups are missing: run `prevenance migrate` on this database first.")
    vip = {row[0] for row in loader.conn.execute("SELECT id FROM customers_customer WHERE is_vip")}
    small = ["auth_user", "auth_user_groups", "cases_team", "cases_team_members", "cases_slapolicy"]
    gen = CaseGenerator(seed=args.seed, cases=args.cases, customers=customers, now=now, postgres=scheme != "sqlite",
                        ids=next_ids(loader, small), groups=groups, vip=vip)
    for table, rows in gen.small_tables().items():
        loader.load(table, iter(rows), len(rows), columns=COLUMNS[table])
    indexes = loader.drop_indexes(["cases_case"])
    loader.load("cases_case", gen.cases(), args.cases, columns=CASE_COLUMNS)
    counters = sorted(gen.counters.items())
    loader.conn.execute("DELETE FROM cases_casecounter")
    loader.load("cases_casecounter", iter(counters), len(counters), columns=COLUMNS["cases_casecounter"])
    loader.create_indexes(indexes)
    loader.finish(small + ["cases_case"])
    print(f"done in {time.monotonic() - started:.0f} s: {args.cases} cases on {customers} customers, now = {now.isoformat()}",
          flush=True)


if __name__ == "__main__":
    main()
