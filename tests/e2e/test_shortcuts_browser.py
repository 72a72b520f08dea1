"""The inbox's keyboard shortcuts in a real Chromium: the "g" prefix and what counts as typing.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_shortcuts_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, log_in

from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def test_g_waits_a_moment_for_i_and_leaves_other_keys_alone(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", role="agent")
    team = TeamFactory(name="Livraisons", members=[agent])
    case = open_email_case("helene@example.fr", subject="Canapé abîmé").case
    assign_case(case=case, team=team, actor=None)
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/", "samir")
        page.wait_for_load_state("load")  # the shortcuts script is deferred
        rows = page.locator("#inbox-rows .inbox-row")
        expect(rows).to_have_count(1)

        # g then j: not "g i", so j selects the row (it was swallowed)
        page.keyboard.press("g")
        page.keyboard.press("j")
        expect(rows.first).to_have_class("inbox-row is-selected")

        # on the case page, a "g" left alone expires: an "i" later is no jump to the inbox
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
        page.wait_for_load_state("load")
        page.keyboard.press("g")
        page.wait_for_timeout(1_800)
        page.keyboard.press("i")
        page.wait_for_timeout(300)
        expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
        page.keyboard.press("g")
        page.keyboard.press("i")
        expect(page).to_have_url(f"{live_server.url}/cases/")


def test_shortcuts_work_while_a_checkbox_or_button_has_focus_but_not_in_a_text_box(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    supervisor = UserFactory(username="claire", role="supervisor")
    open_email_case("helene@example.fr", subject="Canapé abîmé")
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/", "claire")
        page.wait_for_load_state("load")
        rows = page.locator("#inbox-rows .inbox-row")
        expect(rows).to_have_count(1)
        assert supervisor.has_perm("cases.add_savedview")  # so the form has its "Share" checkbox

        # a letter typed in the view's name is text, not a shortcut
        page.click(".save-view summary")
        page.locator("#view-name").press_sequentially("jk")
        expect(page.locator("#view-name")).to_have_value("jk")
        expect(rows.first).not_to_have_class("inbox-row is-selected")

        # with the "Share with everyone" checkbox focused, j selects the row (it did nothing)
        page.locator(".save-view input[name=shared]").focus()
        page.keyboard.press("j")
        expect(rows.first).to_have_class("inbox-row is-selected")

        # with a button focused, ? opens the help
        page.keyboard.press("Escape")
        page.locator("[data-shortcuts-help]").focus()
        page.keyboard.press("?")
        expect(page.locator("#shortcuts-help")).to_be_visible()
