"""Supervisor dashboard edges found in review: a late case put on hold, a team's contacts on
a channel, a case reopened while the page is computed, amounts grouped as on every page."""

from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.selectors import Period, case_dashboard
from prevenance.cases.selectors.dashboard import (
    contacts_by_channel,
    dashboard_scope,
    sla_compliance,
)
from prevenance.cases.services import (
    add_inbound_message,
    ensure_default_channel_costs,
    request_gesture,
)
from prevenance.cases.tests.factories import TeamFactory
from prevenance.cases.tests.test_dashboard import (  # the same cases, placed in time
    NOW,
    PERIOD,
    D,
    H,
    make_case,
)
from prevenance.core.choices import Channel
from prevenance.interactions.models import Interaction


def scope(user, period: Period = PERIOD):
    return dashboard_scope(user, period)


# --- A breached resolution SLA stays missed while the case waits for the customer ---------


def test_a_case_already_overdue_when_put_on_hold_still_counts_as_a_missed_resolution_sla(supervisor):
    # given a case resolved on time, and a case whose resolution was due two days ago (breached),
    # which an agent then put "waiting for the customer" yesterday, after the breach
    due = NOW - 2 * D
    make_case(created=due - 2 * D, status=CaseStatus.RESOLVED, resolution_due_at=due, resolved_at=due - H)  # met
    make_case(created=due - 2 * D, status=CaseStatus.PENDING_CUSTOMER, resolution_due_at=due, sla_paused_at=NOW - D)

    share = sla_compliance(scope(supervisor), PERIOD, done_field="resolved_at", due_field="resolution_due_at", now=NOW)

    # then the breach is known (resuming the clock moves the due time by the pause only, it stays
    # in the past): 1 of 2 on time, not 1 of 1
    assert (share.part, share.total) == (1, 2)
    assert case_dashboard(supervisor, PERIOD, now=NOW).sla_resolution == share


# --- Team + channel filters: a team's contacts on a channel, whatever its cases' origin ----


def test_phone_contacts_of_a_team_include_calls_on_its_cases_opened_by_email(supervisor):
    # given team T's case opened by email, on which the customer then phoned in
    ensure_default_channel_costs()
    team = TeamFactory()
    case = make_case(created=NOW - 2 * D, team=team, channel=Channel.EMAIL)
    add_inbound_message(case=case, body="Je vous appelle au sujet du colis.", channel=Channel.PHONE, received_at=NOW - D)
    Interaction.objects.filter(ref_type="cases.case").update(occurred_at=NOW - D)

    def phone_contacts(**filters) -> int:
        period = Period(start=PERIOD.start, end=PERIOD.end, channel=Channel.PHONE, **filters)
        result = contacts_by_channel(supervisor, scope(supervisor, period), period)
        return sum(line.contacts for line in result.lines)

    # then: every phone contact of the service is T's, so T's phone contacts must be 1 too
    assert phone_contacts() == 1
    assert phone_contacts(team=team) == 1  # the channel filter does not drop T's cases opened by email


# --- A case reopened while the dashboard is computed: consistent figures, no 500 -----------


@contextmanager
def _reopened_after_the_first_ranking(case_pk: int):
    """Another request (the customer's reply, which reopens the case) commits right after the
    dashboard's first numbered sort (the first-response times) and before the others."""
    done = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not done and "ROW_NUMBER" in sql.upper():
            done.append(True)
            Case.objects.filter(pk=case_pk).update(status=CaseStatus.OPEN, resolved_at=None, reopen_count=1)
        return result

    with connection.execute_wrapper(wrapper):
        yield done


def test_a_case_reopened_while_the_dashboard_is_computed_leaves_consistent_figures(supervisor):
    # given four cases resolved in the period, in 1, 2, 3 and 4 hours
    cases = [
        make_case(created=NOW - 3 * D, status=CaseStatus.RESOLVED, resolved_at=NOW - 3 * D + hours * H) for hours in (1, 2, 3, 4)
    ]

    # when the slowest is reopened after the dashboard has started (its counts are read)
    with _reopened_after_the_first_ranking(cases[-1].pk) as done:
        board = case_dashboard(supervisor, PERIOD, now=NOW)

    # then the resolution times are those of the three cases still resolved: a count and
    # ranks read together, not a count of four and a p90 rank that is gone
    assert done
    figure = board.resolution_time
    assert (figure.count, figure.median, figure.p90) == (3, 2 * H, 3 * H)


# --- Amounts grouped as on every page --------------------------------------------------------


def test_gesture_amounts_are_grouped_on_the_dashboard_and_the_control_report(client, supervisor):
    case = make_case(created=timezone.now() - D)
    request_gesture(case=case, type="refund", amount="1500", currency="EUR", reason="Cuisine abîmée", actor=supervisor)
    today = timezone.localtime()
    client.force_login(supervisor)
    days = {"start": (today - D).date().isoformat(), "end": today.date().isoformat()}

    dashboard = client.get("/cases/dashboard/", days, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    report = client.get("/cases/gestures/report/", days, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "1,500.00" in dashboard and "1500.00" not in dashboard
    assert "1,500.00" in report and "1500.00" not in report
