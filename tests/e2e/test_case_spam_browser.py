"""In a real Chromium: "Mark as spam" asks first; dismissed, nothing changes; confirmed, the
case is closed as spam with its banner and "Not spam", which opens it again.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_case_spam_browser.py
"""

from chromium import BROWSER_TESTS, Dialogs, chromium_page, log_in, screenshot

from prevenance.cases.models import BlockedSender, Case
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

QUESTION = ("Mark this case as spam? It will be closed without a reply, and the sender's next messages will be kept "
            "aside in the suspended messages instead of opening cases. “Not spam” undoes both.")


def test_mark_as_spam_asks_first_then_not_spam_undoes(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    case = open_email_case("promo@cheap-pills.example", subject="Gagnez un iPhone", body="Cliquez ici !", channel=Channel.WEB).case
    case = assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    with chromium_page(monkeypatch) as page:
        dialogs = Dialogs(page)
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        spam = page.locator("#mark-spam button")
        expect(spam).to_have_text("Mark as spam")
        screenshot(page, "case-spam-offered.png")

        spam.click()
        page.wait_for_timeout(300)  # a request let through would have swapped the page by now
        assert dialogs.asked == [QUESTION]
        assert not Case.objects.get(pk=case.pk).spam

        dialogs.accept = True
        spam.click()
        expect(page.locator("#case-status")).to_have_text("Closed")
        expect(page.locator("#case-spam")).to_have_text("Spam")
        expect(page.locator("#spam-banner")).to_contain_text("Closed as spam")
        expect(page.locator("#mark-spam")).to_have_count(0)
        assert Case.objects.get(pk=case.pk).spam and BlockedSender.objects.filter(address="promo@cheap-pills.example").exists()
        screenshot(page, "case-spam-marked.png")

        page.locator("#not-spam button").click()
        expect(page.locator("#case-status")).to_have_text("Open")
        expect(page.locator("#spam-banner")).to_have_count(0)
        assert not Case.objects.get(pk=case.pk).spam and not BlockedSender.objects.exists()
