"""Statements planned for their values (core/query_plans.py), and the inbox's tab counts
run that way (a generic plan made them scan a million cases: docs/benchmarks.md)."""

import importlib

import pytest
from django.db import connection, transaction

from prevenance.core.query_plans import planned_for_their_values

# The module, not the `inbox` function the selectors package exports under that name.
inbox_selectors = importlib.import_module("prevenance.cases.selectors.inbox")
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_setting_holds_inside_the_block_and_is_gone_after_it():
    assert plan_cache_mode() == "auto"
    with planned_for_their_values():
        assert plan_cache_mode() == "force_custom_plan"
    # The next request on this persistent connection gets the server's default again.
    assert plan_cache_mode() == "auto"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_error_inside_leaves_the_connection_as_it_was():
    with pytest.raises(ZeroDivisionError), planned_for_their_values():
        1 / 0  # noqa: B018
    assert plan_cache_mode() == "auto"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_it_ends_with_the_block():
    with transaction.atomic():
        with planned_for_their_values():
            assert plan_cache_mode() == "force_custom_plan"
        # A savepoint's release would keep a SET LOCAL until the outer COMMIT: put back on leaving
        assert plan_cache_mode() == "auto"
        with pytest.raises(ZeroDivisionError), planned_for_their_values():
            1 / 0  # noqa: B018
        assert plan_cache_mode() == "auto"
    assert plan_cache_mode() == "auto"


@pytest.mark.django_db
def test_it_runs_the_block_on_every_database():
    ran = []
    with planned_for_their_values():
        ran.append(True)
    assert ran == [True]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_inbox_tab_counts_are_planned_for_their_values(monkeypatch, agent):
    modes = []

    def count_and_note_the_mode(*args, **kwargs):
        modes.append(plan_cache_mode())
        return 0

    monkeypatch.setattr(inbox_selectors, "inbox_count", count_and_note_the_mode)
    counts = inbox_selectors.inbox_counts(agent, inbox_selectors.inbox_views(agent))
    assert modes and set(modes) == {"force_custom_plan"}
    assert set(counts.values()) == {0}
    assert plan_cache_mode() == "auto"
