"""The suspended queue in a real Chromium: a message whose password manager filled the contact
form's anti-robot field is recovered into a case by a supervisor, in French, with an
international address the browser's own email check would have refused, and the photo it came
with on the case.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_suspended_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.models import Case, SuspendedMessage
from prevenance.customers.models import Identity
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)


def test_a_supervisor_recovers_a_contact_form_kept_aside_in_french(live_server, monkeypatch, settings, tmp_path):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    settings.MEDIA_ROOT = tmp_path / "media"
    UserFactory(username="claire", first_name="Claire", role="supervisor")
    with chromium_page(monkeypatch, width=1366, height=800, locale="fr-FR") as page:
        # A visitor whose password manager filled the hidden field: told it went through.
        page.goto(f"{live_server.url}/cases/contact/")
        page.fill("#id_first_name", "Inès")
        page.fill("#id_email", "inès@exämple.fr")
        page.fill("#id_subject", "Canapé taché")
        page.fill("#id_body", "Le canapé est arrivé taché.")
        page.set_input_files("#id_attachments", files=[{"name": "tache.png", "mimeType": "image/png", "buffer": PNG}])
        page.evaluate("document.querySelector('[name=website]').value = 'ines.moreau'")
        page.click("form button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/cases/contact/thanks/")
        assert not Case.objects.exists()

        page.context.clear_cookies()
        log_in(page, live_server, "/login/?next=/cases/suspended/", "claire")
        page.select_option("#language-select", "fr")
        expect(page.locator("h1")).to_have_text("Messages suspendus")
        kept = SuspendedMessage.objects.get()
        row = page.locator(f"#suspended-{kept.pk}")
        expect(row).to_contain_text("Champ anti-robot rempli")
        expect(row.locator("input[name=email]")).to_have_value("inès@exämple.fr")
        expect(row.locator("a[download]")).to_have_text("📎 tache.png")  # the photo is kept with the text
        screenshot(page, "suspended.png")
        row.locator("button[type=submit]").click()
        expect(page.locator(".messages")).to_contain_text("Message récupéré dans le dossier C-")
        expect(page.locator("main")).to_contain_text("Le canapé est arrivé taché.")
        expect(page.locator("main .attachments")).to_contain_text("tache.png")
    case = Case.objects.get()
    assert (case.channel, case.subject) == ("web", "Canapé taché")
    assert [item.filename for item in case.messages.get(kind="inbound").attachments.all()] == ["tache.png"]
    assert Identity.objects.get(customer=case.customer, kind="email").normalized == "inès@xn--exmple-cua.fr"
