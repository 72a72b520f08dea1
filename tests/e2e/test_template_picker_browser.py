"""In a real Chromium: picking a reply template never loses a draft the agent typed without asking.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_template_picker_browser.py
"""

from chromium import BROWSER_TESTS, Dialogs, chromium_page, log_in

from prevenance.cases.choices import TemplatePurpose
from prevenance.cases.models import ReplyTemplate
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

APOLOGY = "Bonjour,\n\nNous sommes désolés pour ce retard."
REFUND = "Bonjour,\n\nVotre remboursement part aujourd'hui."
DRAFT = "Bonjour, je regarde votre commande et je reviens vers vous."


def test_a_template_replaces_a_typed_draft_only_when_the_agent_says_so(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    case = open_email_case("helene.marchand@example.fr", subject="Colis en retard", body="Toujours rien.").case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    apology = ReplyTemplate.objects.create(name="Excuses", purpose=TemplatePurpose.REPLY, language="en", body=APOLOGY)
    refund = ReplyTemplate.objects.create(name="Remboursement", purpose=TemplatePurpose.REPLY, language="en", body=REFUND)
    with chromium_page(monkeypatch) as page:
        dialogs = Dialogs(page)
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        picker, box = page.locator("#id_template"), page.locator("#id_body")

        # An empty box: the template fills it, nothing asked.
        picker.select_option(str(apology.pk))
        expect(box).to_have_value(APOLOGY)
        # The template's text left as it came is no draft: another template replaces it, nothing asked.
        picker.select_option(str(refund.pk))
        expect(box).to_have_value(REFUND)
        assert dialogs.asked == []

        # A draft typed by hand, then a template picked: the agent says no, the draft stays.
        box.fill(DRAFT)
        picker.select_option(str(apology.pk))
        expect(picker).to_have_value(str(refund.pk))  # back on what the box was written from
        page.wait_for_timeout(300)  # a request let through would have swapped the box by now
        expect(box).to_have_value(DRAFT)
        assert dialogs.asked == ["Replace your draft with this template?"]

        # The same, and the agent says yes: the template's text replaces the draft.
        dialogs.accept = True
        picker.select_option(str(apology.pk))
        expect(box).to_have_value(APOLOGY)
        expect(picker).to_have_value(str(apology.pk))
        assert dialogs.asked == ["Replace your draft with this template?"] * 2

        # An edited template is a draft too; "Write freely" would empty the box, and says so.
        dialogs.accept = False
        box.fill(APOLOGY + "\n\nSamir")
        picker.select_option("")
        expect(picker).to_have_value(str(apology.pk))
        page.wait_for_timeout(300)
        expect(box).to_have_value(APOLOGY + "\n\nSamir")
        assert dialogs.asked[-1] == "Discard your draft and write freely?"
