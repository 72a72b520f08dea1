"""In a real Chromium: Close asks first, naming what closing does; dismissed, nothing changes;
confirmed, the case is closed and takes no more replies.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_case_close_browser.py
"""

from chromium import BROWSER_TESTS, Dialogs, chromium_page, log_in

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.services import assign_case, change_status
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

QUESTION = ("Close this case for good? No reply can be sent on it any more, and the customer's next message "
            "will open a new case.")


def test_close_asks_first_and_closes_only_once_confirmed(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    case = open_email_case("helene.marchand@example.fr", subject="Spam", body="Gagnez un iPhone !").case
    case = assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    change_status(case=case, status=CaseStatus.OPEN, actor=agent)
    with chromium_page(monkeypatch) as page:
        dialogs = Dialogs(page)
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        expect(page.locator("#case-status")).to_have_text("Open")
        close = page.locator("#close-case button")
        # Apart from the everyday moves: the last of the bar, right of Resolve.
        resolve = page.locator("#status-actions button", has_text="Resolve")
        assert close.bounding_box()["x"] > resolve.bounding_box()["x"]

        close.click()
        page.wait_for_timeout(300)  # a request let through would have swapped the page by now
        assert dialogs.asked == [QUESTION]
        expect(page.locator("#case-status")).to_have_text("Open")
        assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN

        dialogs.accept = True
        close.click()
        expect(page.locator("#case-status")).to_have_text("Closed")
        expect(page.locator("#reply")).to_contain_text("This case takes no more replies.")
        expect(page.locator("#close-case")).to_have_count(0)
        assert len(dialogs.asked) == 2
        assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
