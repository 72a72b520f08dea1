"""The benchmark data builders stay in step with the models: a small build must load into the
current schema and give the data the inbox benchmark relies on (bench/build_large.py,
bench/build_cases.py). Raw SQL loads break silently when a model gains a column; this catches it.
"""

import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-29T12:00:00+00:00"
ACTIVE = {"new", "open", "pending_customer", "pending_internal"}
TARGETS = {"urgent": (1, 8), "high": (4, 24), "normal": (8, 72), "low": (24, 120)}


def build(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "small.sqlite3"
    url = f"sqlite:///{path}"
    done = build("build_large.py", "--customers", "1500", "--interactions", "3000", "--database-url", url)
    assert done.returncode == 0, done.stderr[-2000:]
    done = build("build_cases.py", "--cases", "6000", "--now", NOW, "--database-url", url)
    assert done.returncode == 0, done.stderr[-2000:]
    return url, path


def rows(path: Path, sql: str) -> list[tuple]:
    # A connection per read: the builders switch the journal mode, which needs the file to themselves.
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_customers_carry_the_tier_and_vip_columns(built):
    _url, db = built
    (customers, vips, tiered), = rows(db, "SELECT count(*), sum(is_vip), sum(tier <> '') FROM customers_customer")
    assert customers == 1500
    assert 0 < vips < 100 and 150 < tiered < 500  # 1 % VIP, 20 % with a tier


def test_references_are_numbered_per_year_and_the_counters_follow(built):
    _url, db = built
    references = [r for (r,) in rows(db, "SELECT reference FROM cases_case ORDER BY id")]
    assert len(references) == len(set(references)) == 6000
    counters = dict(rows(db, "SELECT year, last FROM cases_casecounter"))
    per_year = Counter(int(r.split("-")[1]) for r in references)
    assert counters == dict(per_year)
    for year, last in counters.items():
        assert f"C-{year}-{last:06d}" in references
    # ids follow the opening time, as an autoincrement does
    opened = [t for (t,) in rows(db, "SELECT created_at FROM cases_case ORDER BY id")]
    assert opened == sorted(opened) and opened[-1] <= "2026-11-29 12:00:00"


def test_recent_cases_are_active_and_old_ones_done(built):
    _url, db = built
    statuses = Counter(s for (s,) in rows(db, "SELECT status FROM cases_case"))
    assert ACTIVE <= set(statuses) and statuses["closed"] > 5000
    old_active = rows(db, "SELECT count(*) FROM cases_case WHERE created_at < '2025-11-29' AND status IN "
                          "('new', 'open', 'pending_customer', 'pending_internal')")[0][0]
    assert old_active < 0.02 * 6000
    new_in_old = rows(db, "SELECT count(*) FROM cases_case WHERE status = 'new' AND created_at < '2026-11-15'")[0][0]
    assert new_in_old == 0


def test_assignees_belong_to_the_case_team_and_the_roles_are_set(built):
    _url, db = built
    strangers = rows(db, """SELECT count(*) FROM cases_case c WHERE c.assignee_id IS NOT NULL AND NOT EXISTS (
                                SELECT 1 FROM cases_team_members m WHERE m.team_id = c.team_id AND m.user_id = c.assignee_id)""")
    assert strangers == [(0,)]
    assert rows(db, "SELECT count(*) FROM cases_case WHERE team_id IS NULL AND status <> 'new'") == [(0,)]
    roles = dict(rows(db, """SELECT g.name, count(*) FROM auth_user u JOIN auth_user_groups ug ON ug.user_id = u.id
                             JOIN auth_group g ON g.id = ug.group_id WHERE u.username LIKE 'bench-%' GROUP BY g.name"""))
    assert roles == {"agent": 220, "supervisor": 14}


def test_due_times_follow_the_policy_of_the_priority(built):
    _url, db = built
    for priority, created, first_due, resolution_due, paused_total in rows(
        db, "SELECT priority, created_at, first_response_due_at, resolution_due_at, sla_paused_total FROM cases_case LIMIT 500"
    ):
        opened = datetime.fromisoformat(created)
        first, resolution = TARGETS[priority]
        assert datetime.fromisoformat(first_due) - opened == timedelta(hours=first)
        assert datetime.fromisoformat(resolution_due) - opened == timedelta(hours=resolution)
        assert paused_total == 0


def test_the_models_read_the_rows_and_the_inbox_pages_them_most_urgent_first(built):
    url, _db = built
    check = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from prevenance.cases.models import Case\n"
        "from prevenance.cases.selectors import visible_cases\n"
        "agent = get_user_model().objects.get(username='bench-agent-001')\n"
        "case = Case.objects.select_related('customer', 'team', 'sla_policy').order_by('-id').first()\n"
        "assert case.priority_reasons and case.sla_policy.resolution_target, case\n"
        "from prevenance.cases.selectors.inbox import inbox\n"
        "active = ['new', 'open', 'pending_customer', 'pending_internal']\n"
        "visible = visible_cases(agent).filter(status__in=active)\n"
        "assert 0 < visible.count() < Case.objects.filter(status__in=active).count()\n"
        "page = inbox(agent, view='open').items\n"
        "assert len(page) == 25 and {c.pk for c in page} <= set(visible.values_list('pk', flat=True))\n"
        "scores = [c.priority_score for c in page]\n"
        "assert scores == sorted(scores, reverse=True), scores\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT,
                          env={"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "prevenance.settings", "PYTHONPATH": str(ROOT / "src"),
                               "PATH": "/usr/bin:/bin", "PREVENANCE_VAR_DIR": str(Path(url.removeprefix("sqlite:///")).parent)})
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_second_build_is_refused(built):
    url, db = built
    done = build("build_cases.py", "--cases", "10", "--database-url", url)
    assert done.returncode != 0 and "already holds cases" in done.stderr
    assert rows(db, "SELECT count(*) FROM cases_case") == [(6000,)]
