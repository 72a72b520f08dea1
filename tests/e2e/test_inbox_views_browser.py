"""The inbox's tabs, filters and saved views in a real Chromium: the status list follows the
tab, and a saved view is narrowed, widened and updated with the filters shown.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_inbox_views_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.choices import CaseStatus, Priority
from prevenance.cases.models import Case, SavedView
from prevenance.cases.services import assign_case, save_view
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def _case(email, subject, team, agent, **fields) -> Case:
    case = open_email_case(email, subject=subject, body="Bonjour").case
    assign_case(case=case, team=team, actor=agent)
    Case.objects.filter(pk=case.pk).update(**fields)
    return Case.objects.get(pk=case.pk)


def test_an_agent_widens_a_saved_view_and_updates_it_with_the_filters_shown(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="lea", role="agent")
    team = TeamFactory(name="Livraisons", members=[agent])
    phone_high = _case("a@example.fr", "Appel urgent", team, agent, channel=Channel.PHONE, priority=Priority.HIGH)
    email_high = _case("b@example.fr", "Courriel urgent", team, agent, priority=Priority.HIGH)
    email_low = _case("c@example.fr", "Courriel simple", team, agent, priority=Priority.LOW)
    done = _case("d@example.fr", "Déjà réglé", team, agent, status=CaseStatus.RESOLVED)
    view = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"]}, base="team")

    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/?view=open", "lea")
        rows = page.locator("#inbox-rows")
        # "All open" offers only the open statuses; resolved cases are under "All cases".
        expect(page.locator("#f-status option[value=resolved]")).to_have_count(0)
        page.click("a.tab[data-view=all]")
        page.select_option("#f-status", "resolved")  # the list submits itself
        expect(rows).to_contain_text(done.reference)
        expect(rows).not_to_contain_text(email_high.reference)

        page.click(f"a.tab[data-view=saved-{view.pk}]")
        expect(rows).to_contain_text(phone_high.reference)
        expect(rows).not_to_contain_text(email_high.reference)
        # Any channel instead of the view's own, then high priority only
        page.select_option("#f-channel", "")
        expect(rows).to_contain_text(email_low.reference)
        page.select_option("#f-priority", "high")
        expect(rows).to_contain_text(email_high.reference)
        expect(rows).not_to_contain_text(email_low.reference)

        page.click(".edit-view > summary")
        page.fill("#edit-view-name", "Urgents")
        screenshot(page, "inbox-edit-view.png")
        page.click("#edit-view-form button[value=filters]")
        expect(page.locator("ul.messages")).to_contain_text("View “Urgents” updated.")
        tab = page.locator(f"a.tab[data-view=saved-{view.pk}]")
        expect(tab).to_contain_text("Urgents")
        expect(tab).to_have_attribute("aria-current", "page")
        expect(rows).to_contain_text(email_high.reference)
        expect(rows).not_to_contain_text(email_low.reference)

    view.refresh_from_db()
    assert (view.name, view.filters) == ("Urgents", {"priority": ["high"], "base": "team"})
    assert SavedView.objects.count() == 1


def test_an_agent_lists_their_own_resolved_cases_from_all_cases(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="lea", role="agent")
    colleague = UserFactory(username="hugo", role="agent", first_name="Hugo", last_name="Roux")
    team = TeamFactory(name="Livraisons", members=[agent, colleague])
    mine = _case("a@example.fr", "Le mien, réglé", team, agent, status=CaseStatus.RESOLVED, assignee=agent)
    theirs = _case("b@example.fr", "Le sien, réglé", team, agent, status=CaseStatus.RESOLVED, assignee=colleague)
    mine_open = _case("c@example.fr", "Le mien, ouvert", team, agent, assignee=agent)

    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/?view=mine", "lea")
        rows = page.locator("#inbox-rows")
        expect(page.locator("#f-assignee")).to_have_count(0)  # "Assigned to me" is the assignee
        page.click("a.tab[data-view=all]")
        page.select_option("#f-assignee", "me")  # the lists submit themselves
        expect(page.locator("#f-assignee")).to_have_value("me")
        expect(rows).not_to_contain_text(theirs.reference)
        page.select_option("#f-status", "resolved")
        expect(page.locator("#f-status")).to_have_value("resolved")
        expect(rows).to_contain_text(mine.reference)
        expect(rows).not_to_contain_text(mine_open.reference)
        expect(rows).not_to_contain_text(theirs.reference)
        # A colleague of the team, by name
        page.select_option("#f-assignee", label="Hugo Roux")
        expect(rows).to_contain_text(theirs.reference)
        expect(rows).not_to_contain_text(mine.reference)
