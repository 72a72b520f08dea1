"""End to end in a real Chromium: an agent answers a case from the inbox with the keyboard.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_case_browser.py
Save the screenshots: add PREVENANCE_SCREENSHOT_DIR=docs (writes inbox.png and case.png there).
"""

import datetime as dt
import json
import zipfile
from pathlib import Path

from chromium import BROWSER_TESTS, chromium_page, log_in, screenshot
from django.utils import timezone

from prevenance.cases.choices import CaseType, TemplatePurpose
from prevenance.cases.models import Case, ReplyTemplate, SLAPolicy
from prevenance.cases.services import add_note, assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.tests.factories import OrderFactory, UserFactory

pytestmark = BROWSER_TESTS

# (email, first name, subject, message, channel, type, score, hours until the SLA clock is due)
CASES = [
    ("helene.marchand@example.fr", "Hélène", "Canapé livré avec un pied cassé",
     "Bonjour, le canapé commandé est arrivé avec un pied cassé. C'est inadmissible !", Channel.EMAIL, CaseType.COMPLAINT, 85, -1),
    ("paul.girard@example.fr", "Paul", "Remboursement toujours pas reçu",
     "J'attends mon remboursement depuis trois semaines.", Channel.PHONE, CaseType.REQUEST, 60, 1),
    ("ines.roux@example.fr", "Inès", "Changer le créneau de livraison",
     "Est-il possible de livrer samedi matin ?", Channel.CHAT, CaseType.REQUEST, 35, 20),
    ("marc.lefevre@example.fr", "Marc", "Facture en double",
     "J'ai reçu deux factures pour la même commande.", Channel.WEB, CaseType.QUESTION, 20, 30),
    ("lea.bernard@example.fr", "Léa", "Avis public sur la livraison",
     "Livraison en retard, personne ne répond…", Channel.SOCIAL, CaseType.COMPLAINT, 70, 5),
]


def inbox_world():
    """An agent in the Livraisons team, five cases of varying urgency, one reply template."""
    now = timezone.now()
    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    supervisor = UserFactory(username="claire", role="supervisor")
    team = TeamFactory(name="Livraisons", members=[agent])
    policy = SLAPolicy.objects.create(name="Standard", first_response_target=dt.timedelta(hours=8),
                                      resolution_target=dt.timedelta(days=2))
    made = []
    for email, first_name, subject, body, channel, case_type, score, hours in CASES:
        case = open_email_case(email, subject=subject, body=body, channel=Channel.EMAIL, type=case_type).case
        case.customer.first_name, case.customer.last_name = first_name, "Client"
        case.customer.save(update_fields=["first_name", "last_name"])
        assign_case(case=case, team=team, assignee=agent if score < 60 else None, actor=supervisor)
        due = now + dt.timedelta(hours=hours)
        Case.objects.filter(pk=case.pk).update(
            channel=channel, priority_score=score, sla_policy=policy,
            first_response_due_at=due, resolution_due_at=due + dt.timedelta(days=1),
            priority_reasons=[{"code": "case_type", "points": 20, "label": "Case type: complaint", "params": {"type": "complaint"}}]
            if case_type == CaseType.COMPLAINT else [],
        )
        made.append(case)
    first = made[0]
    OrderFactory(customer=first.customer, reference="CMD-2026-10412", channel=Channel.WEB)
    add_note(case=first, author=supervisor, body="Client fidèle depuis 2019 : proposer un geste.")
    ReplyTemplate.objects.create(
        name="Excuses et solution", purpose=TemplatePurpose.REPLY, language="fr",
        body="Bonjour {customer_first_name},\n\nNous sommes désolés pour ce désagrément (dossier {case_reference}). "
             "Un nouveau pied part aujourd'hui.\n\n{agent_first_name}",
    )
    return first


def test_an_agent_answers_the_most_urgent_case_from_the_inbox_with_the_keyboard(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    first = inbox_world()
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, "/cases/", "samir")
        expect(page).to_have_url(f"{live_server.url}/cases/")

        rows = page.locator("#inbox-rows .inbox-row")
        expect(rows).to_have_count(5)
        expect(rows.first).to_contain_text("Canapé livré avec un pied cassé")  # the highest score first
        expect(rows.first.locator(".sla")).to_have_class("sla sla-breached")
        screenshot(page, "inbox.png")

        # j j k selects the first row again; Enter (or o) opens it. The shortcuts script is
        # deferred: wait for it, or a busy machine gets the keys before the handler exists.
        page.wait_for_load_state("load")
        page.keyboard.press("j")
        page.keyboard.press("j")
        expect(rows.nth(1)).to_have_class("inbox-row is-selected")
        page.keyboard.press("k")
        expect(rows.first).to_have_class("inbox-row is-selected")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{live_server.url}/cases/{first.pk}/")
        page.wait_for_load_state("load")
        expect(page.locator("h1")).to_contain_text(first.reference)
        expect(page.locator(".case-side")).to_contain_text("CMD-2026-10412")

        # ? shows the shortcuts; Escape closes them.
        page.keyboard.press("?")
        expect(page.locator("#shortcuts-help")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#shortcuts-help")).to_be_hidden()

        # r goes to the reply box; picking the template fills it for this customer.
        page.keyboard.press("r")
        expect(page.locator("#id_body")).to_be_focused()
        page.select_option("#id_template", label="Excuses et solution")
        expect(page.locator("#id_body")).to_have_value(
            f"Bonjour Hélène,\n\nNous sommes désolés pour ce désagrément (dossier {first.reference}). "
            "Un nouveau pied part aujourd'hui.\n\nSamir"
        )
        page.click("#reply-form button[type=submit]")
        reply = page.locator("#thread .msg-outbound")
        expect(reply).to_have_count(1)
        expect(reply).to_contain_text("Un nouveau pied part aujourd'hui.")
        expect(page.locator("#case-status")).to_have_text("Open")  # the first reply opens a new case

        # a assigns the case to me, through the same HTMX swap.
        page.keyboard.press("a")
        expect(page.locator(".case-facts")).to_contain_text("Samir Benali")  # colleagues by their names
        screenshot(page, "case.png")

        # The page in French once: the language switch reloads it, still on the case.
        page.select_option("#language-select", "fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page).to_have_url(f"{live_server.url}/cases/{first.pk}/")
        page.wait_for_load_state("load")
        expect(page.locator("#thread .msg-outbound")).to_have_count(1)

        # g i goes back to the inbox.
        page.keyboard.press("g")
        page.keyboard.press("i")
        expect(page).to_have_url(f"{live_server.url}/cases/")


def test_an_agent_downloads_the_original_of_an_email_from_the_case_page(live_server, monkeypatch, settings, tmp_path):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.services import ingest_email  # noqa: PLC0415

    settings.MEDIA_ROOT = tmp_path
    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    raw = ("From: Hélène Marchand <helene.marchand@example.fr>\r\nTo: service.client@example.fr\r\n"
           "Subject: =?UTF-8?Q?Canap=C3=A9_ab=C3=AEm=C3=A9?=\r\nMessage-ID: <orig-canape@example.fr>\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Le pied du canapé est cassé.</p>"
           '<div class="gmail_quote">Le lun. 30 nov. 2026, Service client a écrit\u00a0:'
           "<blockquote>Votre canapé est livré demain.</blockquote></div>\r\n").encode()
    case = ingest_email(raw=raw).case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    with chromium_page(monkeypatch, locale="fr-FR", accept_downloads=True) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        # The new words first; the history their mail client quoted, folded until asked for.
        expect(page.locator("#thread").get_by_text("Le pied du canapé est cassé.")).to_be_visible()
        history = page.locator("#thread").get_by_text("Votre canapé est livré demain.")
        expect(history).to_be_hidden()
        page.get_by_text("Afficher le texte cité").click()
        expect(history).to_be_visible()
        # The raw original apart from the customer's files, not as an attachment.
        expect(page.locator("#thread .attachments")).to_have_count(0)
        link = page.get_by_role("link", name="E-mail d’origine (.eml)")
        expect(link).to_be_visible()
        screenshot(page, "case-original.png")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "message.eml"
        assert Path(download.value.path()).read_bytes() == raw  # the bytes kept in the database


def test_an_agent_sends_a_return_label_with_the_reply_and_the_customer_gets_it(live_server, monkeypatch, settings, tmp_path):
    from django.core import mail  # noqa: PLC0415
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    settings.MEDIA_ROOT = tmp_path / "media"
    label = tmp_path / "etiquette-retour.pdf"
    label.write_bytes(b"%PDF-1.4\n% return label\n")
    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    case = open_email_case("helene.marchand@example.fr", subject="Canapé abîmé", body="Le pied est cassé.").case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    mail.outbox.clear()
    with chromium_page(monkeypatch, locale="fr-FR") as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.wait_for_load_state("load")
        page.fill("#id_body", "Bonjour, voici l'étiquette de retour à coller sur le colis.")
        page.set_input_files("#id_attachments", str(label))
        page.click("#reply-form button[type=submit]")
        reply = page.locator("#thread .msg-outbound").last
        expect(reply).to_contain_text("voici l'étiquette de retour")
        expect(reply.get_by_role("link", name="etiquette-retour.pdf")).to_be_visible()  # swapped in by HTMX
        screenshot(page, "case-reply-attachment.png")
    sent = [message for message in mail.outbox if message.to == ["helene.marchand@example.fr"] and "étiquette" in message.body]
    assert [name for name, _content, _kind in sent[0].attachments] == ["etiquette-retour.pdf"]


def test_a_supervisor_sees_the_bounced_address_why_the_reply_did_not_go_and_exports_the_customer(
    live_server, monkeypatch, settings, tmp_path,
):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.choices import MessageKind  # noqa: PLC0415
    from prevenance.cases.models import Message  # noqa: PLC0415
    from prevenance.cases.services import ensure_default_templates, ingest_email  # noqa: PLC0415
    from prevenance.cases.services.bounces import bounce_token  # noqa: PLC0415

    settings.MEDIA_ROOT = tmp_path
    ensure_default_templates()
    agent = UserFactory(username="samir", first_name="Samir", role="supervisor")
    case = open_email_case("helene.marchand@example.fr", subject="Canapé abîmé", body="Le pied est cassé.").case
    assign_case(case=case, team=TeamFactory(name="Livraisons", members=[agent]), actor=None)
    ack = Message.objects.get(case=case, kind=MessageKind.OUTBOUND)
    ingest_email(raw=(
        "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: care@example.fr\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-e2e@mx.example.net>\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; helene.marchand@example.fr\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ack.message_id}>\r\n"
        f"X-Prevenance-Bounce-Token: {bounce_token(ack.message_id, 'helene.marchand@example.fr')}\r\n--b--\r\n"
    ).encode())
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        warning = page.locator(".case-side .bounced-address")
        expect(warning).to_contain_text("helene.marchand@example.fr bounced on")
        expect(warning).to_have_attribute("title", "550 5.1.1 User unknown")
        expect(page.locator("#thread")).to_contain_text("Your message could not be delivered.")  # the bounce, on its case

        page.fill("#id_body", "Nous vous envoyons un nouveau pied.")
        page.click("#reply-form button[type=submit]")
        reply = page.locator("#thread .msg-outbound").last
        expect(reply).to_contain_text("Nous vous envoyons un nouveau pied.")
        expect(reply.locator(".send-error")).to_contain_text("bounced on")
        expect(reply.locator(".send-error")).to_contain_text("add another address")
        screenshot(page, "case-bounced.png")

        # The customer page marks the address; the GDPR export downloads everything, files included.
        page.click(".side-profile h2 a")
        expect(page.locator(".identities .pill-bounced")).to_contain_text("bounced on")
        with page.expect_download() as download:
            page.click("text=Export data (ZIP)")
        assert download.value.suggested_filename == f"customer-{case.customer_id}.zip"
        with zipfile.ZipFile(download.value.path()) as archive:
            document = json.loads(archive.read("customer.json"))
            names = set(archive.namelist())
        assert document["customers.identity"][0]["bounce_reason"] == "550 5.1.1 User unknown"
        assert {entry["path"] for entry in document["files"]} <= names
        assert any(entry["filename"] == "message.eml" for entry in document["files"])  # the bounce's original
        screenshot(page, "customer-bounced.png")
        # The customer said on the phone the address works: it is tried again.
        page.click("text=It works again")
        expect(page.locator(".identities .pill-bounced")).to_have_count(0)


def test_a_supervisor_reclassifies_a_question_as_a_complaint_and_routes_it_by_the_rules(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.models import RoutingRule  # noqa: PLC0415

    supervisor = UserFactory(username="claire", first_name="Claire", role="supervisor")
    complaints = TeamFactory(name="Réclamations", members=[supervisor])
    RoutingRule.objects.create(name="Réclamations", position=1, team=complaints, case_type=CaseType.COMPLAINT)
    case = open_email_case("paul.girard@example.fr", subject="Remboursement", body="Toujours rien reçu, c'est inadmissible.",
                           type=CaseType.QUESTION).case
    with chromium_page(monkeypatch) as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "claire")
        page.wait_for_load_state("load")
        page.select_option("#id_type", "complaint")
        page.click("#labels button[type=submit]")
        expect(page.locator(".case-head")).to_contain_text("Complaint")
        page.click("text=Route by the rules")
        expect(page.locator(".case-facts")).to_contain_text("Réclamations")
        screenshot(page, "case-reclassified.png")


def test_a_supervisor_corrects_the_channel_a_phone_call_was_recorded_on(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    supervisor = UserFactory(username="claire", first_name="Claire", role="supervisor")
    case = open_email_case("paul.girard@example.fr", subject="Retour en magasin", body="Le client est venu rendre la lampe.",
                           channel=Channel.PHONE, actor=supervisor).case
    with chromium_page(monkeypatch, locale="fr-FR") as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "claire")
        page.wait_for_load_state("load")
        expect(page.locator("label[for=id_channel]")).to_have_text("Arrivé par")
        page.select_option("#id_channel", "store")
        page.click("#labels button[type=submit]")
        expect(page.locator(".case-head")).to_contain_text("Magasin")
        expect(page.locator(".thread")).to_contain_text("Magasin")  # the opening message follows
        expect(page.locator("#case-side .tl-entry .channel").first).to_have_attribute("title", "Magasin")  # and the timeline
        screenshot(page, "case-channel-corrected.png")


def test_an_agent_steps_away_from_the_availability_page_in_french(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.models import AgentProfile  # noqa: PLC0415

    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    TeamFactory(name="Livraisons", members=[agent])
    with chromium_page(monkeypatch, locale="fr-FR") as page:
        log_in(page, live_server, "/cases/me/availability/", "samir")
        page.select_option("#language-select", "fr")
        expect(page.locator("h1")).to_have_text("Ma disponibilité")
        expect(page.locator(".card").first).to_contain_text("Disponible pour de nouveaux dossiers")
        page.uncheck("#id_available")
        page.fill("#id_max_open_cases", "8")
        page.click("form.card button[type=submit]")
        expect(page.locator(".card").first).to_contain_text("Absent : pas de nouveaux dossiers")
        expect(page.locator(".card").first).to_contain_text("(plafond : 8)")
        screenshot(page, "availability.png")
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.available, profile.max_open_cases) == (False, 8)


def test_the_case_page_shows_what_went_wrong_reading_an_email_and_how_we_write_in_french(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.services import ensure_default_templates, ingest_email  # noqa: PLC0415

    ensure_default_templates()
    agent = UserFactory(username="samir", first_name="Samir", role="agent")
    team = TeamFactory(name="Livraisons", members=[agent])
    raw = (
        "From: Hélène Marchand <helene.marchand@example.fr>\r\nTo: service@example.com\r\n"
        "Subject: Re: [C-2026-999999] Facture\r\nMessage-ID: <facture-1@example.fr>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, voici la facture et le programme demandé.\r\n"
        '--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="outil.exe"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n"
    ).encode()
    case = ingest_email(raw=raw).case
    assign_case(case=case, team=team, actor=agent)
    with chromium_page(monkeypatch, locale="fr-FR") as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.select_option("#language-select", "fr")
        problems = page.locator(".msg-problems")
        expect(problems).to_contain_text("Une pièce jointe a été refusée")
        expect(problems).to_contain_text("outil.exe")
        expect(problems).to_contain_text("C-2026-999999")  # the reference in the subject, not honoured
        guidance = page.locator(".tone-guidance")
        expect(guidance).to_contain_text("Écrivez comme une personne")
        expect(guidance).to_contain_text("Bien cordialement,")
        expect(guidance).to_contain_text("Samir")
        screenshot(page, "case-problems-fr.png")


def test_an_agent_reads_why_a_gesture_was_refused_and_finds_the_customers_cases_on_the_360_page(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.services import refuse_gesture, request_gesture  # noqa: PLC0415

    agent = UserFactory(username="samir", first_name="Samir", last_name="Benali", role="agent")
    boss = UserFactory(username="claire", first_name="Claire", last_name="Morel", role="supervisor")
    team = TeamFactory(name="Livraisons", members=[agent])
    case = assign_case(case=open_email_case("lea.bernard@example.fr", subject="Canapé taché").case, team=team, assignee=agent, actor=boss)
    older = assign_case(case=open_email_case("lea.bernard@example.fr", subject="Retard de livraison").case, team=team, actor=boss)
    waiting = request_gesture(case=case, type="refund", amount="180", currency="EUR", reason="Canapé taché à la livraison", actor=agent)
    refuse_gesture(gesture=waiting, actor=boss, reason="Proposer d'abord un nettoyage à domicile")
    with chromium_page(monkeypatch, locale="fr-FR") as page:
        log_in(page, live_server, f"/cases/{case.pk}/", "samir")
        page.select_option("#language-select", "fr")
        gestures = page.locator("#gestures")
        expect(gestures).to_contain_text("Refusé")
        expect(gestures).to_contain_text("par Claire Morel")
        expect(gestures).to_contain_text("« Proposer d'abord un nettoyage à domicile »")
        screenshot(page, "case-gesture-refused-fr.png")
        page.click("#case-side a[href^='/customers/']")
        cases = page.locator("#customer-cases")
        expect(cases).to_contain_text(case.reference)
        expect(cases).to_contain_text(older.reference)
        screenshot(page, "customer-360-cases-fr.png")
        cases.locator(f"a:has-text('{older.reference}')").click()
        expect(page.locator("h1")).to_contain_text(older.reference)


def test_split_and_merge_ask_before_they_run(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    from prevenance.cases.services import add_inbound_message  # noqa: PLC0415

    UserFactory(username="claire", first_name="Claire", role="supervisor")
    case = open_email_case("paul.girard@example.fr", subject="Deux sujets", body="Mon colis est abîmé.").case
    add_inbound_message(case=case, body="Et ma facture est fausse.")
    other = open_email_case("paul.girard@example.fr", subject="Colis", body="Toujours rien.").case
    answers = []
    with chromium_page(monkeypatch) as page:
        page.on("dialog", lambda dialog: (answers.append(dialog.message), dialog.dismiss() if len(answers) == 1 else dialog.accept()))
        log_in(page, live_server, f"/cases/{case.pk}/", "claire")
        page.wait_for_load_state("load")
        split = page.locator("text=Split into a new case")
        expect(split).to_have_count(2)  # one per customer message, none on the acknowledgement
        split.last.click()  # dismissed: nothing happens
        page.wait_for_timeout(300)
        assert Case.objects.count() == 2
        split.last.click()  # accepted: the message becomes a case
        page.wait_for_url(lambda url: f"/cases/{case.pk}/" not in url)
        assert Case.objects.filter(split_from=case).count() == 1
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        expect(page.locator("text=Split into a new case")).to_have_count(0)  # its only customer message left
        page.fill("#id_loser", other.reference)
        page.click("text=Merge into this case")
        expect(page.locator(".messages")).to_be_visible()
    assert answers[0].startswith("Move this message out") and answers[2].startswith("Merge the other case")
    other.refresh_from_db()
    assert other.merged_into_id == case.pk
