"""Build a large data set (default 1M customers, 10M interactions) for the benchmarks.

    .venv/bin/python bench/build_large.py --customers 1000000 --interactions 10000000 \
        --database-url sqlite:///var/bench/large.sqlite3
    .venv/bin/python bench/build_large.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

The schema comes from `prevenance migrate`; rows then go in raw (executemany in big
transactions on SQLite, COPY on PostgreSQL), with secondary indexes dropped during the
load and recreated from their own definitions afterwards. Services are not used here on
purpose: at 11M rows they would take hours, and what is measured later is reads.
Names, emails and phones look real (weighted name frequencies with a long tail), and
sort_key/alt_key are computed exactly as Customer.refresh_search_keys does.
The database must be empty (freshly created); the script refuses otherwise.
"""

import argparse
import bisect
import itertools
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from prevenance.core.text import search_key  # noqa: E402
from prevenance.demo import data  # noqa: E402

TABLES = ["customers_customer", "customers_identity", "customers_order", "interactions_interaction"]
CHANNELS = [
    ("email", 30), ("phone", 18), ("web", 12), ("store", 10), ("chat", 8), ("chatbot", 6), ("sms", 5),
    ("mobile_app", 4), ("social", 3), ("video", 1), ("forum", 1), ("postal", 1), ("field_visit", 1),
]
SUMMARIES = [
    "Question sur le délai de livraison", "Demande de facture", "Suivi de commande", "Retour produit",
    "Réclamation : article abîmé", "Newsletter soldes d'hiver", "Confirmation de commande",
    "Prise de rendez-vous en magasin", "Changement d'adresse", "Avis client après achat",
    "Delivery time question", "Order confirmation", "Return request", "Winter sale newsletter",
]
LIFECYCLE = [("active", 45), ("at_risk", 15), ("lost", 15), ("reactivated", 5), ("prospect", 20)]
# Service tiers and VIPs (cases/sla.py, cases/priority.py read them); "" is standard.
TIERS = [("", 80), ("silver", 12), ("gold", 6), ("platinum", 2)]
VIP_SHARE = 0.01


class Weighted:
    """Fast weighted choice for millions of draws (random.choices rebuilds its table each call)."""

    def __init__(self, pairs, rng):
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]
        self.rng = rng

    def __call__(self):
        return self.values[bisect.bisect_right(self.cum, self.rng.random() * self.total)]


def ascii_token(text: str) -> str:
    return "".join(ch for ch in search_key(text) if ch.isalnum())


def b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class Generator:
    def __init__(self, seed: int, customers: int, interactions: int, orders: int):
        self.rng = random.Random(seed)
        self.n = customers
        self.n_interactions = interactions
        self.n_orders = orders
        rng = self.rng
        self.fr_last = Weighted(data.FRENCH_SURNAMES, rng)
        self.en_last = Weighted(data.ENGLISH_SURNAMES, rng)
        self.fr_first = {g: Weighted(v, rng) for g, v in data.FRENCH_FIRST_NAMES.items()}
        self.en_first = {g: Weighted(v, rng) for g, v in data.ENGLISH_FIRST_NAMES.items()}
        self.city = Weighted([(c, c[3]) for c in data.CITIES], rng)
        self.domain = Weighted(data.EMAIL_DOMAINS, rng)
        self.en_domain = Weighted(data.ENGLISH_EMAIL_DOMAINS, rng)
        self.channel = Weighted(CHANNELS, rng)
        self.lifecycle = Weighted(LIFECYCLE, rng)
        # Their own generator: the names, identities and interactions stay those of earlier builds.
        self.segment_rng = random.Random(seed + 1)
        self.tier = Weighted(TIERS, self.segment_rng)
        self.start = datetime(2024, 11, 1, tzinfo=UTC)
        self.days = 730
        self.stores = [c[2] for c in data.CITIES if c[2]]
        self.counts = self._skewed_counts(interactions)
        self.order_counts = self._skewed_counts(orders, alpha=2.5, cap=60)

    def _skewed_counts(self, total: int, alpha: float = 1.3, cap: int = 4000) -> list[int]:
        # Pareto weights: most customers have a handful of touchpoints, a few have thousands.
        weights = [min(self.rng.paretovariate(alpha), cap) for _ in range(self.n)]
        scale = total / sum(weights)
        counts = [int(w * scale) for w in weights]
        missing = total - sum(counts)
        for i in self.rng.sample(range(self.n), min(abs(missing), self.n)):
            counts[i] += 1 if missing > 0 else 0
        return counts

    def surname(self, french: bool) -> str:
        if french and self.rng.random() < 0.35:
            r = self.rng
            return (r.choice(data.SURNAME_HEADS) + r.choice(data.SURNAME_MIDS) + r.choice(data.SURNAME_TAILS)).capitalize()
        return (self.fr_last if french else self.en_last)()

    def moment(self) -> str:
        when = self.start + timedelta(seconds=self.rng.randrange(self.days * 86400))
        return when.strftime("%Y-%m-%d %H:%M:%S")

    def customers(self):
        """Yield (customer row, identity rows) with explicit ids 1..N."""
        rng = self.rng
        ident_id = 0
        for cid in range(1, self.n + 1):
            french = rng.random() < 0.88
            company = rng.random() < 0.02
            gender = "F" if rng.random() < 0.53 else "M"
            first = (self.fr_first if french else self.en_first)[gender]()
            last = self.surname(french)
            company_name = ""
            if company:
                company_name = f"{rng.choice(['Garage', 'Boulangerie', 'Cabinet', 'Hôtel', 'Atelier', 'Studio'])} {last}"
                sort_key = alt_key = search_key(company_name)[:220]
            else:
                sort_key = search_key(f"{last} {first}")[:220]
                alt_key = search_key(f"{first} {last}")[:220]
            if french:
                city, postal, _store, _weight = self.city()
                country = "FR"
            else:
                city, postal, country = rng.choice(data.ENGLISH_CITIES)
            created = self.moment()
            row = (
                cid, created, created, "company" if company else "person", first if not company else "",
                last if not company else "", company_name, "fr" if french else "en", None,
                f"{rng.randint(1, 120)} {rng.choice(data.STREETS if french else data.ENGLISH_STREETS)}",
                postal, city, country, self.lifecycle(), sort_key, alt_key, None, None, None,
                self.tier(), self.segment_rng.random() < VIP_SHARE,
            )
            idents = []
            if rng.random() < 0.95:
                ident_id += 1
                domain = (self.domain if french else self.en_domain)()
                local = f"{ascii_token(first)}.{ascii_token(last)}.{b36(cid)}"
                email = f"{local}@{domain}"
                idents.append((ident_id, "email", email.capitalize() if rng.random() < 0.1 else email, email, "", True, "web", created, created, cid))
            if rng.random() < 0.8:
                ident_id += 1
                e164 = data.mobile_number(cid)
                national = "0" + e164[3:]
                given = " ".join(national[i:i + 2] for i in range(0, 10, 2))
                idents.append((ident_id, "phone", given, e164, "", False, "phone", created, created, cid))
            if rng.random() < 0.3:
                ident_id += 1
                card = f"MP{cid:010d}"
                idents.append((ident_id, "loyalty_card", card, card, "", True, "store", created, created, cid))
            if rng.random() < 0.5:
                ident_id += 1
                ext = f"SHOP-{cid * 7 + 100000}"
                idents.append((ident_id, "external_id", ext, ext, "", True, "import", created, created, cid))
            if rng.random() < 0.1:
                ident_id += 1
                network = rng.choice(data.SOCIAL_NETWORKS)
                handle = f"{ascii_token(first)}_{b36(cid)}"
                idents.append((ident_id, "social", f"@{handle}", f"{network}:{handle}", network, False, "social", created, created, cid))
            yield row, idents

    def orders(self):
        rng = self.rng
        oid = 0
        for cid, count in enumerate(self.order_counts, start=1):
            for _ in range(count):
                oid += 1
                when = self.moment()
                store = rng.choice(self.stores) if rng.random() < 0.45 else ""
                yield (
                    oid, when, when, f"MP-{oid:09d}", when, f"{rng.randint(900, 90000) / 100:.2f}", "EUR",
                    "store" if store else "web", store or "e-shop", rng.randint(1, 6), "delivered", cid,
                )

    def interactions(self):
        rng = self.rng
        pool = [
            (self.channel(), rng.choice(["inbound", "outbound"]), rng.choice(["informative", "transactional"]),
             rng.choice(["before", "during", "after"]), rng.choice(SUMMARIES))
            for _ in range(4096)
        ]
        day_strings = [(self.start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(self.days)]
        iid = 0
        randrange = rng.randrange
        for cid, count in enumerate(self.counts, start=1):
            for _ in range(count):
                iid += 1
                channel, direction, nature, phase, summary = pool[randrange(4096)]
                s = randrange(86400)
                when = f"{day_strings[randrange(self.days)]} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
                yield (iid, channel, direction, nature, phase, when, summary, "", "", "", None, None, cid, None)


COLUMNS = {
    "customers_customer": (
        "id, created_at, updated_at, kind, first_name, last_name, company_name, language, birth_date, "
        "address, postal_code, city, country, lifecycle_state, sort_key, alt_key, merged_at, erased_at, merged_into_id, tier, is_vip"
    ),
    "customers_identity": "id, kind, value, normalized, network, verified, source_channel, first_seen_at, last_seen_at, customer_id",
    "customers_order": "id, created_at, updated_at, reference, ordered_at, amount, currency, channel, store, items_count, status, customer_id",
    "interactions_interaction": (
        "id, channel, direction, nature, phase, occurred_at, summary, body, ref_type, ref_id, external_id, agent_id, customer_id, order_id"
    ),
}


def migrate(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)


class SqliteLoader:
    def __init__(self, path: str):
        self.conn = sqlite3.connect(path, isolation_level=None)
        # Speed over durability while loading: a crashed build is simply rebuilt.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY", "foreign_keys=OFF"):
            self.conn.execute(f"PRAGMA {pragma}")

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def drop_indexes(self, tables: list[str] = TABLES) -> list[str]:
        marks = ",".join("?" * len(tables))
        rows = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({marks})", tables
        ).fetchall()
        for name, _sql in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]

    def create_indexes(self, statements: list[str]) -> None:
        for sql in tqdm(statements, desc="indexes", unit="idx"):
            self.conn.execute(sql)

    def load(self, table: str, rows, total: int, batch: int = 200_000, columns: str | None = None) -> None:
        cols = columns or COLUMNS[table]
        sql = f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * (cols.count(',') + 1))})"
        bar = tqdm(total=total, desc=table, unit="row", mininterval=2)
        while chunk := list(itertools.islice(rows, batch)):
            self.conn.execute("BEGIN")
            self.conn.executemany(sql, chunk)
            self.conn.execute("COMMIT")
            bar.update(len(chunk))
        bar.close()

    def finish(self, tables: list[str] = TABLES) -> None:  # noqa: ARG002 - same call as PostgresLoader.finish
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


class PostgresLoader:
    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        # Skip the per-row foreign-key triggers during the load (ids are generated consistent).
        self.conn.execute("SET session_replication_role = replica")
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        self.conn.execute("SET TimeZone = 'UTC'")

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def drop_indexes(self, tables: list[str] = TABLES) -> list[str]:
        rows = self.conn.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)""",
            [tables],
        ).fetchall()
        for name, _sql in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]

    def create_indexes(self, statements: list[str]) -> None:
        for sql in tqdm(statements, desc="indexes", unit="idx"):
            self.conn.execute(sql)

    def load(self, table: str, rows, total: int, batch: int = 1_000_000, columns: str | None = None) -> None:
        bar = tqdm(total=total, desc=table, unit="row", mininterval=2)
        cur = self.conn.cursor()
        while chunk := list(itertools.islice(rows, batch)):
            with self.conn.transaction(), cur.copy(f"COPY {table} ({columns or COLUMNS[table]}) FROM STDIN") as copy:
                # No generated value holds a tab, newline or backslash, so lines are joined as is.
                lines = []
                for row in chunk:
                    lines.append("\t".join(
                        "\\N" if v is None else ("t" if v is True else "f" if v is False else str(v)) for v in row
                    ))
                copy.write("\n".join(lines) + "\n")
            bar.update(len(chunk))
        bar.close()

    def finish(self, tables: list[str] = TABLES) -> None:
        for table in tables:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"
            )
        self.conn.execute("SET session_replication_role = origin")
        self.conn.execute("VACUUM ANALYZE")
        self.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=None, help="default: as many as customers")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()

    url = args.database_url
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        path = path if path.startswith("/") else str(ROOT / path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    started = time.monotonic()
    print(f"migrating {url} ...", flush=True)
    migrate(url)
    loader = SqliteLoader(path) if scheme == "sqlite" else PostgresLoader(url)
    if any(loader.count(t) for t in TABLES):
        sys.exit("The database already holds customers, orders or interactions: give an empty one.")
    gen = Generator(args.seed, args.customers, args.interactions, args.orders or args.customers)
    customers, identities = [], []
    for row, idents in tqdm(gen.customers(), total=args.customers, desc="generating customers", unit="row", mininterval=2):
        customers.append(row)
        identities.extend(idents)
    indexes = loader.drop_indexes()
    loader.load("customers_customer", iter(customers), len(customers))
    loader.load("customers_identity", iter(identities), len(identities))
    del customers, identities
    loader.load("customers_order", gen.orders(), sum(gen.order_counts))
    loader.load("interactions_interaction", gen.interactions(), sum(gen.counts))
    loader.create_indexes(indexes)
    loader.finish()
    print(f"done in {time.monotonic() - started:.0f} s: {args.customers} customers, {sum(gen.counts)} interactions, "
          f"{sum(gen.order_counts)} orders", flush=True)


if __name__ == "__main__":
    main()
