"""The supervisor dashboard in a real Chromium: filter by team, read a chart's text alternative.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_dashboard_browser.py
Save a screenshot: add PREVENANCE_SCREENSHOT_DIR=docs (dashboard.png)
"""

import random
import re
from datetime import timedelta

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot
from django.utils import timezone

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, Gesture, Message
from prevenance.cases.services import (
    add_reply,
    answer_survey,
    ensure_default_channel_costs,
    ensure_default_templates,
    request_gesture,
    send_survey,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import UserFactory
from prevenance.interactions.models import Interaction

pytestmark = BROWSER_TESTS

# Channels weighted as a home retailer's care service sees them.
CHANNELS = [(Channel.EMAIL, 40), (Channel.PHONE, 25), (Channel.CHAT, 12), (Channel.WEB, 8), (Channel.STORE, 8),
            (Channel.SOCIAL, 5), (Channel.FIELD_VISIT, 2)]


def realistic_month(rng: random.Random) -> tuple:
    """Six weeks of a care service: cases of three teams, answered, resolved or still open,
    SLA due times, gestures, and self-service contacts that never became cases."""
    ensure_default_channel_costs()
    ensure_default_templates()
    agents = [UserFactory(username=name, first_name=name.capitalize(), role="agent") for name in ("lucie", "karim", "sophie")]
    teams = [TeamFactory(name=name, members=agents) for name in ("Livraison", "Après-vente", "Magasins")]
    now = timezone.now()
    channels, weights = zip(*CHANNELS, strict=True)
    for n in range(90):
        opened = now - timedelta(days=rng.uniform(0, 45) ** 1.1 / 1.5, hours=rng.uniform(0, 8))
        channel = rng.choices(channels, weights)[0]
        case = open_email_case(f"client{n}@example.com", subject=f"Demande {n}", received_at=opened, channel=channel).case
        fields = {"created_at": opened, "team": rng.choice(teams), "assignee": rng.choice(agents)}
        fields["first_response_due_at"] = opened + timedelta(hours=8)
        fields["resolution_due_at"] = opened + timedelta(days=3)
        answered = rng.random() < 0.85 and opened + timedelta(hours=1) < now
        if answered:
            first = opened + timedelta(minutes=rng.lognormvariate(5, 0.9))
            first = min(first, now - timedelta(minutes=5))
            for _reply in range(rng.choice([1, 1, 1, 2, 3])):
                add_reply(case=case, author=fields["assignee"], body="Bonjour, nous nous en occupons.")
            fields.update(first_response_at=first, status=CaseStatus.OPEN)
            resolved = first + timedelta(hours=rng.lognormvariate(3, 1.1))
            if resolved < now and rng.random() < 0.75:
                fields.update(status=CaseStatus.RESOLVED, resolved_at=resolved, reopen_count=int(rng.random() < 0.08))
            elif rng.random() < 0.3:
                fields["status"] = rng.choice([CaseStatus.PENDING_CUSTOMER, CaseStatus.PENDING_INTERNAL])
        Case.objects.filter(pk=case.pk).update(**fields)
        Message.objects.filter(case=case).update(created_at=opened)
        Interaction.objects.filter(ref_type="cases.case", ref_id=str(case.pk)).update(occurred_at=opened, channel=channel)
        if fields.get("resolved_at") and rng.random() < 0.6:
            case.refresh_from_db()
            survey = send_survey(case=case, now=fields["resolved_at"])
            if survey is not None and rng.random() < 0.7:
                score = rng.choices([5, 4, 3, 2, 1], [45, 30, 12, 8, 5])[0]
                answer_survey(token=survey.token, csat=score, ces=min(7, max(1, score + rng.choice([0, 1, 2, -1]))),
                              now=fields["resolved_at"] + timedelta(hours=2))
        if answered and rng.random() < 0.2:
            kind, amount = rng.choice([("refund", "15.00"), ("voucher", "20.00"), ("gift", "8.00"), ("redelivery", "35.00")])
            gesture = request_gesture(case=case, type=kind, amount=amount, currency="EUR", reason="Retard de livraison",
                                      actor=fields["assignee"])
            Gesture.objects.filter(pk=gesture.pk).update(decided_at=fields["first_response_at"])
    customer = Case.objects.first().customer
    Interaction.objects.bulk_create([
        Interaction(customer=customer, channel=channel, direction="inbound", summary="Self-service",
                    occurred_at=now - timedelta(days=rng.uniform(0, 29)))
        for channel, count in ((Channel.CHATBOT, 140), (Channel.FORUM, 60), (Channel.MOBILE_APP, 90)) for _n in range(count)
    ])
    return teams


def test_a_supervisor_filters_the_dashboard_by_team(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    teams = realistic_month(random.Random(7))
    UserFactory(username="claire", first_name="Claire", role="supervisor")
    team_open = Case.objects.filter(team=teams[0], status__in=["new", "open", "pending_customer", "pending_internal"]).count()
    assert team_open > 0  # else the sum below would prove nothing

    with chromium_page(monkeypatch, width=1366, height=900, locale="en-GB") as page:
        log_in(page, live_server, "/login/?next=/cases/dashboard/", "claire")
        expect(page).to_have_url(f"{live_server.url}/cases/dashboard/")
        expect(page.locator("h1")).to_have_text("Supervisor dashboard")
        expect(page.locator("svg[role=img]").first).to_have_attribute("aria-label", _starts_with("Open cases by age."))

        screenshot(page, "dashboard.png")

        page.select_option("#id_team", str(teams[0].pk))
        page.click("button[type=submit]:has-text('Show')")
        expect(page).to_have_url(_contains(f"team={teams[0].pk}"))
        rows = page.locator("#dash-backlog ~ .table-scroll table").first.locator("tbody tr td.num")
        counts = [int(text) for text in rows.all_inner_texts()]
        assert sum(counts) == team_open
        expect(page.locator(".dash-grid")).to_contain_text("Inbound contacts")
        assert page.locator("#dash-contacts ~ .table-scroll table tbody tr").count() > 0


def _starts_with(prefix: str) -> re.Pattern:
    return re.compile("^" + re.escape(prefix))


def _contains(text: str) -> re.Pattern:
    return re.compile(re.escape(text))
