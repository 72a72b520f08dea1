"""SLA targets in business hours: typed and read as hours and minutes, never days; the time left
on the case page and in the inbox says what it counts (demo/tests/test_demo_sla.py: the demo's
policies' due times)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from prevenance.cases import sla
from prevenance.cases.models import SLAPolicy
from prevenance.cases.sla_targets import format_target, parse_target, target_label
from prevenance.cases.templatetags.case_tags import sla_badge, sla_counted, sla_left, sla_title
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import create_business_calendar, default_calendar_periods

H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Typing a target ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("8", 8 * H), ("8h", 8 * H), ("8 h", 8 * H), ("8 H", 8 * H), ("8 hours", 8 * H), ("8 heures", 8 * H),
    ("8 h 30", 8 * H + 30 * M), ("8h30", 8 * H + 30 * M), ("1 h 30 min", 90 * M), ("1 hour 30 minutes", 90 * M),
    ("1 heure et 30 minutes", 90 * M), ("90 min", 90 * M), ("90 minutes", 90 * M), ("1,5 h", 90 * M), ("1.5 h", 90 * M),
    ("24 h ouvrées", 24 * H), ("24 business hours", 24 * H), ("1 h 30 min of business time", 90 * M),
    ("8:30", 8 * H + 30 * M), ("08:00:00", 8 * H), ("  16\u00a0h ", 16 * H), ("1 min", M), ("8760 h", 8760 * H),
])
def test_a_target_is_read_in_business_hours_and_minutes_in_french_and_english(text, expected):
    assert parse_target(text) == expected


DAYS = ("A target is counted in business hours, not in days: on a calendar open 8 hours a day, "
        "three working days are “24 h”.")
FORMAT = "Write the target in business hours and minutes: “8 h”, “24 h”, “1 h 30 min” or “90 min”."
RANGE = "A target of at least one minute and at most 8760 business hours."


@pytest.mark.parametrize(("text", "message"), [
    ("3 j", DAYS), ("3 jours", DAYS), ("2 days", DAYS), ("1 d", DAYS), ("3 jours ouvrés", DAYS),
    ("2 00:00:00", DAYS), ("1 day, 0:00:00", DAYS),
    ("8 h 75", "The minutes after the hours go from 0 to 59: “1 h 30”, or “90 min”."), ("8:75", None),
    ("08:00:30", "A target is counted in whole minutes."), ("0.01 h", "A target is counted in whole minutes."),
    ("0", RANGE), ("0 min", RANGE), ("8761 h", RANGE), ("99999999 h", RANGE),
    ("", FORMAT), ("huit heures", FORMAT), ("-8 h", FORMAT), ("8 h -30", FORMAT), ("P1D", DAYS),
])
def test_a_target_that_is_not_hours_and_minutes_is_refused_saying_why(text, message):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        parse_target(text)
    assert refused.value.messages == [message or "The minutes after the hours go from 0 to 59: “1 h 30”, or “90 min”."]


def test_the_refusals_are_said_in_french():
    with translation.override("fr"):
        with pytest.raises(ValidationError) as days:
            parse_target("3 j")
        with pytest.raises(ValidationError) as garbled:
            parse_target("trois heures")
    assert days.value.messages == [
        "Un objectif se compte en heures ouvrées, pas en jours\u00a0: avec un calendrier ouvert 8 heures par jour, "
        "trois jours ouvrés font «\u00a024 h\u00a0»."]
    assert garbled.value.messages == [
        "Saisissez l’objectif en heures et minutes ouvrées\u00a0: «\u00a08 h\u00a0», «\u00a024 h\u00a0», "
        "«\u00a01 h 30 min\u00a0» ou «\u00a090 min\u00a0»."]


# Reading a target --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown", "label"), [
    (24 * H, "24 h", "24 business hours"), (H, "1 h", "1 business hour"), (90 * M, "1 h 30 min", "1 h 30 min of business time"),
    (45 * M, "45 min", "45 min of business time"), (timedelta(days=3), "72 h", "72 business hours"),
    (8 * H + timedelta(seconds=30), "8 h", "8 business hours"),
])
def test_a_target_is_shown_in_hours_and_minutes_never_days_and_reads_back(value, shown, label):
    with translation.override("en"):
        assert (format_target(value), target_label(value)) == (shown, label)
        assert parse_target(format_target(value)) == timedelta(minutes=int(value.total_seconds() // 60))
        assert parse_target(label) == timedelta(minutes=int(value.total_seconds() // 60))


def test_a_target_reads_as_business_hours_in_french():
    with translation.override("fr"):
        assert (target_label(24 * H), target_label(90 * M)) == ("24 h ouvrées", "1 h 30 min ouvrées")


# The time left: what it counts, and the due time on hover -----------------------------------


def clock(left, *, business_hours=True, exact=True, paused=False, clock_name="resolution"):
    return sla.TimeLeft(clock=clock_name, due_at=utc(2026, 12, 14, 8, 7), left=left, target=24 * H, paused=paused,
                        near=False, business_hours=business_hours, exact=exact)


def test_the_time_left_is_hours_and_minutes_of_what_the_clock_counts():
    with translation.override("en"), timezone.override("Europe/Paris"):
        running = clock(31 * H + 5 * M)
        assert (sla_left(running), sla_badge(running), sla_counted(running)) == ("31 h 05 min left", "31 h 05 min", "business hours")
        assert sla_title(running) == "Resolution · due 14/12/2026 09:07 · business hours"
        late = clock(-(2 * H + 5 * M), clock_name="first_response")
        assert (sla_left(late), sla_badge(late)) == ("2 h 05 min late", "2 h 05 min late")
        anytime = clock(50 * H, business_hours=False)
        assert (sla_left(anytime), sla_counted(anytime)) == ("50 h left", "around the clock")
        assert sla_left(clock(3 * H, paused=True)) == "paused, 3 h left"


def test_a_clock_known_only_in_wall_clock_time_shows_its_due_time_not_a_time_left():
    # selectors/inbox.py gives the wall-clock distance far from the due time: not business hours
    with translation.override("en"), timezone.override("Europe/Paris"):
        far = clock(9 * 24 * H + 8 * H, business_hours=False, exact=False)
        assert sla_left(far) == sla_badge(far) == "due 14/12/2026 09:07"
        assert sla_counted(far) == "" and sla_title(far) == "Resolution · due 14/12/2026 09:07"
        overdue = clock(-40 * 24 * H, business_hours=False, exact=False)
        assert sla_left(overdue) == "overdue since 14/12/2026 09:07"


@pytest.mark.django_db
def test_the_case_page_and_the_inbox_say_business_hours_with_the_due_time_on_hover(supervisor, monkeypatch):
    # Given a case opened Tuesday 1 December 2026 at 09:07 in Paris, on the office hours, under
    # a standard policy (first response 8 h, resolution 24 h, as the demo's)
    calendar = create_business_calendar(name="Bureau", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar, routing_method="manual")
    team.members.add(supervisor)
    SLAPolicy.objects.create(name="Standard", first_response_target=8 * H, resolution_target=24 * H)
    monkeypatch.setattr(timezone, "now", lambda: utc(2026, 12, 1, 8, 8))
    case = open_email_case("lea@example.com", received_at=utc(2026, 12, 1, 8, 7), team=team).case
    client = Client()
    client.force_login(supervisor)

    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    line = page[page.index('<p class="sla'):page.index("</p>", page.index('id="sla-left"'))]
    inbox = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cell = inbox[inbox.index('<span class="sla'):inbox.index("</span>", inbox.index('<span class="sla'))]

    # then both count the first response in business hours, and give its due time on hover
    assert "First response · 7 h 59 min left" in line and "(business hours)" in line
    assert 'title="First response · due 02/12/2026 09:07 · business hours"' in line
    assert cell.endswith(">7 h 59 min") and 'title="First response · due 02/12/2026 09:07 · business hours"' in cell
    assert " d " not in line and " d " not in cell
