"""The email intake's review fixes: what the database refuses, nameless attachments, HTML-only
messages, refused references kept, replays with their dates, long case numbers, mailboxes
from delivery headers, the reply subject's language. SQLite and PostgreSQL."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import DataError, OperationalError
from django.utils import timezone, translation

from prevenance.cases.choices import MessageKind
from prevenance.cases.mail import parse_message
from prevenance.cases.mail.headers import case_reference
from prevenance.cases.mail.problems import REFUSED_REFERENCE, ParseProblem
from prevenance.cases.management.commands import ingest_email as ingest_command
from prevenance.cases.models import Case, Message
from prevenance.cases.services import ensure_default_templates, ingest_email, outbound
from prevenance.cases.services.email_intake import Outcome, message_date
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.models import Identity
from prevenance.interactions.models import Interaction

SERVICE = "service.client@boutique-lumiere.fr"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def eml(*, sender: str = "Marie Dupont <marie.dupont@orange.fr>", subject: str = "Commande 48213", message_id: str,
        body: str = "Toujours rien reçu.", headers: str = "", date: str = "Mon, 23 Nov 2026 10:00:00 +0100", to: str = SERVICE) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: {date}\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def multipart(*parts: str, subject: str = "Photos", message_id: str = "parts@orange.fr") -> bytes:
    body = "".join(f"--b\r\n{part}\r\n" for part in parts)
    return (
        f"From: marie.dupont@orange.fr\r\nTo: {SERVICE}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{body}--b--\r\n"
    ).encode()


TEXT_PART = "Content-Type: text/plain; charset=utf-8\r\n\r\nVoici les pièces."
PDF_PART = "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf"  # %PDF-1.4
PNG_PART = ("Content-Type: image/png\r\nContent-ID: <p1@orange.fr>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "iVBORw0KGgoAAAANSUhEUg==")
ICS_PART = "Content-Type: text/calendar; method=REQUEST; charset=utf-8\r\nContent-Disposition: attachment\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR"


def first_case():
    return ingest_email(raw=eml(message_id="first@orange.fr"))


# 1. What the database would refuse ------------------------------------------------------------

@pytest.mark.django_db
def test_an_auto_reply_with_a_nul_byte_a_long_id_and_a_long_name_is_stored_cleaned_once():
    # Given Marie's case
    first = first_case()
    # When her out-of-office answers in the thread with a NUL in its text, a 300-character
    # Message-ID and a 300-character display name (PostgreSQL refused each: DataError)
    long_id = "o" * 290 + "@orange.fr"
    raw = eml(sender=f"{'M' * 300} <marie.dupont@orange.fr>", subject="Absente\x00", message_id=long_id,
              body="Je suis absente\x00 jusqu'au 3.", headers="In-Reply-To: <first@orange.fr>\r\nAuto-Submitted: auto-replied\r\n")
    result = ingest_email(raw=raw)
    # then it is stored on the case, cleaned as a customer's message is
    assert (result.outcome, result.case.pk) == (Outcome.AUTOMATIC_ON_CASE, first.case.pk)
    message = Message.objects.get(pk=result.message.pk)
    assert message.body_text == "Je suis absente jusqu'au 3."
    assert (message.message_id, result.message_id) == (long_id[:255], long_id[:255])
    assert message.sender_name == "M" * 255
    assert (message.in_reply_to, message.references) == ("first@orange.fr", "")
    # and a second delivery is a duplicate of it, not a second row
    again = ingest_email(raw=raw)
    assert (again.outcome, again.message.pk) == (Outcome.DUPLICATE, message.pk)
    assert Message.objects.filter(case=first.case).count() == 2


@pytest.mark.django_db
def test_an_out_of_office_on_the_timeline_only_is_stored_without_nul():
    first_case()
    raw = eml(sender="marie.dupont@orange.fr", subject="=?utf-8?q?Absence=00_du_bureau?=", message_id="ooo@orange.fr",
              body="Absente\x00 cette semaine.", headers="Auto-Submitted: auto-replied\r\n")
    result = ingest_email(raw=raw)
    assert result.outcome == Outcome.AUTOMATIC_ON_TIMELINE
    entry = Interaction.objects.get(pk=result.interaction.pk)
    assert (entry.summary, entry.body) == ("Automatic reply: Absence du bureau", "Absente cette semaine.")


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("ingest-email", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_reports_a_message_the_database_refuses_and_goes_on(tmp_path, monkeypatch):
    bad, good = tmp_path / "bad.eml", tmp_path / "good.eml"
    bad.write_bytes(eml(message_id="bad@orange.fr"))
    good.write_bytes(eml(message_id="good@orange.fr"))
    real = ingest_command.ingest_email

    def refusing(*, raw, **kwargs):
        if b"bad@orange.fr" in raw:
            raise DataError("invalid byte sequence for encoding \"UTF8\": 0x00")
        return real(raw=raw, **kwargs)

    monkeypatch.setattr(ingest_command, "ingest_email", refusing)
    assert run_command(str(bad), str(good)).splitlines() == [
        f"{bad}: refused: the database could not store it: invalid byte sequence for encoding \"UTF8\": 0x00",
        f"{good}: created {Case.objects.get().reference}",
    ]


@pytest.mark.django_db
def test_the_command_stops_when_the_database_is_down(tmp_path, monkeypatch):
    path = tmp_path / "m.eml"
    path.write_bytes(eml(message_id="m@orange.fr"))

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(ingest_command, "ingest_email", down)
    with pytest.raises(OperationalError):
        run_command(str(path))


# 2. Attachments sent without a name -----------------------------------------------------------

@pytest.mark.parametrize(("content_type", "name"), [
    ("application/pdf", "part-1.pdf"),
    ("image/png", "part-1.png"),
    ("image/jpeg", "part-1.jpg"),
    ("text/calendar", "part-1.ics"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "part-1.docx"),
    ("application/x-prevenance-unheard-of", "part-1"),
    ("application/octet-stream", "part-1.bin"),
])
def test_a_part_without_a_name_is_named_after_its_type(content_type, name):
    raw = multipart(TEXT_PART, f"Content-Type: {content_type}\r\nContent-Disposition: attachment\r\n\r\ndata")
    assert [item.filename for item in parse_message(raw).attachments] == [name]


@pytest.mark.django_db
def test_nameless_pdf_pasted_screenshot_and_invitation_are_stored_not_refused():
    # Given a message with a PDF, an inline screenshot (only a Content-ID) and an invitation, none named
    result = ingest_email(raw=multipart(TEXT_PART, PDF_PART, PNG_PART, ICS_PART))
    # then each is stored under a name of its type, and nothing is refused
    message = Message.objects.get(pk=result.message.pk)
    assert sorted(message.attachments.values_list("filename", "content_type")) == [
        ("message.eml", "message/rfc822"), ("part-1.pdf", "application/pdf"), ("part-2.png", "image/png"),
        ("part-3.ics", "text/calendar"),
    ]
    assert message.problems == []


@pytest.mark.django_db
def test_a_nameless_program_is_still_refused_by_its_first_bytes():
    exe = "Content-Type: image/png\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA"  # MZ
    result = ingest_email(raw=multipart(TEXT_PART, exe))
    assert [problem["code"] for problem in result.message.problems] == ["attachment_refused"]
    assert result.message.problems[0]["detail"].startswith("part-1.png: ")
    assert list(result.message.attachments.values_list("filename", flat=True)) == ["message.eml"]


# 3. HTML-only, no text, no subject ------------------------------------------------------------

@pytest.mark.django_db
def test_an_html_only_message_without_words_or_subject_opens_a_case():
    html = "Content-Type: text/html; charset=utf-8\r\n\r\n<div><img src=\"cid:p1@orange.fr\"></div>"
    raw = multipart("Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n" + html + "\r\n--r\r\n" + PNG_PART + "\r\n--r--",
                    subject="", message_id="screenshot@orange.fr")
    result = ingest_email(raw=raw)
    assert result.outcome == Outcome.CREATED
    message = result.message
    assert message.body_text == "(message without text; see the attached original)"
    assert 'src="cid:p1@orange.fr"' in message.body_html
    assert list(message.attachments.order_by("id").values_list("filename", flat=True)) == ["message.eml", "part-1.png"]


# 4. A refused subject reference is kept on the message -----------------------------------------

@pytest.mark.django_db
def test_a_forged_reference_is_stored_as_a_problem_of_the_message():
    stranger = open_email_case("paul@example.com").case
    result = ingest_email(raw=eml(subject=f"Re: [{stranger.reference}] mon colis", message_id="forged@orange.fr"))
    assert (result.outcome, result.refused_reference) == (Outcome.CREATED, stranger.reference)
    stored = Message.objects.get(pk=result.message.pk).problems
    assert stored == [{"code": REFUSED_REFERENCE, "detail": stranger.reference}]
    assert result.problems == (ParseProblem(REFUSED_REFERENCE, stranger.reference),)
    assert "not this sender's case" in result.problems[0].label


# 5. Replays and migrations: --keep-dates, --no-acknowledge --------------------------------------

@pytest.mark.django_db
def test_keep_dates_dates_the_case_and_its_reply_by_their_date_headers(tmp_path):
    first, reply = tmp_path / "1.eml", tmp_path / "2.eml"
    first.write_bytes(eml(message_id="old@orange.fr", date="Tue, 05 Mar 2024 09:30:00 +0100"))
    reply.write_bytes(eml(message_id="old-2@orange.fr", date="Wed, 06 Mar 2024 08:00:00 +0100",
                          headers="In-Reply-To: <old@orange.fr>\r\n"))
    out = run_command("--keep-dates", str(first), str(reply))
    # Numbered in the year it was sent, dated when it was sent
    assert out.splitlines() == [f"{first}: created C-2024-000001", f"{reply}: appended to C-2024-000001"]
    case = Case.objects.get()
    sent = datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    assert (case.created_at, case.last_customer_message_at) == (sent, datetime(2024, 3, 6, 7, 0, tzinfo=UTC))
    assert list(case.messages.order_by("created_at").values_list("created_at", flat=True)) == [sent, datetime(2024, 3, 6, 7, 0, tzinfo=UTC)]


@pytest.mark.django_db
def test_without_keep_dates_a_message_is_dated_when_it_is_taken_in(tmp_path):
    path = tmp_path / "1.eml"
    path.write_bytes(eml(message_id="old@orange.fr", date="Tue, 05 Mar 2024 09:30:00 +0100"))
    before = timezone.now()
    run_command(str(path))
    assert Case.objects.get().created_at >= before


def test_a_date_in_the_future_or_from_a_broken_clock_is_not_kept():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def parsed(date: str):
        return parse_message(eml(message_id="d@orange.fr", date=date))

    assert message_date(parsed("Mon, 23 Nov 2026 12:00:00 +0000"), now=now) == now
    assert message_date(parsed("Mon, 23 Nov 2026 12:00:01 +0000"), now=now) is None  # in the future
    assert message_date(parsed("Thu, 01 Jan 1970 00:00:00 +0000"), now=now) is None  # a zero timestamp
    assert message_date(parsed("not a date"), now=now) is None


@pytest.mark.django_db
def test_keep_dates_puts_an_automatic_reply_on_the_timeline_at_its_date(tmp_path):
    first_case()
    path = tmp_path / "ooo.eml"
    path.write_bytes(eml(sender="marie.dupont@orange.fr", subject="Absence", message_id="ooo@orange.fr",
                         date="Tue, 05 Mar 2024 09:30:00 +0100", headers="Auto-Submitted: auto-replied\r\n"))
    run_command("--keep-dates", str(path))
    assert Interaction.objects.get(external_id="cases.email:ooo@orange.fr").occurred_at == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_no_acknowledge_queues_no_acknowledgement(tmp_path):
    ensure_default_templates()
    quiet, usual = tmp_path / "1.eml", tmp_path / "2.eml"
    quiet.write_bytes(eml(message_id="quiet@orange.fr"))
    usual.write_bytes(eml(message_id="usual@orange.fr", sender="paul@example.com"))
    run_command("--no-acknowledge", str(quiet))
    run_command(str(usual))
    acknowledged = {case.messages.get(kind=MessageKind.INBOUND).message_id: case.messages.filter(kind=MessageKind.OUTBOUND).count()
                    for case in Case.objects.all()}
    assert acknowledged == {"quiet@orange.fr": 0, "usual@orange.fr": 1}
    assert Case.objects.get(messages__message_id="quiet@orange.fr").acknowledged_at is None


def test_no_acknowledge_also_keeps_quiet_for_a_follow_up_case(supervisor):
    from prevenance.cases.choices import CaseStatus
    from prevenance.cases.services import change_status

    ensure_default_templates()
    first = ingest_email(raw=eml(message_id="first@orange.fr")).case
    change_status(case=first, status=CaseStatus.RESOLVED, actor=supervisor)
    change_status(case=first, status=CaseStatus.CLOSED, actor=supervisor)
    late = ingest_email(raw=eml(message_id="late@orange.fr", headers="In-Reply-To: <first@orange.fr>\r\n"), acknowledge=False)
    assert late.outcome == Outcome.FOLLOW_UP
    assert not late.case.messages.filter(kind=MessageKind.OUTBOUND).exists()


# 6. Case numbers past 999,999 -----------------------------------------------------------------

def test_a_seven_digit_case_number_is_read_from_the_subject():
    assert case_reference("Re: [C-2026-1000000] Colis") == "C-2026-1000000"
    assert case_reference("Re: [C-2026-000123] Colis") == "C-2026-000123"
    assert case_reference("Suite C-2026-12000000") == "C-2026-12000000"
    assert case_reference("C-2026-12345") is None
    assert case_reference("C-2026-0001234") is None  # never written: six digits are zero-padded, more are not


@pytest.mark.django_db
def test_a_reply_threads_by_a_seven_digit_reference():
    case = first_case().case
    Case.objects.filter(pk=case.pk).update(reference="C-2026-1000000")
    result = ingest_email(raw=eml(subject="Re: [C-2026-1000000] Commande 48213", message_id="later@orange.fr"))
    assert (result.outcome, result.threaded_by, result.case.pk) == (Outcome.APPENDED, "subject", case.pk)


# 7. A reply's default subject in the case's language --------------------------------------------

@pytest.mark.django_db
def test_a_reply_on_a_case_without_subject_is_titled_in_the_cases_language(monkeypatch):
    # The French msgstr of "Your request" is the translators' to add: the test records the
    # language active when the words are looked up instead.
    case = open_email_case(subject="", body="Bonjour, mon colis ?").case
    Case.objects.filter(pk=case.pk).update(language="fr")
    case.refresh_from_db()
    monkeypatch.setattr(outbound, "_", lambda text: f"{translation.get_language()}:{text}")
    with translation.override("en"):
        assert outbound.outbound_subject(case) == f"Re: [{case.reference}] fr:Your request"
    Case.objects.filter(pk=case.pk).update(language="en")
    case.refresh_from_db()
    with translation.override("fr"):
        assert outbound.outbound_subject(case) == f"Re: [{case.reference}] en:Your request"


# 8. The mailbox from the message's own delivery headers ----------------------------------------

@pytest.mark.django_db
def test_without_an_envelope_the_delivery_headers_name_the_teams_mailbox():
    litiges = TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    # Sent to an alias, delivered to the disputes mailbox (Postfix adds Delivered-To / X-Original-To)
    raw = eml(message_id="alias@orange.fr", to="contact@boutique-lumiere.fr",
              headers="Delivered-To: somebody@elsewhere.example\r\nX-Original-To: Litiges@Boutique-Lumiere.fr\r\n")
    result = ingest_email(raw=raw)
    assert (result.message.mailbox, result.case.mailbox, result.case.team_id) == (
        "litiges@boutique-lumiere.fr", "litiges@boutique-lumiere.fr", litiges.pk)


@pytest.mark.django_db
def test_delivery_headers_naming_no_team_mailbox_are_ignored():
    TeamFactory(name="Service", email=SERVICE)
    raw = eml(message_id="x@orange.fr", headers="Delivered-To: attacker@evil.example\r\n")
    result = ingest_email(raw=raw)
    assert result.case.mailbox == SERVICE  # from To, as before


@pytest.mark.django_db
def test_the_envelope_recipient_given_by_the_route_comes_first():
    TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    service = TeamFactory(name="Service", email=SERVICE)
    raw = eml(message_id="y@orange.fr", headers="Delivered-To: litiges@boutique-lumiere.fr\r\n")
    result = ingest_email(raw=raw, mailbox=SERVICE)
    assert (result.case.mailbox, result.case.team_id) == (SERVICE, service.pk)



@pytest.mark.django_db
def test_a_message_replayed_with_its_old_date_does_not_clear_a_bounce_flag(tmp_path):
    first_case()
    flagged = timezone.now()
    Identity.objects.filter(normalized="marie.dupont@orange.fr").update(bounced_at=flagged, bounce_reason="5.1.1")
    path = tmp_path / "old.eml"
    path.write_bytes(eml(message_id="old@orange.fr", subject="Autre chose", date="Tue, 05 Mar 2024 09:30:00 +0100"))
    run_command("--keep-dates", str(path))
    assert Identity.objects.get(normalized="marie.dupont@orange.fr").bounced_at == flagged
    # while a message taken in now does
    ingest_email(raw=eml(message_id="new@orange.fr", subject="Encore"))
    assert Identity.objects.get(normalized="marie.dupont@orange.fr").bounced_at is None
