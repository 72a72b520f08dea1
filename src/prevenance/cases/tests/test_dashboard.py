"""The supervisor dashboard: each figure against known cases, computed by hand (docs/dashboard.md).

Cases are opened and answered through the services; the moments they happened are then set
with `.update()` so that every duration and every bucket in the expected figures is exact.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, MessageKind
from prevenance.cases.models import Case, ChannelCost, DelegationLimit, Gesture
from prevenance.cases.selectors import Period, case_dashboard
from prevenance.cases.selectors.dashboard import (
    AGE_BUCKETS,
    backlog_by_age,
    backlog_by_status,
    contacts_by_channel,
    dashboard_scope,
    first_response_times,
    granted_gestures,
    resolution_quality,
    resolution_times,
    sla_compliance,
)
from prevenance.cases.services import (
    add_note,
    add_reply,
    answer_survey,
    ensure_default_channel_costs,
    ensure_default_templates,
    lock_case,
    merge_cases,
    request_gesture,
    send_survey,
)
from prevenance.cases.services.common import add_thread_entry
from prevenance.cases.services.costs import DEFAULT_CHANNEL_COSTS
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.views.charts import bar_chart, format_duration
from prevenance.core.choices import Channel
from prevenance.core.testing import run_concurrently
from prevenance.customers.tests.factories import UserFactory
from prevenance.interactions.models import Interaction

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PERIOD = Period(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 21, tzinfo=UTC))
H = timedelta(hours=1)
D = timedelta(days=1)

_numbers = iter(range(1, 10_000))


def make_case(*, created: datetime, status: str = CaseStatus.OPEN, channel: str = Channel.EMAIL, team=None, **fields) -> Case:
    """A case opened through the intake, then placed in time (and state) exactly."""
    n = next(_numbers)
    case = open_email_case(f"customer{n}@example.com", subject=f"Case {n}", received_at=created, channel=channel).case
    if fields.get("resolved_at") and "first_resolved_at" not in fields:
        fields["first_resolved_at"] = fields["resolved_at"]  # resolved once, as change_status stamps it
    Case.objects.filter(pk=case.pk).update(created_at=created, status=status, team=team, **fields)
    case.refresh_from_db()
    return case


def reply(case: Case, agent, at: datetime) -> None:
    """An agent's reply, stamped at `at` (the first one is the case's first response)."""
    message = add_reply(case=case, author=agent, body="Bonjour, c'est fait.")
    message.__class__.objects.filter(pk=message.pk).update(created_at=at)


def scope(user, period: Period = PERIOD):
    return dashboard_scope(user, period)


# --- backlog ---------------------------------------------------------------------------------


def test_backlog_counts_open_cases_by_age_and_status(supervisor):
    # given open cases of every age (a bucket includes its lower bound), and cases that are not backlog
    for age, status in [
        (2 * H, CaseStatus.NEW), (23 * H, CaseStatus.OPEN),            # less than 1 day
        (1 * D, CaseStatus.OPEN),                                      # exactly 1 day: 1 to 3 days
        (5 * D, CaseStatus.PENDING_CUSTOMER), (6 * D, CaseStatus.PENDING_INTERNAL),  # 3 to 7
        (10 * D, CaseStatus.OPEN),                                     # 7 to 30
        (30 * D, CaseStatus.NEW), (400 * D, CaseStatus.PENDING_CUSTOMER),  # 30 and more
    ]:
        make_case(created=NOW - age, status=status)
    make_case(created=NOW - 3 * H, status=CaseStatus.RESOLVED, resolved_at=NOW - H)
    make_case(created=NOW - 3 * H, status=CaseStatus.CLOSED, closed_at=NOW - H)

    # when / then
    assert [(b.key, b.count) for b in backlog_by_age(scope(supervisor), now=NOW)] == [
        ("lt1", 2), ("1to3", 1), ("3to7", 2), ("7to30", 1), ("gt30", 2),
    ]
    assert [(b.key, b.count) for b in backlog_by_status(scope(supervisor))] == [
        ("new", 2), ("open", 3), ("pending_customer", 2), ("pending_internal", 1),
    ]
    assert [key for key, _low, _high in AGE_BUCKETS] == ["lt1", "1to3", "3to7", "7to30", "gt30"]


def test_a_merged_case_is_counted_once_through_its_survivor(supervisor):
    # given two open cases of the same customer about the same matter, merged
    survivor = open_email_case("same@example.com", subject="Colis", received_at=NOW - 2 * H).case
    loser = open_email_case("same@example.com", subject="Colis encore", received_at=NOW - H).case
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    # when / then: only the survivor is in the backlog (the loser is closed, and left out everywhere)
    assert [b.count for b in backlog_by_age(scope(supervisor), now=NOW)] == [1, 0, 0, 0, 0]
    assert list(scope(supervisor).values_list("pk", flat=True)) == [survivor.pk]


# --- response and resolution times -----------------------------------------------------------


def test_first_response_median_and_p90_over_cases_answered_in_the_period(supervisor):
    # given five cases answered in the period after 1, 2, 3, 4 and 10 hours
    for hours in (4, 1, 10, 3, 2):
        opened = NOW - 3 * D
        make_case(created=opened, first_response_at=opened + hours * H)
    # and cases that do not count: answered before the period, not answered yet
    make_case(created=datetime(2026, 2, 1, tzinfo=UTC), first_response_at=datetime(2026, 2, 1, 5, tzinfo=UTC))
    make_case(created=NOW - D)

    figure = first_response_times(scope(supervisor), PERIOD)

    # then: nearest rank: median = 3rd of 5 (3 h), p90 = ceil(4.5) = 5th of 5 (10 h)
    assert (figure.count, figure.median, figure.p90) == (5, 3 * H, 10 * H)
    assert case_dashboard(supervisor, PERIOD, now=NOW).first_response == figure


def test_resolution_times_over_cases_resolved_in_the_period(supervisor):
    # given four cases resolved in the period after 1, 2, 3 and 5 days, and one resolved after it
    for days in (5, 1, 3, 2):
        opened = datetime(2026, 3, 2, tzinfo=UTC)
        make_case(created=opened, status=CaseStatus.RESOLVED, resolved_at=opened + days * D)
    make_case(created=NOW, status=CaseStatus.RESOLVED, resolved_at=datetime(2026, 3, 22, tzinfo=UTC))

    figure = resolution_times(scope(supervisor), PERIOD)

    # then: median = 2nd of 4 (2 days), p90 = ceil(3.6) = 4th of 4 (5 days)
    assert (figure.count, figure.median, figure.p90) == (4, 2 * D, 5 * D)
    assert case_dashboard(supervisor, PERIOD, now=NOW).resolution_time == figure


def test_times_with_no_case_are_empty_not_zero(supervisor):
    figure = first_response_times(scope(supervisor), PERIOD)
    assert (figure.count, figure.median, figure.p90) == (0, None, None)


def test_the_90th_percentile_of_ten_values_is_the_ninth_by_integer_ranks(supervisor):
    # 0.9 * 10 is 9.000000000000002 in floats: a float ceil would wrongly pick the 10th value
    for minutes in range(1, 11):
        opened = NOW - D
        make_case(created=opened, first_response_at=opened + timedelta(minutes=minutes))
    figure = first_response_times(scope(supervisor), PERIOD)
    assert (figure.median, figure.p90) == (timedelta(minutes=5), timedelta(minutes=9))


# --- SLA compliance --------------------------------------------------------------------------


def test_sla_first_response_share_on_time_among_cases_due_in_the_period(supervisor):
    due = NOW - 2 * D
    make_case(created=due - 4 * H, first_response_due_at=due, first_response_at=due - H)          # met
    make_case(created=due - 4 * H, first_response_due_at=due, first_response_at=due)              # met (at the due time)
    make_case(created=due - 4 * H, first_response_due_at=due, first_response_at=due + H)          # late
    make_case(created=due - 4 * H, first_response_due_at=due)                                     # unanswered, overdue
    make_case(created=NOW - H, first_response_due_at=NOW + 3 * H)                                  # not due yet: unknown
    make_case(created=NOW - H, first_response_due_at=NOW + 3 * H, first_response_at=NOW - H / 2)  # answered early: met
    make_case(created=NOW - 40 * D, first_response_due_at=NOW - 39 * D)                            # due before the period
    make_case(created=NOW - H)                                                                     # no SLA

    share = sla_compliance(scope(supervisor), PERIOD, done_field="first_response_at", due_field="first_response_due_at", now=NOW)

    assert (share.part, share.total, share.rate) == (3, 5, 0.6)
    assert case_dashboard(supervisor, PERIOD, now=NOW).sla_first_response == share  # the page counts it in one pass


def test_a_case_resolved_without_a_reply_settles_its_first_response_clock(supervisor):
    # Settled on the phone, or spam closed: no written reply was needed.
    due = NOW - D
    make_case(created=due - 4 * H, status=CaseStatus.RESOLVED, first_response_due_at=due, resolved_at=due - H)  # met
    make_case(created=due - 4 * H, status=CaseStatus.CLOSED, first_response_due_at=due, closed_at=due - 2 * H)  # met
    make_case(created=due - 4 * H, status=CaseStatus.RESOLVED, first_response_due_at=due, resolved_at=due + H)  # late
    make_case(created=due - 4 * H, first_response_due_at=due)                                                  # missed

    share = sla_compliance(scope(supervisor), PERIOD, done_field="first_response_at", due_field="first_response_due_at", now=NOW)

    assert (share.part, share.total) == (2, 4)
    assert case_dashboard(supervisor, PERIOD, now=NOW).sla_first_response == share


def test_sla_resolution_leaves_out_a_case_whose_clock_is_paused(supervisor):
    due = NOW - D
    make_case(created=due - 2 * D, status=CaseStatus.RESOLVED, resolution_due_at=due, resolved_at=due - H)  # met
    make_case(created=due - 2 * D, resolution_due_at=due)                                                   # overdue
    make_case(created=due - 2 * D, status=CaseStatus.PENDING_CUSTOMER, resolution_due_at=due, sla_paused_at=due - H)  # paused

    share = sla_compliance(scope(supervisor), PERIOD, done_field="resolved_at", due_field="resolution_due_at", now=NOW)

    assert (share.part, share.total) == (1, 2)
    assert case_dashboard(supervisor, PERIOD, now=NOW).sla_resolution == share


def test_sla_with_no_case_due_has_no_rate(supervisor):
    share = sla_compliance(scope(supervisor), PERIOD, done_field="resolved_at", due_field="resolution_due_at", now=NOW)
    assert (share.part, share.total, share.rate) == (0, 0, None)


# --- first-contact resolution and reopen rate ------------------------------------------------


def test_once_and_done_and_reopen_rate_over_cases_resolved_in_the_period(supervisor):
    resolved_at = NOW - D
    once = make_case(created=NOW - 3 * D)
    reply(once, supervisor, NOW - 2 * D)
    twice = make_case(created=NOW - 3 * D)
    reply(twice, supervisor, NOW - 2 * D)
    reply(twice, supervisor, NOW - 2 * D + H)
    reopened = make_case(created=NOW - 3 * D, reopen_count=1)
    followed = make_case(created=NOW - 3 * D)
    reply(followed, supervisor, NOW - 2 * D)
    make_case(created=NOW - H, reopened_from=followed)  # the customer came back after the reopen window
    # notes and automatic messages (the acknowledgement has no author) are not replies
    quiet = make_case(created=NOW - 3 * D)
    reply(quiet, supervisor, NOW - 2 * D)
    add_note(case=quiet, author=supervisor, body="Vérifié avec l'entrepôt.")
    add_thread_entry(lock_case(quiet.pk), kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text="Nous avons bien reçu votre demande.")
    # and a case resolved before the period, a case still open
    early = make_case(created=datetime(2026, 2, 1, tzinfo=UTC), status=CaseStatus.RESOLVED, resolved_at=datetime(2026, 2, 2, tzinfo=UTC))
    make_case(created=NOW - 3 * D)
    Case.objects.filter(pk__in=[once.pk, twice.pk, reopened.pk, followed.pk, quiet.pk]).update(
        status=CaseStatus.RESOLVED, resolved_at=resolved_at, first_resolved_at=resolved_at
    )

    result = resolution_quality(scope(supervisor), PERIOD)

    assert result.resolved == 5
    assert (result.once_and_done.part, result.once_and_done.total) == (2, 5)  # once, quiet
    assert (result.reopened.part, result.reopened.rate) == (2, 0.4)  # reopened, followed
    assert early.pk not in scope(supervisor).filter(resolved_at__gte=PERIOD.start).values_list("pk", flat=True)


def test_a_case_reopened_and_not_resolved_again_still_counts_as_reopened(supervisor):
    # Two cases resolved yesterday through the workflow; the customer writes back on one. The
    # reopened case has no resolved_at any more: counted by it, the figures would say 0 %
    # reopened and 100 % once and done.
    from prevenance.cases.services import add_inbound_message, change_status

    cases = [make_case(created=NOW - 3 * D) for _ in range(2)]
    for case in cases:
        change_status(case=case, status=CaseStatus.RESOLVED, actor=supervisor)
    add_inbound_message(case=cases[0], body="En fait, toujours cassé.")
    cases[0].refresh_from_db()
    assert (cases[0].status, cases[0].resolved_at, cases[0].reopen_count) == (CaseStatus.OPEN, None, 1)
    now = timezone.now()  # the workflow stamps the real time
    today = Period(start=now - D, end=now + D)

    result = resolution_quality(scope(supervisor, today), today)

    assert result.resolved == 2
    assert (result.reopened.part, result.reopened.total) == (1, 2)
    assert (result.once_and_done.part, result.once_and_done.total) == (1, 2)


def test_a_case_closed_without_resolution_is_no_resolution_sla_to_meet(supervisor):
    due = NOW - D
    make_case(created=due - 2 * D, status=CaseStatus.CLOSED, resolution_due_at=due, closed_at=due - H)  # spam, closed
    make_case(created=due - 2 * D, status=CaseStatus.RESOLVED, resolution_due_at=due, resolved_at=due - H)  # met
    # resolved once, reopened, then closed: it had something to resolve, and missed it
    make_case(created=due - 2 * D, status=CaseStatus.CLOSED, resolution_due_at=due, first_resolved_at=due - H,
              closed_at=due + H, reopen_count=1)
    share = sla_compliance(scope(supervisor), PERIOD, done_field="resolved_at", due_field="resolution_due_at", now=NOW)
    assert (share.part, share.total) == (1, 2)


# --- gestures --------------------------------------------------------------------------------


def test_gestures_granted_in_the_period_by_currency_and_type(supervisor):
    case = make_case(created=NOW - 3 * D)
    agent = UserFactory(role="agent")
    DelegationLimit.objects.create(user=supervisor, currency="GBP", max_amount=Decimal("100"))
    granted = [
        request_gesture(case=case, type="refund", amount="20.00", currency="EUR", reason="Colis abîmé", actor=agent),
        request_gesture(case=case, type="refund", amount="10.50", currency="EUR", reason="Retard", actor=agent),
        request_gesture(case=case, type="voucher", amount="15", currency="EUR", reason="Geste", actor=agent),
        request_gesture(case=case, type="gift", amount="1500", currency="EUR", reason="Gros souci", actor=supervisor),
        request_gesture(case=case, type="refund", amount="12", currency="GBP", reason="Late", actor=supervisor),
    ]
    waiting = request_gesture(case=case, type="refund", amount="300", currency="EUR", reason="Trop gros", actor=agent)
    old = request_gesture(case=case, type="refund", amount="5", currency="EUR", reason="Ancien", actor=agent)
    Gesture.objects.filter(pk__in=[g.pk for g in granted]).update(decided_at=NOW - D)
    Gesture.objects.filter(pk=old.pk).update(decided_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert waiting.status == "requested"

    result = granted_gestures(scope(supervisor), PERIOD)

    assert result.count == 5
    assert [(line.currency, line.count, line.total) for line in result.by_currency] == [
        ("EUR", 4, Decimal("1545.50")), ("GBP", 1, Decimal("12.00")),
    ]
    assert [(line.key, line.currency, line.count, line.total) for line in result.by_type] == [
        ("gift", "EUR", 1, Decimal("1500.00")), ("refund", "EUR", 2, Decimal("30.50")), ("voucher", "EUR", 1, Decimal("15.00")),
        ("refund", "GBP", 1, Decimal("12.00")),
    ]


# --- contacts and cost -----------------------------------------------------------------------


def test_contacts_by_channel_with_estimated_cost(supervisor):
    # given unit costs (phone 6.00 EUR; email has none) and the period's touchpoints
    ensure_default_channel_costs()
    email = make_case(created=NOW - D, channel=Channel.EMAIL)  # its first message is an inbound interaction
    phone = make_case(created=NOW - D, channel=Channel.PHONE)  # opened by email intake here: the message channel is email
    Interaction.objects.filter(ref_type="cases.case", ref_id=str(phone.pk)).update(channel=Channel.PHONE, occurred_at=NOW - D)
    Interaction.objects.filter(ref_type="cases.case", ref_id=str(email.pk)).update(occurred_at=NOW - D)
    customer = email.customer
    Interaction.objects.bulk_create([
        Interaction(customer=customer, channel=Channel.PHONE, direction="inbound", summary="Appel", occurred_at=NOW - 2 * D),
        Interaction(customer=customer, channel=Channel.CHATBOT, direction="inbound", summary="Bot", occurred_at=NOW - 2 * D),
        Interaction(customer=customer, channel=Channel.CHATBOT, direction="inbound", summary="Bot", occurred_at=NOW - 3 * D),
        Interaction(customer=customer, channel=Channel.PHONE, direction="outbound", summary="Rappel", occurred_at=NOW - 2 * D),
        Interaction(customer=customer, channel=Channel.PHONE, direction="inbound", summary="Ancien",
                    occurred_at=datetime(2026, 2, 1, tzinfo=UTC)),
    ])

    result = contacts_by_channel(supervisor, scope(supervisor), PERIOD)

    # then: phone 2 contacts x 6.00, chatbot 2 x 0.80, email 1 contact with no cost set
    assert [(line.channel, line.cases, line.contacts, line.cost) for line in result.lines] == [
        ("phone", 1, 2, Decimal("12.00")), ("chatbot", 0, 2, Decimal("1.60")), ("email", 1, 1, None),
    ]
    assert result.totals == {"EUR": Decimal("13.60")}
    assert result.uncosted_contacts == 1


def test_out_of_office_replies_and_bounces_are_no_contacts(supervisor):
    from prevenance.cases.services import add_inbound_message

    case = make_case(created=NOW - D, channel=Channel.EMAIL)
    add_inbound_message(case=case, body="Je suis absente jusqu'au 3.", automatic="auto_reply", received_at=NOW - D)
    add_inbound_message(case=case, body="Et la facture ?", received_at=NOW - D)
    Interaction.objects.create(customer=case.customer, channel=Channel.EMAIL, direction="inbound", summary="Delivery failure",
                               occurred_at=NOW - D, external_id="cases.email:bounce-1@mx.example")  # kept off the cases
    Interaction.objects.filter(ref_type="cases.case").update(occurred_at=NOW - D)

    result = contacts_by_channel(supervisor, scope(supervisor), PERIOD)

    assert [(line.channel, line.contacts) for line in result.lines] == [("email", 2)]  # the opening message and the question


def test_contacts_of_a_team_are_those_on_its_cases(supervisor):
    team, other = TeamFactory(), TeamFactory()
    mine = make_case(created=NOW - D, team=team)
    theirs = make_case(created=NOW - D, team=other)
    Interaction.objects.filter(ref_type="cases.case").update(occurred_at=NOW - D)
    Interaction.objects.create(customer=mine.customer, channel=Channel.EMAIL, direction="inbound", summary="No case", occurred_at=NOW - D)

    for_team = Period(start=PERIOD.start, end=PERIOD.end, team=team)
    result = contacts_by_channel(supervisor, scope(supervisor, for_team), for_team)

    assert [(line.channel, line.cases, line.contacts) for line in result.lines] == [("email", 1, 1)]
    assert theirs.team_id == other.pk


def test_contacts_are_left_out_for_a_user_who_may_not_see_interactions(supervisor):
    supervisor.groups.clear()
    watcher = UserFactory(username="watcher")
    watcher.user_permissions.add(*_perms("cases.view_case", "cases.view_all_cases"))
    assert contacts_by_channel(watcher, scope(watcher), PERIOD) is None


def _perms(*dotted):
    from django.contrib.auth.models import Permission  # noqa: PLC0415

    return [Permission.objects.get(content_type__app_label=d.split(".")[0], codename=d.split(".")[1]) for d in dotted]


def test_default_channel_costs_follow_the_seed_ranking_and_never_overwrite(db):
    ChannelCost.objects.create(channel=Channel.PHONE, unit_cost=Decimal("7.25"))

    created = ensure_default_channel_costs()

    assert created == len(DEFAULT_CHANNEL_COSTS) - 1
    assert ChannelCost.objects.get(channel=Channel.PHONE).unit_cost == Decimal("7.25")
    ranked = ["field_visit", "store", "phone", "chat", "chatbot", "forum", "web"]
    costs = [DEFAULT_CHANNEL_COSTS[c] for c in ranked]
    assert costs == sorted(costs, reverse=True) and len(set(costs)) == len(costs)
    assert ensure_default_channel_costs() == 0


@pytest.mark.django_db(transaction=True)
def test_two_bootstraps_at_once_create_each_default_cost_once():
    results, errors = run_concurrently(ensure_default_channel_costs, ensure_default_channel_costs)

    assert errors == []
    assert sum(results) == len(DEFAULT_CHANNEL_COSTS)  # each default created by exactly one of the two
    assert ChannelCost.objects.count() == len(DEFAULT_CHANNEL_COSTS)


# --- filters, visibility, queries ------------------------------------------------------------


def test_team_and_channel_filters_restrict_every_case_figure(supervisor):
    team = TeamFactory()
    make_case(created=NOW - H, team=team, channel=Channel.EMAIL)
    make_case(created=NOW - H, team=team, channel=Channel.PHONE)
    make_case(created=NOW - H, channel=Channel.EMAIL)

    def open_count(**filters):
        board = case_dashboard(supervisor, Period(start=PERIOD.start, end=PERIOD.end, **filters), now=NOW)
        return sum(b.count for b in board.backlog_by_age)

    assert open_count() == 3
    assert open_count(team=team) == 2
    assert open_count(channel=Channel.EMAIL) == 2
    assert open_count(team=team, channel=Channel.PHONE) == 1


def test_only_supervisors_get_the_dashboard(agent, marketer, nobody, supervisor, admin_user):
    for user in (agent, marketer, nobody):
        with pytest.raises(PermissionDenied):
            case_dashboard(user, PERIOD, now=NOW)
    for user in (supervisor, admin_user):
        assert case_dashboard(user, PERIOD, now=NOW).resolution.resolved == 0


def test_a_period_that_ends_before_it_starts_or_an_unknown_channel_is_refused():
    with pytest.raises(ValidationError) as exc:
        Period(start=PERIOD.end, end=PERIOD.start)
    assert "end" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        Period(start=PERIOD.start, end=PERIOD.end, channel="pigeon")
    assert "channel" in exc.value.message_dict


def test_the_number_of_queries_does_not_grow_with_the_cases(supervisor):
    ensure_default_channel_costs()
    agent = UserFactory(role="agent")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            case_dashboard(supervisor, PERIOD, now=NOW)
        return len(ctx.captured_queries)

    queries()  # the first call also loads the user's permissions (cached on the user afterwards)
    case = make_case(created=NOW - 2 * D, status=CaseStatus.RESOLVED, resolved_at=NOW - D, first_response_at=NOW - D)
    request_gesture(case=case, type="refund", amount="5", currency="EUR", reason="x", actor=agent)
    few = queries()
    for _n in range(6):
        case = make_case(created=NOW - 2 * D, status=CaseStatus.RESOLVED, resolved_at=NOW - D, first_response_at=NOW - D)
        request_gesture(case=case, type="voucher", amount="5", currency="EUR", reason="x", actor=agent)
    assert queries() == few


# --- charts ----------------------------------------------------------------------------------


def test_bar_chart_scales_to_the_largest_value_or_the_given_scale():
    chart = bar_chart("c", "Title", [("a", 10, "10"), ("b", 5, "5"), ("c", 0, "0")])
    assert [bar.width for bar in chart.bars] == [300.0, 150.0, 0.0]
    assert chart.summary == "Title. a: 10; b: 5; c: 0"
    assert [bar.width for bar in bar_chart("p", "Share", [("x", 50, "50 %")], scale=100).bars] == [150.0]


def test_durations_read_as_people_say_them():
    assert [format_duration(v) for v in (None, timedelta(minutes=45), timedelta(hours=3, minutes=5), timedelta(days=2, hours=4))] == [
        "—", "45 min", "3 h 05 min", "2 d 4 h",
    ]


# --- the pages -------------------------------------------------------------------------------


def _day(value: datetime) -> str:
    return value.date().isoformat()


def test_the_dashboard_page_draws_each_figure_as_a_chart_with_its_table(client, supervisor):
    # given a case answered in 2 hours and resolved once and done, yesterday
    ensure_default_channel_costs()
    yesterday = datetime.now(UTC) - D
    case = make_case(created=yesterday - 2 * H)
    reply(case, supervisor, yesterday)
    Case.objects.filter(pk=case.pk).update(first_response_at=yesterday, status=CaseStatus.RESOLVED, resolved_at=yesterday,
                                           first_resolved_at=yesterday)
    client.force_login(supervisor)

    response = client.get("/cases/dashboard/")

    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("chart-age", "chart-status", "chart-times", "chart-sla", "chart-quality"):
        assert f'aria-label="{_chart_title(response, chart)}' in html
    assert html.count('role="img"') >= 6  # every chart is an image with a text alternative...
    assert html.count("<table") >= 6  # ...and its figures in a table
    assert response.context["board"].resolution.once_and_done.part == 1
    assert response.context["texts"]["first_median"] == "2 h 00 min"
    assert 'aria-current="page"' in html and "/cases/dashboard/" in html  # the nav link


def _chart_title(response, chart_id: str) -> str:
    return next(chart.summary for chart in response.context["charts"].values() if chart.id == chart_id).split(".")[0]


def test_numbers_follow_the_language_but_chart_coordinates_never_do(client, supervisor):
    yesterday = datetime.now(UTC) - D
    for n in range(3):
        make_case(created=yesterday, status=CaseStatus.RESOLVED, resolved_at=yesterday, reopen_count=int(n == 0))
    client.force_login(supervisor)

    html = client.get("/cases/dashboard/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "33,3\u00a0%" in html  # one in three reopened, written the French way (a no-break space)
    assert 'width="100.0"' in html  # the same bar, with a dot inside the SVG
    assert not re.search(r'\b(width|x|y)="\d+,\d', html)  # no attribute anywhere with a decimal comma


def test_filters_and_the_period_come_from_the_query_string(client, supervisor):
    team = TeamFactory()
    make_case(created=NOW - H, team=team)
    make_case(created=NOW - H)
    client.force_login(supervisor)

    response = client.get("/cases/dashboard/", {"start": "2026-03-01", "end": "2026-03-20", "team": team.pk, "channel": "email"})

    assert response.status_code == 200
    board = response.context["board"]
    assert board.period.team == team and board.period.channel == "email"
    assert board.period.end - board.period.start == 20 * D
    assert sum(b.count for b in board.backlog_by_status) == 1


@pytest.mark.parametrize("query, field", [
    ({"start": "2026-03-20", "end": "2026-03-01"}, "end"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
    ({"start": "2020-01-01", "end": "2026-03-01"}, "start"),
    ({"start": "2026-03-01", "end": "2026-03-20", "team": "999999"}, "team"),
    ({"start": "2026-03-01", "end": "2026-03-20", "channel": "pigeon"}, "channel"),
])
def test_bad_filters_answer_400_with_the_reason_and_no_figures(client, supervisor, query, field):
    client.force_login(supervisor)
    response = client.get("/cases/dashboard/", query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "board" not in response.context


def _query(link: dict) -> dict:
    return dict(parse_qsl(link["query"]))


def test_the_satisfaction_grouping_links_work_on_the_dashboard_opened_without_a_query_string(client, supervisor):
    # given the dashboard opened from the menu: no query string, the default period
    client.force_login(supervisor)
    page = client.get("/cases/dashboard/")
    today = timezone.localdate()

    # when the supervisor follows "by team"
    by_team = next(link for link in page.context["satisfaction_links"] if _query(link)["satisfaction_by"] == "team")
    response = client.get("/cases/dashboard/?" + by_team["query"])

    # then the same period, grouped by team (it was a 400: "This field is required.")
    assert response.status_code == 200
    assert _query(by_team) == {"start": (today - 29 * D).isoformat(), "end": today.isoformat(), "satisfaction_by": "team"}
    assert [link["current"] for link in response.context["satisfaction_links"]] == [False, True, False]
    assert response.context["board"].period.end - response.context["board"].period.start == 30 * D


def test_a_query_string_missing_the_dates_takes_the_default_period(client, supervisor):
    client.force_login(supervisor)
    team = TeamFactory()

    response = client.get("/cases/dashboard/", {"satisfaction_by": "agent", "team": team.pk})

    assert response.status_code == 200
    assert response.context["board"].period.team == team
    assert response.context["board"].period.end.date() == timezone.localdate() + D
    assert _query(response.context["satisfaction_links"][0]) == {
        "start": (timezone.localdate() - 29 * D).isoformat(), "end": timezone.localdate().isoformat(),
        "team": str(team.pk), "satisfaction_by": "channel",
    }


def test_the_quick_periods_keep_the_filters_and_the_satisfaction_grouping(client, supervisor):
    client.force_login(supervisor)
    query = {"start": "2026-03-01", "end": "2026-03-20", "channel": "email", "satisfaction_by": "team"}

    presets = client.get("/cases/dashboard/", query).context["presets"]

    today = timezone.localdate()
    assert [_query(preset) for preset in presets] == [
        {"start": (today - (days - 1) * D).isoformat(), "end": today.isoformat(), "channel": "email", "satisfaction_by": "team"}
        for days in (7, 30, 90, 365)
    ]


@pytest.mark.parametrize("url", ["/cases/dashboard/", "/cases/gestures/report/", "/cases/gestures/report/?format=csv"])
@pytest.mark.parametrize("start, end, field", [
    ("9999-12-30", "9999-12-31", "end"),  # the day after the last one does not exist
    ("0001-01-01", "0001-01-02", "start"),  # midnight in Paris is before the first UTC instant
    ("1899-12-31", "1900-01-02", "start"),
    ("2999-12-31", "3000-01-01", "end"),
])
def test_dates_at_the_ends_of_the_calendar_answer_400_with_the_reason(client, supervisor, url, start, end, field):
    client.force_login(supervisor)

    response = client.get(url, {"start": start, "end": end})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == ["Choose a year between 1900 and 2999."]
    assert "board" not in response.context and "report" not in response.context


def test_the_first_and_last_sane_years_are_accepted(client, supervisor):
    client.force_login(supervisor)
    for start, end in (("1900-01-01", "1900-01-02"), ("2999-12-30", "2999-12-31")):
        assert client.get("/cases/dashboard/", {"start": start, "end": end}).status_code == 200
        assert client.get("/cases/gestures/report/", {"start": start, "end": end, "format": "csv"}).status_code == 200


def test_agents_and_anonymous_visitors_do_not_get_the_dashboard(client, agent):
    assert client.get("/cases/dashboard/").status_code == 302
    client.force_login(agent)
    assert client.get("/cases/dashboard/").status_code == 403
    assert "/cases/dashboard/" not in client.get("/").content.decode()


def test_the_control_report_page_and_its_csv(client, supervisor, agent):
    case = make_case(created=NOW - D)
    gesture = request_gesture(case=case, type="refund", amount="20", currency="EUR", reason="Colis abîmé", actor=agent)
    today = timezone.localtime()  # the report reads its dates as days of the service's time zone
    client.force_login(supervisor)

    page = client.get("/cases/gestures/report/", {"start": _day(today - D), "end": _day(today)})
    download = client.get("/cases/gestures/report/", {"start": _day(today - D), "end": _day(today), "format": "csv"})

    assert page.status_code == 200 and gesture.status == "granted"
    assert [(line.agent, line.count, line.total) for line in page.context["report"].lines] == [("agent", 1, Decimal("20.00"))]
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download.content.decode().splitlines()[1] == "agent,EUR,1,20.00,20.00,0,no"
    assert client.get("/cases/gestures/report/", {"start": "2026-03-02", "end": "2026-03-01"}).status_code == 400
    client.force_login(agent)
    assert client.get("/cases/gestures/report/").status_code == 403


# --- satisfaction (the surveys' own selector) ------------------------------------------------


def test_satisfaction_by_channel_counts_answers_only(supervisor):
    ensure_default_templates()
    answered_at = NOW - D
    answers = [(Channel.EMAIL, 5, 6), (Channel.EMAIL, 3, 2), (Channel.PHONE, 4, None), (Channel.EMAIL, None, None)]
    for channel, csat, ces in answers:
        case = make_case(created=NOW - 3 * D, channel=channel)
        survey = send_survey(case=case, now=answered_at - H)
        if csat is not None:
            answer_survey(token=survey.token, csat=csat, ces=ces, now=answered_at)

    board = case_dashboard(supervisor, PERIOD, now=NOW)
    by_team = case_dashboard(supervisor, PERIOD, now=NOW, satisfaction_by="team")

    lines = {line.key: (line.csat, line.csat_responses, line.ces, line.ces_responses) for line in board.satisfaction.lines}
    assert lines == {"email": (Decimal("50.0"), 2, Decimal("4.00"), 2), "phone": (Decimal("100.0"), 1, None, 0)}
    total = board.satisfaction.total
    assert (total.csat, total.csat_responses) == (Decimal("66.7"), 3)
    assert [line.label for line in by_team.satisfaction.lines] == ["No team"]
    with pytest.raises(ValidationError):
        case_dashboard(supervisor, PERIOD, now=NOW, satisfaction_by="weather")


def test_satisfaction_follows_the_team_and_channel_filters(supervisor):
    ensure_default_templates()
    answered_at = NOW - D
    team = TeamFactory(name="Livraison")
    for channel, csat, in_team in ((Channel.EMAIL, 5, True), (Channel.EMAIL, 1, False), (Channel.PHONE, 2, True)):
        case = make_case(created=NOW - 3 * D, channel=channel)
        if in_team:
            Case.objects.filter(pk=case.pk).update(team=team)
            case.refresh_from_db()
        survey = send_survey(case=case, now=answered_at - H)
        answer_survey(token=survey.token, csat=csat, now=answered_at)

    def total(**filters):
        summary = case_dashboard(supervisor, Period(start=PERIOD.start, end=PERIOD.end, **filters), now=NOW).satisfaction.total
        return summary.csat, summary.csat_responses

    assert total() == (Decimal("33.3"), 3)
    assert total(team=team) == (Decimal("50.0"), 2)
    assert total(channel=Channel.EMAIL) == (Decimal("50.0"), 2)
    assert total(team=team, channel=Channel.EMAIL) == (Decimal("100.0"), 1)


def test_the_migration_backfills_the_first_resolution_from_the_audit_trail(supervisor):
    import importlib

    from django.apps import apps

    from prevenance.cases.services import add_inbound_message, change_status

    backfill = importlib.import_module("prevenance.cases.migrations.0014_first_resolved_at").backfill
    resolved, reopened, never = (make_case(created=NOW - 3 * D) for _ in range(3))
    for case in (resolved, reopened):
        change_status(case=case, status=CaseStatus.RESOLVED, actor=supervisor)
    add_inbound_message(case=reopened, body="Toujours cassé.")  # reopened, not resolved again
    first = {case.pk: Case.objects.get(pk=case.pk).first_resolved_at for case in (resolved, reopened)}
    Case.objects.update(first_resolved_at=None)  # as before the migration

    backfill(apps, None)

    after = dict(Case.objects.filter(pk__in=[resolved.pk, reopened.pk, never.pk]).values_list("pk", "first_resolved_at"))
    assert (after[resolved.pk], after[never.pk]) == (first[resolved.pk], None)
    # the reopened one's from its audit row, written in the same transaction as the status
    assert abs(after[reopened.pk] - first[reopened.pk]) < timedelta(seconds=1)


def test_shares_and_means_are_rounded_half_up_not_cut_off():
    from django.utils import translation

    from prevenance.cases.views.charts import format_share
    from prevenance.core.formats import rounded

    assert format_share(10 / 22) == "45.5%"  # 45.45… was shown 45.4; no space before % in English
    assert rounded(4.125, 2) == Decimal("4.13") and rounded(2 / 3 * 100, 1) == Decimal("66.7")
    with translation.override("fr"):
        assert format_share(10 / 22) == "45,5\u00a0%"  # a no-break space in French


def test_the_two_satisfaction_charts_say_which_is_which(client, supervisor):
    ensure_default_templates()
    case = make_case(created=NOW - 3 * D, channel=Channel.EMAIL)
    survey = send_survey(case=case, now=NOW - 2 * D)
    answer_survey(token=survey.token, csat=5, ces=6, now=NOW - D)
    client.force_login(supervisor)

    html = client.get("/cases/dashboard/", {"start": (NOW - 30 * D).date().isoformat(), "end": NOW.date().isoformat()}).content.decode()

    captions = re.findall(r'<figcaption class="chart-caption">([^<]*)</figcaption>', html)
    assert captions == ["CSAT: share of 4 and 5 answers", "Customer effort: mean on the 1 to 7 scale"]
