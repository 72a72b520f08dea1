"""The demo's SLA policies give due times a company means (a working day to answer, three to
resolve; complaints half a day and two), across nights, weekends and holidays."""

from datetime import UTC, date, datetime, timedelta

import pytest

from prevenance.cases import sla
from prevenance.cases.models import SLAPolicy
from prevenance.core.calendars import build_spec, default_calendar_periods
from prevenance.demo.cases import DEMO_SLA_POLICIES, french_public_holidays

H = timedelta(hours=1)
M = timedelta(minutes=1)


# The demo's policies: due times a company means --------------------------------------------


@pytest.fixture
def office_hours():
    """The demo's calendar: Paris, Monday to Friday 09:00–12:30 and 13:30–18:00, French holidays."""
    holidays = [day for day, _name in french_public_holidays(2026)]
    return build_spec(time_zone="Europe/Paris", periods=default_calendar_periods(), holidays=holidays, name="Bureau")


def demo_policy(name: str) -> SLAPolicy:
    return SLAPolicy(name=name, **dict(DEMO_SLA_POLICIES)[name])


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - H  # Paris is UTC+1 in winter


def test_the_demo_targets_are_business_hours_a_company_means():
    assert dict(DEMO_SLA_POLICIES)["Standard"] == {"first_response_target": 8 * H, "resolution_target": 24 * H}
    assert dict(DEMO_SLA_POLICIES)["Réclamations"]["first_response_target"] == 4 * H
    assert dict(DEMO_SLA_POLICIES)["Réclamations"]["resolution_target"] == 16 * H


@pytest.mark.parametrize(("name", "opened", "first_due", "resolution_due"), [
    # Tuesday 09:07: answered by Wednesday 09:07 (one working day), resolved by Friday 09:07 (three)
    ("Standard", paris(date(2026, 12, 1), 9, 7), paris(date(2026, 12, 2), 9, 7), paris(date(2026, 12, 4), 9, 7)),
    # the reviewer's complaint: Tuesday 09:07, first response 14:07, resolved Thursday 09:07 (two working days)
    ("Réclamations", paris(date(2026, 12, 1), 9, 7), paris(date(2026, 12, 1), 14, 7), paris(date(2026, 12, 3), 9, 7)),
    # Tuesday 17:30, overnight: 30 minutes that evening, the rest from Wednesday 09:00
    ("Standard", paris(date(2026, 12, 1), 17, 30), paris(date(2026, 12, 2), 17, 30), paris(date(2026, 12, 4), 17, 30)),
    # Friday 16:00, over the weekend: Monday 16:00 and Wednesday 16:00
    ("Standard", paris(date(2026, 12, 4), 16, 0), paris(date(2026, 12, 7), 16, 0), paris(date(2026, 12, 9), 16, 0)),
    # Saturday: the clocks start on Monday 09:00
    ("Réclamations", paris(date(2026, 12, 5), 11, 0), paris(date(2026, 12, 7), 14, 0), paris(date(2026, 12, 8), 18, 0)),
    # Thursday 24 December 17:00, over Christmas and the weekend: Monday 28 at 17:00
    ("Standard", paris(date(2026, 12, 24), 17, 0), paris(date(2026, 12, 28), 17, 0), paris(date(2026, 12, 30), 17, 0)),
])
def test_the_demo_policies_due_times_across_nights_weekends_and_holidays(office_hours, name, opened, first_due,
                                                                         resolution_due):
    due = sla.due_times(office_hours, demo_policy(name), opened)
    assert (due.first_response, due.resolution) == (first_due, resolution_due)
