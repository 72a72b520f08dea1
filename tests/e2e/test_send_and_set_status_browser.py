"""In a real Chromium: an agent asks the customer a question and sets the case waiting for them
in one click, then resolves with a reply while a gesture waits for approval, after confirming.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_send_and_set_status_browser.py
"""

from chromium import BROWSER_TESTS, Dialogs, chromium_page, log_in

from prevenance.cases.choices import CaseStatus, MessageKind
from prevenance.cases.models import Case, Message
from prevenance.cases.services import assign_case, ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

QUESTION = "Bonjour, pouvez-vous nous envoyer une photo du colis abîmé ?"
ANSWER = "Merci pour la photo : votre remboursement est parti."


def test_send_and_wait_for_the_customer_then_send_and_resolve_past_a_waiting_gesture(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    case = open_email_case("helene.marchand@example.fr", subject="Colis abîmé", body="Mon colis est arrivé abîmé.").case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    with chromium_page(monkeypatch) as page:
        dialogs = Dialogs(page)
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        expect(page.locator("#case-status")).to_have_text("New")

        # r, type the question, then the "Send and wait for the customer" button, from the keyboard.
        page.keyboard.press("r")
        page.keyboard.type(QUESTION)
        page.locator("#reply-actions button", has_text="Send and wait for the customer").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#case-status")).to_have_text("Waiting for the customer")
        expect(page.locator("#thread .msg-outbound").last).to_contain_text(QUESTION)
        assert Case.objects.get(pk=case.pk).status == CaseStatus.PENDING_CUSTOMER
        # Waiting already: only "Send and resolve" is offered now.
        expect(page.locator("#reply-actions button")).to_have_text(["Send reply", "Send and resolve"])
        assert dialogs.asked == []

        # A 120 EUR refund above the agent's limit waits for approval; the page shown again says so.
        request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Colis abîmé", actor=agent)
        page.reload()
        page.wait_for_load_state("load")
        page.fill("#id_body", ANSWER)
        send_and_resolve = page.locator("#reply-actions button", has_text="Send and resolve")
        send_and_resolve.click()
        page.wait_for_timeout(300)  # a request let through would have swapped the page by now
        assert dialogs.asked == ["A gesture of 120.00\u00a0EUR is still waiting for approval: resolve anyway?"]
        expect(page.locator("#case-status")).to_have_text("Waiting for the customer")
        assert not Message.objects.filter(case=case, kind=MessageKind.OUTBOUND, body_text__startswith=ANSWER).exists()

        # Asked again, the agent confirms: sent and resolved.
        dialogs.accept = True
        send_and_resolve.click()
        expect(page.locator("#case-status")).to_have_text("Resolved")
        expect(page.locator("#thread .msg-outbound", has_text=ANSWER)).to_have_count(1)
        assert len(dialogs.asked) == 2
        assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED
