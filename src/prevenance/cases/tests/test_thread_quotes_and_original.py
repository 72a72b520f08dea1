"""A customer's email in the thread: the quoted history folded behind a toggle (never removed),
the raw original offered apart from the customer's files; the API flags the original."""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from prevenance.cases.mail.quotes import split_reply_html, split_reply_text
from prevenance.cases.mail.sanitize import sanitize_html
from prevenance.cases.models import Attachment
from prevenance.cases.services import ingest_email
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "mail_corpus"

PHOTO = (
    b"From: Claire Martin <claire.martin@example.com>\r\nTo: service-client@example.com\r\n"
    b"Subject: Colis abime\r\nMessage-ID: <photo-1@example.com>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici la photo.\r\n"
    b'--B\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="colis.png"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"message.eml\"\r\n\r\n"
    b"From: shop@example.com\r\nSubject: Votre commande\r\n\r\nMerci.\r\n"
    b"--B--\r\n"
)


def case_page(client, case, language: str) -> str:
    return client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_intake_flags_the_raw_original_and_not_the_customers_own_eml():
    # Given an email carrying a photo and a forwarded email the customer attached as message.eml
    result = ingest_email(raw=PHOTO)
    # Then the intake's original is flagged, the customer's two files are not
    rows = list(result.message.attachments.order_by("pk").values_list("filename", "is_original"))
    assert rows == [("message.eml", True), ("colis.png", False), ("message.eml", False)]
    original = result.message.attachments.get(is_original=True)
    assert original.open().read() == PHOTO


@pytest.mark.parametrize(
    ("language", "toggle", "original"),
    [("en", "Show quoted text", "Original email (.eml)"), ("fr", "Afficher le texte cité", "E-mail d’origine (.eml)")],
)
def test_the_thread_lists_the_customers_files_and_offers_the_original_apart(client, supervisor, language, toggle, original):
    result = ingest_email(raw=PHOTO)
    client.force_login(supervisor)
    page = case_page(client, result.case, language)
    attachments = re.search(r'<ul class="attachments">(.*?)</ul>', page, re.S).group(1)
    files = re.findall(r"📎 ([^<]+)</a>", attachments)
    assert files == ["colis.png", "message.eml"]  # the customer's forwarded email is theirs
    stored = result.message.attachments.get(is_original=True)
    link = re.search(r'<p class="msg-original">.*?href="([^"]+)".*?>([^<]+)</a>', page, re.S)
    assert link.groups() == (reverse("cases:case_attachment", kwargs={"case_id": result.case.pk, "attachment_id": stored.pk}), original)
    assert page.count("msg-original") == 1
    assert toggle not in page  # nothing quoted in this message


def test_a_reader_without_the_download_permission_gets_no_original_link(client):
    result = ingest_email(raw=PHOTO)
    reader = UserFactory(username="reader")
    reader.user_permissions.set(Permission.objects.filter(
        content_type__app_label="cases", codename__in=["view_case", "view_all_cases", "view_message"],
    ))
    client.force_login(reader)
    page = case_page(client, result.case, "en")
    assert "Voici la photo." in page  # the message is shown
    assert "Original email (.eml)" not in page and "msg-original" not in page


@pytest.mark.parametrize(
    ("name", "language", "new", "quoted"),
    [
        ("25_reply_fr_gmail_html.eml", "fr", "toujours rien reçu", "Merci pour votre message, nous vérifions"),
        ("26_reply_en_gmail_html.eml", "en", "the tracking link works now", "Your lamp left our warehouse"),
        ("27_reply_fr_outlook_web.eml", "fr", "Voici la photo du colis", "pouvez-vous nous envoyer une photo"),
        ("28_reply_en_apple_mail.eml", "en", "Received it, thank you!", "your refund of 45 EUR was sent"),
        ("29_reply_fr_thunderbird.eml", "fr", "la facture est correcte", "Voici votre facture corrigée"),
    ],
)
def test_an_html_reply_shows_its_new_part_first_and_folds_the_history(client, supervisor, name, language, new, quoted):
    raw = (CORPUS / name).read_bytes()
    result = ingest_email(raw=raw)
    client.force_login(supervisor)
    page = case_page(client, result.case, language)
    toggle = {"en": "Show quoted text", "fr": "Afficher le texte cité"}[language]
    body = re.search(r'<div class="msg-body msg-html">(.*?)</div>\s*<details class="msg-quoted">\s*<summary>([^<]+)</summary>(.*?)</details>', page, re.S)
    assert body is not None, page
    shown, summary, folded = body.groups()
    assert new in shown and quoted not in shown
    assert summary == toggle
    assert quoted in folded and new not in folded
    # The header line of the history ("... a écrit :", "... wrote:", "De :") is folded with it.
    assert not re.search(r"a\s+écrit|wrote:|De&nbsp;:", shown)
    # Nothing is removed from what is stored.
    result.message.refresh_from_db()
    assert quoted in result.message.body_html and new in result.message.body_html


def test_a_plain_text_reply_folds_the_quoted_history_too(client, supervisor):
    result = ingest_email(raw=(CORPUS / "09_reply_fr_gmail.eml").read_bytes())
    client.force_login(supervisor)
    page = case_page(client, result.case, "fr")
    match = re.search(r'<div class="msg-body">(.*?)</div>\s*<details class="msg-quoted">\s*<summary>Afficher le texte cité</summary>(.*?)</details>', page, re.S)
    assert match is not None
    shown, folded = match.groups()
    assert "Le colis est bien arrivé ce matin" in shown and "relancé" not in shown
    assert "Nous avons relancé le transporteur." in folded and "a écrit" in folded


def test_a_message_without_history_or_with_only_history_is_shown_whole(client, supervisor):
    plain = ingest_email(raw=b"From: a@example.com\r\nSubject: Colis\r\nMessage-ID: <w-1@example.com>\r\n\r\nBonjour,\r\nmon colis ?\r\n")
    all_quote = ingest_email(raw=(b"From: b@example.com\r\nSubject: Re: Colis\r\nMessage-ID: <w-2@example.com>\r\n"
                                  b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                                  b'<div class="gmail_quote">On Tue, Dec 1, 2026 at 9:30 AM X wrote:<blockquote>old words</blockquote></div>'))
    client.force_login(supervisor)
    for result, words in ((plain, "mon colis ?"), (all_quote, "old words")):
        page = case_page(client, result.case, "en")
        assert words in page
        assert "Show quoted text" not in page


def test_the_folded_parts_are_sanitised(client, supervisor):
    raw = (b"From: c@example.com\r\nSubject: Re: Colis\r\nMessage-ID: <x-1@example.com>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n"
           b'<p>New words <img src="x" onerror="alert(1)"></p><div class="gmail_quote btn">On Tue, Dec 1, 2026 X wrote:'
           b'<blockquote><a href="javascript:alert(2)">old</a><script>alert(3)</script></blockquote></div>')
    result = ingest_email(raw=raw)
    # A row written by a path that skipped the sanitiser: the display sanitises each part again.
    result.message.body_html = raw.split(b"\r\n\r\n", 1)[1].decode()
    result.message.save(update_fields=["body_html"])
    client.force_login(supervisor)
    page = case_page(client, result.case, "en")
    assert "Show quoted text" in page
    for unsafe in ("onerror", "javascript:", "alert(3)", 'class="gmail_quote btn"'):
        assert unsafe not in page
    assert 'class="gmail_quote"' in page  # the quote mark is kept, the page's own class is not


def test_the_api_lists_the_original_flagged(supervisor):
    result = ingest_email(raw=PHOTO)
    client = Client()
    client.force_login(supervisor)
    items = client.get(f"/api/v1/cases/{result.case.pk}/messages").json()["items"]
    files = [(item["filename"], item["kind"]) for item in items[0]["attachments"]]
    assert files == [("message.eml", "original"), ("colis.png", "file"), ("message.eml", "file")]


def test_the_migration_flags_the_originals_stored_before_it(db):
    # Given rows stored before the flag existed: the original first, a customer's message.eml after
    result = ingest_email(raw=PHOTO)
    Attachment.objects.filter(message=result.message).update(is_original=False)
    migration = importlib.import_module("prevenance.cases.migrations.0030_attachment_original")
    migration.mark_originals(global_apps, None)
    migration.mark_originals(global_apps, None)  # re-runnable
    rows = list(result.message.attachments.order_by("pk").values_list("filename", "is_original"))
    assert rows == [("message.eml", True), ("colis.png", False), ("message.eml", False)]


@pytest.mark.parametrize(
    ("html", "new", "quoted"),
    [
        # Stored before the sanitiser kept the quote marks (the review's case 5): cut at the header's text.
        ("<p>Bonjour,</p><p>Je n'ai <b>toujours rien reçu</b>.</p><div>Le mar. 1 déc. 2026, Service client a écrit :"
         "<blockquote>Bonjour José, Merci pour votre message...</blockquote></div>",
         "<p>Bonjour,</p><p>Je n'ai <b>toujours rien reçu</b>.</p>",
         "<div>Le mar. 1 déc. 2026, Service client a écrit :<blockquote>Bonjour José, Merci pour votre message...</blockquote></div>"),
        # Outlook for Windows, before sanitising: the header block's top border.
        ('<div><p>Merci.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
         "<p><b>From:</b> Shop</p></div><p>Old words</p></div>",
         "<div><p>Merci.</p>",
         '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p><b>From:</b> Shop</p></div><p>Old words</p></div>'),
        # A quotation the customer wrote themselves, with no header: not history.
        ("<p>As your site says:</p><blockquote>Delivered in 48 hours</blockquote><p>It took ten days.</p>",
         "<p>As your site says:</p><blockquote>Delivered in 48 hours</blockquote><p>It took ten days.</p>", ""),
        ("", "", ""),
    ],
)
def test_split_reply_html(html, new, quoted):
    assert split_reply_html(html) == (new, quoted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Merci !\n\n> Votre colis part demain.\n> Sophie\n", ("Merci !", "> Votre colis part demain.\n> Sophie")),
        # Answers written between quotes: nothing folded (the history must end the message).
        ("> Kept the box?\nYes.\n> Refund or replacement?\nReplacement.", None),
        # Nothing new above the history: shown whole.
        ("On Tue, Dec 1, 2026 at 9:30 AM X wrote:\n> old", None),
        ("Just words, no quote.", None),
        ("", None),
    ],
)
def test_split_reply_text(text, expected):
    assert split_reply_text(text) == (expected or (text, ""))


def test_the_sanitiser_keeps_only_the_quote_marks():
    html = ('<div class="gmail_quote btn error" id="thread"><blockquote type="cite" cite="https://x.example">a</blockquote>'
            '<blockquote type="other">b</blockquote><p class="gmail_quote">c</p></div>')
    assert sanitize_html(html) == ('<div class="gmail_quote"><blockquote type="cite">a</blockquote>'
                                   "<blockquote>b</blockquote><p>c</p></div>")
