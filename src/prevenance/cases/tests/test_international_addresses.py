"""A customer writing from an international address (RFC 6531, SMTPUTF8: clàire@exämple.com)
is heard on every way in, recognised whichever form of the domain they write, and answered
at that address over a server that takes SMTPUTF8; a server that does not refuses that copy
alone, with the reason, and the others go (core/mail_backends.py)."""

import uuid

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.mail import EmailMessage

from prevenance.cases.mail.parse import MailAddress, parse_message
from prevenance.cases.models import Case, Message
from prevenance.cases.services import add_reply, ingest_email
from prevenance.cases.tests.smtp_server import smtp_server
from prevenance.cases.tests.test_cases_api import ApiClient
from prevenance.customers.models import Identity

pytestmark = pytest.mark.django_db

CLAIRE = "clàire@xn--exmple-cua.com"  # the identity: lower-cased, NFC, the domain in A-labels
BACKEND = "prevenance.core.mail_backends.SMTPUTF8EmailBackend"


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


def raw_email(sender: str, *, subject: str, message_id: str, cc: str = "") -> bytes:
    """A message as an SMTPUTF8 server hands it over: UTF-8 bytes in the headers, no RFC 2047."""
    return (
        f"From: {sender}\r\nTo: care@prevenance.test\r\n" + (f"Cc: {cc}\r\n" if cc else "")
        + f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nToujours rien reçu.\r\n"
    ).encode()


def email_identities(case: Case) -> list[str]:
    return list(Identity.objects.filter(customer=case.customer, kind="email").values_list("normalized", flat=True))


# Inbound ---------------------------------------------------------------------------------------


def test_an_email_from_an_international_address_opens_a_case_and_both_forms_find_that_customer():
    first = ingest_email(raw=raw_email("Clàire <clàire@exämple.com>", subject="Colis", message_id="c1@exämple.com"))

    assert first.case is not None
    assert email_identities(first.case) == [CLAIRE]
    assert first.case.customer.first_name == "Clàire"
    # As the identity keeps it: the parser compares and stores one form per mailbox (the domain in A-labels).
    assert Message.objects.get(case=first.case).sender_address == "clàire@xn--exmple-cua.com"

    # Another subject, not a reply: found by the address, written in capitals with the A-label
    second = ingest_email(raw=raw_email("CLÀIRE@xn--exmple-cua.com", subject="Facture", message_id="c2@exämple.com"))

    assert second.case is not None and second.case.pk != first.case.pk
    assert second.case.customer_id == first.case.customer_id
    assert Identity.objects.filter(kind="email").count() == 1


def test_an_rfc_2047_display_name_and_a_decomposed_accent_land_on_the_same_customer():
    first = ingest_email(raw=raw_email("Clàire <clàire@exämple.com>", subject="Colis", message_id="c1@exämple.com"))
    # The name as an encoded word, the address typed with combining accents (NFD)
    sender = "=?utf-8?q?Cl=C3=A0ire_Dupr=C3=A9?= <cla\u0300ire@exa\u0308mple.com>"
    second = ingest_email(raw=raw_email(sender, subject="Facture", message_id="c2@exämple.com"))

    assert second.case.customer_id == first.case.customer_id
    assert Message.objects.get(case=second.case).sender_name == "Clàire Dupré"


# The forms and the API -------------------------------------------------------------------------


@pytest.fixture
def _no_contact_limits(settings):
    settings.PREVENANCE_TRUSTED_PROXIES = 0
    if isinstance(caches["shared"], DatabaseCache):  # as test_web_form: the rate-limit table starts empty
        caches["shared"].clear()


@pytest.mark.usefixtures("_no_contact_limits")
def test_the_contact_form_takes_an_international_address(client):
    html = client.get("/cases/contact/").content.decode()
    # Not type="email": browsers refuse a non-ASCII local part there, before the form is sent
    assert '<input type="text" name="email" inputmode="email" autocomplete="email" spellcheck="false" maxlength="254"' in html

    response = client.post("/cases/contact/", {
        "first_name": "Clàire", "email": "Clàire@exämple.com", "phone": "", "type": "question", "order": "",
        "subject": "Livraison", "body": "Quand arrive mon colis ?", "website": "", "submission_id": uuid.uuid4().hex,
    }, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302, response.content.decode()[:2000]
    assert email_identities(Case.objects.get()) == [CLAIRE]


def test_the_contact_form_still_refuses_a_malformed_address(client, settings):
    settings.PREVENANCE_TRUSTED_PROXIES = 0
    response = client.post("/cases/contact/", {
        "first_name": "Clàire", "email": "clà ire@exämple.com", "type": "question", "subject": "Livraison",
        "body": "Quand arrive mon colis ?", "website": "", "submission_id": uuid.uuid4().hex,
    }, REMOTE_ADDR="203.0.113.8")

    assert response.status_code == 400
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
    assert not Case.objects.exists()


def test_an_agent_enters_a_case_for_an_international_address(client, agent):
    client.force_login(agent)

    response = client.post("/cases/new/", {
        "channel": "phone", "email": "用户@例子.广告", "type": "request", "subject": "Changer le créneau",
        "body": "Souhaite être livré samedi.",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert email_identities(Case.objects.get()) == ["用户@xn--fsqu00a.xn--4rr70v"]


def test_the_api_opens_a_case_for_an_international_address(agent):
    response = ApiClient(agent).post("/cases", {"email": "Clàire@exämple.com", "subject": "Colis", "body": "Abîmé.", "type": "complaint"})

    assert response.status_code == 201, response.content
    assert email_identities(Case.objects.get(pk=response.json()["id"])) == [CLAIRE]


# Outbound --------------------------------------------------------------------------------------


def claire_and_paul_case() -> Case:
    raw = raw_email("Clàire <clàire@exämple.com>", subject="Colis", message_id="c1@exämple.com", cc="paul@example.com")
    return Case.objects.get(pk=ingest_email(raw=raw).case.pk)


def test_a_reply_reaches_an_international_address_over_smtputf8(agent, settings, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    with smtp_server(settings, smtputf8=True, backend=BACKEND) as server:
        with django_capture_on_commit_callbacks(execute=True):
            message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")

    claire, paul = server.delivered
    assert (claire.recipients, claire.options) == ([CLAIRE], ["SMTPUTF8", "BODY=8BITMIME"])
    assert f"\r\nTo: {CLAIRE}\r\n".encode() in claire.data  # UTF-8 in the header, not an RFC 2047 word
    parsed = parse_message(claire.data)
    assert (parsed.to, parsed.cc) == ((MailAddress("", CLAIRE),), (MailAddress("", "paul@example.com"),))
    # Paul's copy names Clàire as she is too; his envelope is his own
    assert paul.recipients == ["paul@example.com"]
    assert f"\r\nTo: {CLAIRE}\r\n".encode() in paul.data
    message.refresh_from_db()
    assert (message.sent_at is not None, message.send_problem) == (True, {})


def test_without_smtputf8_the_international_copy_is_refused_with_the_reason_and_the_others_go(
    agent, settings, django_capture_on_commit_callbacks,
):
    case = claire_and_paul_case()
    with smtp_server(settings, backend=BACKEND) as server:
        with django_capture_on_commit_callbacks(execute=True):
            message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")

    # Paul got his copy, as Django sends it; nothing went to a made-up ASCII address
    assert [d.recipients for d in server.delivered] == [["paul@example.com"]]
    message.refresh_from_db()
    reason = (
        f"553 5.6.7 The outgoing mail server does not accept international addresses (SMTPUTF8): it cannot send to {CLAIRE}."
    )
    assert message.send_problem == {"code": "copies_not_delivered", "copies": [
        {"code": "not_delivered", "params": {"address": CLAIRE, "error": reason}},
    ]}


def test_the_backend_sends_an_ascii_message_byte_for_byte_as_django_does(settings):
    headers = {"Message-ID": "<m1@prevenance.test>", "Date": "Mon, 23 Nov 2026 10:00:00 +0100"}
    sent = []
    for backend in ("django.core.mail.backends.smtp.EmailBackend", BACKEND):
        with smtp_server(settings, smtputf8=True, backend=backend) as server:
            EmailMessage("Réponse", "Bonjour Zoé", "Équipe <care@prevenance.test>", ["zoe@exämple.com"],
                         cc=["Paul Durand <paul@example.com>"], headers=headers).send()
        sent.append(server.delivered)
    django, ours = sent
    assert [(d.sender, d.recipients, d.options, d.data) for d in ours] == [(d.sender, d.recipients, d.options, d.data) for d in django]
    assert ours[0].recipients == ["zoe@xn--exmple-cua.com", "paul@example.com"] and ours[0].options == []


def test_names_stay_encoded_and_a_long_list_of_addresses_is_folded(settings):
    to = ["Clàire Dupré <clàire@exämple.com>", *(f"client{n}@example.com" for n in range(6))]
    with smtp_server(settings, smtputf8=True, backend=BACKEND) as server:
        EmailMessage("Réponse", "Bonjour", "care@prevenance.test", to).send()

    [sent] = server.delivered
    assert sent.recipients == [CLAIRE, *(f"client{n}@example.com" for n in range(6))]
    head = sent.data.split(b"\r\n\r\n", 1)[0].decode()
    to_header = head[head.index("\r\nTo: ") + 2:].split("\r\nDate:")[0]
    # The name as Django writes it (an RFC 2047 word), the address in UTF-8, folded between addresses
    assert to_header.replace("\r\n ", " ") == (
        f"To: =?utf-8?b?Q2zDoGlyZSBEdXByw6k=?= <{CLAIRE}>, " + ", ".join(f"client{n}@example.com" for n in range(6))
    )
    assert to_header.count("\r\n ") == 2 and all(len(line) <= 78 for line in to_header.split("\r\n"))
    assert parse_message(sent.data).to[0] == MailAddress("Clàire Dupré", CLAIRE)  # as our intake reads it


def test_djangos_own_smtp_backend_is_reported_for_what_it_does_to_international_addresses(settings):
    from prevenance.cases.checks import smtp_backend_for_international_addresses

    settings.EMAIL_BACKEND = "prevenance.core.mail_backends.SMTPUTF8EmailBackend"
    assert smtp_backend_for_international_addresses(None) == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    warnings = smtp_backend_for_international_addresses(None)
    assert [warning.id for warning in warnings] == ["prevenance.W003"]
    assert "SMTPUTF8EmailBackend" in warnings[0].hint


def test_an_intake_address_with_a_unicode_domain_is_compared_in_the_form_identities_keep():
    # The parser gives the stored form, so a reply from either form of the domain is the customer's.
    from prevenance.cases.mail import parse_message

    parsed = parse_message("From: Straße <Straße@Exämple.com>\r\nSubject: x\r\n\r\nhi\r\n".encode())
    assert parsed.from_.address == "straße@xn--exmple-cua.com"
    ascii_one = parse_message(b"From: Paul <Paul@Example.COM>\r\nSubject: x\r\n\r\nhi\r\n")
    assert ascii_one.from_.address == "paul@example.com"


def test_both_ways_of_encrypting_smtp_at_once_is_an_error_at_start(settings):
    from prevenance.cases.checks import one_way_to_encrypt_smtp

    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = True, False
    assert one_way_to_encrypt_smtp(None) == []
    settings.EMAIL_USE_SSL = True
    assert [error.id for error in one_way_to_encrypt_smtp(None)] == ["prevenance.E001"]
