"""The public contact form in a real Chromium: switch to French, fill it in with a photo, get the reference.

Run: .venv/bin/pytest -m browser tests/e2e/test_contact_browser.py
Save a screenshot of the filled-in French form: add PREVENANCE_SCREENSHOT_DIR=docs (contact-form.png)
"""

import re

from chromium import BROWSER_TESTS, chromium_page, screenshot
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

from prevenance.cases.choices import MessageKind
from prevenance.cases.models import Case
from prevenance.core.choices import Channel

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)

pytestmark = BROWSER_TESTS


def test_a_visitor_writes_in_french_with_a_photo_and_gets_a_case_reference(live_server, monkeypatch, settings, tmp_path):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    settings.MEDIA_ROOT = tmp_path / "media"
    if isinstance(caches["shared"], DatabaseCache):  # never clear a Redis: it empties its whole database
        caches["shared"].clear()
    photo = tmp_path / "canape-tache.png"
    photo.write_bytes(PNG)

    with chromium_page(monkeypatch, width=1280, height=900, locale="en-GB") as page:
        page.goto(f"{live_server.url}/cases/contact/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        # The honeypot is out of the accessibility tree: a screen reader never offers it.
        expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
        expect(page.get_by_role("textbox", name="Subject")).to_have_count(1)

        page.select_option("#language-select", "fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.fill("#id_first_name", "Inès")
        page.fill("#id_last_name", "Moreau")
        page.fill("#id_email", "ines.moreau@example.fr")
        page.fill("#id_phone", "06 11 22 33 44")
        page.select_option("#id_type", "complaint")
        page.fill("#id_order", "CMD-2026-00042")
        page.fill("#id_subject", "Canapé livré taché")
        page.fill("#id_body", "Bonjour, le canapé livré hier porte une tache sur l'assise. Pouvez-vous le reprendre ?")
        page.set_input_files("#id_attachments", str(photo))
        screenshot(page, "contact-form.png")
        page.click("button[type=submit].btn-primary")

        expect(page).to_have_url(f"{live_server.url}/cases/contact/thanks/")
        reference = page.locator("[role=status] strong").inner_text()
        assert re.fullmatch(r"C-\d{4}-\d{6}", reference)

    case = Case.objects.get(reference=reference)
    message = case.messages.get(kind=MessageKind.INBOUND)
    assert (case.channel, case.subject, case.customer.language) == (Channel.WEB, "Canapé livré taché", "fr")
    assert [(a.filename, a.content_type) for a in message.attachments.all()] == [("canape-tache.png", "image/png")]
