"""Writes of the demo app: loading the demo company, and the first administrator of a new install."""

import secrets
from datetime import UTC, date, datetime, time

from django.contrib.auth import get_user_model
from django.db import transaction

from prevenance.core.roles import ADMIN, assign_role
from prevenance.demo.build import DemoSummary, build_demo
from prevenance.demo.cases import build_demo_cases

FIRST_ADMIN_USERNAME = "admin"


def load_demo_company(*, customers: int, seed: int, today: date, progress: bool = False) -> DemoSummary:
    """The demo company, one transaction per person (a 5,000-person load in one would hold the
    SQLite write lock for a minute; an interrupted load keeps whole people only)."""
    summary = build_demo(customers=customers, seed=seed, today=today, progress=progress)
    # One case for about fifteen customers: a live inbox, a backlog, and two months of history.
    now = datetime.now(UTC)
    cases = build_demo_cases(count=max(1, customers // 15), seed=seed, now=_start_of(today), progress=progress,
                             settle_at=now if now.date() == today else None)
    summary.cases = cases.cases
    return summary


def _start_of(today: date) -> datetime:
    # The demo's "now": the start of the given day, so the story is the same whenever that day
    # it is built, and nothing in it lies in the future.
    return datetime.combine(today, time(0, 0), tzinfo=UTC)


def create_first_admin() -> tuple[object, str] | None:
    """A superuser in the admin group with a random password, only when no user exists at all.

    Returns (user, password) so the caller can show the password once; it is stored nowhere
    but as Django's salted hash. Returns None when the installation already has users.
    """
    User = get_user_model()
    with transaction.atomic():
        if User.objects.exists():
            return None
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=FIRST_ADMIN_USERNAME, email="", password=password)
        assign_role(user=user, role=ADMIN)
    return user, password
