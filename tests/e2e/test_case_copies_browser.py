"""End to end in a real Chromium: an agent puts someone in copy of the replies and takes them out.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_case_copies_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, log_in

from prevenance.cases.models import Case
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def test_an_agent_adds_and_removes_a_person_in_copy_and_the_reply_box_says_who_gets_the_reply(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", role="agent")
    case = open_email_case("helene@example.fr", subject="Pied cassé", body="Le canapé est arrivé cassé.").case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=agent)
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        recipients = page.locator("#reply-recipients .recipients")
        expect(recipients).to_contain_text("To: helene@example.fr")
        expect(recipients).not_to_contain_text("Cc:")

        page.click("#copies > summary")
        page.fill("#id_copies-add", "marc@exämple.fr")
        page.click("#copies-form button[type=submit]")
        expect(recipients).to_contain_text("Cc: marc@exämple.fr")  # swapped in by HTMX, in Unicode
        assert Case.objects.get(pk=case.pk).cc_addresses == ["marc@xn--exmple-cua.fr"]

        page.click("#copies > summary")
        page.click("#copies .copies-list button")
        expect(recipients).not_to_contain_text("Cc:")
        assert Case.objects.get(pk=case.pk).cc_addresses == []
