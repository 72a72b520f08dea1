"""The gesture approval queue in a real Chromium: a supervisor grants an agent's gesture above their limit.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_gesture_approvals_browser.py
Save a screenshot: add PREVENANCE_SCREENSHOT_APPROVALS=docs/approvals.png
"""

import os
from pathlib import Path

import pytest

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Gesture
from prevenance.cases.services import ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's Chromium to run browser tests"),
]


def test_a_supervisor_grants_a_gesture_from_the_queue_in_french(live_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="lucie", first_name="Lucie", role="agent")
    UserFactory(username="claire", first_name="Claire", role="supervisor")
    TeamFactory(name="Livraison", members=[agent])
    case = open_email_case("helene@example.com", subject="Canapé livré taché").case
    request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 800}, locale="fr-FR")
            page.goto(f"{live_server.url}/login/?next=/cases/gestures/approvals/")
            page.fill("#id_username", "claire")
            page.fill("#id_password", "correct horse battery")
            page.click("button[type=submit].btn-primary")
            page.select_option("#language-select", "fr")
            expect(page.locator("html")).to_have_attribute("lang", "fr")
            expect(page.locator("h1")).to_have_text("Gestes en attente de validation")
            expect(page.locator("table")).to_contain_text(case.reference)
            target = os.environ.get("PREVENANCE_SCREENSHOT_APPROVALS")
            if target:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=target, full_page=True)
            page.click("button[name=decision][value=approve]")
            expect(page.locator(".messages")).to_contain_text(case.reference)
            expect(page.locator("main")).to_contain_text("Aucun geste n’attend votre décision.")
        finally:
            browser.close()
    assert Gesture.objects.get().status == GestureStatus.GRANTED
