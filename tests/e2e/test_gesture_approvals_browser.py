"""The gesture approval queue in a real Chromium: a supervisor grants an agent's gesture above their limit.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_gesture_approvals_browser.py
Save a screenshot: add PREVENANCE_SCREENSHOT_DIR=docs (approvals.png)
"""

import re

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import Gesture
from prevenance.cases.services import ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import TeamFactory, an_approver_who_leaves, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def test_a_supervisor_grants_a_gesture_from_the_queue_in_french(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="lucie", first_name="Lucie", role="agent")
    UserFactory(username="claire", first_name="Claire", role="supervisor")
    TeamFactory(name="Livraison", members=[agent])
    case = open_email_case("helene@example.com", subject="Canapé livré taché").case
    request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)
    big = open_email_case("marc@example.com", subject="Cuisine livrée incomplète").case
    with an_approver_who_leaves():  # asked for before its approver left: now above every limit
        request_gesture(case=big, type="refund", amount="3200", currency="EUR", reason="Cuisine incomplète", actor=agent)

    with chromium_page(monkeypatch, width=1366, height=800, locale="fr-FR") as page:
        log_in(page, live_server, "/login/?next=/cases/gestures/approvals/", "claire")
        page.select_option("#language-select", "fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("h1")).to_have_text("Gestes en attente de validation")
        expect(page.locator("table").first).to_contain_text(case.reference)
        # Above every limit: listed under the queue, with what an administrator must do.
        expect(page.locator("#waiting-" + str(big.gestures.get().pk))).to_contain_text(
            re.compile(r"Personne\s:\sau-dessus du plus haut plafond \(2\s000,00\sEUR\)"))  # grouped as French writes it
        screenshot(page, "approvals.png")
        page.click("button[name=decision][value=approve]")
        expect(page.locator(".messages")).to_contain_text(case.reference)
        expect(page.locator("main")).to_contain_text("Aucun geste n’attend votre décision.")
    assert Gesture.objects.get(case=case).status == GestureStatus.GRANTED


def test_a_supervisor_refuses_a_gesture_the_cases_total_keeps_from_being_granted(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.services import approve_gesture  # noqa: PLC0415

    ensure_default_limits()
    agent = UserFactory(username="lucie", first_name="Lucie", role="agent")
    claire = UserFactory(username="claire", first_name="Claire", role="supervisor")
    TeamFactory(name="Livraison", members=[agent])
    case = open_email_case("helene@example.com", subject="Canapé livré taché").case
    first = request_gesture(case=case, type="refund", amount="1500", currency="EUR", reason="Canapé taché", actor=agent)
    approve_gesture(gesture=first, actor=claire)
    with an_approver_who_leaves():  # asked for before its approver left: the case's total is now above every limit
        second = request_gesture(case=case, type="voucher", amount="1500", currency="EUR", reason="Encore un geste", actor=agent)

    with chromium_page(monkeypatch, width=1366, height=800, locale="fr-FR") as page:
        log_in(page, live_server, "/login/?next=/cases/gestures/approvals/", "claire")
        page.select_option("#language-select", "fr")
        row = page.locator(f"#waiting-{second.pk}")
        expect(row).to_contain_text(re.compile(r"1\s500,00 EUR déjà accordés sur ce dossier"))  # grouped as French writes it
        expect(row).to_contain_text("Personne ne peut l’accorder sur ce dossier")
        screenshot(page, "approvals-case-total.png")
        row.locator("input[name=reason]").fill("Le client a déjà été dédommagé.")
        row.locator("button[name=decision][value=refuse]").click()
        expect(page.locator(".messages")).to_contain_text(case.reference)
    second.refresh_from_db()
    assert (second.status, second.decision_reason) == (GestureStatus.REFUSED, "Le client a déjà été dédommagé.")
