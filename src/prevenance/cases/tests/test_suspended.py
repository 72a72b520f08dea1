"""The suspended queue: inbound messages that could not become a case on their own are kept
aside, and a supervisor recovers them into a case or discards them (docs/email-intake.md)."""

import base64
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import SuspendedAuditKind, SuspendedStatus
from prevenance.cases.models import Case, Message, SuspendedMessage
from prevenance.cases.services import (
    ensure_default_templates,
    ingest_email,
    suspended_discard,
    suspension,
)
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.services.suspended import recover_suspended
from prevenance.cases.services.suspended_discard import discard_suspended
from prevenance.cases.services.suspended_retention import purge_suspended
from prevenance.cases.services.suspension import RAW_IN_DATABASE_MAX_BYTES, keep_contact_form
from prevenance.cases.tasks import purge_suspended_messages
from prevenance.core.models import AuditEvent
from prevenance.customers.models import Identity
from prevenance.customers.tests.factories import UserFactory

QUEUE = reverse("cases:suspended")


def nameless(message_id: str = "lost-1@example.com", *, sender_line: str = "", body: str = "Mon colis n'est jamais arrivé.") -> bytes:
    return (
        f"{sender_line}To: service.client@boutique-lumiere.fr\r\nSubject: Colis perdu\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def with_large_file(raw: bytes) -> bytes:
    """The message with an attachment that makes it larger than what is kept in the row."""
    head, body = raw.split(b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
    payload = base64.encodebytes(b"\x00" * RAW_IN_DATABASE_MAX_BYTES)
    return (head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
            + body + b'--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="photo.bin"\r\n'
            + b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--b--\r\n")


def recover(client, row, email):
    return client.post(reverse("cases:suspended_recover", kwargs={"suspended_id": row.pk}), {"email": email})


@pytest.mark.django_db
class TestKeptAside:
    def test_an_email_without_a_sender_is_kept_once_with_its_original(self):
        raw = nameless()
        first, again = ingest_email(raw=raw), ingest_email(raw=raw)
        assert (first.outcome, first.reason, first.case, again.outcome) == (Outcome.SUSPENDED, "no_sender", None, Outcome.SUSPENDED)
        assert first.suspended.pk == again.suspended.pk
        kept = SuspendedMessage.objects.get()
        assert (kept.channel, kept.subject, kept.body.strip(), kept.status) == ("email", "Colis perdu", "Mon colis n'est jamais arrivé.", "waiting")
        assert kept.raw_bytes() == raw
        assert not Case.objects.exists() and not Message.objects.exists()

    def test_an_unusable_sender_address_is_kept_with_the_address_as_given(self):
        result = ingest_email(raw=nameless(sender_line="From: Marc <marc..dupont@example.com>\r\n"))
        assert (result.outcome, result.reason) == (Outcome.SUSPENDED, "invalid_sender")
        assert SuspendedMessage.objects.get().sender == "Marc <marc..dupont@example.com>"

    def test_a_from_header_that_cannot_be_read_is_kept_as_it_was_written(self):
        result = ingest_email(raw=nameless(sender_line="From: Marc <marc@localhost>\r\n"))
        assert (result.outcome, result.reason) == (Outcome.SUSPENDED, "no_sender")
        assert SuspendedMessage.objects.get().sender == "Marc <marc@localhost>"

    def test_another_message_reusing_the_same_message_id_is_kept_too(self):
        ingest_email(raw=nameless(body="Premier message."))
        ingest_email(raw=nameless(body="Un tout autre message."))
        assert SuspendedMessage.objects.count() == 2

    def test_a_large_original_goes_to_the_file_storage(self):
        result = ingest_email(raw=with_large_file(nameless()))
        kept = result.suspended
        assert kept.raw is None and kept.raw_file.name and default_storage.exists(kept.raw_file.name)
        assert len(kept.raw_bytes()) > RAW_IN_DATABASE_MAX_BYTES

    def test_a_reply_without_a_sender_still_joins_its_case(self):
        opened = ingest_email(raw=nameless("q1@example.com", sender_line="From: marie@example.fr\r\n"))
        reply = ingest_email(raw=nameless("q2@example.com").replace(b"Subject:", b"In-Reply-To: <q1@example.com>\r\nSubject:"))
        assert (reply.outcome, reply.case.pk) == (Outcome.APPENDED, opened.case.pk)
        assert not SuspendedMessage.objects.exists()


@pytest.mark.django_db
class TestRecovery:
    def test_a_recovered_email_opens_the_case_it_would_have_opened_dated_when_it_came(self, supervisor):
        ensure_default_templates()  # as `prevenance bootstrap` does: new cases are acknowledged
        kept = ingest_email(raw=nameless()).suspended
        SuspendedMessage.objects.filter(pk=kept.pk).update(received_at=timezone.now() - timedelta(hours=5))
        case = recover_suspended(suspended_id=kept.pk, actor=supervisor, email="  Lea.Martin@Example.fr ")
        assert (case.channel, case.subject) == ("email", "Colis perdu")
        assert Identity.objects.get(customer=case.customer).normalized == "lea.martin@example.fr"
        inbound = case.messages.get(kind="inbound")
        assert inbound.sender_address == "lea.martin@example.fr"
        assert timezone.now() - inbound.created_at > timedelta(hours=4)  # the SLA clock runs from when it came
        # The customer is told it was received, at the address the supervisor gave.
        acknowledgement = case.messages.get(kind="outbound")
        assert acknowledgement.to_addresses == ["lea.martin@example.fr"]
        kept.refresh_from_db()
        assert (kept.status, kept.case_id, kept.handled_by, kept.raw) == (SuspendedStatus.RECOVERED, case.pk, supervisor, None)
        assert AuditEvent.objects.filter(kind=SuspendedAuditKind.RECOVERED, subject_id=str(kept.pk), actor=supervisor).exists()
        # The same email delivered again is the stored message now, not a second case.
        assert ingest_email(raw=nameless()).outcome == Outcome.DUPLICATE
        assert Case.objects.count() == 1

    def test_a_wrong_address_changes_nothing(self, supervisor):
        kept = ingest_email(raw=nameless()).suspended
        for address in ("", "pas une adresse", "marc..dupont@example.com"):
            with pytest.raises(ValidationError) as refused:
                recover_suspended(suspended_id=kept.pk, actor=supervisor, email=address)
            assert "email" in refused.value.message_dict
        kept.refresh_from_db()
        assert kept.status == SuspendedStatus.WAITING and not Case.objects.exists()

    def test_a_message_is_recovered_once(self, supervisor):
        kept = ingest_email(raw=nameless()).suspended
        recover_suspended(suspended_id=kept.pk, actor=supervisor, email="lea@example.fr")
        with pytest.raises(ValidationError, match="already recovered into case C-"):
            recover_suspended(suspended_id=kept.pk, actor=supervisor, email="autre@example.fr")
        assert Case.objects.count() == 1

    def test_a_large_original_is_recovered_and_its_file_removed(self, supervisor, django_capture_on_commit_callbacks):
        kept = ingest_email(raw=with_large_file(nameless())).suspended
        name = kept.raw_file.name
        with django_capture_on_commit_callbacks(execute=True):
            case = recover_suspended(suspended_id=kept.pk, actor=supervisor, email="lea@example.fr")
        assert case.messages.get(kind="inbound").attachments.filter(filename="message.eml").exists()
        assert not default_storage.exists(name)

    def test_a_contact_form_is_recovered_with_what_the_visitor_typed(self, client, supervisor):
        client.post(reverse("cases:contact"), {
            "first_name": "Inès", "last_name": "Moreau", "email": "ines.moreau@example.fr", "phone": "n/a", "type": "complaint",
            "order": "", "subject": "Canapé taché", "body": "Le canapé est arrivé taché.", "website": "inès (rempli par le navigateur)",
            "submission_id": "0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a001",
        }, REMOTE_ADDR="203.0.113.8")
        kept = SuspendedMessage.objects.get()
        case = recover_suspended(suspended_id=kept.pk, actor=supervisor, email=kept.form_data["email"])
        assert (case.channel, case.type, case.subject, case.customer.first_name) == ("web", "complaint", "Canapé taché", "Inès")
        assert case.messages.get(kind="inbound").body_text == "Le canapé est arrivé taché."

    @pytest.mark.django_db(transaction=True)
    def test_two_supervisors_recovering_at_once_open_one_case(self, supervisor, admin_user):
        if connection.vendor == "sqlite":
            pytest.skip("SQLite serialises writers: the race needs PostgreSQL's row locks")
        kept = ingest_email(raw=nameless()).suspended
        barrier, outcomes = threading.Barrier(2), []

        def attempt(actor, email):
            barrier.wait()
            try:
                outcomes.append(recover_suspended(suspended_id=kept.pk, actor=actor, email=email).reference)
            except ValidationError as exc:
                outcomes.append(exc.messages[0])
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(actor, email))
                   for actor, email in ((supervisor, "lea@example.fr"), (admin_user, "autre@example.fr"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Case.objects.count() == 1
        assert sorted(outcome.startswith("This message was already recovered") for outcome in outcomes) == [False, True]


@pytest.mark.django_db
class TestDiscardAndRetention:
    def test_discarding_deletes_the_waiting_ones_with_an_audit_row_each(self, supervisor):
        first = ingest_email(raw=nameless("a@example.com")).suspended
        second = ingest_email(raw=nameless("b@example.com")).suspended
        recovered = ingest_email(raw=nameless("c@example.com")).suspended
        recover_suspended(suspended_id=recovered.pk, actor=supervisor, email="lea@example.fr")
        assert discard_suspended(suspended_ids=[first.pk, second.pk, recovered.pk], actor=supervisor) == 2
        assert list(SuspendedMessage.objects.values_list("pk", flat=True)) == [recovered.pk]
        events = AuditEvent.objects.filter(kind=SuspendedAuditKind.DISCARDED)
        assert sorted(int(event.subject_id) for event in events) == [first.pk, second.pk]
        assert events.first().payload["subject"] == "Colis perdu"

    def test_the_daily_purge_deletes_what_is_past_the_retention_with_its_file(self, settings, django_capture_on_commit_callbacks):
        settings.PREVENANCE_SUSPENDED_RETENTION_DAYS = 30
        old = ingest_email(raw=with_large_file(nameless("old@example.com"))).suspended
        recent = ingest_email(raw=nameless("recent@example.com")).suspended
        SuspendedMessage.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))
        SuspendedMessage.objects.filter(pk=recent.pk).update(received_at=timezone.now() - timedelta(days=29))
        with django_capture_on_commit_callbacks(execute=True):
            assert purge_suspended_messages() == 1
        assert list(SuspendedMessage.objects.values_list("pk", flat=True)) == [recent.pk]
        assert not default_storage.exists(old.raw_file.name)
        assert purge_suspended() == 0


@pytest.mark.django_db
class TestPage:
    def test_supervisors_see_the_queue_with_a_badge_and_agents_do_not(self, client, supervisor, agent):
        ingest_email(raw=nameless())
        client.force_login(supervisor)
        page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Colis perdu" in page and "No readable sender address" in page
        # Reached from the inbox's views, with how many wait.
        inbox = client.get(reverse("cases:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        link = inbox.split(f'href="{QUEUE}"')[1].split("</a>")[0]
        assert "Suspended<span" in link and '<span class="tab-count">1</span>' in link
        assert "Messages that could not become a case on their own" in inbox.split(f'href="{QUEUE}"')[1]  # its title says what they are
        client.force_login(agent)
        assert client.get(QUEUE).status_code == 403
        assert reverse("cases:suspended") not in client.get(reverse("cases:inbox")).content.decode()

    def test_recovering_from_the_page_goes_to_the_new_case(self, client, supervisor):
        kept = ingest_email(raw=nameless(sender_line="From: Marc <marc..dupont@example.com>\r\n")).suspended
        client.force_login(supervisor)
        assert 'value="marc..dupont@example.com"' in client.get(QUEUE).content.decode()  # to correct, not to type again
        refused = recover(client, kept, "marc..dupont@example.com")
        assert refused["Location"] == QUEUE
        assert "Message not recovered" in client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        response = recover(client, kept, "marc@example.com")
        case = Case.objects.get()
        assert response["Location"] == reverse("cases:case", kwargs={"case_id": case.pk})

    def test_the_page_is_in_french_too(self, client, supervisor):
        ingest_email(raw=nameless())
        client.force_login(supervisor)
        page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "Messages suspendus" in page and "Aucune adresse d’expéditeur lisible" in page

    def test_discarding_from_the_page_and_downloading_the_original(self, client, supervisor, agent):
        raw = nameless()
        kept = ingest_email(raw=raw).suspended
        download = reverse("cases:suspended_download", kwargs={"suspended_id": kept.pk})
        client.force_login(agent)
        assert client.get(download).status_code == 403
        assert client.post(reverse("cases:suspended_discard"), {"selected": [kept.pk]}).status_code == 403
        client.force_login(supervisor)
        answer = client.get(download)
        assert (answer.status_code, answer["Content-Type"], answer.content) == (200, "message/rfc822", raw)
        assert "attachment" in answer["Content-Disposition"]
        client.post(reverse("cases:suspended_discard"), {"selected": [kept.pk, "x"]})
        assert not SuspendedMessage.objects.exists()
        assert client.get(download).status_code == 404


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03" + bytes(300)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(media) -> list[str]:
    """The names of the files in the storage, without their folders and random parts."""
    return sorted(path.name.split("-", 1)[1] for path in media.rglob("*") if path.is_file()) if media.exists() else []


def honeypot_form(submission_id: str = "0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a002", **overrides) -> dict:
    return {
        "first_name": "Inès", "last_name": "Moreau", "email": "ines.moreau@example.fr", "phone": "", "type": "complaint",
        "order": "", "subject": "Canapé taché", "body": "Le canapé est arrivé taché, voici les photos.",
        "website": "ines.moreau", "submission_id": submission_id, **overrides,
    }


def uploads(*files: tuple[str, bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, content) for name, content in files]


def keep_form(submission_id: str, *files: tuple[str, bytes], reason_subject: str = "Canapé taché") -> SuspendedMessage:
    return keep_contact_form(data=honeypot_form(submission_id, subject=reason_subject), files=uploads(*files), language="fr", client="x")


@pytest.mark.django_db
class TestFormFiles:
    def test_a_kept_form_keeps_its_files_once_and_the_case_gets_them_on_recovery(self, client, supervisor, media,
                                                                             django_capture_on_commit_callbacks):
        for _ in range(2):  # the same submission posted twice: one row, one copy of each file
            response = client.post(reverse("cases:contact"), {
                **honeypot_form(), "attachments": uploads(("photo.png", PNG), ("facture.pdf", PDF), ("outil.exe", EXE)),
            }, REMOTE_ADDR="203.0.113.21")
            assert response["Location"] == reverse("cases:contact_thanks")
        kept = SuspendedMessage.objects.get()
        assert [(item["name"], item["size"], item["content_type"]) for item in kept.form_files] == [
            ("photo.png", len(PNG), "image/png"), ("facture.pdf", len(PDF), "application/pdf")]
        assert kept.files_refused == 1
        assert stored(media) == ["facture.pdf", "photo.png"]
        # The supervisor sees them on the page and can download each before deciding.
        client.force_login(supervisor)
        page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "photo.png" in page and "1 file not kept (refused by the form's checks)." in page
        link = reverse("cases:suspended_file", kwargs={"suspended_id": kept.pk, "index": 0})
        answer = client.get(link)
        assert (answer.status_code, b"".join(answer.streaming_content)) == (200, PNG)
        assert answer["Content-Disposition"].startswith("attachment") and "photo.png" in answer["Content-Disposition"]
        assert client.get(reverse("cases:suspended_file", kwargs={"suspended_id": kept.pk, "index": 2})).status_code == 404

        with django_capture_on_commit_callbacks(execute=True):
            case = recover_suspended(suspended_id=kept.pk, actor=supervisor, email="ines.moreau@example.fr")
        attachments = case.messages.get(kind="inbound").attachments.order_by("pk")
        assert [(item.filename, item.content_type, item.file.read()) for item in attachments] == [
            ("photo.png", "image/png", PNG), ("facture.pdf", "application/pdf", PDF)]
        kept.refresh_from_db()
        assert kept.form_files == []
        assert stored(media) == ["facture.pdf", "photo.png"]  # the case's copies only: the suspended ones are removed
        assert not any(path.is_file() for path in (media / "suspended").rglob("*"))
        assert client.get(link).status_code == 404

    def test_files_the_form_refuses_or_past_its_number_are_not_kept_but_counted(self, client, settings, media):
        settings.PREVENANCE_CONTACT_FORM_MAX_FILES = 2
        settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1000
        client.post(reverse("cases:contact"), {**honeypot_form(), "attachments": uploads(
            ("outil.exe", EXE), ("grande.png", PNG + bytes(1000)), ("photo.png", PNG), ("facture.pdf", PDF), ("note.txt", b"merci"),
        )}, REMOTE_ADDR="203.0.113.22")
        kept = SuspendedMessage.objects.get()
        assert ([item["name"] for item in kept.form_files], kept.files_refused) == (["photo.png", "facture.pdf"], 3)
        assert stored(media) == ["facture.pdf", "photo.png"]

    def test_no_file_is_left_behind_when_the_row_is_not_written(self, media, monkeypatch):
        def broken_save(*args, **kwargs):
            raise DatabaseError("disk full")

        monkeypatch.setattr(SuspendedMessage, "save", broken_save)
        with pytest.raises(DatabaseError):
            keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a003", ("photo.png", PNG), ("facture.pdf", PDF))
        assert stored(media) == []

    def test_the_same_form_kept_at_once_by_two_workers_leaves_one_copy_of_its_files(self, media, monkeypatch):
        first = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a004", ("photo.png", PNG))
        looked_up = []
        real_kept = suspension._kept

        def not_there_yet(message_id):  # the other worker's row is not committed when this one looks
            looked_up.append(message_id)
            return None if len(looked_up) == 1 else real_kept(message_id)

        monkeypatch.setattr(suspension, "_kept", not_there_yet)
        again = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a004", ("photo.png", PNG))
        assert again.pk == first.pk and SuspendedMessage.objects.count() == 1
        assert stored(media) == ["photo.png"]

    def test_discarding_and_the_purge_delete_the_files(self, supervisor, settings, media, django_capture_on_commit_callbacks):
        settings.PREVENANCE_SUSPENDED_RETENTION_DAYS = 30
        discarded = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a005", ("photo.png", PNG))
        old = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0a006", ("facture.pdf", PDF))
        SuspendedMessage.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))
        with django_capture_on_commit_callbacks(execute=True):
            discard_suspended(suspended_ids=[discarded.pk], actor=supervisor)
        assert stored(media) == ["facture.pdf"]
        with django_capture_on_commit_callbacks(execute=True):
            assert purge_suspended() == 1
        assert stored(media) == [] and not SuspendedMessage.objects.exists()


def discard_all(client, **data):
    return client.post(reverse("cases:suspended_discard_all"), data)


@pytest.mark.django_db
class TestDiscardAll:
    def test_discarding_all_that_match_the_filter_across_pages(self, client, supervisor, media, monkeypatch,
                                                               django_capture_on_commit_callbacks):
        monkeypatch.setattr(suspended_discard, "DISCARD_BATCH", 2)  # several batches with a few rows
        robots = [keep_form(f"0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0b00{n}", ("photo.png", PNG)) for n in range(5)]
        email = ingest_email(raw=nameless()).suspended
        recovered = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0b010", reason_subject="Déjà récupéré")
        recover_suspended(suspended_id=recovered.pk, actor=supervisor, email="ines.moreau@example.fr")
        client.force_login(supervisor)
        page = client.get(QUEUE, {"reason": "honeypot"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Yes, discard all 5 waiting messages that match this filter." in page and "Colis perdu" not in page
        up_to = int(page.split('name="up_to" value="')[1].split('"')[0])
        late = keep_form("0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0b011")  # came after the page was shown: not discarded unseen

        # Not confirmed: nothing goes.
        refused = discard_all(client, reason="honeypot", channel="", up_to=up_to)
        assert refused["Location"] == f"{QUEUE}?reason=honeypot"
        assert SuspendedMessage.objects.count() == 8
        with django_capture_on_commit_callbacks(execute=True):
            response = discard_all(client, reason="honeypot", channel="", up_to=up_to, confirm="on")
        assert response["Location"] == f"{QUEUE}?reason=honeypot"
        assert sorted(SuspendedMessage.objects.values_list("pk", flat=True)) == sorted([email.pk, recovered.pk, late.pk])
        events = AuditEvent.objects.filter(kind=SuspendedAuditKind.DISCARDED)
        assert sorted(int(event.subject_id) for event in events) == sorted(robot.pk for robot in robots)
        assert stored(media) == []  # the robots' copies are gone
        assert "5 messages discarded." in client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    def test_discarding_all_needs_the_delete_permission(self, client, agent, supervisor):
        kept = ingest_email(raw=nameless()).suspended
        client.force_login(agent)
        assert discard_all(client, reason="", channel="", up_to=kept.pk, confirm="on").status_code == 403
        reader = UserFactory(username="reader", role="agent")
        reader.user_permissions.add(Permission.objects.get(codename="view_suspendedmessage"))
        client.force_login(reader)
        assert client.get(QUEUE).status_code == 200
        assert "discard-all-form" not in client.get(QUEUE).content.decode()
        assert discard_all(client, reason="", channel="", up_to=kept.pk, confirm="on").status_code == 403
        assert SuspendedMessage.objects.count() == 1 and not AuditEvent.objects.filter(kind=SuspendedAuditKind.DISCARDED).exists()
