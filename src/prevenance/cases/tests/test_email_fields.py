"""What the email intake keeps of each message: recipients, mailbox, references, flags, problems, files."""

import io
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from prevenance.cases.models import Attachment, Case, Message
from prevenance.cases.services import ingest_email, open_case
from prevenance.cases.services.email_attachments import display_filename, refusal
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.customers.models import Customer
from prevenance.customers.services import IdentityInput

CORPUS = Path(__file__).parent / "mail_corpus"
SERVICE = "service.client@boutique-lumiere.fr"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def eml(*, sender: str, subject: str, message_id: str, to: str = SERVICE, headers: str = "", body: str = "Toujours rien reçu.") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.django_db
def test_recipients_references_and_mailbox_are_stored_on_the_message_and_the_case():
    # Given a team behind the service mailbox
    team = TeamFactory(name="Service client", email=SERVICE)
    # When Claire writes to it, with Paul in copy, a Bcc header and references to an older thread
    raw = eml(sender="Claire <claire@example.com>", subject="Colis", message_id="c1@example.com",
              to=f"Service <{SERVICE}>, Paul <paul@example.com>",
              headers="Cc: Paul <PAUL@example.com>, Jeanne <jeanne@example.com>\r\nBcc: archive@example.com\r\n"
                      "References: <old-1@example.com> <old-2@example.com>\r\n")
    result = ingest_email(raw=raw)
    # then the message keeps every recipient and the chain, and the case its mailbox, team and copies
    message = result.message
    assert (message.to_addresses, message.cc_addresses, message.bcc_addresses) == (
        [SERVICE, "paul@example.com"], ["paul@example.com", "jeanne@example.com"], ["archive@example.com"])
    assert (message.mailbox, message.references, message.automatic, message.problems) == (
        SERVICE, "old-1@example.com old-2@example.com", "", [])
    case = Case.objects.get(pk=result.case.pk)
    assert (case.mailbox, case.team_id, case.cc_addresses) == (SERVICE, team.pk, ["paul@example.com", "jeanne@example.com"])


@pytest.mark.django_db
def test_the_envelope_recipient_wins_over_the_headers():
    TeamFactory(name="Service client", email=SERVICE)
    litiges = TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    # A message sent To the service address but delivered to the disputes mailbox (Bcc, alias, list)
    result = ingest_email(raw=eml(sender="claire@example.com", subject="Litige", message_id="c1@example.com"),
                          mailbox="Litiges@Boutique-Lumiere.fr")
    assert (result.message.mailbox, result.case.mailbox, result.case.team_id) == (
        "litiges@boutique-lumiere.fr", "litiges@boutique-lumiere.fr", litiges.pk)


@pytest.mark.django_db
def test_an_address_no_team_owns_is_no_mailbox_and_no_team():
    result = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com"))
    assert (result.message.mailbox, result.case.mailbox, result.case.team_id) == ("", "", None)


@pytest.mark.django_db
def test_copies_accumulate_on_the_case_without_our_mailboxes_or_the_customer():
    TeamFactory(name="Service client", email=SERVICE)
    TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com",
                                 headers="Cc: paul@example.com\r\n"))
    # When her reply copies another of our mailboxes, herself, Paul again and her lawyer
    ingest_email(raw=eml(sender="claire@example.com", subject="Re: Colis", message_id="c2@example.com",
                         headers="In-Reply-To: <c1@example.com>\r\n"
                                 "Cc: litiges@boutique-lumiere.fr, claire@example.com, paul@example.com, avocat@cabinet.fr\r\n"))
    # then only the lawyer joins the case's copies
    assert Case.objects.get(pk=first.case.pk).cc_addresses == ["paul@example.com", "avocat@cabinet.fr"]


@pytest.mark.django_db
def test_someone_in_copy_may_answer_with_the_reference_in_the_subject():
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com",
                                 headers="Cc: paul@example.com\r\n"))
    # Paul writes a new mail (no In-Reply-To) quoting the case reference
    result = ingest_email(raw=eml(sender="paul@example.com", subject=f"Re: [{first.case.reference}] Colis", message_id="p1@example.com"))
    assert (result.outcome, result.threaded_by, result.case.pk) == (Outcome.APPENDED, "subject", first.case.pk)
    # whereas a stranger quoting it still opens a case of their own
    stranger = ingest_email(raw=eml(sender="eve@example.net", subject=f"[{first.case.reference}]", message_id="e1@example.net"))
    assert (stranger.outcome, stranger.refused_reference) == (Outcome.CREATED, first.case.reference)


@pytest.mark.django_db
def test_an_auto_reply_on_a_case_is_stored_flagged_with_its_original():
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com"))
    result = ingest_email(raw=corpus("14_autoreply_fr.eml").replace(b"<ack.C-2026-000321.1@boutique-lumiere.fr>", b"<c1@example.com>", 1))
    assert (result.outcome, result.case.pk) == (Outcome.AUTOMATIC_ON_CASE, first.case.pk)
    assert result.message.automatic == "auto_reply"
    assert list(result.message.attachments.values_list("filename", flat=True)) == ["message.eml"]


@pytest.mark.django_db
def test_parse_problems_are_stored_on_the_message():
    result = ingest_email(raw=corpus("18_no_message_id.eml"))
    assert {"code": "missing_message_id", "detail": ""} in result.message.problems


@pytest.mark.django_db
def test_each_attachment_is_stored_as_its_own_file_with_the_original():
    result = ingest_email(raw=corpus("12_mixed_attachments.eml"))
    stored = {a.filename: a for a in result.message.attachments.all()}
    assert set(stored) == {"message.eml", "colis.png", "facture-été-2026.pdf", "relevé.csv"}
    pdf = stored["facture-été-2026.pdf"]
    assert (pdf.content_type, pdf.size) == ("application/pdf", pdf.file.size)
    with pdf.file.open("rb") as handle:
        assert handle.read().startswith(b"%PDF-1.4")
    assert result.message.problems == []


@pytest.mark.django_db
def test_an_attachment_with_a_long_name_of_accented_letters_is_stored(tmp_path):
    # 240 characters, 480 bytes of UTF-8: too long for one file name on disk unless cut.
    name = "é" * 236 + ".pdf"
    raw = (
        f"From: camille@example.com\r\nTo: {SERVICE}\r\nSubject: Facture\r\nMessage-ID: <long-name@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nCi-joint.\r\n"
        f"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''{quote(name)}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()

    result = ingest_email(raw=raw)

    pdf = result.message.attachments.get(filename=name)
    assert len(Path(pdf.file.name).name.encode()) <= 255
    with pdf.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4\n"


@pytest.mark.django_db
def test_programs_are_refused_with_the_reason_and_the_rest_is_stored():
    # Given a message with a text file, an .exe, and a Windows program disguised as a PDF
    result = ingest_email(raw=corpus("24_executable_attachments.eml"))
    # then the text file and the original are stored, both programs refused and listed as problems
    assert sorted(result.message.attachments.values_list("filename", flat=True)) == ["bon-de-retour.txt", "message.eml"]
    assert result.message.problems == [
        {"code": "attachment_refused", "detail": "installeur.exe: a program or script, refused for safety"},
        {"code": "attachment_refused", "detail": "facture.pdf: a program or script, refused for safety"},
    ]
    # and the copies exclude our other mailbox
    assert result.case.cc_addresses == ["sophie.lefevre@laposte.net", "litiges@boutique-lumiere.fr"]


@pytest.mark.django_db
def test_an_attachment_over_the_limit_is_listed_and_kept_only_in_the_original(settings):
    settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 40  # the PDF of 12_mixed_attachments is 45 bytes
    raw = corpus("12_mixed_attachments.eml")
    result = ingest_email(raw=raw)
    names = set(result.message.attachments.values_list("filename", flat=True))
    assert "facture-été-2026.pdf" not in names and "message.eml" in names
    assert {"code": "attachment_too_large", "detail": "facture-été-2026.pdf"} in result.message.problems
    original = result.message.attachments.get(filename="message.eml")
    with original.open() as handle:
        assert handle.read() == raw


@pytest.mark.parametrize(("filename", "content_type", "head", "reason"), [
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff", ""),
    ("setup.EXE", "application/octet-stream", b"", "executable"),
    ("invoice.pdf.js", "application/pdf", b"", "executable"),
    ("notes.txt", "application/x-msdownload", b"", "executable"),
    ("run", "application/octet-stream", b"#!/bin/sh\n", "executable"),
    ("macro.docm", "application/octet-stream", b"PK", "executable"),
])
def test_refusal_looks_at_the_name_the_type_and_the_first_bytes(filename, content_type, head, reason, settings):
    settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1000
    assert refusal(filename=filename, content_type=content_type, size=10, head=head) == reason


def test_refusal_of_sizes(settings):
    settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1000
    assert refusal(filename="a.txt", content_type="text/plain", size=1001) == "too_large"
    assert refusal(filename="a.txt", content_type="text/plain", size=0) == "empty"


def test_display_filename_drops_folders_and_control_characters():
    assert display_filename("C:\\Users\\x\\..\\facture\x00.pdf") == "facture.pdf"
    assert display_filename("../../etc/passwd") == "passwd"
    assert display_filename("") == "attachment"


@pytest.mark.django_db
def test_bad_recipients_are_refused_with_the_field_and_nothing_is_written():
    with pytest.raises(ValidationError) as info:
        open_case(identities=[IdentityInput("email", "claire@example.com")], channel=Channel.EMAIL, subject="x", body="y",
                  cc=["not an address"], automatic="maybe", mailbox="nowhere")
    assert set(info.value.message_dict) == {"cc", "automatic", "mailbox"}
    assert (Customer.objects.count(), Case.objects.count(), Message.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_open_case_keeps_the_callers_fields_backward_compatible():
    # The other channels call open_case without any email field
    intake = open_email_case("lea@example.com", channel=Channel.WEB)
    message = intake.message
    assert (message.to_addresses, message.cc_addresses, message.mailbox, message.references, message.problems) == ([], [], "", "", [])
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_the_command_refuses_a_mailbox_that_is_no_address(tmp_path):
    path = tmp_path / "1.eml"
    path.write_bytes(eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com"))
    out = io.StringIO()
    call_command("ingest-email", str(path), "--mailbox", "service client", stdout=out)
    assert out.getvalue() == f"{path}: refused: “service client” is not an email address.\n"
    assert Message.objects.count() == 0
