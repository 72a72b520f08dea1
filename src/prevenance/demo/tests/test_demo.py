import os
import shutil
import subprocess
import sys
from datetime import UTC, date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prevenance.core.choices import Channel
from prevenance.customers.choices import ConflictStatus, ConsentAction, ConsentMethod, IdentityKind
from prevenance.customers.models import (
    ConsentEvent,
    ConsentWording,
    Customer,
    Identity,
    IdentityConflict,
    Order,
)
from prevenance.customers.normalize import normalize_phone
from prevenance.customers.tests.factories import CustomerFactory
from prevenance.demo.plan import lifecycle_for
from prevenance.interactions.models import Interaction

TODAY = date(2026, 6, 1)
DEMO_CHANNELS = set(Channel.values) - {Channel.IMPORT, Channel.API}


def counts() -> dict[str, int]:
    return {
        "customers": Customer.objects.count(),
        "identities": Identity.objects.count(),
        "orders": Order.objects.count(),
        "interactions": Interaction.objects.count(),
        "consents": ConsentEvent.objects.count(),
        "wordings": ConsentWording.objects.count(),
        "conflicts": IdentityConflict.objects.count(),
    }


def run_demo(**options) -> str:
    out = StringIO()
    call_command("demo", today=TODAY.isoformat(), verbosity=0, stdout=out, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        ([], "prospect"),
        ([10], "active"),
        ([182], "active"),
        ([183], "at_risk"),
        ([365], "at_risk"),
        ([366], "lost"),
        ([600, 30], "reactivated"),
        ([300, 30], "active"),
        ([700, 400], "lost"),
    ],
)
def test_lifecycle_follows_order_recency(days_ago, expected):
    # given orders that many days before today / then / the state is
    dates = [date.fromordinal(TODAY.toordinal() - d) for d in days_ago]
    assert lifecycle_for(dates, TODAY) == expected


@pytest.fixture
def demo_company(db):
    output = run_demo(customers=150, seed=5)
    return output


def test_demo_builds_a_believable_company(demo_company):
    # given the demo company of 150 people (seed 5)
    customers = list(Customer.objects.all())
    # then there are persons and companies, French and English speakers, mostly French
    assert {c.kind for c in customers} == {"person", "company"}
    french = sum(c.language == "fr" for c in customers)
    assert french > len(customers) * 0.75
    assert any(c.language == "en" for c in customers)
    # and every lifecycle state is the one the person's order recency implies
    for customer in customers:
        days = [o.ordered_at.astimezone(UTC).date() for o in Order.objects.filter(customer=customer)]
        assert customer.lifecycle_state == lifecycle_for(days, TODAY), customer.pk
    assert {c.lifecycle_state for c in customers} == {"prospect", "active", "at_risk", "lost", "reactivated"}
    # and the summary line tells what was built
    assert demo_company.startswith(f"Demo company loaded: {len(customers)} customers, {Order.objects.count()} orders")


def test_demo_identities_are_normalised_and_fictional(demo_company):
    phones = Identity.objects.filter(kind=IdentityKind.PHONE)
    emails = Identity.objects.filter(kind=IdentityKind.EMAIL)
    assert phones.exists() and emails.exists()
    for identity in phones:
        assert identity.normalized == normalize_phone(identity.value)
        assert identity.normalized.startswith(("+3319900", "+3326191", "+44207946"))
    assert all(e.normalized.endswith(".example") for e in emails)
    assert {i.kind for i in Identity.objects.all()} == {
        IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.LOYALTY_CARD, IdentityKind.EXTERNAL_ID, IdentityKind.SOCIAL,
    }


def test_demo_history_covers_channels_orders_and_consents(demo_company):
    # every demo channel, both directions, both natures and the three phases appear
    interactions = Interaction.objects.all()
    assert set(interactions.values_list("channel", flat=True)) == DEMO_CHANNELS
    assert set(interactions.values_list("direction", flat=True)) == {"inbound", "outbound"}
    assert set(interactions.values_list("nature", flat=True)) == {"informative", "transactional"}
    assert set(interactions.values_list("phase", flat=True)) == {"before", "during", "after"}
    assert interactions.filter(order__isnull=False).exists()
    # orders are two years of money in Decimal, from stores and the e-shop
    amounts = list(Order.objects.values_list("amount", flat=True))
    assert all(isinstance(a, Decimal) and a > 0 for a in amounts)
    assert set(Order.objects.values_list("channel", flat=True)) == {"web", "store"}
    oldest = Order.objects.order_by("ordered_at").first().ordered_at.date()
    assert (TODAY - oldest).days > 365
    # nothing is dated after the day the demo is loaded (follow-ups of recent orders included)
    assert Order.objects.order_by("-ordered_at").first().ordered_at.date() < TODAY
    assert interactions.order_by("-occurred_at").first().occurred_at.date() < TODAY
    # consents: granted, withdrawn, double opt-in confirmed through its link, and still pending
    events = ConsentEvent.objects.all()
    assert events.filter(action=ConsentAction.WITHDRAWN).exists()
    requested = events.filter(action=ConsentAction.REQUESTED)
    confirmed = [r for r in requested if events.filter(customer=r.customer, purpose=r.purpose,
                                                       action=ConsentAction.GRANTED, method=ConsentMethod.DOUBLE_OPT_IN,
                                                       source="confirmation link").exists()]
    assert 0 < len(confirmed) < requested.count()


def test_demo_leaves_duplicates_for_the_merge_screen(demo_company):
    # the same person known by email on the e-shop and by phone in a store
    open_conflicts = IdentityConflict.objects.filter(status=ConflictStatus.OPEN)
    assert open_conflicts.exists()
    for conflict in open_conflicts:
        a, b = conflict.customer_a, conflict.customer_b
        assert (a.first_name, a.last_name) == (b.first_name, b.last_name)
        assert {i["kind"] for i in conflict.identities} == {"email", "phone"}
    merged = Customer.objects.filter(merged_into__isnull=False)
    assert merged.exists()
    assert IdentityConflict.objects.filter(status=ConflictStatus.MERGED).count() == merged.count()


def test_demo_refuses_a_database_with_customers(db):
    # given one real customer
    CustomerFactory()
    before = counts()
    # when the demo is asked without --force / then it refuses and writes nothing
    with pytest.raises(CommandError, match="already holds 1 customers"):
        run_demo(customers=10, seed=1)
    assert counts() == before


def test_demo_with_force_adds_and_does_not_duplicate_on_a_rerun(db):
    # given a database with one customer, the demo forced in
    CustomerFactory()
    run_demo(customers=20, seed=2, force=True)
    first = counts()
    assert first["customers"] > 20
    # when the same demo is forced in again
    output = run_demo(customers=20, seed=2, force=True)
    # then people, orders and touchpoints are recognised; only the consent ledger grows
    again = counts()
    assert {k: v for k, v in again.items() if k != "consents"} == {k: v for k, v in first.items() if k != "consents"}
    assert again["consents"] > first["consents"]
    assert output.startswith("Demo company loaded: 0 customers, 0 orders, 0 interactions")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"customers": 0}, "--customers must be 1 or more"),
        ({"customers": 5, "today": "01/06/2026"}, "--today must be a date written YYYY-MM-DD"),
    ],
)
def test_demo_bad_options_are_refused_before_anything_is_written(db, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("demo", verbosity=0, **{"today": TODAY.isoformat(), **options})
    assert set(counts().values()) == {0}


def _demo_digest(database: Path, seed: int) -> str:
    # Its own var/ too, so the confirmation emails it queues stay beside its database.
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", PREVENANCE_VAR_DIR=str(database.parent))
    env.pop("PREVENANCE_TESTING", None)
    result = subprocess.run(
        [sys.executable, "-m", "prevenance", "demo", "--customers", "40", "--seed", str(seed),
         "--today", TODAY.isoformat(), "--digest", "-v", "0"],
        env=env, capture_output=True, text=True, check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_same_seed_gives_identical_rows_in_two_databases(tmp_path):
    # given two fresh databases with the schema
    template = tmp_path / "template.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{template}", PREVENANCE_VAR_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"], env=env, check=True)
    first, second, other = (tmp_path / f"{name}.sqlite3" for name in ("first", "second", "other"))
    for target in (first, second, other):
        shutil.copy(template, target)
    # when the demo is built into each, twice with seed 7 and once with seed 8
    digest_first, digest_second = _demo_digest(first, 7), _demo_digest(second, 7)
    # then the same seed gives the same rows, another seed other rows
    assert digest_first.startswith("digest: ")
    assert digest_first == digest_second
    assert _demo_digest(other, 8) != digest_first


@pytest.mark.django_db(transaction=True)  # each person's transaction commits, as in `make run`
def test_the_demo_queues_no_email_for_the_worker_to_send(monkeypatch):
    # Outside the tests tasks go to a broker: the double opt-in confirmations of the fictional
    # people were queued there and sent through the real backend at the first worker start.
    from prevenance.celery import app as celery_app
    from prevenance.demo.build import build_demo

    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: queued.append(name))
    summary = build_demo(customers=30, seed=3, today=date(2026, 3, 1))
    assert summary.customers >= 30
    assert queued == []
    assert celery_app.conf.task_always_eager is False  # put back as it was
