"""Deciding on a waiting gesture from the case page in a real Chromium: a supervisor approves
one and refuses another with a reason, without leaving the case; an agent sees no buttons.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_gesture_decide_on_case_browser.py
Save a screenshot: add PREVENANCE_SCREENSHOT_DIR=docs (case-gesture-decision.png)
"""

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.choices import GestureStatus
from prevenance.cases.services import ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def test_a_supervisor_approves_and_refuses_gestures_on_the_case_page_in_french(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="lucie", first_name="Lucie", role="agent")
    UserFactory(username="claire", first_name="Claire", role="supervisor")
    TeamFactory(name="Livraison", members=[agent])
    case = open_email_case("helene@example.com", subject="Canapé livré taché").case
    refund = request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)
    voucher = request_gesture(case=case, type="voucher", amount="80", currency="EUR", reason="Geste en plus", actor=agent)
    case_path = f"/cases/{case.pk}/"

    with chromium_page(monkeypatch, width=1366, height=900, locale="fr-FR") as page:
        log_in(page, live_server, f"/login/?next={case_path}", "claire")
        page.select_option("#language-select", "fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        approve_form = page.locator(f"#decide-gesture-{refund.pk}")
        expect(approve_form.locator("button[value=approve]")).to_have_text("Accorder")
        expect(approve_form.locator("button[value=refuse]")).to_have_text("Refuser")
        approve_form.locator("input[name=reason]").fill("Cliente fidèle depuis 2015")
        screenshot(page, "case-gesture-decision.png")
        approve_form.locator("button[value=approve]").click()
        # Back on the case, not the queue: the message, the new state, no buttons left for it.
        expect(page).to_have_url(f"{live_server.url}{case_path}#gestures")
        expect(page.locator(".messages")).to_contain_text(f"Geste sur le dossier {case.reference} accordé.")
        expect(page.locator(f"#decide-gesture-{refund.pk}")).to_have_count(0)
        expect(page.locator("#gestures")).to_contain_text("« Cliente fidèle depuis 2015 »")

        # Refusing without a reason: the service's message, the gesture still waits.
        refuse_form = page.locator(f"#decide-gesture-{voucher.pk}")
        refuse_form.locator("button[value=refuse]").click()
        expect(page.locator(".messages")).to_contain_text("Indiquez un motif.")
        refuse_form = page.locator(f"#decide-gesture-{voucher.pk}")
        refuse_form.locator("input[name=reason]").fill("Le remboursement suffit.")
        refuse_form.locator("button[value=refuse]").click()
        expect(page.locator(".messages")).to_contain_text(f"Geste sur le dossier {case.reference} refusé.")
        expect(page.locator("#gestures .pill-gesture-refused")).to_have_count(1)
        expect(page.locator("#gestures .pill-gesture-granted")).to_have_count(1)
        expect(page.locator("#gestures form[id^=decide-gesture-]")).to_have_count(0)

    refund.refresh_from_db()
    voucher.refresh_from_db()
    assert (refund.status, refund.decision_reason) == (GestureStatus.GRANTED, "Cliente fidèle depuis 2015")
    assert (voucher.status, voucher.decision_reason) == (GestureStatus.REFUSED, "Le remboursement suffit.")


def test_an_agent_sees_the_waiting_gesture_without_buttons(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="lucie", first_name="Lucie", role="agent")
    TeamFactory(name="Livraison", members=[agent])
    case = open_email_case("helene@example.com", subject="Canapé livré taché").case
    request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé livré taché", actor=agent)

    with chromium_page(monkeypatch, width=1366, height=900, locale="en-GB") as page:
        log_in(page, live_server, f"/login/?next=/cases/{case.pk}/", "lucie")
        page.select_option("#language-select", "en")
        expect(page.locator("#gestures .pill-gesture-requested")).to_have_text("Waiting for approval")
        expect(page.locator("#gestures form[id^=decide-gesture-]")).to_have_count(0)
        expect(page.locator("#gestures button[value=approve]")).to_have_count(0)
