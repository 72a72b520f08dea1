"""Bounces of our emails: tied to the email that failed, the address flagged, no automatic email
sent there again until the person writes from it (docs/email-intake.md, "Bounces")."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
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
from prevenance.cases.services.bounces import bounce_token
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Identity
from prevenance.customers.services import IdentityInput
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def defaults(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    ensure_default_templates()


def dsn(*, returned_id: str = "", recipients: list[tuple[str, str, str]], dsn_id: str = "dsn-1@mx.example.net",
        extra_headers: str = "", token: str = "", returned: str = "", returned_type: str = "text/rfc822-headers") -> bytes:
    """A delivery status notification as Postfix writes it: (address, action, status) per recipient;
    the failed copy's headers (or whole copy, `returned_type` message/rfc822) are `returned`, else
    a Message-ID (and delivery mark) only."""
    returned = returned or (
        f"Message-ID: <{returned_id}>\r\n" + (f"X-Prevenance-Bounce-Token: {token}\r\n" if token else "")
        + "Subject: [C-2026-000001] Nous avons bien recu votre demande\r\n"
    )
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
        f"--b\r\nContent-Type: {returned_type}\r\n\r\n{returned}"
        "--b--\r\n"
    ).encode()


def acknowledgement(case) -> Message:
    return Message.objects.get(case=case, kind=MessageKind.OUTBOUND)


def returning(email: Message, address: str = "claire@example.com") -> dict[str, str]:
    """What a genuine report of the copy of `email` sent to `address` returns: its Message-ID and delivery mark."""
    return {"returned_id": email.message_id, "token": bounce_token(email.message_id, address)}


# Claire's accented address as her identity keeps it (customers/normalize.py: the domain in A-labels).
CLAIRE_ASCII = "claire@xn--caf-dma.example"


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
    result = ingest_email(raw=dsn(**returning(ack), recipients=[("claire@example.com", "failed", "5.1.1")]))
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
    ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
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
    ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
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
    ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
    with django_capture_on_commit_callbacks(execute=False):
        reply = add_reply(case=case, author=agent, body="Nous regardons.")
    reply.refresh_from_db()
    assert (reply.send_error, reply.to_addresses) == ("", ["claire@work.example"])


def stored_problems(result) -> list[dict]:
    result.message.refresh_from_db()
    return result.message.problems


def test_a_report_about_an_address_we_did_not_write_to_flags_nothing():
    # Given Claire's acknowledgement, and Paul, another customer
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    open_email_case("paul@example.com", message_id="p1@example.com")
    # when a report (forged, or confused) returns Claire's copy of her email but names Paul's address
    result = ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("paul@example.com", "failed", "5.1.1")]))
    # then the bounce is kept on Claire's case with the reason, and no address is flagged
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, case.pk, ())
    assert stored_problems(result) == [{"code": "bounce_mismatch", "detail": "paul@example.com"}]
    assert not Identity.objects.filter(bounced_at__isnull=False).exists()


# Forged reports: only the copy's delivery mark proves which address an email failed for ------


def reply_with_paul_in_copy(agent, capture) -> tuple[Message, dict[str, str]]:
    """An agent's reply to Claire, with Paul in copy, sent: the email, and the headers of each
    copy by recipient, as a report returns them (text/rfc822-headers)."""
    case = ingest_email(raw=(
        b"From: Claire <claire@example.com>\r\nTo: care@prevenance.test\r\nCc: Paul <paul@example.com>\r\n"
        b"Subject: Colis\r\nMessage-ID: <c1@example.com>\r\n\r\nMon colis est arrive abime.\r\n"
    )).case
    with capture(execute=True):
        reply = add_reply(case=case, author=agent, body="Nous regardons.")
    headers = {}
    for sent in mail.outbox:
        [recipient] = sent.recipients()
        headers[recipient] = sent.message().as_string().split("\n\n", 1)[0].replace("\n", "\r\n") + "\r\n"
    return reply, headers


@pytest.mark.parametrize(("status", "soft_bounces"), [("5.1.1", 0), ("4.2.2", 1)])
def test_a_genuine_report_of_the_customers_copy_is_applied(agent, django_capture_on_commit_callbacks, status, soft_bounces):
    reply, headers = reply_with_paul_in_copy(agent, django_capture_on_commit_callbacks)
    # When Claire's mail server returns her copy of the reply
    result = ingest_email(raw=dsn(returned=headers["claire@example.com"], recipients=[("claire@example.com", "failed", status)]))
    # then her address is flagged (failed for good) or the failure counted (failed for now)
    assert (result.outcome, result.case.pk) == (Outcome.AUTOMATIC_ON_CASE, reply.case_id)
    identity = email_identity("claire@example.com")
    assert (identity.bounced_at is not None, identity.soft_bounces) == (status == "5.1.1", soft_bounces)
    assert stored_problems(result) == []


@pytest.mark.parametrize("status", ["5.1.1", "4.2.2"])
def test_a_person_in_copy_cannot_make_up_a_report_for_the_customer(agent, django_capture_on_commit_callbacks, status):
    reply, headers = reply_with_paul_in_copy(agent, django_capture_on_commit_callbacks)
    # Paul knows the reply's Message-ID and Claire's address: he writes a report of his copy naming her
    result = ingest_email(raw=dsn(returned=headers["paul@example.com"], recipients=[("claire@example.com", "failed", status)]))
    # It is kept on the case, with the reason it was not applied; Claire's address is untouched
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, reply.case_id, ())
    assert [(problem.code, problem.detail) for problem in result.problems] == [("bounce_mismatch", "claire@example.com")]
    assert stored_problems(result) == [{"code": "bounce_mismatch", "detail": "claire@example.com"}]
    identity = email_identity("claire@example.com")
    assert (identity.bounced_at, identity.soft_bounces) == (None, 0)
    assert not AuditEvent.objects.filter(kind="identity.bounced").exists()


def test_a_bounce_of_the_satisfaction_survey_is_applied_too(agent, django_capture_on_commit_callbacks):
    # Every email of ours to a customer carries the mark: acknowledgements, replies, and surveys
    reply, _headers = reply_with_paul_in_copy(agent, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_survey(case=reply.case) is not None
    [sent] = mail.outbox  # the customer's alone: its links answer for her
    assert sent.recipients() == ["claire@example.com"]
    returned = sent.message().as_string().split("\n\n", 1)[0].replace("\n", "\r\n") + "\r\n"
    result = ingest_email(raw=dsn(returned=returned, recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.case.pk, result.bounced) == (reply.case_id, ("claire@example.com",))


def test_the_case_page_says_why_a_report_was_not_applied(client, agent, supervisor, django_capture_on_commit_callbacks):
    reply, headers = reply_with_paul_in_copy(agent, django_capture_on_commit_callbacks)
    ingest_email(raw=dsn(returned=headers["paul@example.com"], recipients=[("claire@example.com", "failed", "5.1.1")]))
    client.force_login(supervisor)
    page = client.get(reverse("cases:case", kwargs={"case_id": reply.case_id})).content.decode()
    assert "but its delivery mark was made for another recipient or altered (it may be forged)" in page
    assert "(claire@example.com)</small>" in page


def test_a_tampered_mark_is_refused():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    token = returning(acknowledgement(case))["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    result = ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, token=tampered,
                                  recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.outcome, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, ())
    assert stored_problems(result) == [{"code": "bounce_mismatch", "detail": "claire@example.com"}]
    assert email_identity("claire@example.com").bounced_at is None


def test_the_mark_of_one_email_does_not_prove_a_failure_of_another():
    # Claire's mark on her first acknowledgement, returned with her second one's Message-ID
    first = open_email_case("claire@example.com", message_id="c1@example.com").case
    second = open_email_case("claire@example.com", message_id="c2@example.com", subject="Autre").case
    result = ingest_email(raw=dsn(returned_id=acknowledgement(second).message_id, token=returning(acknowledgement(first))["token"],
                                  recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.case.pk, result.bounced) == (second.pk, ())
    assert email_identity("claire@example.com").bounced_at is None


def test_a_report_without_the_mark_is_kept_and_not_applied():
    # An email sent before marks existed, or a server returning no headers: nothing proves the address
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, case.pk, ())
    assert stored_problems(result) == [{"code": "bounce_unmarked", "detail": "claire@example.com"}]
    assert email_identity("claire@example.com").bounced_at is None


def test_a_mark_made_with_the_previous_secret_key_still_proves_it(settings):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    raw = dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")])
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    assert ingest_email(raw=raw).bounced == ("claire@example.com",)


def test_a_report_returning_no_email_of_ours_from_an_unknown_sender_is_not_stored_on_the_named_customer():
    open_email_case("claire@example.com", message_id="c1@example.com")
    # An outsider's report naming Claire, returning an email we never sent, with their own text
    raw = dsn(returned_id="someone-else@elsewhere.example", recipients=[("claire@example.com", "failed", "5.1.1")])
    result = ingest_email(raw=raw)
    assert (result.outcome, result.bounced, result.interaction) == (Outcome.AUTOMATIC_IGNORED, (), None)
    assert [(problem.code, problem.detail) for problem in result.problems] == [("bounce_not_ours", "claire@example.com")]
    # Nothing flagged, and nothing of its text in Claire's history
    assert not Identity.objects.filter(bounced_at__isnull=False).exists()
    assert not Interaction.objects.filter(summary__startswith="Delivery failure").exists()


def test_a_report_naming_no_customer_from_an_unknown_sender_is_still_not_stored():
    open_email_case("claire@example.com", message_id="c1@example.com")
    result = ingest_email(raw=dsn(returned_id="someone-else@elsewhere.example", recipients=[("nobody@example.org", "failed", "5.1.1")]))
    assert (result.outcome, result.interaction) == (Outcome.AUTOMATIC_IGNORED, None)


def test_a_delay_flags_nothing_and_counts_nothing():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "delayed", "4.2.2")]))
    assert (result.outcome, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, ())
    identity = email_identity("claire@example.com")
    assert (identity.bounced_at, identity.soft_bounces) == (None, 0)


def temporary_failure(case, number: int):
    """The mail server gave up for now on claire@example.com (her mailbox is full): bounce number `number`."""
    return ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "4.2.2")],
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
    raw = dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")])
    ingest_email(raw=raw)
    again = ingest_email(raw=raw)
    assert again.outcome == Outcome.DUPLICATE
    assert AuditEvent.objects.filter(kind="identity.bounced").count() == 1


def test_ingest_email_says_which_addresses_it_flagged(tmp_path):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    path = tmp_path / "bounce.eml"
    path.write_bytes(dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert "(undeliverable from now on: claire@example.com)" in out.getvalue()


def ingest_file(tmp_path, raw: bytes) -> str:
    path = tmp_path / "bounce.eml"
    path.write_bytes(raw)
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    return out.getvalue().split(": ", 1)[1].strip()


def test_ingest_email_says_where_a_report_not_applied_went_and_why(tmp_path):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    # Returning no email of ours, from an unknown sender: not stored, and why it was not applied
    assert ingest_file(tmp_path, dsn(returned_id="someone-else@elsewhere.example", recipients=[("claire@example.com", "failed", "5.1.1")])) == (
        "bounce from an unknown sender, not stored "
        "(failure not applied to claire@example.com: it returns no email we sent)")
    # Returning our acknowledgement without its mark: on the case
    assert ingest_file(tmp_path, dsn(returned_id=acknowledgement(case).message_id, dsn_id="dsn-2@mx.example.net",
                                     recipients=[("claire@example.com", "failed", "5.1.1")])) == (
        f"bounce stored on {case.reference}, not answered "
        "(failure not applied to claire@example.com: the email of ours it returns has no delivery mark)")


def test_ingest_email_says_the_customers_timeline_for_an_auto_reply_from_a_customer(tmp_path):
    # An out-of-office from Claire that answers nothing we know: on her own timeline
    open_email_case("claire@example.com", message_id="c1@example.com")
    assert ingest_file(tmp_path, (
        b"From: claire@example.com\r\nTo: care@prevenance.test\r\nSubject: Absente\r\nMessage-ID: <ooo@example.com>\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nJe suis absente.\r\n"
    )) == "auto-reply stored on the customer's timeline, not answered"


def test_an_agent_or_an_api_call_naming_the_address_does_not_clear_it():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
    for channel in (Channel.EMAIL, Channel.API, Channel.PHONE):  # an integrator may say "email" without any email received
        open_case(identities=[IdentityInput(IdentityKind.EMAIL, "claire@example.com")], channel=channel, subject="Relance", body="?")
    assert email_identity("claire@example.com").bounced_at is not None


def test_a_threaded_reply_without_a_sender_is_stored_and_clears_nothing():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ingest_email(raw=dsn(**returning(acknowledgement(case)), recipients=[("claire@example.com", "failed", "5.1.1")]))
    result = ingest_email(raw=(
        b"To: care@prevenance.test\r\nSubject: Re: colis\r\nMessage-ID: <nofrom@example.com>\r\nIn-Reply-To: <c1@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nSans expediteur.\r\n"
    ))
    assert result.outcome == Outcome.APPENDED
    assert email_identity("claire@example.com").bounced_at is not None


# Reports as mail servers really write them -------------------------------------------------


def test_a_report_naming_the_address_by_its_ascii_domain_is_applied_to_the_customers_address():
    # Claire writes from an accented domain; her identity, and so our email to her, has the
    # domain in its ASCII form (normalize_email), and the report names it that way.
    case = open_email_case("claire@café.example", message_id="c1@example.com").case
    ack = acknowledgement(case)
    assert ack.to_addresses == [CLAIRE_ASCII]
    result = ingest_email(raw=dsn(**returning(ack, CLAIRE_ASCII), recipients=[(CLAIRE_ASCII, "failed", "5.1.1")]))
    assert (result.outcome, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, (CLAIRE_ASCII,))
    assert stored_problems(result) == []
    assert email_identity(CLAIRE_ASCII).bounced_at is not None


def test_a_report_naming_the_accented_address_in_utf8_is_applied():
    case = open_email_case("claire@café.example", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(**returning(acknowledgement(case), CLAIRE_ASCII),
                                  recipients=[("claire@café.example", "failed", "5.1.1")]))
    assert (result.bounced, stored_problems(result)) == ((CLAIRE_ASCII,), [])


def test_a_temporary_failure_named_twice_in_one_report_is_counted_once():
    # The report names Claire's address both ways (the envelope's ASCII domain, the accented one)
    case = open_email_case("claire@café.example", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(**returning(acknowledgement(case), CLAIRE_ASCII), recipients=[
        ("claire@xn--caf-dma.example", "failed", "4.2.2"), ("claire@café.example", "failed", "4.2.2"),
    ]))
    assert (email_identity(CLAIRE_ASCII).soft_bounces, stored_problems(result)) == (1, [])


def test_a_returned_message_id_with_a_stray_8bit_byte_still_ties_the_report_to_our_email():
    # A server returning our headers with a raw accented byte in the Message-ID line: the report
    # is still read as a bounce of our acknowledgement, and Claire's mark applies it.
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ack = acknowledgement(case)
    raw = dsn(recipients=[("claire@example.com", "failed", "5.1.1")], returned=(
        f"Message-ID: <{ack.message_id}> (envoy\u00e9)\r\n"
        f"X-Prevenance-Bounce-Token: {bounce_token(ack.message_id, 'claire@example.com')}\r\n"
    ))
    result = ingest_email(raw=raw)
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, case.pk, ("claire@example.com",))


@pytest.mark.parametrize("token", ["\u00e9" * 50, "A" * 100_000, "abc\x00def", "=?utf-8?q?abc?="])
def test_a_malformed_or_huge_mark_is_a_mismatch_not_an_error(token):
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    result = ingest_email(raw=dsn(returned_id=acknowledgement(case).message_id, token=token,
                                  recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.outcome, result.case.pk, result.bounced) == (Outcome.AUTOMATIC_ON_CASE, case.pk, ())
    assert stored_problems(result) == [{"code": "bounce_mismatch", "detail": "claire@example.com"}]


def test_a_mark_folded_over_lines_by_a_server_still_proves_the_address():
    case = open_email_case("claire@example.com", message_id="c1@example.com").case
    ack = acknowledgement(case)
    token = bounce_token(ack.message_id, "claire@example.com")
    raw = dsn(recipients=[("claire@example.com", "failed", "5.1.1")], returned=(
        f"message-id: <{ack.message_id}>\r\nx-prevenance-bounce-token:\r\n {token[:20]}\r\n\t{token[20:]}\r\n"
    ))
    assert ingest_email(raw=raw).bounced == ("claire@example.com",)


def test_a_report_returning_the_whole_copy_as_message_rfc822_is_applied(agent, django_capture_on_commit_callbacks):
    # Exchange and others return the whole failed email, not only its headers
    reply, _headers = reply_with_paul_in_copy(agent, django_capture_on_commit_callbacks)
    [claires_copy] = [sent for sent in mail.outbox if sent.recipients() == ["claire@example.com"]]
    whole = claires_copy.message().as_bytes(linesep="\r\n").decode()
    result = ingest_email(raw=dsn(returned=whole, returned_type="message/rfc822", recipients=[("claire@example.com", "failed", "5.1.1")]))
    assert (result.case.pk, result.bounced) == (reply.case_id, ("claire@example.com",))
