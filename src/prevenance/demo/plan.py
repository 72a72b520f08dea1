"""The demo company's people, planned in memory from one seed before anything is written.

Planning apart from writing keeps the randomness in one place: the same seed and the same
"today" give the same plan, whatever the database, so two builds give identical rows.
Contacts are safe by construction: emails use the reserved .example domain (RFC 2606) and
phone numbers come from the ranges that ARCEP and Ofcom keep for fiction, so a demo
database can never mail or call a real person (past ~60,000 phones the plan falls back
to ordinary mobile numbers, said in the command's help).
"""

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from prevenance.core.text import search_key
from prevenance.demo import data
from prevenance.demo.grammar import with_product
from prevenance.demo.texts import interaction_texts

# French numbers reserved for films and books (ARCEP), then UK drama numbers (Ofcom).
FICTION_FR_PREFIXES = ["+3319900", "+3326191", "+3335301", "+3346571", "+3353649", "+3397739"]
FICTION_UK_PREFIX = "+44207946"
# Peaks of a home and fashion retailer: Christmas, the January and July sales, back to school.
MONTH_WEIGHTS = {1: 12, 2: 6, 3: 7, 4: 7, 5: 8, 6: 9, 7: 12, 8: 6, 9: 9, 10: 8, 11: 13, 12: 18}
LIFECYCLES = [("active", 40), ("at_risk", 15), ("lost", 15), ("reactivated", 7), ("prospect", 23)]
HISTORY_DAYS = 730


def lifecycle_for(order_dates: list[date], today: date) -> str:
    """The lifecycle state that order recency implies (the rule the demo data obeys).

    No order: prospect. Last order within 6 months: active, or reactivated when it came
    after a gap of more than a year. 6 to 12 months: at risk. Over a year: lost.
    """
    if not order_dates:
        return "prospect"
    dates = sorted(order_dates)
    since_last = (today - dates[-1]).days
    if since_last > 365:
        return "lost"
    if since_last > 182:
        return "at_risk"
    if len(dates) >= 2 and (dates[-1] - dates[-2]).days > 365:
        return "reactivated"
    return "active"


@dataclass
class PlannedOrder:
    reference: str
    ordered_at: datetime
    amount: Decimal
    channel: str
    store: str
    items_count: int
    status: str


@dataclass
class PlannedInteraction:
    channel: str
    direction: str
    nature: str
    phase: str
    occurred_at: datetime
    summary: str
    order_reference: str = ""


@dataclass
class PlannedConsent:
    purpose: str
    action: str  # grant, withdraw, request (double opt-in left pending), confirm (requested then confirmed)
    method: str
    channel: str
    occurred_at: datetime


@dataclass
class PlannedPerson:
    number: int
    hints: dict
    identities: list[tuple[str, str, str, bool]]  # (kind, value, network, verified)
    channel: str
    first_seen: datetime
    orders: list[PlannedOrder] = field(default_factory=list)
    interactions: list[PlannedInteraction] = field(default_factory=list)
    consents: list[PlannedConsent] = field(default_factory=list)
    # The same person known a second time, by phone and loyalty card in a store.
    twin_identities: list[tuple[str, str, str, bool]] = field(default_factory=list)
    twin_merged: bool = False


class Weighted:
    def __init__(self, pairs, rng: random.Random):
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.rng = rng

    def __call__(self):
        return self.values[bisect.bisect_right(self.cum, self.rng.random() * self.cum[-1])]


def _ascii(text: str) -> str:
    return "".join(ch for ch in search_key(text) if ch.isalnum())


class Planner:
    def __init__(self, *, seed: int, today: date):
        self.rng = random.Random(seed)
        self.today = today
        # Midnight starting `today`: the history ends before the day the demo is loaded.
        self.now = datetime(today.year, today.month, today.day, tzinfo=UTC)
        rng = self.rng
        self.fr_last = Weighted(data.FRENCH_SURNAMES, rng)
        self.en_last = Weighted(data.ENGLISH_SURNAMES, rng)
        self.fr_first = {g: Weighted(v, rng) for g, v in data.FRENCH_FIRST_NAMES.items()}
        self.en_first = {g: Weighted(v, rng) for g, v in data.ENGLISH_FIRST_NAMES.items()}
        self.city = Weighted([(c, c[3]) for c in data.CITIES], rng)
        self.domain = Weighted([(d.split(".")[0], w) for d, w in data.EMAIL_DOMAINS], rng)
        self.lifecycle = Weighted(LIFECYCLES, rng)
        self.days = [self.today - timedelta(days=d) for d in range(1, HISTORY_DAYS)]
        self.day_weights = list(itertools.accumulate(MONTH_WEIGHTS[d.month] for d in self.days))
        self.fr_phones = 0
        self.uk_phones = 0
        self.order_number = 0
        self.texts = interaction_texts()

    # -- small draws -------------------------------------------------------------------
    def _day_between(self, newest_days_ago: int, oldest_days_ago: int) -> date:
        """A day in [oldest, newest] days ago, weighted by the season."""
        lo = max(newest_days_ago, 1) - 1
        hi = min(oldest_days_ago, HISTORY_DAYS - 1)
        if hi <= lo:
            return self.days[lo]
        base = self.day_weights[lo - 1] if lo else 0
        pick = base + self.rng.random() * (self.day_weights[hi - 1] - base)
        return self.days[min(bisect.bisect_left(self.day_weights, pick), hi - 1)]

    def _moment(self, day: date, hours=(9, 21)) -> datetime:
        return datetime(day.year, day.month, day.day, self.rng.randrange(*hours), self.rng.randrange(60),
                        self.rng.randrange(60), tzinfo=UTC)

    def _phone(self, french: bool) -> str:
        if not french and self.uk_phones < 1000:
            self.uk_phones += 1
            return f"{FICTION_UK_PREFIX}{self.uk_phones - 1:04d}"
        n = self.fr_phones
        self.fr_phones += 1
        if n < len(FICTION_FR_PREFIXES) * 10_000:
            digits = f"{FICTION_FR_PREFIXES[n // 10_000]}{n % 10_000:04d}"
        else:
            digits = data.mobile_number(n)
        # Given the way people write it, so the real normaliser does the work.
        national = "0" + digits[3:]
        return " ".join(national[i:i + 2] for i in range(0, 10, 2)) if digits.startswith("+33") else digits

    # -- one person ----------------------------------------------------------------------
    def person(self, number: int) -> PlannedPerson:
        rng = self.rng
        french = rng.random() < 0.86
        company = rng.random() < 0.03
        gender = "F" if rng.random() < 0.54 else "M"
        first = (self.fr_first if french else self.en_first)[gender]()
        last = (self.fr_last if french else self.en_last)()
        if french:
            city, postal, store, _weight = self.city()
            street = rng.choice(data.STREETS)
            country = "FR"
        else:
            city, postal, country = rng.choice(data.ENGLISH_CITIES)
            street, store = rng.choice(data.ENGLISH_STREETS), ""
        hints = {
            "kind": "company" if company else "person",
            "first_name": first,
            "last_name": last,
            "language": "fr" if french else "en",
            "address": f"{rng.randint(1, 140)} {street}",
            "postal_code": postal,
            "city": city,
            "country": country,
        }
        if company:
            hints["company_name"] = rng.choice(data.COMPANIES)
        elif rng.random() < 0.7:
            hints["birth_date"] = date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))

        shops_in_store = bool(store) and rng.random() < 0.5
        channel = "store" if shops_in_store else "web"
        identities = []
        local = f"{_ascii(first)}.{_ascii(last)}"
        if company:
            local = f"contact.{_ascii(hints['company_name'])[:20]}"
        email = f"{local}{number}@{self.domain()}.example"
        has_email = not shops_in_store or rng.random() < 0.7
        if has_email:
            identities.append(("email", email.capitalize() if rng.random() < 0.15 else email, "", True))
        if not has_email or rng.random() < 0.7:
            identities.append(("phone", self._phone(french), "", False))
        if shops_in_store or rng.random() < 0.15:
            identities.append(("loyalty_card", f"MP {number:04d} {rng.randint(1000, 9999)}", "", True))
        if channel == "web" and rng.random() < 0.6:
            identities.append(("external_id", f"ESHOP-{100000 + number * 7}", "", True))
        if rng.random() < 0.1:
            network = rng.choice(data.SOCIAL_NETWORKS)
            identities.append(("social", f"@{_ascii(first)}_{_ascii(last)}{number}", network, False))

        state = self.lifecycle()
        first_seen = self._moment(self._day_between(60, HISTORY_DAYS))
        plan = PlannedPerson(number=number, hints=hints, identities=identities, channel=channel, first_seen=first_seen)
        order_days = self._order_days(state, first_seen.date())
        for day in order_days:
            plan.orders.append(self._order(day, store if shops_in_store else "", company, french))
        plan.hints["lifecycle_state"] = lifecycle_for(order_days, self.today)
        if plan.orders and plan.orders[0].ordered_at <= first_seen:
            plan.first_seen = plan.orders[0].ordered_at - timedelta(hours=1)
        self._interactions(plan, french)
        self._consents(plan)
        if not company and has_email and rng.random() < 0.12 and not any(k == "phone" for k, *_ in identities):
            plan.twin_identities = [
                ("phone", self._phone(french), "", False),
                ("loyalty_card", f"MP {number:04d} {rng.randint(1000, 9999)}B", "", True),
            ]
            plan.twin_merged = rng.random() < 0.3
        return plan

    def _order_days(self, state: str, first_seen: date) -> list[date]:
        rng = self.rng
        since_first = max((self.today - first_seen).days, 1)
        if state == "prospect":
            return []
        if state == "active":
            days = [self._day_between(1, 180)] + [self._day_between(1, since_first) for _ in range(rng.randint(0, 5))]
        elif state == "at_risk":
            days = [self._day_between(190, 360)] + [self._day_between(190, since_first) for _ in range(rng.randint(0, 3))]
        elif state == "lost":
            days = [self._day_between(370, HISTORY_DAYS)] + [self._day_between(370, HISTORY_DAYS) for _ in range(rng.randint(0, 2))]
        else:  # reactivated: bought long ago, nothing for over a year, then came back
            days = [self._day_between(480, HISTORY_DAYS), self._day_between(1, 100)]
        return sorted(set(days))

    def _order(self, day: date, store: str, company: bool, french: bool) -> PlannedOrder:
        rng = self.rng
        self.order_number += 1
        base = rng.lognormvariate(4.4, 0.8) * (4 if company else 1)
        amount = Decimal(str(round(min(max(base, 9.9), 9000), 2))).quantize(Decimal("0.01"))
        age = (self.today - day).days
        status = "delivered"
        if age < 3:
            status = rng.choice(["placed", "paid", "shipped"])
        elif rng.random() < 0.06:
            status = "returned"
        elif rng.random() < 0.03:
            status = "cancelled"
        return PlannedOrder(
            reference=f"MP-{day:%y%m}-{self.order_number:06d}",
            ordered_at=self._moment(day, (10, 20) if store else (0, 24)),
            amount=amount,
            channel="store" if store else "web",
            store=store or ("e-shop" if french else "e-shop (EN)"),
            items_count=rng.randint(1, 5),
            status=status,
        )

    def _interactions(self, plan: PlannedPerson, french: bool) -> None:
        rng = self.rng
        lang = "fr" if french else "en"
        texts = self.texts[lang]
        add = plan.interactions.append
        for order in plan.orders:
            at = order.ordered_at
            if order.channel == "web":
                add(PlannedInteraction("web", "inbound", "transactional", "during", at, texts["order_web"].format(ref=order.reference), order.reference))
                add(PlannedInteraction("email", "outbound", "transactional", "during", at + timedelta(minutes=2),
                                       texts["order_confirmation"].format(ref=order.reference), order.reference))
                if order.status in ("shipped", "delivered", "returned"):
                    add(PlannedInteraction("sms", "outbound", "transactional", "after", at + timedelta(days=1, hours=3),
                                           texts["shipped"].format(ref=order.reference), order.reference))
            else:
                add(PlannedInteraction("store", "inbound", "transactional", "during", at, texts["order_store"].format(store=order.store), order.reference))
            if order.status == "returned":
                add(PlannedInteraction(rng.choice(["phone", "email", "chat"]), "inbound", "transactional", "after",
                                       at + timedelta(days=rng.randint(4, 20)), texts["return"].format(ref=order.reference), order.reference))
            if rng.random() < 0.25:
                channel, summary = rng.choice(texts["after_sales"])
                add(PlannedInteraction(channel, "inbound", "informative", "after", at + timedelta(days=rng.randint(2, 30), hours=rng.randint(0, 8)),
                                       self._about_product(summary, lang), order.reference))
        for _ in range(rng.randint(0, 3)):
            channel, summary = rng.choice(texts["before"])
            day = self._day_between(1, max((self.today - plan.first_seen.date()).days, 2))
            add(PlannedInteraction(channel, "inbound", "informative", "before", self._moment(day),
                                   self._about_product(summary, lang)))
        for _ in range(rng.randint(0, 3)):
            channel, summary = rng.choice(texts["outbound"])
            day = self._day_between(1, max((self.today - plan.first_seen.date()).days, 2))
            add(PlannedInteraction(channel, "outbound", "informative", "before", self._moment(day), summary))
        if rng.random() < 0.08:
            channel, summary = rng.choice(texts["rare"])
            add(PlannedInteraction(channel, rng.choice(["inbound", "outbound"]), "informative", "after", self._moment(self._day_between(1, 400)), summary))
        # Follow-ups of recent orders may fall after "now": they have not happened yet.
        plan.interactions = sorted((i for i in plan.interactions if i.occurred_at <= self.now), key=lambda i: i.occurred_at)

    def _about_product(self, template: str, lang: str) -> str:
        return with_product(template, self.rng.choice(data.PRODUCTS_FR if lang == "fr" else data.PRODUCTS_EN), lang)

    def _consents(self, plan: PlannedPerson) -> None:
        rng = self.rng
        kinds = {kind for kind, *_ in plan.identities}
        start = plan.first_seen
        recent = self.now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 12))
        add = plan.consents.append
        if "email" in kinds:
            roll = rng.random()
            if roll < 0.45:
                add(PlannedConsent("marketing_email", "grant", "double_opt_in", "email", start + timedelta(hours=1)))
                if rng.random() < 0.2:
                    add(PlannedConsent("marketing_email", "withdraw", "unsubscribe_link", "email",
                                       start + timedelta(days=rng.randint(30, 300))))
            elif roll < 0.52:
                add(PlannedConsent("marketing_email", "confirm", "checkbox", "web", recent))
            elif roll < 0.56:
                add(PlannedConsent("marketing_email", "request", "checkbox", "web", recent))
        if "phone" in kinds and rng.random() < 0.2:
            add(PlannedConsent("marketing_sms", "grant", "checkbox", plan.channel, start))
            if rng.random() < 0.25:
                add(PlannedConsent("marketing_sms", "withdraw", "verbal", "phone", start + timedelta(days=rng.randint(10, 200))))
        if rng.random() < 0.1:
            add(PlannedConsent("postal", "grant", "paper", "store", start))
        if rng.random() < 0.3:
            add(PlannedConsent("profiling", "grant", "checkbox", plan.channel, start))
        if rng.random() < 0.25:
            add(PlannedConsent("surveys", "grant", "checkbox", plan.channel, start))
        plan.consents = [c for c in plan.consents if c.occurred_at <= self.now]
