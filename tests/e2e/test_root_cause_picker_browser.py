"""In a real Chromium: an agent finds a root cause among 500 by typing, by keyboard, on a laptop
and a phone; without JavaScript the grouped list alone still works.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_root_cause_picker_browser.py
Save the screenshots: add PREVENANCE_SCREENSHOT_DIR=docs (root-causes-1366.png, root-causes-phone.png)
"""

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.models import Case, RootCause
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

CATEGORIES = [
    "Livraison", "Facturation", "Produit", "Échange", "Retour", "Paiement", "Compte client", "Fidélité", "Magasin",
    "Site web", "Application", "Service client", "Garantie", "Montage", "Transporteur", "Stock", "Prix", "Promotion",
    "Carte cadeau", "Abonnement", "Données personnelles", "Sécurité", "Emballage", "Assurance", "Information",
]
CAUSES = [
    "Retard", "Erreur de saisie", "Oubli", "Délai dépassé", "Article manquant", "Article abîmé", "Double envoi",
    "Mauvaise information", "Procédure non suivie", "Panne", "Rupture", "Adresse erronée", "Relance sans réponse",
    "Conditions mal comprises", "Fraude suspectée", "Geste refusé", "Doublon", "Qualité", "Autre motif",
]
PAGE_WIDTH = "document.documentElement.scrollWidth"
SCREEN_WIDTH = "window.innerWidth"


def picker_world():
    """500 root causes (25 categories of 19, the first cause of each retired), a case to file."""
    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    boss = UserFactory(username="claire", role="supervisor")
    team = TeamFactory(name="Livraisons", members=[agent])
    categories = RootCause.objects.bulk_create(RootCause(name=name) for name in CATEGORIES)
    RootCause.objects.bulk_create(RootCause(name=name, parent=category, active=name != "Retard")
                                  for category in categories for name in CAUSES)
    assert RootCause.objects.count() == 500
    case = open_email_case("lea.bernard@example.fr", subject="Colis arrivé ouvert", body="Le carton était ouvert.").case
    return assign_case(case=case, team=team, assignee=agent, actor=boss)


def options(page) -> list[str]:
    return page.locator("#id_root_cause option").all_inner_texts()


def test_an_agent_finds_a_root_cause_among_500_by_typing_and_with_the_keyboard(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    case = picker_world()
    wanted = RootCause.objects.get(parent__name="Emballage", name="Article abîmé")
    with chromium_page(monkeypatch, width=1366, height=768) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        box, select = page.locator("input[data-pick-filter]"), page.locator("#id_root_cause")
        sent = []  # the classification form's submissions
        page.on("request", lambda request: sent.append(request) if request.url.endswith("/labels/") else None)
        expect(box).to_be_visible()
        # Everything active is there, grouped: 1 "Not known yet" + 25 × (the category + 18 causes).
        assert len(options(page)) == 1 + 25 * 19
        assert select.evaluate("s => s.querySelectorAll('optgroup').length") == 25
        assert select.evaluate("s => s.size") == 0  # a closed drop-down until something is typed

        # Words in any order, accents and case ignored, the category's name counts.
        box.fill("abime EMBALL")
        expect(page.locator("[data-pick-status]")).to_have_text("Matching root causes: 1. Pick one in the list below.")
        assert options(page) == ["Not known yet", "Article abîmé"]
        assert select.evaluate("s => s.size") == 3  # an open list: "Not known yet", the category, the cause
        box.fill("retard")  # retired everywhere: offered nowhere
        expect(page.locator("[data-pick-status]")).to_have_text("No root cause matches this search.")
        assert options(page) == ["Not known yet"]

        box.fill("article abime")
        expect(page.locator("[data-pick-status]")).to_have_text("Matching root causes: 25. Pick one in the list below.")
        assert select.evaluate("s => s.size") == 10
        assert select.input_value() == ""  # narrowing alone picks nothing
        page.locator("#labels").scroll_into_view_if_needed()
        screenshot(page, "root-causes-1366.png")

        # Enter with several matches moves to the list and sends nothing; Down then picks.
        box.press("Enter")
        expect(select).to_be_focused()
        page.keyboard.press("ArrowDown")
        picked = select.input_value()
        assert picked != ""
        assert RootCause.objects.get(pk=picked).name == "Article abîmé"

        # Enter with one match picks it; clearing the box brings every option back, the pick kept.
        box.fill("emballage article abime")
        box.press("Enter")
        expect(select).to_have_value(str(wanted.pk))
        expect(select).to_be_focused()
        box.fill("")
        assert len(options(page)) == 1 + 25 * 19
        expect(select).to_have_value(str(wanted.pk))
        assert sent == [] and Case.objects.get(pk=case.pk).root_cause_id is None

        # From the box, Tab to the list, Tab to Save, Enter: saved through HTMX, shown picked in
        # the fresh form.
        page.keyboard.press("Tab")
        expect(select).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("#labels button[type=submit]")).to_be_focused()
        box.evaluate("element => { element.dataset.before = 'save'; }")  # tells the swapped-in form apart
        with page.expect_response(lambda response: response.url.endswith(f"/cases/{case.pk}/labels/")) as saved:
            page.keyboard.press("Enter")
        assert saved.value.status == 200
        expect(page.locator("#id_root_cause")).to_have_value(str(wanted.pk))
        assert Case.objects.get(pk=case.pk).root_cause_id == wanted.pk
        # The swapped-in form has its search box again, shown.
        expect(page.locator("input[data-pick-filter]:not([data-before])")).to_be_visible()


def test_on_a_phone_the_narrowed_list_fits_the_screen(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    case = picker_world()
    with chromium_page(monkeypatch, width=390, height=844, is_mobile=True, has_touch=True) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        box = page.locator("input[data-pick-filter]")
        box.fill("données")
        expect(page.locator("[data-pick-status]")).to_have_text("Matching root causes: 19. Pick one in the list below.")
        page.locator("#labels").scroll_into_view_if_needed()
        assert page.evaluate(PAGE_WIDTH) <= page.evaluate(SCREEN_WIDTH)
        select_box = page.locator("#id_root_cause").bounding_box()
        assert select_box["x"] >= 0 and select_box["x"] + select_box["width"] <= 390
        screenshot(page, "root-causes-phone.png")


def test_without_javascript_the_grouped_list_alone_files_the_case(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    case = picker_world()
    wanted = RootCause.objects.get(parent__name="Échange", name="Qualité")
    with chromium_page(monkeypatch, width=1366, height=768, java_script_enabled=False) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        expect(page.locator("input[data-pick-filter]")).to_be_hidden()
        page.select_option("#id_root_cause", str(wanted.pk))
        page.click("#labels button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/#labels")
        expect(page.locator("#id_root_cause")).to_have_value(str(wanted.pk))
    assert Case.objects.get(pk=case.pk).root_cause_id == wanted.pk
