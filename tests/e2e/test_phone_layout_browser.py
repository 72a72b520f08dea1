"""On a phone (390 × 844), no page is wider than the screen: wide tables scroll inside their card.
On a laptop (1366 × 768), the main menu holds on one line and the inbox's search box shows its hint.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_phone_layout_browser.py
Save the screenshots: add PREVENANCE_SCREENSHOT_DIR=docs
"""

from datetime import timedelta

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.models import SLAPolicy
from prevenance.cases.services import (
    add_reply,
    assign_case,
    ensure_default_limits,
    refuse_gesture,
    request_gesture,
)
from prevenance.cases.services.saved_views import save_view
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

PAGE_WIDTH = "document.documentElement.scrollWidth"
SCREEN_WIDTH = "window.innerWidth"


def test_the_dashboard_the_inbox_and_a_case_with_gestures_fit_a_phone(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    boss = UserFactory(username="claire", first_name="Claire", last_name="Morel", role="supervisor")
    team = TeamFactory(name="Livraisons", members=[agent])
    case = assign_case(case=open_email_case("lea.bernard@example.fr", subject="Canapé taché").case,
                       team=team, assignee=agent, actor=boss)
    add_reply(case=case, author=agent, body="Bonjour, nous nous en occupons.")
    refused = request_gesture(case=case, type="refund", amount="1000", currency="EUR",
                              reason="Remboursement complet du canapé taché à la livraison", actor=agent)
    refuse_gesture(gesture=refused, actor=boss, reason="Proposer d'abord un nettoyage à domicile")
    request_gesture(case=case, type="voucher", amount="20.50", currency="EUR", reason="Geste pour le retard", actor=agent)

    with chromium_page(monkeypatch, width=390, height=844, locale="fr-FR") as page:
        log_in(page, live_server, "/cases/dashboard/", "claire")
        page.select_option("#language-select", "fr")
        expect(page.locator(".dash-grid")).to_be_visible()
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        screenshot(page, "dashboard-phone-fr.png")

        page.goto(f"{live_server.url}/cases/{case.pk}/")
        expect(page.locator("#gestures table")).to_contain_text("Refusé")
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        screenshot(page, "case-phone-fr.png")

        page.goto(f"{live_server.url}/cases/")
        expect(page.locator("#inbox-table")).to_contain_text(case.reference)
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        # The columns out of sight are announced: the table scrolls inside its card.
        expect(page.locator(".scroll-hint")).to_be_visible()
        assert page.evaluate("document.querySelector('.table-scroll').scrollWidth > document.querySelector('.table-scroll').clientWidth")


def test_a_saved_view_with_a_long_name_keeps_the_inbox_within_a_phone(live_server, monkeypatch):
    """A view's name is the user's: its tab, the panels' titles and the delete button that repeat
    it wrap inside the screen, a word longer than the screen included (the page scrolled sideways)."""
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    boss = UserFactory(username="claire", first_name="Claire", last_name="Morel", role="supervisor")
    open_email_case("lea.bernard@example.fr", subject="Canapé taché")
    save_view(user=boss, name="Réclamations urgentes des clients VIP en attente de remboursement", filters={"priority": ["high"]}, shared=True)
    long_word = save_view(user=boss, name="Rembourserimmédiatementtouslesclientsmécontents", filters={"channel": ["email"]})

    with chromium_page(monkeypatch, width=390, height=844) as page:
        log_in(page, live_server, f"/cases/?view=saved-{long_word.pk}&channel=phone", "claire")
        expect(page.locator(".tab[aria-current=page]")).to_contain_text("Rembourserimmédiatement")
        page.evaluate("document.querySelectorAll('details.save-view').forEach(details => details.open = true)")
        expect(page.locator(".edit-view .btn-danger")).to_be_visible()
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH) == 390
        screenshot(page, "inbox-phone-long-view-name-en.png")


def test_the_menu_holds_on_one_line_and_the_inbox_search_shows_its_hint_on_a_laptop(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    UserFactory(username="claire.morel-lefebvre", first_name="Claire", last_name="Morel", role="supervisor")
    TeamFactory(name="Livraisons", members=[agent])
    for n in range(12):  # a two-digit badge on the approvals entry
        case = open_email_case(f"client{n}@example.com", subject="Canapé taché").case
        request_gesture(case=case, type="refund", amount="120", currency="EUR", reason="Canapé taché", actor=agent)
    with chromium_page(monkeypatch, width=1366, height=768, locale="fr-FR") as page:
        log_in(page, live_server, "/cases/", "claire.morel-lefebvre")
        page.select_option("#language-select", "fr")
        expect(page.locator("h1")).to_have_text("Boîte de réception")
        screenshot(page, "inbox-1366-fr.png")
        # Every entry of the supervisor's menu (the longest) on one line
        tops = page.locator(".mainnav a").evaluate_all("links => links.map(a => Math.round(a.getBoundingClientRect().top))")
        assert len(tops) >= 8 and len(set(tops)) == 1, tops
        expect(page.locator(".mainnav .nav-count")).to_have_text("12")
        # The search box is as wide as its hint, and the status filter as its longest choice
        fits = page.evaluate("""() => {
            const measure = (element, text) => {
                const context = document.createElement("canvas").getContext("2d");
                context.font = getComputedStyle(element).font;
                return context.measureText(text).width;
            };
            const search = document.querySelector("#inbox-q"), status = document.querySelector("#f-status");
            const padding = element => parseFloat(getComputedStyle(element).paddingLeft) + parseFloat(getComputedStyle(element).paddingRight);
            return {
                search: measure(search, search.placeholder) <= search.clientWidth - padding(search),
                status: measure(status, status.options[status.selectedIndex].text) + 24 <= status.clientWidth - padding(status),
            };
        }""")
        assert fits == {"search": True, "status": True}
        # What is the user's own is under their name
        page.click(".usermenu summary")
        expect(page.locator(".usermenu-list")).to_contain_text("Ma disponibilité")
        expect(page.locator(".usermenu-list")).to_contain_text("Se déconnecter")


NAV_ENTRIES_OFF_SCREEN = "[...document.querySelectorAll('.mainnav a')].filter(a => a.getBoundingClientRect().right > window.innerWidth).map(a => a.textContent.trim())"


def test_on_a_phone_the_menu_wraps_in_sight_and_a_case_is_resolved_with_its_keyboard_shortcut(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    ensure_default_limits()
    SLAPolicy.objects.create(name="Standard", first_response_target=timedelta(hours=4), resolution_target=timedelta(days=5))
    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    boss = UserFactory(username="nadia", first_name="Nadia", last_name="Roux", role="supervisor")
    team = TeamFactory(name="Réclamations", members=[agent, boss])
    case = assign_case(case=open_email_case("lea.bernard@example.fr", subject="Canapé taché").case, team=team, assignee=boss, actor=boss)
    request_gesture(case=case, type="refund", amount="900", currency="EUR", reason="Canapé taché", actor=agent)  # waits for Nadia

    with chromium_page(monkeypatch, width=390, height=844) as page:
        log_in(page, live_server, "/cases/", "nadia")
        expect(page.locator("#inbox-table")).to_contain_text(case.reference)
        expect(page.locator(".mainnav .nav-count")).to_have_text("1")  # the approvals badge and its hidden words
        # Every entry of the menu is on the screen (it wraps; it does not scroll out of sight),
        # and the page is no wider than the phone.
        assert page.evaluate(NAV_ENTRIES_OFF_SCREEN) == []
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH) == 390
        screenshot(page, "inbox-phone-menu-en.png")

        page.goto(f"{live_server.url}/cases/{case.pk}/")
        expect(page.locator("#status-actions")).to_contain_text("Mark as waiting for the customer")
        assert page.evaluate(NAV_ENTRIES_OFF_SCREEN) == []
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        # The buttons say what they do; e still resolves, and the case then offers to reopen.
        # The refund still waits for approval: Resolve asks first, naming it, and Nadia confirms.
        asked = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.wait_for_load_state("load")  # the deferred shortcuts script
        page.keyboard.press("e")
        expect(page.locator("#case-status")).to_have_text("Resolved")
        assert asked == ["A gesture of 900.00\u00a0EUR is still waiting for approval: resolve anyway?"]
        expect(page.locator("#status-actions button")).to_have_text(["Reopen", "Close"])
        expect(page.locator("#sla-resolved")).to_contain_text("within the target")
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        screenshot(page, "case-phone-resolved-en.png")
