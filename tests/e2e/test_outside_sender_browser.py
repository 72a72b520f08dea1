"""End to end in a real Chromium: a colleague of the customer answers our email, the case page
says our replies do not reach them, and one click puts them in copy.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_outside_sender_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot

from prevenance.cases.models import Case
from prevenance.cases.services import add_reply, ingest_email
from prevenance.cases.tests.factories import TeamFactory
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS

MAILBOX = "sav@boutique.test"


def email(sender: str, message_id: str, body: str, in_reply_to: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: {MAILBOX}\r\nSubject: Colis\r\nMessage-ID: <{message_id}>\r\n"
        + (f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else "")
        + f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def test_an_agent_puts_the_customers_colleague_in_copy_from_their_message(live_server, monkeypatch, settings):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    agent = UserFactory(username="samir", role="agent")
    TeamFactory(name="Livraisons", email=MAILBOX, members=[agent])
    case = ingest_email(raw=email("Claire Martin <claire@example.com>", "c1@example.com", "Mon colis n'est pas arrivé.")).case
    reply = add_reply(case=case, author=agent, body="Nous avons relancé le transporteur.")
    # Claire forwards our answer to Paul, who replies to it
    ingest_email(raw=email("Paul Durand <paul@entreprise.example>", "p1@entreprise.example",
                           "Je suis son collègue : le colis est à l'accueil.", in_reply_to=reply.message_id))
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        note = page.locator("#thread .msg-problems li", has_text="neither the customer nor in copy")
        expect(note).to_contain_text("(paul@entreprise.example)")
        screenshot(page, "case-outside-sender.png")

        note.get_by_role("button", name="Put paul@entreprise.example in copy of our replies").click()
        expect(page.locator("#reply-recipients .recipients")).to_contain_text("Cc: paul@entreprise.example")  # swapped in by HTMX
        expect(note).to_contain_text("in copy now")
        expect(note.get_by_role("button")).to_have_count(0)
        assert Case.objects.get(pk=case.pk).cc_addresses == ["paul@entreprise.example"]
