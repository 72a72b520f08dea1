"""Bounces of our emails: tied to the email that failed, the address flagged, no automatic email
sent there again until the person writes from it (docs/email-intake.md, "Bounces")."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from prevenance.cases.choices import MessageKind
from prevenance.cases.mail.parse import parse_message
from prevenance.cases.models import Message
from prevenance.cases.services import (
    add_reply,
    ensure_default_templates,
    ingest_email,
    open_case,
    send_survey,
)
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Identity
from prevenance.customers.services import IdentityInput

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def defaults(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    ensure_default_templates()


def dsn(*, returned_id: str, recipients: list[tuple[str, str, str]], dsn_id: str = "dsn-1@mx.example.net",
        extra_headers: str = "") -> bytes:
    """A delivery status notification as Postfix writes it: (address, action, status) per recipient."""
    blocks = "".join(
        f"Final-Recipient: rfc822; {address}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{address}>:\r\n    Recipient address rejected: User unknown\r\n\r\n"
        for address, action, status in recipients
    )
    return (
        "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: care@prevenance.test\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{dsn_id}>\r\nAuto-Submitted: auto-replied\r\n{extra_headers}"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"{blocks}"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{returned_id}>\r\nSubject: [C-2026-000001] Nous avons bien recu votre demande\r\n"
        "--b--\r\n"
    ).encode()


def acknowledgement(case) -> Message:
    return Message.objects.get(case=case, kind=MessageKind.OUTBOUND)


def email_identity(address: str) -> Identity:
    return Identity.objects.get(kind=IdentityKind.EMAIL, normalized=address)


def test_the_report_says_which_recipients_failed_for_good_and_which_email_it_returns():
    raw = dsn(returned_id="ack-1@prevenance.test", recipients=[
        ("gone@example.com", "failed", "5.1.1"), ("full@example.com", "delayed", "4.2.2"), ("later@example.com", "failed", "4.4.7"),
    ])
    parsed = parse_message(raw)
    assert parsed.is_bounce
    # A delay is not a failure (the server still retries); a 4.x.x "failed" is a temporary one.
    [failure, temporary] = parsed.failed_recipients
    assert (failure.address, failure.status, failure.permanent) == ("gone@example.com", "5.1.1", True)
    assert failure.diagnostic == "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"
    assert (temporary.address, temporary.status, temporary.permanent) == ("later@example.com", "4.4.7", False)
    assert parsed.returned_message_id == "ack-1@prevenance.test"


def test_exim_names_the_failed_recipients_in_a_header():
    raw = dsn(returned_id="ack-1@prevenance.test", recipients=[], extra_headers="X-Failed-Recipients: A@Example.com, b@example.com\r\n")
    assert [(f.address, f.status) for f in parse_message(raw).failed_recipients] == [("a@example.com", ""), ("b@example.com", "")]


def test_a_bounce_of_an_acknowledgement_flags_the_address_and_lands_on_its_case():
    # Given a case whose acknowledgement went to claire@example.com
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ack = acknowledgement(case)
    # when the mail server says the address does not exist
    result = ingest_email(raw=dsn(returned_id=ack.message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    # then the bounce is on the case (found by the email it returns), not answered, and the address is flagged
    assert (result.outcome, result.case.pk, result.threaded_by, result.bounced) == (
        Outcome.AUTOMATIC_ON_CASE, case.pk, "returned_message", ("claire@example.com",))
    assert Message.objects.filter(case=case).count() == 3  # first message, acknowledgement, bounce
    identity = email_identity("claire@example.com")
    assert identity.bounced_at is not None
    assert identity.bounce_reason == "550 5.1.1 <claire@example.com>: Recipient address rejected: User unknown"
    bounce = Message.objects.get(case=case, automatic="bounce")
    assert bounce.interaction.summary == f"Delivery failure on case {case.reference}: {case.subject}"  # not "Message on case"
    audit = AuditEvent.objects.get(kind="identity.bounced")
    assert (audit.subject_id, audit.payload) == (str(case.customer_id), {"identity": identity.pk})  # no address: erasable


def test_no_email_goes_to_a_bounced_address_until_the_person_writes_from_it(agent, django_capture_on_commit_callbacks):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    # An agent's reply is not sent: it says why
    reply = add_reply(case=case, author=agent, body="Nous regardons.")
    reply.refresh_from_db()
    assert reply.sent_at is None and reply.delivery_due_at is None
    assert "claire@example.com bounced on" in reply.send_error and "5.1.1" in reply.send_error
    # a new case for her through the API gets no acknowledgement, with the reason
    api_case = open_case(identities=[IdentityInput(IdentityKind.EMAIL, "claire@example.com")], channel=Channel.API, subject="Autre", body="?").case
    assert not Message.objects.filter(case=api_case, kind=MessageKind.OUTBOUND).exists()
    assert AuditEvent.objects.get(kind="case.acknowledgement_skipped", subject_id=str(api_case.pk)).payload == {"reason": "bounced"}
    # no satisfaction survey either
    assert send_survey(case=case) is None
    assert AuditEvent.objects.get(kind="case.survey_skipped", subject_id=str(case.pk)).payload == {"reason": "bounced"}
    # When she writes again from the address, it works again: the next reply goes
    ingest_email(raw=(
        "From: Claire <claire@example.com>\r\nTo: care@prevenance.test\r\nSubject: Re: colis\r\nMessage-ID: <c2@example.com>\r\n"
        "In-Reply-To: <c1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJe suis toujours là.\r\n"
    ).encode())
    assert email_identity("claire@example.com").bounced_at is None
    with django_capture_on_commit_callbacks(execute=False):
        second = add_reply(case=case, author=agent, body="Merci, nous revenons vers vous.")
    second.refresh_from_db()
    assert (second.send_error, second.to_addresses) == ("", ["claire@example.com"])


def test_a_new_case_by_email_from_the_bounced_address_clears_it_and_is_acknowledged():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    second = ingest_email(raw=(
        b"From: Claire <claire@example.com>\r\nTo: care@prevenance.test\r\nSubject: Nouvelle commande\r\n"
        b"Message-ID: <c9@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nUne autre question.\r\n"
    ))
    assert second.outcome == Outcome.CREATED and second.case.pk != case.pk
    assert email_identity("claire@example.com").bounced_at is None
    [ack] = Message.objects.filter(case=second.case, kind=MessageKind.OUTBOUND)  # she just wrote from it: acknowledged there
    assert ack.to_addresses == ["claire@example.com"]


def test_replies_go_to_the_customers_other_address_while_one_bounces(agent, django_capture_on_commit_callbacks):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    Identity.objects.create(customer=case.customer, kind=IdentityKind.EMAIL, value="claire@work.example", normalized="claire@work.example")
    ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    with django_capture_on_commit_callbacks(execute=False):
        reply = add_reply(case=case, author=agent, body="Nous regardons.")
    reply.refresh_from_db()
    assert (reply.send_error, reply.to_addresses) == ("", ["claire@work.example"])


def test_a_report_about_an_address_we_did_not_write_to_flags_nothing():
    # Given Claire's acknowledgement, and Paul, another customer
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    open_email_case("paul@example.com", message_id="p1@example.com")
    # when a report (forged, or confused) returns Claire's email but names Paul's address
    result = ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("paul@example.com", "failed", "5.1.1")]))
    # then the bounce is kept on Claire's case, and no address is flagged
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, case.pk, ())
    assert not Identity.objects.filter(bounced_at__isnull=False).exists()


def test_a_report_returning_no_email_of_ours_flags_nothing():
    open_email_case("claire@example.com", message_id="c1@example.com")
    result = ingest_email(raw=dsn(returned_id="someone-else@elsewhere.example", recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert result.bounced == ()
    assert not Identity.objects.filter(bounced_at__isnull=False).exists()


def test_a_delay_flags_nothing_and_counts_nothing():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "delayed", "4.2.2")]))
    assert (result.outcome, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, ())
    identity = email_identity("claire@example.com")
    assert (identity.bounced_at, identity.soft_bounces) == (None, 0)


def temporary_failure(case, number: int):
    """The mail server gave up for now on claire@example.com (her mailbox is full): bounce number `number`."""
    return ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "4.2.2")],
                                dsn_id=f"dsn-{number}@mx.example.net"))


def test_the_third_temporary_failure_in_two_weeks_flags_the_address():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    assert [temporary_failure(case, number).bounced for number in (1, 2)] == [(), ()]
    identity = email_identity("claire@example.com")
    assert (identity.bounced_at, identity.soft_bounces) == (None, 2)  # counted, emails still go there

    assert temporary_failure(case, 3).bounced == ("claire@example.com",)
    identity = email_identity("claire@example.com")
    assert identity.bounced_at is not None and identity.soft_bounces == 3
    assert identity.bounce_reason.startswith("550 4.2.2")  # the last server's words
    audit = AuditEvent.objects.get(kind="identity.bounced")
    assert audit.payload == {"identity": identity.pk, "temporary_failures": 3}


def test_temporary_failures_further_apart_than_the_window_start_a_new_series(settings):
    settings.PREVENANCE_SOFT_BOUNCE_DAYS = 14
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    identity = email_identity("claire@example.com")
    temporary_failure(case, 1)
    temporary_failure(case, 2)
    # The series began more than two weeks ago: the next failure is the first of a new one.
    Identity.objects.filter(pk=identity.pk).update(soft_bounces_since=timezone.now() - dt.timedelta(days=15))
    assert temporary_failure(case, 3).bounced == ()
    identity.refresh_from_db()
    assert (identity.bounced_at, identity.soft_bounces) == (None, 1)


def test_an_email_from_the_address_starts_the_count_again():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    temporary_failure(case, 1)
    temporary_failure(case, 2)
    ingest_email(raw=(
        b"From: Claire <claire@example.com>\r\nTo: care@prevenance.test\r\nSubject: Re: colis\r\n"
        b"Message-ID: <c2@example.com>\r\nIn-Reply-To: <c1@example.com>\r\n\r\nMa boite est de nouveau vide.\r\n"
    ))
    identity = email_identity("claire@example.com")
    assert (identity.soft_bounces, identity.soft_bounces_since) == (0, None)
    assert temporary_failure(case, 3).bounced == ()


def test_the_number_of_temporary_failures_is_a_setting(settings):
    settings.PREVENANCE_SOFT_BOUNCE_LIMIT = 1
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    assert temporary_failure(case, 1).bounced == ("claire@example.com",)


def test_the_same_bounce_delivered_twice_is_stored_once():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    raw = dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")])
    ingest_email(raw=raw)
    again = ingest_email(raw=raw)
    assert again.outcome == Outcome.DUPLICATE
    assert AuditEvent.objects.filter(kind="identity.bounced").count() == 1


def test_ingest_email_says_which_addresses_it_flagged(tmp_path):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    path = tmp_path / "bounce.eml"
    path.write_bytes(dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert "(undeliverable from now on: claire@example.com)" in out.getvalue()


def test_an_agent_or_an_api_call_naming_the_address_does_not_clear_it():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    for channel in (Channel.EMAIL, Channel.API, Channel.PHONE):  # an integrator may say "email" without any email received
        open_case(identities=[IdentityInput(IdentityKind.EMAIL, "claire@example.com")], channel=channel, subject="Relance", body="?")
    assert email_identity("claire@example.com").bounced_at is not None


def test_a_threaded_reply_without_a_sender_is_stored_and_clears_nothing():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    result = ingest_email(raw=(
        b"To: care@prevenance.test\r\nSubject: Re: colis\r\nMessage-ID: <nofrom@example.com>\r\nIn-Reply-To: <c1@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nSans expediteur.\r\n"
    ))
    assert result.outcome == Outcome.APPENDED
    assert email_identity("claire@example.com").bounced_at is not None
