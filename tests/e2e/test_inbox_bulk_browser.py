"""The inbox's bulk bar in a real Chromium: rows ticked by click and by the "x" shortcut, the bar
shown only then, "Assign to me" on two cases; the bar on a phone; the form without JavaScript.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_inbox_bulk_browser.py
"""

from chromium import BROWSER_TESTS, Dialogs, chromium_page, log_in, screenshot

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, Tag
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

PAGE_WIDTH = "document.documentElement.scrollWidth"
SCREEN_WIDTH = "window.innerWidth"


def _cases(team, *subjects, **fields) -> list[Case]:
    cases = []
    for number, subject in enumerate(subjects):
        case = assign_case(case=open_email_case(f"client{number}@example.fr", subject=subject).case, team=team, actor=None)
        Case.objects.filter(pk=case.pk).update(**fields)
        cases.append(Case.objects.get(pk=case.pk))
    return cases


def test_an_agent_ticks_two_rows_and_assigns_them_to_themselves(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    team = TeamFactory(name="Livraisons", members=[agent])
    first, second, third = _cases(team, "Colis abîmé", "Retard de livraison", "Facture en double")
    Tag.objects.create(name="transporteur")

    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/?view=open&channel=email", "samir")
        page.wait_for_load_state("load")  # the scripts are deferred
        bar = page.locator("#bulk-bar")
        expect(page.locator("#inbox-rows .inbox-row")).to_have_count(3)
        expect(bar).to_be_hidden()

        row_of = {case.pk: page.locator(f"#inbox-rows tr:has(a[href='/cases/{case.pk}/'])") for case in (first, second, third)}
        row_of[first.pk].locator("[data-bulk-case]").check()
        expect(bar).to_be_visible()
        expect(bar).to_contain_text("Selected cases: 1")
        # "x" ticks the row the keyboard is on (j/k), as Gmail's does
        position = [page.locator("#inbox-rows .inbox-row").nth(i).get_attribute("data-case-url") for i in range(3)]
        for _ in range(position.index(f"/cases/{second.pk}/") + 1):
            page.keyboard.press("j")
        page.keyboard.press("x")
        expect(row_of[second.pk].locator("[data-bulk-case]")).to_be_checked()
        expect(bar).to_contain_text("Selected cases: 2")
        expect(page.locator("[data-bulk-all]")).to_have_js_property("indeterminate", True)
        screenshot(page, "inbox-bulk-bar.png")

        page.select_option("#bulk-assign", "me")
        page.click("#bulk-bar button[value=assign]")
        expect(page.locator("ul.messages")).to_contain_text("2 cases updated.")
        expect(page).to_have_url(f"{live_server.url}/cases/?view=open&channel=email")
        expect(row_of[first.pk]).to_contain_text("Samir Benali")
        expect(row_of[second.pk]).to_contain_text("Samir Benali")
        expect(row_of[third.pk]).to_contain_text("unassigned")
        expect(bar).to_be_hidden()  # nothing ticked after the change

        # "Select all" ticks every row; a refused case is named with the reason
        Case.objects.filter(pk=third.pk).update(status=CaseStatus.RESOLVED)
        page.goto(f"{live_server.url}/cases/?view=all&channel=email")  # "All open" holds no resolved case
        page.wait_for_load_state("load")
        page.locator("[data-bulk-all]").check()
        expect(bar).to_contain_text("Selected cases: 3")
        page.select_option("#bulk-status", "pending_customer")
        page.click("#bulk-bar button[value=status]")
        messages = page.locator("ul.messages")
        expect(messages).to_contain_text("2 cases updated.")
        expect(messages).to_contain_text(f"{third.reference} was not changed: A case cannot go from “Resolved” to “Waiting for the customer”.")
        screenshot(page, "inbox-bulk-done.png")

    assert {case.assignee_id for case in Case.objects.filter(pk__in=[first.pk, second.pk])} == {agent.pk}
    assert Case.objects.get(pk=third.pk).assignee_id is None


def test_closing_cases_in_bulk_is_asked_first(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    UserFactory(username="samir", role="agent")
    case = open_email_case("helene@example.fr", subject="Colis abîmé").case

    with chromium_page(monkeypatch) as page:
        dialogs = Dialogs(page)
        log_in(page, live_server, "/cases/", "samir")
        page.wait_for_load_state("load")
        page.locator("[data-bulk-case]").check()
        page.select_option("#bulk-status", "closed")
        page.click("#bulk-bar button[value=status]")  # Cancel: nothing is sent
        assert dialogs.asked == ["Close the selected cases for good? No reply can be sent on them any more, "
                                 "and each customer’s next message will open a new case."]
        assert Case.objects.get(pk=case.pk).status == CaseStatus.NEW
        dialogs.accept = True
        page.click("#bulk-bar button[value=status]")
        expect(page.locator("ul.messages")).to_contain_text("1 case updated.")

    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED


def test_the_bar_fits_a_phone(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    team = TeamFactory(name="Service après-vente et réclamations", members=[agent])
    _cases(team, "Canapé taché", "Table rayée")
    Tag.objects.create(name="livraison-endommagée-transporteur")

    with chromium_page(monkeypatch, width=390, height=844, locale="fr-FR") as page:
        log_in(page, live_server, "/cases/", "samir")
        page.select_option("#language-select", "fr")
        page.wait_for_load_state("load")
        page.locator("[data-bulk-case]").first.check()
        bar = page.locator("#bulk-bar")
        expect(bar).to_be_visible()
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        box = bar.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        for button in bar.locator("button").all():
            edge = button.bounding_box()
            assert edge["x"] + edge["width"] <= 390, button.inner_text()
        screenshot(page, "inbox-bulk-phone-fr.png")


def test_without_javascript_the_bar_is_shown_and_the_form_is_sent(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    UserFactory(username="samir", role="agent")
    case = open_email_case("helene@example.fr", subject="Colis abîmé").case  # no team yet: every agent sees it

    with chromium_page(monkeypatch, java_script_enabled=False) as page:
        log_in(page, live_server, "/cases/", "samir")
        expect(page.locator("#bulk-bar")).to_be_visible()
        expect(page.locator("[data-bulk-all]")).to_be_hidden()  # it needs JavaScript
        page.locator("[data-bulk-case]").check()
        page.select_option("#bulk-priority", "high")
        page.click("#bulk-bar button[value=priority]")
        expect(page.locator("ul.messages")).to_contain_text("1 case updated.")

    assert Case.objects.get(pk=case.pk).priority == "high"
