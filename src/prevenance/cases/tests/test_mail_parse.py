"""One test per message of the hand-written corpus (mail_corpus/), with exact expected values."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from prevenance.cases.mail import MailAddress, ParseProblem, parse_message
from prevenance.cases.mail.quotes import split_reply_html, split_reply_text
from prevenance.cases.mail.sanitize import html_to_text

CORPUS = Path(__file__).parent / "mail_corpus"
PARIS_WINTER = timezone(timedelta(hours=1))
SERVICE = MailAddress("", "service.client@boutique-lumiere.fr")
SUPPORT = MailAddress("", "support@lumiere-shop.co.uk")


def parse(name: str):
    return parse_message((CORPUS / name).read_bytes())


def assert_clean(message):
    assert message.parse_errors == ()
    assert message.charset_problems is False
    assert message.is_auto_reply is False
    assert message.is_bounce is False


def test_every_corpus_file_has_its_own_test():
    # Given the corpus folder, when its files are listed, then each one is named in a test below.
    names = sorted(path.name for path in CORPUS.glob("*.eml"))
    source = Path(__file__).read_text()
    assert len(names) == 29
    assert [name for name in names if f'"{name}"' not in source] == []


def test_plain_french_utf8_quoted_printable():
    message = parse("01_plain_fr_utf8.eml")

    assert message.message_id == "CAF7x3p0Q2=hT9k@mail.orange.fr"
    assert message.synthetic_id is False
    assert message.subject == "Commande n° 48213 jamais reçue"
    assert message.from_ == MailAddress("Marie Dupont", "marie.dupont@orange.fr")
    # The display name was raw 8-bit UTF-8 in the header, not an encoded word.
    assert message.to == (MailAddress("Service client Lumière", "service.client@boutique-lumiere.fr"),)
    assert message.date == datetime(2026, 11, 23, 9, 14, 52, tzinfo=PARIS_WINTER)
    assert message.text == (
        "Bonjour,\n\nJ'ai passé la commande n° 48213 le 12 novembre et je ne l'ai toujours pas reçue. "
        "Le suivi indique « livré » depuis jeudi.\n\nPouvez-vous vérifier ?\n\n"
        "Merci d'avance,\nMarie Dupont\n06 12 34 56 78"
    )
    assert message.new_text == message.text
    assert message.html == ""
    assert message.attachments == ()
    assert message.case_reference is None
    assert message.in_reply_to is None and message.references == ()
    assert_clean(message)


def test_alternative_keeps_plain_text_and_sanitised_html():
    message = parse("02_alternative_en.eml")

    assert message.message_id == "20261123101500.4F2A@mail.example.com"
    assert message.from_ == MailAddress("James O'Neill", "james.oneill@example.com")
    assert message.to == (SUPPORT,)
    assert message.date == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert message.text == (
        "Hello,\n\nThe desk lamp in order 77120 arrived with a cracked shade.\n"
        "Could you send a replacement?\n\nThanks,\nJames"
    )
    assert message.html == (
        "<p>Hello,</p><p>The desk lamp in order 77120 arrived with a <b>cracked shade</b>."
        "<br>Could you send a replacement?</p><p>Thanks,<br>James</p>"
    )
    assert message.attachments == ()
    assert_clean(message)


def test_html_only_is_sanitised_and_gives_the_text():
    message = parse("03_html_only_fr.eml")

    assert message.from_ == MailAddress("Jérôme Lefèvre", "jerome.lefevre@free.fr")
    assert message.text == (
        "Bonjour,\n\nJ'attends toujours le remboursement de 49,90\xa0€.\n\n"
        "Voir le dossier ou mon compte\n\n- Commande 50412\n- Retour envoyé le 2 novembre\n\n"
        "Cordialement,\nJérôme"
    )
    for dangerous in ("<script", "onload", "onclick", "javascript:", "<iframe", "cadre", "tracker.example", "<style", "<title"):
        assert dangerous not in message.html
    assert '<a href="https://www.boutique-lumiere.fr/compte" rel="noopener noreferrer nofollow">mon compte</a>' in message.html
    assert "<b>49,90&nbsp;€</b>" in message.html
    assert_clean(message)


def test_iso_8859_1_body_and_encoded_headers():
    message = parse("04_latin1_fr.eml")

    assert message.message_id == "20261125083000.GA1234@laposte.net"
    assert message.subject == "Problème de facturation"
    assert message.from_ == MailAddress("Hélène Garnier", "helene.garnier@laposte.net")
    assert message.text == (
        "Bonjour,\n\nJ'ai été débitée deux fois pour la même commande (n° 49007).\n"
        "Merci de régulariser.\n\nHélène Garnier"
    )
    assert_clean(message)


def test_windows_1252_euro_sign_and_curly_quotes():
    message = parse("05_windows1252_fr.eml")

    assert message.message_id == "000a01db3f2e$9c1b2d40$d4518fc0$@wanadoo.fr"
    assert message.subject == "Geste commercial – 30 €"
    assert message.text == (
        "Bonjour,\n\nVotre conseillère m’a promis un « geste commercial » de 30 € – "
        "je ne l’ai pas reçu.\n\nBernard Petit"
    )
    assert_clean(message)


def test_wrong_declared_charset_falls_back_and_is_flagged():
    message = parse("06_wrong_charset.eml")

    assert message.text == "Le livreur est passé à 14 h mais personne n'a sonné."
    assert message.charset_problems is True
    assert message.parse_errors == (ParseProblem("charset", "utf-8"),)


def test_unknown_charsets_in_body_and_subject_fall_back_and_are_flagged():
    message = parse("07_unknown_charset.eml")

    assert message.subject == "Café table"
    assert message.text == "The café table I ordered is missing two screws."
    assert message.charset_problems is True
    assert message.parse_errors == (ParseProblem("charset", "x-klingon"),)


def test_rfc2047_b_words_split_mid_character_and_q_names():
    message = parse("08_encoded_headers.eml")

    assert message.subject == "Réclamation : produit défectueux, commande 51234 — remboursement demandé"
    assert message.from_ == MailAddress("Élodïe Dürand", "elodie.durand@gmail.com")
    assert message.to == (MailAddress("Service client Lumière", "service.client@boutique-lumiere.fr"),)
    assert message.cc == (
        MailAddress("François Durand", "francois.durand@gmail.com"),
        MailAddress("Durand, Anne", "anne.durand@gmail.com"),
    )
    assert message.reply_to == (MailAddress("Élodïe Dürand", "elodie.perso@gmail.com"),)
    assert message.bcc == ()
    assert_clean(message)


def test_french_gmail_reply_threads_and_cuts_the_wrapped_quote_header():
    message = parse("09_reply_fr_gmail.eml")

    assert message.message_id == "CAKx9=reply.fr.9@mail.gmail.com"
    assert message.in_reply_to == "ack.C-2026-000123.1@boutique-lumiere.fr"
    # The same id written with another domain case appears once, normalised.
    assert message.references == ("CAF7x3p0Q2=hT9k@mail.orange.fr", "ack.C-2026-000123.1@boutique-lumiere.fr")
    assert message.subject == "Re: [C-2026-000123] Commande n° 48213 jamais reçue"
    assert message.case_reference == "C-2026-000123"
    assert message.new_text == "Bonjour,\n\nLe colis est bien arrivé ce matin, merci.\nVous pouvez clore la demande.\n\nMarie"
    assert message.text.endswith("> Cordialement,\n> Sophie, service client")
    assert_clean(message)


def test_english_outlook_reply_cuts_original_message():
    message = parse("10_reply_en_outlook.eml")

    assert message.message_id == "DB9PR04MB8.10@db9pr04mb8.eurprd04.prod.outlook.com"
    assert message.in_reply_to == "ack.C-2026-000456.1@lumiere-shop.co.uk"
    assert message.references == ("20261123101500.4F2A@mail.example.com", "ack.C-2026-000456.1@lumiere-shop.co.uk")
    assert message.case_reference == "C-2026-000456"
    assert message.new_text == "Thanks, the replacement shade fits perfectly.\n\nJames"
    assert "-----Original Message-----" in message.text
    assert_clean(message)


def test_french_outlook_reply_cuts_de_envoye_block():
    message = parse("11_reply_fr_outlook.eml")

    assert message.subject == "RE\xa0: Votre demande C-2026-000789"
    assert message.case_reference == "C-2026-000789"
    assert message.from_ == MailAddress("Petit, Bernard", "bernard.petit@wanadoo.fr")
    assert message.new_text == "Bonjour,\nJe confirme avoir bien reçu le bon d'achat.\nBernard"
    assert message.text.endswith("voici votre bon d'achat de 30 €.")
    assert message.html == (
        "<div>Bonjour,<br>Je confirme avoir bien reçu le bon d'achat.<br>Bernard</div><hr>"
        "<div><b>De :</b> Service client Lumière<br><b>Envoyé :</b> lundi 30 novembre 2026 10:00</div>"
    )
    assert_clean(message)


def test_nested_mixed_related_alternative_with_attachments():
    message = parse("12_mixed_attachments.eml")

    assert message.text == "Bonjour, voici la facture et la photo du colis abîmé."
    assert message.html == (
        '<p>Bonjour, voici la facture et la photo du colis abîmé.</p>'
        '<img src="cid:photo.colis@icloud.com" alt="colis">'
    )
    photo, invoice, statement = message.attachments
    assert (photo.filename, photo.content_type, photo.size, photo.content_id, photo.inline) == (
        "colis.png", "image/png", 70, "photo.colis@icloud.com", True,
    )
    assert photo.content.startswith(b"\x89PNG\r\n")
    # RFC 2231 filename with non-ASCII characters.
    assert (invoice.filename, invoice.content_type, invoice.size, invoice.content_id, invoice.inline) == (
        "facture-été-2026.pdf", "application/pdf", 45, None, False,
    )
    assert invoice.content == b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    # RFC 2047 word inside a quoted filename, as some clients still send.
    assert (statement.filename, statement.content_type, statement.content) == (
        "relevé.csv", "text/csv", b"commande;montant\n49007;49,90",
    )
    assert all(not item.too_large for item in message.attachments)
    assert_clean(message)


def test_forwarded_message_is_an_attachment_not_the_body():
    message = parse("13_forward_rfc822.eml")

    assert message.subject == "Fwd: Lampe en panne"
    assert message.text == "Je vous transfère le message de mon mari."
    (forwarded,) = message.attachments
    assert (forwarded.filename, forwarded.content_type, forwarded.inline) == ("part-1.eml", "message/rfc822", False)
    inner = parse_message(forwarded.content)
    assert inner.message_id == "original.complaint@example.net"
    assert inner.text == "La lampe ne s'allume plus depuis hier."
    assert_clean(message)


def test_french_auto_reply_is_recognised():
    message = parse("14_autoreply_fr.eml")

    assert message.subject == "Réponse automatique\xa0: Absence du bureau"
    assert message.is_auto_reply is True
    assert message.auto_reply_reasons == ("auto-submitted:auto-replied", "x-auto-response-suppress")
    assert message.is_bounce is False
    assert message.in_reply_to == "ack.C-2026-000321.1@boutique-lumiere.fr"


def test_exchange_out_of_office_by_subject_and_loop_header():
    message = parse("15_outofoffice_en_exchange.eml")

    assert message.is_auto_reply is True
    assert message.auto_reply_reasons == ("subject",)
    assert message.case_reference == "C-2026-000654"
    assert message.is_bounce is False


def test_newsletter_is_bulk():
    message = parse("16_newsletter_bulk.eml")

    assert message.from_ == MailAddress("Partenaire Déco", "newsletter@news.partenaire.example")
    assert message.is_auto_reply is True
    assert message.auto_reply_reasons == ("precedence:bulk", "list-id", "list-unsubscribe")
    assert message.is_bounce is False


def test_delivery_status_report_is_a_bounce_and_keeps_its_parts():
    message = parse("17_bounce_dsn.eml")

    assert message.is_bounce is True
    assert message.bounce_reasons == ("delivery-status-report", "daemon-sender", "null-return-path")
    assert message.from_ == MailAddress("Mail Delivery System", "mailer-daemon@mx.boutique-lumiere.fr")
    assert message.text.startswith("This is the mail system at host mx.boutique-lumiere.fr.")
    report, headers = message.attachments
    assert (report.filename, report.content_type) == ("part-1.txt", "message/delivery-status")
    assert b"Final-Recipient: rfc822; ancien.client@example.invalid" in report.content
    assert (headers.filename, headers.content_type) == ("part-2.txt", "text/rfc822-headers")
    assert b"<ack.C-2026-000999.1@boutique-lumiere.fr>" in headers.content
    # The case reference is only read from the subject, never from quoted headers.
    assert message.case_reference is None


def test_missing_message_id_gets_a_deterministic_synthetic_id():
    raw = (CORPUS / "18_no_message_id.eml").read_bytes()

    first, again = parse_message(raw), parse_message(raw)

    assert first.synthetic_id is True
    assert first.message_id == again.message_id
    assert first.message_id.endswith("@synthetic.prevenance.invalid")
    assert parse_message(raw + b"P.S. Merci.\n").message_id != first.message_id
    assert first.parse_errors == (ParseProblem("missing_message_id"),)
    assert first.text == "La garantie couvre-t-elle l'ampoule ?"


def test_duplicate_headers_keep_the_first_and_are_reported():
    message = parse("19_duplicate_headers.eml")

    assert message.message_id == "first.19@mail.example.com"
    assert message.subject == "Where is my refund?"
    assert message.date == datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    assert message.parse_errors == (
        ParseProblem("duplicate_header", "message-id"),
        ParseProblem("duplicate_header", "subject"),
        ParseProblem("duplicate_header", "date"),
    )


def test_missing_boundary_keeps_the_body_as_text():
    message = parse("20_missing_boundary.eml")

    assert message.subject == "Pièce manquante"
    assert "Il manque une vis dans le carton." in message.text
    assert message.parse_errors == (
        ParseProblem("mime_defect", "StartBoundaryNotFoundDefect"),
        ParseProblem("mime_defect", "MultipartInvariantViolationDefect"),
    )


def test_truncated_message_keeps_text_and_partial_attachment():
    message = parse("21_truncated.eml")

    assert message.text == "The vase was broken on arrival, photos attached."
    (photo,) = message.attachments
    assert (photo.filename, photo.content_type, photo.size) == ("vase.jpg", "image/jpeg", 60)
    assert photo.content.startswith(b"\xff\xd8\xff\xe0")
    assert message.parse_errors == (ParseProblem("mime_defect", "CloseBoundaryNotFoundDefect"),)


def test_complaint_about_absence_is_not_an_auto_reply():
    message = parse("22_absence_complaint_not_auto.eml")

    assert message.subject == "Absence de remboursement depuis un mois"
    assert message.text == "Toujours aucun remboursement pour le retour du 5 novembre."
    assert_clean(message)


def test_inline_answers_between_quotes_are_kept():
    message = parse("23_inline_reply_en.eml")

    assert message.case_reference == "C-2026-000456"
    assert message.new_text == "Yes, I kept the box.\n\nA replacement, please."
    assert message.in_reply_to == "reply.C-2026-000456.3@lumiere-shop.co.uk"
    assert_clean(message)


def test_programs_among_attachments_are_extracted_for_the_intake_to_judge():
    # The parser keeps every part; refusing programs is the intake's decision (email_attachments.py).
    message = parse("24_executable_attachments.eml")

    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("bon-de-retour.txt", "text/plain"), ("installeur.exe", "application/octet-stream"), ("facture.pdf", "application/pdf"),
    ]
    assert message.attachments[2].content.startswith(b"MZ")
    assert [a.address for a in message.cc] == ["sophie.lefevre@laposte.net", "litiges@boutique-lumiere.fr"]
    assert message.parse_errors == ()


# HTML replies from the usual clients: the history is found by the markup each client writes
# (kept through sanitising) and folded in the thread; `new_text` cuts it from the text part.
@pytest.mark.parametrize(
    ("name", "new", "header", "quoted"),
    [
        ("25_reply_fr_gmail_html.eml", "Bonjour,\n\nJe n'ai toujours rien reçu sur mon compte.\n\nJosé",
         "Le mar. 1 déc. 2026 à 08:45, Service client <service-client@maison-prevenance.example> a écrit\xa0:",
         "Merci pour votre message, nous vérifions votre remboursement."),
        ("26_reply_en_gmail_html.eml", "Thanks, the tracking link works now.\n\nJane",
         "On Tue, Dec 1, 2026 at 9:30 AM Customer service <service-client@maison-prevenance.example> wrote:",
         "Your lamp left our warehouse yesterday."),
        ("27_reply_fr_outlook_web.eml", "Bonjour,\nVoici la photo du colis abîmé.\nClaire",
         "De\xa0: Service client <service-client@maison-prevenance.example>",
         "Bonjour Madame Martin, pouvez-vous nous envoyer une photo ?"),
        ("28_reply_en_apple_mail.eml", "Received it, thank you!\n\nTom",
         "> On 1 Dec 2026, at 11:02, Customer service <service-client@maison-prevenance.example> wrote:",
         "Hello Tom, your refund of 45 EUR was sent today."),
        ("29_reply_fr_thunderbird.eml", "Merci, la facture est correcte.\n\nPaul",
         "Le 01/12/2026 à 13:02, Service client a écrit\xa0:",
         "Voici votre facture corrigée."),
    ],
)
def test_html_replies_of_the_usual_clients_split_where_their_history_starts(name, new, header, quoted):
    message = parse(name)

    assert message.new_text == new
    shown, history = split_reply_html(message.html)
    assert html_to_text(shown).split() == new.split()  # the same words (the HTML's blocks may space them apart)
    history_lines = html_to_text(history).split("\n")
    assert history_lines[0] == header
    assert quoted in html_to_text(history)
    assert shown + history == message.html  # cut, nothing removed
    assert split_reply_text(message.text)[0] == new
    assert_clean(message)
