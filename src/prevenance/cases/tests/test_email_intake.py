"""ingest_email: threading, exactly-once, auto-replies and bounces, the ingest-email command."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Attachment, Case, Message, SuspendedMessage
from prevenance.cases.services import add_reply, change_status, email_intake, ingest_email
from prevenance.cases.services.email_intake import Outcome, name_hints
from prevenance.core.testing import run_concurrently
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.interactions.models import Interaction

CORPUS = Path(__file__).parent / "mail_corpus"
FIRST_ID = "CAF7x3p0Q2=hT9k@mail.orange.fr"  # Message-ID of 01_plain_fr_utf8.eml


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def eml(*, sender: str, subject: str, message_id: str, body: str = "Toujours rien reçu.", headers: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def counts() -> tuple[int, int, int, int, int]:
    return (Customer.objects.count(), Case.objects.count(), Message.objects.count(), Interaction.objects.count(),
            Attachment.objects.count())


def reference(n: int) -> str:
    return f"C-{timezone.localdate().year}-{n:06d}"


@pytest.mark.django_db
def test_a_first_message_opens_an_email_case_for_the_sender():
    # Given an empty database, when Marie's first email is ingested
    raw = corpus("01_plain_fr_utf8.eml")
    result = ingest_email(raw=raw)
    # then a case is opened for a new customer named from the display name, with the raw message kept
    assert (result.outcome, result.threaded_by, result.refused_reference, result.automatic) == (Outcome.CREATED, "", "", "")
    case = result.case
    assert (case.reference, case.channel, case.status, case.subject) == (reference(1), "email", CaseStatus.NEW, "Commande n° 48213 jamais reçue")
    assert (case.customer.first_name, case.customer.last_name) == ("Marie", "Dupont")
    assert list(Identity.objects.filter(customer=case.customer).values_list("kind", "normalized")) == [("email", "marie.dupont@orange.fr")]
    message = result.message
    assert (message.message_id, message.sender_address, message.sender_name, message.channel) == (
        FIRST_ID, "marie.dupont@orange.fr", "Marie Dupont", "email")
    assert "48213" in message.body_text
    original = message.attachments.get()
    assert (original.filename, original.content_type, original.size) == ("message.eml", "message/rfc822", len(raw))
    with original.open() as handle:
        assert handle.read() == raw
    assert counts() == (1, 1, 1, 1, 1)


@pytest.mark.django_db
def test_a_reply_is_threaded_by_in_reply_to():
    # Given Marie's case, when she replies to her own first message (In-Reply-To)
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    raw = eml(sender="Marie Dupont <marie.dupont@orange.fr>", subject="Re: suite", message_id="reply-1@orange.fr",
              headers=f"In-Reply-To: <{FIRST_ID}>\r\n")
    result = ingest_email(raw=raw)
    # then it joins the same case
    assert (result.outcome, result.threaded_by, result.case.pk) == (Outcome.APPENDED, "in_reply_to", first.case.pk)
    assert list(first.case.messages.values_list("message_id", flat=True)) == [FIRST_ID, "reply-1@orange.fr"]
    assert counts() == (1, 1, 2, 2, 2)


@pytest.mark.django_db
def test_a_reply_is_threaded_by_references_when_in_reply_to_is_unknown():
    # Given Marie's case, when the Gmail reply comes (In-Reply-To is an id we never stored,
    # References names her first message; the subject names a case that does not exist)
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    result = ingest_email(raw=corpus("09_reply_fr_gmail.eml"))
    # then References threads it; the subject reference is not even looked at
    assert (result.outcome, result.threaded_by, result.case.pk, result.refused_reference) == (
        Outcome.APPENDED, "references", first.case.pk, "")
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_reply_is_threaded_by_the_case_reference_in_the_subject_when_the_sender_owns_the_case():
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    # When Marie writes anew, without threading headers, quoting her case reference
    raw = eml(sender="MARIE.DUPONT@orange.fr", subject=f"Re: [{reference(1)}] toujours rien", message_id="new-1@orange.fr")
    result = ingest_email(raw=raw)
    # then the subject reference threads it
    assert (result.outcome, result.threaded_by, result.case.pk) == (Outcome.APPENDED, "subject", first.case.pk)
    assert counts() == (1, 1, 2, 2, 2)


@pytest.mark.django_db
def test_a_forged_reference_does_not_attach_a_strangers_message():
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    # When someone else quotes Marie's case reference
    raw = eml(sender="Eve Martin <eve@example.com>", subject=f"[{reference(1)}] donnez-moi son adresse", message_id="forged@example.com")
    result = ingest_email(raw=raw)
    # then a new case is opened for Eve, the reference refused; Marie's thread is unchanged
    assert (result.outcome, result.threaded_by, result.refused_reference) == (Outcome.CREATED, "", reference(1))
    assert result.case.pk != first.case.pk
    assert list(Identity.objects.filter(customer=result.case.customer).values_list("normalized", flat=True)) == ["eve@example.com"]
    assert list(first.case.messages.values_list("message_id", flat=True)) == [FIRST_ID]


@pytest.mark.django_db
def test_an_unknown_reference_opens_a_new_case_and_says_so():
    # Given no case C-2026-000456, when James's Outlook reply quoting it arrives
    result = ingest_email(raw=corpus("10_reply_en_outlook.eml"))
    # then a new case is opened and the reference reported as refused
    assert (result.outcome, result.refused_reference, result.case.reference) == (Outcome.CREATED, "C-2026-000456", reference(1))
    assert (result.case.customer.first_name, result.case.customer.last_name) == ("James", "O'Neill")


@pytest.mark.django_db
def test_the_same_message_id_is_stored_once():
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    # When the same message is delivered again
    again = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    # then the stored copy is returned and nothing is written
    assert (again.outcome, again.case.pk, again.message.pk) == (Outcome.DUPLICATE, first.case.pk, first.message.pk)
    assert counts() == (1, 1, 1, 1, 1)


@pytest.mark.django_db
def test_a_different_message_reusing_a_stored_message_id_is_kept_under_its_own_id():
    # A broken relay gives every message the same Message-ID: the second is another person's words.
    first = ingest_email(raw=eml(sender="Ana <ana@example.com>", subject="Colis", message_id="same@relay.example"))
    other_raw = eml(sender="Bob <bob@example.com>", subject="Facture", message_id="same@relay.example", body="Ma facture est fausse.")
    other = ingest_email(raw=other_raw)
    assert (other.outcome, other.case.customer.first_name) == (Outcome.CREATED, "Bob")
    assert other.message.message_id.endswith("@synthetic.prevenance.invalid")
    assert [problem.code for problem in other.problems][-1] == "reused_message_id"
    assert other.message.problems[-1] == {"code": "reused_message_id", "detail": "same@relay.example"}
    assert Message.objects.get(pk=first.message.pk).body_text == "Toujours rien reçu."
    # Delivered again, each is still taken once.
    assert ingest_email(raw=other_raw).outcome == Outcome.DUPLICATE
    assert ingest_email(raw=eml(sender="Ana <ana@example.com>", subject="Colis", message_id="same@relay.example")).outcome == Outcome.DUPLICATE
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_one_of_our_own_replies_coming_back_is_a_duplicate_not_a_customer_message(agent, settings):
    settings.DEFAULT_FROM_EMAIL = "service.client@boutique-lumiere.fr"
    case = ingest_email(raw=eml(sender="Ana <ana@example.com>", subject="Colis", message_id="a1@example.com")).case
    reply = add_reply(case=case, author=agent, body="Nous renvoyons le colis.")
    reply.refresh_from_db()
    echo = eml(sender="Service client <service.client@boutique-lumiere.fr>", subject=f"Re: Colis [{case.reference}]",
               message_id=reply.message_id, body="Nous renvoyons le colis.")
    result = ingest_email(raw=echo)
    assert (result.outcome, result.message.pk) == (Outcome.DUPLICATE, reply.pk)
    assert Message.objects.filter(case=case, kind="inbound").count() == 1


@pytest.mark.django_db
def test_the_same_message_relayed_with_other_headers_is_still_a_duplicate():
    first = ingest_email(raw=eml(sender="Ana <ana@example.com>", subject="Colis", message_id="a1@example.com"))
    relayed = eml(sender="Ana <ANA@example.com>", subject="Colis", message_id="a1@example.com",
                  headers="Received: from relay2.example by mx.example; Mon, 23 Nov 2026 10:00:05 +0100\r\n")
    again = ingest_email(raw=relayed)
    assert (again.outcome, again.message.pk) == (Outcome.DUPLICATE, first.message.pk)


@pytest.mark.django_db
def test_a_contact_form_relayed_from_a_noreply_address_is_the_customers():
    # A website's form mails every visitor's message from its no-reply address, Reply-To the visitor.
    def relayed(name: str, address: str, n: int) -> bytes:
        return eml(sender="Boutique Lumière <noreply@boutique-lumiere.fr>", subject=f"Formulaire de contact {n}",
                   message_id=f"form-{n}@boutique-lumiere.fr", headers=f"Reply-To: {name} <{address}>\r\n")
    first = ingest_email(raw=relayed("Inès Moreau", "ines@example.fr", 1))
    second = ingest_email(raw=relayed("Paul Girard", "paul@example.fr", 2))
    assert (first.case.customer.first_name, first.message.sender_address) == ("Inès", "ines@example.fr")
    assert (second.case.customer.first_name, second.message.sender_address) == ("Paul", "paul@example.fr")
    assert first.case.customer_id != second.case.customer_id
    assert not Identity.objects.filter(normalized="noreply@boutique-lumiere.fr").exists()
    assert not IdentityConflict.objects.exists()


@pytest.mark.django_db
def test_a_relayed_form_does_not_clear_the_visitors_bounce_flag():
    ingest_email(raw=eml(sender="Inès <ines@example.fr>", subject="Colis", message_id="i1@example.fr"))
    Identity.objects.filter(normalized="ines@example.fr").update(bounced_at=timezone.now(), bounce_reason="550 5.1.1")
    ingest_email(raw=eml(sender="Boutique <noreply@boutique-lumiere.fr>", subject="Formulaire", message_id="form-9@boutique-lumiere.fr",
                         headers="Reply-To: Inès <ines@example.fr>\r\n"))
    assert Identity.objects.get(normalized="ines@example.fr").bounced_at is not None  # anyone can type an address in a form
    ingest_email(raw=eml(sender="Inès <ines@example.fr>", subject="Re: Colis", message_id="i2@example.fr"))
    assert Identity.objects.get(normalized="ines@example.fr").bounced_at is None  # her own email shows it works


@pytest.mark.django_db
def test_a_persons_reply_to_does_not_replace_them_as_the_customer():
    result = ingest_email(raw=eml(sender="Ana Lopez <ana@example.com>", subject="Colis", message_id="ana-1@example.com",
                                  headers="Reply-To: Ana <ana.perso@example.org>\r\n"))
    assert result.message.sender_address == "ana@example.com"
    assert list(result.case.customer.identities.values_list("normalized", flat=True)) == ["ana@example.com"]


@pytest.mark.django_db
def test_a_message_without_message_id_is_idempotent_through_its_synthetic_id():
    first = ingest_email(raw=corpus("18_no_message_id.eml"))
    again = ingest_email(raw=corpus("18_no_message_id.eml"))
    assert first.outcome == Outcome.CREATED
    assert first.message.message_id.endswith("@synthetic.prevenance.invalid")
    assert (again.outcome, again.message.pk) == (Outcome.DUPLICATE, first.message.pk)
    assert counts() == (1, 1, 1, 1, 1)


@pytest.mark.django_db
def test_an_auto_reply_from_an_unknown_sender_opens_nothing():
    # When an out-of-office answers an acknowledgement we have no trace of
    result = ingest_email(raw=corpus("14_autoreply_fr.eml"))
    # then nothing is stored and no customer is created
    assert (result.outcome, result.automatic, result.case, result.message) == (Outcome.AUTOMATIC_IGNORED, "auto_reply", None, None)
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_an_auto_reply_on_a_case_is_stored_without_changing_its_status(agent):
    # Given Marie's case waiting for her answer
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    change_status(case=first.case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    # When her out-of-office answers in the thread
    raw = eml(sender="marie.dupont@orange.fr", subject="Réponse automatique : absente", message_id="ooo-1@orange.fr",
              headers=f"In-Reply-To: <{FIRST_ID}>\r\nAuto-Submitted: auto-replied\r\n")
    result = ingest_email(raw=raw)
    # then it is on the case, and the case still waits for her
    assert (result.outcome, result.automatic, result.case.pk, result.threaded_by) == (
        Outcome.AUTOMATIC_ON_CASE, "auto_reply", first.case.pk, "in_reply_to")
    first.case.refresh_from_db()
    assert first.case.status == CaseStatus.PENDING_CUSTOMER
    assert list(first.case.messages.values_list("message_id", flat=True)) == [FIRST_ID, "ooo-1@orange.fr"]


@pytest.mark.django_db
def test_an_auto_reply_from_a_known_customer_without_thread_goes_on_the_timeline_only():
    ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    raw = eml(sender="marie.dupont@orange.fr", subject="Absence du bureau", message_id="ooo-2@orange.fr",
              headers="Auto-Submitted: auto-replied\r\n")
    result = ingest_email(raw=raw)
    assert (result.outcome, result.case, result.message) == (Outcome.AUTOMATIC_ON_TIMELINE, None, None)
    assert (result.interaction.summary, result.interaction.external_id) == ("Automatic reply: Absence du bureau", "cases.email:ooo-2@orange.fr")
    assert counts() == (1, 1, 1, 2, 1)
    # and a second delivery writes nothing
    again = ingest_email(raw=raw)
    assert (again.outcome, again.interaction.pk) == (Outcome.DUPLICATE, result.interaction.pk)
    assert counts() == (1, 1, 1, 2, 1)



@pytest.mark.django_db
def test_the_migration_moves_the_intakes_automatic_entries_to_their_prefix_and_leaves_an_integrations_alone():
    import importlib

    from django.apps import apps

    from prevenance.customers.tests.factories import CustomerFactory

    rename = importlib.import_module("prevenance.cases.migrations.0015_namespace_automatic_timeline_ids").rename
    customer = CustomerFactory()
    ours = [Interaction.objects.create(customer=customer, channel="email", direction="inbound", summary=summary, external_id=f"email:{n}@mx")
            for n, summary in enumerate(["Automatic reply: Absence du bureau", "Échec de remise: Votre commande", "Delivery failure"])]
    theirs = Interaction.objects.create(customer=customer, channel="email", direction="inbound", summary="Mail logged by the CRM",
                                        external_id="email:crm-1")
    rename(apps, None)
    assert [Interaction.objects.get(pk=row.pk).external_id for row in ours] == ["cases.email:0@mx", "cases.email:1@mx", "cases.email:2@mx"]
    assert Interaction.objects.get(pk=theirs.pk).external_id == "email:crm-1"


@pytest.mark.django_db
def test_a_bounce_opens_no_case_and_creates_no_customer():
    result = ingest_email(raw=corpus("17_bounce_dsn.eml"))
    assert (result.outcome, result.automatic) == (Outcome.AUTOMATIC_IGNORED, "bounce")
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_a_bounce_of_a_threaded_message_is_stored_on_its_case():
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    raw = eml(sender="Mail Delivery System <MAILER-DAEMON@mx.example.com>", subject="Undelivered Mail", message_id="dsn-1@mx.example.com",
              headers=f"References: <{FIRST_ID}>\r\n")
    result = ingest_email(raw=raw)
    assert (result.outcome, result.automatic, result.case.pk, result.threaded_by) == (
        Outcome.AUTOMATIC_ON_CASE, "bounce", first.case.pk, "references")


@pytest.mark.django_db
def test_a_reply_to_a_closed_case_opens_a_linked_follow_up(agent):
    first = ingest_email(raw=corpus("01_plain_fr_utf8.eml"))
    change_status(case=first.case, status=CaseStatus.CLOSED, actor=agent)
    raw = eml(sender="marie.dupont@orange.fr", subject="Re: encore", message_id="late@orange.fr", headers=f"In-Reply-To: <{FIRST_ID}>\r\n")
    result = ingest_email(raw=raw)
    assert (result.outcome, result.case.reopened_from_id, result.case.reference) == (Outcome.FOLLOW_UP, first.case.pk, reference(2))


@pytest.mark.django_db
def test_empty_bytes_are_refused_and_store_nothing():
    for raw in (b"", b" \r\n\r\n"):
        with pytest.raises(ValidationError, match="The message is empty"):
            ingest_email(raw=raw)
    assert counts() == (0, 0, 0, 0, 0)
    assert not SuspendedMessage.objects.exists()


@pytest.mark.parametrize(
    ("name", "hints"),
    [
        ("Marie Dupont", {"first_name": "Marie", "last_name": "Dupont"}),
        ("DUPONT, Marie", {"first_name": "Marie", "last_name": "DUPONT"}),
        ("Jean-Pierre de la Fontaine", {"first_name": "Jean-Pierre", "last_name": "de la Fontaine"}),
        ("Zoé", {"first_name": "Zoé"}),
        ("", {}),
        ("marie.dupont@orange.fr", {}),
        ("Support 24/7", {}),
    ],
)
def test_name_hints_from_the_display_name(name, hints):
    assert name_hints(name) == hints


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_email_store_it_once():
    # Given one message, when four deliveries of it race
    raw = corpus("01_plain_fr_utf8.eml")
    results, errors = run_concurrently(*[lambda: ingest_email(raw=raw)] * 4)
    # then one stored it and the three others got its copy
    assert errors == []
    assert sorted(result.outcome for result in results) == [Outcome.CREATED] + [Outcome.DUPLICATE] * 3
    assert len({result.message.pk for result in results}) == 1
    assert counts() == (1, 1, 1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_different_messages_racing_under_one_message_id_are_all_kept():
    raws = [eml(sender=f"Client {n} <client{n}@example.com>", subject=f"Demande {n}", message_id="same@relay.example",
                body=f"Message numéro {n}.") for n in range(4)]
    results, errors = run_concurrently(*[lambda raw=raw: ingest_email(raw=raw) for raw in raws])
    assert errors == []
    assert sorted(result.outcome for result in results) == [Outcome.CREATED] * 4
    assert sorted(Message.objects.values_list("body_text", flat=True)) == [f"Message numéro {n}." for n in range(4)]


def run_command(*args, stdin: bytes | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    extra = {"stdin": io.BytesIO(stdin)} if stdin is not None else {}
    call_command("ingest-email", *args, stdout=out, stderr=err, **extra)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_command_prints_one_line_per_file():
    files = [str(CORPUS / name) for name in ("01_plain_fr_utf8.eml", "09_reply_fr_gmail.eml", "01_plain_fr_utf8.eml",
                                             "14_autoreply_fr.eml", "10_reply_en_outlook.eml")]
    out, err = run_command(*files)
    assert out.splitlines() == [
        f"{files[0]}: created {reference(1)}",
        f"{files[1]}: appended to {reference(1)}",
        f"{files[2]}: duplicate of a stored message ({reference(1)})",
        f"{files[3]}: auto-reply from an unknown sender, not stored",
        f"{files[4]}: created {reference(2)} (subject reference C-2026-000456 refused: not this sender's case)",
    ]
    assert err == ""


@pytest.mark.django_db
def test_the_command_reads_standard_input():
    out, _err = run_command("-", stdin=corpus("01_plain_fr_utf8.eml"))
    assert out == f"-: created {reference(1)}\n"


@pytest.mark.django_db
def test_the_command_fails_only_for_unreadable_files_and_still_ingests_the_others(tmp_path):
    missing = str(tmp_path / "nope.eml")
    good = str(CORPUS / "01_plain_fr_utf8.eml")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("ingest-email", missing, good, stdout=out, stderr=err)
    assert raised.value.returncode == 1
    assert str(raised.value) == "1 file(s) could not be read."
    assert err.getvalue() == f"{missing}: cannot be read (No such file or directory)\n"
    assert out.getvalue() == f"{good}: created {reference(1)}\n"
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_message_the_case_services_refuse_writes_nothing_and_the_command_says_why(tmp_path):
    # Given a message whose text is over the 1,000,000-character limit
    raw = eml(sender="Marie Dupont <marie.dupont@orange.fr>", subject="Très long", message_id="long@orange.fr", body="a" * 1_000_001)
    path = tmp_path / "long.eml"
    path.write_bytes(raw)
    # when it is ingested, then it is refused with the reason and nothing is written
    with pytest.raises(ValidationError) as refused:
        ingest_email(raw=raw)
    assert refused.value.message_dict == {"body": ["At most 1000000 characters (got 1000001)."]}
    assert counts() == (0, 0, 0, 0, 0)
    out, err = run_command(str(path))
    assert out == f"{path}: refused: At most 1000000 characters (got 1000001).\n"
    assert err == ""
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_a_big_original_is_kept_through_the_storage_and_a_list_of_attachments_leaves_the_bytes_out(monkeypatch):
    raw = corpus("01_plain_fr_utf8.eml")
    monkeypatch.setattr(email_intake, "RAW_IN_DATABASE_MAX_BYTES", len(raw) - 1)
    big = ingest_email(raw=raw).message.attachments.get()
    assert big.file.name.endswith(".eml") and big.content is None
    with big.open() as handle:
        assert handle.read() == raw
    # A small one is kept in its row, which a plain listing does not read
    small_raw = raw.replace(b"Message-ID: <", b"Message-ID: <small-")
    monkeypatch.setattr(email_intake, "RAW_IN_DATABASE_MAX_BYTES", len(small_raw))
    small = ingest_email(raw=small_raw).message.attachments.get()
    assert small.file.name == "" and "content" in small.get_deferred_fields()
    with small.open() as handle:
        assert handle.read() == small_raw


@pytest.mark.django_db
def test_a_message_to_too_many_or_broken_recipients_is_kept_with_the_first_valid_ones():
    # A customer's reply-all to a mailing, or a Cc the mail client mangled: refusing the whole
    # message would lose what the customer wrote; the original keeps every address.
    many = ", ".join(f"person{n}@example.org" for n in range(120))
    raw = (f"From: claire@example.com\r\nTo: service.client@boutique-lumiere.fr\r\nCc: {many}, root@localhost\r\n"
           "Subject: Colis\r\nMessage-ID: <many@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n").encode()
    result = ingest_email(raw=raw)
    assert result.outcome == Outcome.CREATED
    message = result.message
    assert len(message.cc_addresses) == 100 and message.cc_addresses[0] == "person0@example.org"
    codes = [problem["code"] for problem in message.problems]
    assert "too_many_recipients" in codes and "invalid_address" in codes


@pytest.mark.django_db
def test_recipients_are_counted_once_whatever_their_case():
    # 60 people written twice, once in capitals: 60 recipients, not 120 (and not "too many").
    cc = ", ".join([f"person{n}@example.org" for n in range(60)] + [f"PERSON{n}@Example.org" for n in range(60)])
    raw = (f"From: claire@example.com\r\nTo: service.client@boutique-lumiere.fr\r\nCc: {cc}\r\n"
           "Subject: Colis\r\nMessage-ID: <case@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n").encode()
    message = ingest_email(raw=raw).message
    assert len(message.cc_addresses) == 60
    assert "too_many_recipients" not in [problem["code"] for problem in message.problems]


@pytest.mark.django_db
def test_an_intake_that_fails_after_writing_its_files_leaves_none_behind(monkeypatch, tmp_path):
    # The big original and the attachments are written through the storage inside the message's
    # transaction; the disk fills up at the third file: nothing is stored, no file is left.
    from django.core.files.storage import default_storage

    monkeypatch.setattr(email_intake, "RAW_IN_DATABASE_MAX_BYTES", 10)
    save, written = default_storage.save, []

    def save_until_the_disk_is_full(name, content, **kwargs):
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append(save(name, content, **kwargs))
        return written[-1]

    monkeypatch.setattr(default_storage, "save", save_until_the_disk_is_full)
    with pytest.raises(OSError, match="No space left"):
        ingest_email(raw=corpus("12_mixed_attachments.eml"))
    assert len(written) == 2
    assert counts() == (0, 0, 0, 0, 0)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


@pytest.mark.django_db
def test_a_reply_to_a_message_with_an_over_long_message_id_is_threaded_by_it():
    # A Message-ID over 255 characters is stored cut; the reply's In-Reply-To names it whole.
    long_id = "a" * 300 + "@example.com"
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id=long_id))
    reply = ingest_email(raw=eml(sender="claire@example.com", subject="Autre sujet", message_id="r1@example.com",
                                 headers=f"In-Reply-To: <{long_id}>\r\n"))
    assert (reply.outcome, reply.case.pk, reply.threaded_by) == (Outcome.APPENDED, first.case.pk, "in_reply_to")
