"""Outbound delivery: replies sent through Django's email backend, threaded, from the right mailbox."""

from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import ClassVar

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.utils import timezone

from prevenance.cases.choices import MessageKind
from prevenance.cases.models import Case, Message
from prevenance.cases.services import (
    add_reply,
    ensure_default_templates,
    ingest_email,
    open_case,
    queue_delivery,
)
from prevenance.cases.services.bounces import bounce_token, marked_recipient
from prevenance.cases.services.common import add_thread_entry
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.services.outbound import (
    MAX_ATTEMPTS,
    QUEUE_LEASE,
    base_subject,
    deliver,
    retry_delay,
    send_due_emails,
)
from prevenance.cases.tasks import deliver_message
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.smtp_server import smtp_server
from prevenance.core.choices import Channel
from prevenance.core.models import TaskEffect
from prevenance.core.testing import run_concurrently
from prevenance.core.tests.mail import make_smtp_unreachable
from prevenance.customers.services import IdentityInput


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


def eml(*, sender: str, subject: str, message_id: str, to: str = "service.client@boutique-lumiere.fr", headers: str = "",
        body: str = "Toujours rien reçu.") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def reply(case, agent, body="Nous regardons votre commande.", **kwargs) -> Message:
    return add_reply(case=case, author=agent, body=body, **kwargs)


@pytest.mark.django_db
def test_a_reply_to_an_email_is_sent_threaded_from_the_default_address(agent, django_capture_on_commit_callbacks):
    # Given Claire's email, with no team and no mailbox
    first = ingest_email(raw=eml(sender="Claire Martin <claire@example.com>", subject="Colis abîmé", message_id="c1@example.com",
                                 to="care@prevenance.test"))
    # when an agent answers it
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(first.case, agent, body_html="<p>Nous regardons <b>votre commande</b>.</p>")
    # then one email leaves, to Claire, from the default address, threaded on her message
    [sent] = mail.outbox
    case = first.case
    assert sent.from_email == "care@prevenance.test"
    assert (sent.to, sent.cc, sent.subject) == (["claire@example.com"], [], f"Re: [{case.reference}] Colis abîmé")
    message.refresh_from_db()
    assert sent.extra_headers["Message-ID"] == f"<{message.message_id}>"
    assert message.message_id.endswith("@prevenance.test")
    assert (sent.extra_headers["In-Reply-To"], sent.extra_headers["References"]) == ("<c1@example.com>", "<c1@example.com>")
    assert "Auto-Submitted" not in sent.extra_headers  # a person wrote it
    assert sent.body == "Nous regardons votre commande."
    assert sent.alternatives[0][1] == "text/html" and "<b>votre commande</b>" in sent.alternatives[0][0]
    assert message.sent_at is not None and message.send_error == ""
    assert (message.to_addresses, message.mailbox, message.in_reply_to) == (
        ["claire@example.com"], "care@prevenance.test", "c1@example.com")


@pytest.mark.django_db
def test_the_customers_answer_to_our_reply_threads_back_to_the_case(agent, django_capture_on_commit_callbacks):
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis abîmé", message_id="c1@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        ours = reply(first.case, agent)
    ours.refresh_from_db()
    [sent] = mail.outbox
    # When Claire answers our reply (her client quotes our Message-ID) with a new subject
    answer = ingest_email(raw=eml(sender="claire@example.com", subject="Merci", message_id="c2@example.com",
                                  headers=f"In-Reply-To: {sent.extra_headers['Message-ID']}\r\n"
                                          f"References: {sent.extra_headers['References']} {sent.extra_headers['Message-ID']}\r\n"))
    # then it joins the case, found by our own Message-ID
    assert (answer.outcome, answer.threaded_by, answer.case.pk) == (Outcome.APPENDED, "in_reply_to", first.case.pk)
    # and our next reply answers that message, with the whole chain in References
    with django_capture_on_commit_callbacks(execute=True):
        reply(first.case, agent, body="Un bon d'achat suit.")
    second = mail.outbox[1]
    assert second.extra_headers["In-Reply-To"] == "<c2@example.com>"
    assert second.extra_headers["References"] == f"<c1@example.com> <{ours.message_id}> <c2@example.com>"


@pytest.mark.django_db
def test_replies_leave_from_the_mailbox_the_customer_wrote_to_and_copy_the_cc(agent, django_capture_on_commit_callbacks):
    # Given a team mailbox, and Claire writing to it with her husband and another of our mailboxes in copy
    team = TeamFactory(name="Service client", email="service.client@boutique-lumiere.fr")
    TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    first = ingest_email(raw=eml(
        sender="claire@example.com", subject="Colis abîmé", message_id="c1@example.com",
        headers="Cc: Paul Martin <paul@example.com>, litiges@boutique-lumiere.fr, Claire <CLAIRE@example.com>\r\n"))
    case = Case.objects.get(pk=first.case.pk)
    assert (case.mailbox, case.team_id, case.cc_addresses) == ("service.client@boutique-lumiere.fr", team.pk, ["paul@example.com"])
    # When the agent answers
    with django_capture_on_commit_callbacks(execute=True):
        reply(case, agent)
    # then the reply comes from the team's mailbox, to Claire, with Paul in copy (never ourselves):
    # one copy each, whose headers name both
    [to_claire, to_paul] = mail.outbox
    for sent in (to_claire, to_paul):
        assert sent.from_email == "Service client <service.client@boutique-lumiere.fr>"
        assert (sent.to, sent.cc) == (["claire@example.com"], ["paul@example.com"])
        assert sent.extra_headers["Message-ID"].endswith("@boutique-lumiere.fr>")
    assert (to_claire.recipients(), to_paul.recipients()) == (["claire@example.com"], ["paul@example.com"])


def claire_and_paul_case() -> Case:
    return Case.objects.get(pk=ingest_email(raw=eml(
        sender="claire@example.com", subject="Colis", message_id="c1@example.com", to="care@prevenance.test",
        headers="Cc: paul@example.com\r\n")).case.pk)


@pytest.mark.django_db
def test_each_copy_carries_the_delivery_mark_of_its_recipient_alone(agent, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    [to_claire, to_paul] = mail.outbox
    # The mark is in the sent headers, signed for (this email, that recipient) only
    assert f"X-Prevenance-Bounce-Token: {bounce_token(message.message_id, 'claire@example.com')}" in to_claire.message().as_string()
    assert to_paul.extra_headers["X-Prevenance-Bounce-Token"] == bounce_token(message.message_id, "paul@example.com")
    assert to_claire.extra_headers["X-Prevenance-Bounce-Token"] != to_paul.extra_headers["X-Prevenance-Bounce-Token"]
    assert marked_recipient(message, to_paul.extra_headers["X-Prevenance-Bounce-Token"]) == "paul@example.com"


@pytest.mark.django_db
def test_a_copy_the_server_refuses_leaves_the_others_sent(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    refusing_mail.refused = {"paul@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    assert [sent.recipients() for sent in mail.outbox] == [["claire@example.com"]]
    message.refresh_from_db()
    # Sent, and Paul named on the thread: his copy will not be tried again
    assert message.sent_at is not None and message.delivery_due_at is None
    assert message.send_error == "Not delivered to paul@example.com: 550 5.1.1 User unknown"


@pytest.mark.django_db
def test_a_copy_rejected_for_good_once_sent_is_left_out_and_one_rejected_for_now_is_sent_again(
    agent, refusing_mail, django_capture_on_commit_callbacks,
):
    # For good (554, e.g. a content filter at Paul's server): Claire got the reply, it is sent
    case = claire_and_paul_case()
    refusing_mail.rejected = {"paul@example.com": 554}
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    message.refresh_from_db()
    assert [sent.recipients() for sent in mail.outbox] == [["claire@example.com"]]
    assert (message.sent_at is not None, message.send_error, message.delivery_due_at) == (
        True, "Not delivered to paul@example.com: 554 Message rejected", None)

    # For now (451): Claire has it (sent), and the next attempt sends Paul's copy alone
    mail.outbox.clear()
    refusing_mail.rejected = {"paul@example.com": 451}
    with django_capture_on_commit_callbacks(execute=True):
        second = reply(case, agent, body="Encore une précision.")
    second.refresh_from_db()
    assert (second.sent_at is not None, second.delivery_attempts, second.delivery_due_at is not None) == (True, 1, True)
    refusing_mail.rejected = {}
    assert deliver(message_id=second.pk) is True
    assert [sent.recipients() for sent in mail.outbox] == [["claire@example.com"], ["paul@example.com"]]
    second.refresh_from_db()
    assert (second.send_error, second.delivery_due_at) == ("", None)


@pytest.mark.django_db
def test_every_copy_refused_is_a_failed_attempt(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    refusing_mail.refused = {"claire@example.com", "paul@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    message.refresh_from_db()
    assert (mail.outbox, message.sent_at, message.delivery_attempts) == ([], None, 1)
    assert message.send_error.startswith("Sending failed:") and message.delivery_due_at is not None


@pytest.mark.django_db
def test_an_attempt_failing_after_the_customers_copy_does_not_send_it_again(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    refusing_mail.drops = {"paul@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    message.refresh_from_db()
    assert ([sent.recipients() for sent in mail.outbox], message.delivery_attempts) == ([["claire@example.com"]], 1)
    assert message.sent_at is not None and message.delivery_due_at is not None  # Claire has it; Paul's copy is due again
    # The next attempt sends Paul's copy only
    assert deliver(message_id=message.pk) is True
    assert [sent.recipients() for sent in mail.outbox] == [["claire@example.com"], ["paul@example.com"]]
    message.refresh_from_db()
    assert message.sent_at is not None


class CountingBackend(locmem.EmailBackend):
    """The test outbox, counting the connections made: Django makes one per backend it gets
    (get_connection), and the SMTP backend opens one for each."""

    made: ClassVar[int] = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountingBackend.made += 1


@pytest.mark.django_db
def test_every_copy_of_an_email_goes_over_one_connection(agent, settings, django_capture_on_commit_callbacks):
    case = claire_and_paul_case()
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.made = 0
    with django_capture_on_commit_callbacks(execute=True):
        reply(case, agent)
    assert ([sent.recipients() for sent in mail.outbox], CountingBackend.made) == ([["claire@example.com"], ["paul@example.com"]], 1)


def claire_paul_and_marc_case() -> Case:
    return Case.objects.get(pk=ingest_email(raw=eml(
        sender="claire@example.com", subject="Colis", message_id="c1@example.com", to="care@prevenance.test",
        headers="Cc: paul@example.com, Marc <marc@example.com>\r\n")).case.pk)


@pytest.mark.django_db
def test_over_a_real_smtp_server_each_copy_has_its_envelope_and_its_mark_on_one_connection(
    agent, settings, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    with smtp_server(settings) as server:
        # Paul's server does not know his address: his copy is refused, the connection goes on
        server.refused = {"paul@example.com"}
        with django_capture_on_commit_callbacks(execute=True):
            message = reply(case, agent, files=[upload("label.pdf", PDF)])
    assert server.connections == 1
    assert [item.recipients for item in server.delivered] == [["claire@example.com"], ["marc@example.com"]]
    for item, recipient in zip(server.delivered, ("claire@example.com", "marc@example.com"), strict=True):
        sent = message_from_bytes(item.data, policy=email_policy.default)
        # Everyone is named in the headers, only the recipient in the envelope, with their own mark
        assert (sent["To"], sent["Cc"], sent["Bcc"]) == ("claire@example.com", "paul@example.com, marc@example.com", None)
        assert sent["Message-ID"] == f"<{message.message_id}>"  # the same for all: any answer threads to the case
        assert sent["X-Prevenance-Bounce-Token"] == bounce_token(message.message_id, recipient)
        assert [part.get_filename() for part in sent.iter_attachments()] == ["label.pdf"]
    message.refresh_from_db()
    assert (message.sent_at is not None, message.send_error) == (
        True, "Not delivered to paul@example.com: 550 5.1.1 <paul@example.com>: Recipient address rejected: User unknown")


@pytest.mark.django_db
def test_over_a_real_smtp_server_every_copy_refused_is_a_failed_attempt(agent, settings, django_capture_on_commit_callbacks):
    case = claire_paul_and_marc_case()
    with smtp_server(settings) as server:
        server.refused = {"claire@example.com", "paul@example.com", "marc@example.com"}
        with django_capture_on_commit_callbacks(execute=True):
            message = reply(case, agent)
    assert (server.connections, server.delivered) == (1, [])
    message.refresh_from_db()
    assert (message.sent_at, message.delivery_attempts) == (None, 1)
    assert message.send_error.startswith("Sending failed:") and "claire@example.com" in message.send_error


@pytest.mark.django_db
def test_a_default_sender_with_a_display_name_is_never_copied_and_keeps_message_ids_whole(agent, settings, django_capture_on_commit_callbacks):
    # Django allows "Name <address>" in DEFAULT_FROM_EMAIL; Claire copies that very address
    settings.DEFAULT_FROM_EMAIL = "Boutique Lumière <care@prevenance.test>"
    case = Case.objects.get(pk=ingest_email(raw=eml(
        sender="claire@example.com", subject="Colis", message_id="c1@example.com", to="care@prevenance.test",
        headers="Cc: care@prevenance.test, paul@example.com\r\n")).case.pk)
    assert case.cc_addresses == ["paul@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        reply(case, agent)
    for sent in mail.outbox:  # Claire's copy and Paul's
        assert sent.cc == ["paul@example.com"]
        assert sent.from_email == "Boutique Lumière <care@prevenance.test>"
        assert sent.extra_headers["Message-ID"].count(">") == 1 and sent.extra_headers["Message-ID"].endswith("@prevenance.test>")
    assert [sent.recipients() for sent in mail.outbox] == [["claire@example.com"], ["paul@example.com"]]


@pytest.mark.django_db
def test_a_mailbox_with_an_accented_domain_gets_an_ascii_message_id(agent, django_capture_on_commit_callbacks):
    TeamFactory(name="SAV", email="sav@boutique-été.fr")
    case = Case.objects.get(pk=ingest_email(raw=eml(
        sender="claire@example.com", subject="Colis", message_id="c2@example.com", to="sav@boutique-été.fr")).case.pk)
    with django_capture_on_commit_callbacks(execute=True):
        reply(case, agent)
    headers = mail.outbox[-1].message().as_string()
    assert "Message-ID: <" in headers and "@xn--boutique-t-j7ab.fr>" in headers


@pytest.mark.django_db
def test_without_a_mailbox_the_teams_address_is_used(agent, django_capture_on_commit_callbacks):
    team = TeamFactory(name="Boutique", email="boutique@boutique-lumiere.fr")
    case = open_email_case("lea@example.com", team=team).case
    with django_capture_on_commit_callbacks(execute=True):
        reply(case, agent)
    assert mail.outbox[0].from_email == "Boutique <boutique@boutique-lumiere.fr>"
    assert mail.outbox[0].subject == f"Re: [{case.reference}] Colis abîmé"
    assert mail.outbox[0].to == ["lea@example.com"]


@pytest.mark.django_db
def test_an_auto_reply_is_never_the_message_answered(agent, django_capture_on_commit_callbacks):
    # Given Claire's case, then an out-of-office from her company's robot threaded on it
    first = ingest_email(raw=eml(sender="claire@example.com", subject="Colis", message_id="c1@example.com"))
    robot = ingest_email(raw=eml(sender="noreply@example.com", subject="Absent du bureau", message_id="ooo@example.com",
                                 headers="Auto-Submitted: auto-replied\r\nIn-Reply-To: <c1@example.com>\r\n"))
    assert robot.outcome == Outcome.AUTOMATIC_ON_CASE
    assert Message.objects.get(message_id="ooo@example.com").automatic == "auto_reply"
    with django_capture_on_commit_callbacks(execute=True):
        reply(first.case, agent)
    # then the reply goes to Claire, answering her message, not the robot's
    [sent] = mail.outbox
    assert sent.to == ["claire@example.com"]
    assert sent.extra_headers["In-Reply-To"] == "<c1@example.com>"


@pytest.mark.django_db
def test_a_reply_on_a_channel_we_cannot_send_on_says_so_and_sends_nothing(agent, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com", channel=Channel.PHONE).case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent, channel=Channel.PHONE)
    message.refresh_from_db()
    assert mail.outbox == []
    assert message.sent_at is None
    assert message.send_error == "No sender for channel Phone: send this reply by that channel yourself."


@pytest.mark.django_db
def test_a_phone_case_is_answered_by_email_when_the_customer_has_an_address(agent, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com", channel=Channel.PHONE).case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    message.refresh_from_db()
    assert message.channel == Channel.EMAIL
    assert [sent.to for sent in mail.outbox] == [["lea@example.com"]]


@pytest.mark.django_db
def test_a_phone_case_of_a_customer_without_email_stays_on_the_phone(agent, django_capture_on_commit_callbacks):
    case = open_case(identities=[IdentityInput("phone", "+33612345678")], channel=Channel.PHONE, subject="Appel", body="…").case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    message.refresh_from_db()
    assert (message.channel, mail.outbox, message.sent_at) == (Channel.PHONE, [], None)
    assert message.send_error.startswith("No sender for channel Phone")


@pytest.mark.django_db
def test_a_customer_without_an_email_address_gets_a_clear_error(agent, django_capture_on_commit_callbacks):
    case = open_case(identities=[IdentityInput("phone", "+33612345678")], channel=Channel.PHONE, subject="Appel", body="…").case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent, channel=Channel.EMAIL)
    message.refresh_from_db()
    assert (mail.outbox, message.sent_at, message.send_error) == ([], None, "The customer has no email address to send this to.")


@pytest.mark.django_db
def test_a_message_is_sent_once_however_often_the_task_runs(agent, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent)
    assert deliver_message(message.pk) is False
    assert deliver(message_id=message.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_system_message_is_marked_automatic_and_can_carry_its_own_subject(django_capture_on_commit_callbacks):
    # Given an acknowledgement-like message written by Prévenance itself (no author)
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=True):
        message = add_thread_entry(case, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text="Bien reçu.")
        queue_delivery(message, subject="Nous avons bien reçu votre demande")
    [sent] = mail.outbox
    assert sent.subject == f"[{case.reference}] Nous avons bien reçu votre demande"
    assert (sent.extra_headers["Auto-Submitted"], sent.extra_headers["X-Auto-Response-Suppress"]) == ("auto-replied", "All")


@pytest.mark.django_db
def test_queue_delivery_refuses_inbound_messages():
    intake = open_email_case("lea@example.com")
    with pytest.raises(ValueError, match="outbound"):
        queue_delivery(intake.message)


@pytest.mark.django_db
def test_an_unreachable_mail_server_keeps_the_error_and_the_sweep_tries_again_later(agent, settings, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = reply(case, agent)
    assert len(callbacks) == 1  # the send waits for the commit
    make_smtp_unreachable(settings)
    # When the task runs and the server refuses the connection
    before = timezone.now()
    assert deliver_message(message.pk) is False
    message.refresh_from_db()
    # then nothing is marked sent, the error is kept for the agent, the next attempt is due in a minute
    assert message.sent_at is None
    assert message.send_error.startswith("Sending failed:")
    assert message.delivery_attempts == 1
    assert before + timedelta(seconds=retry_delay(0)) <= message.delivery_due_at <= timezone.now() + timedelta(seconds=60)
    assert TaskEffect.objects.count() == 0
    # The sweep leaves it alone until then, and sends it when the server is back
    assert send_due_emails(now=timezone.now()) == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_emails(now=timezone.now() + timedelta(seconds=61)) == 1
    [sent] = mail.outbox
    assert sent.to == ["lea@example.com"]
    message.refresh_from_db()
    assert message.sent_at is not None and (message.send_error, message.delivery_due_at) == ("", None)


@pytest.mark.django_db
def test_after_the_last_attempt_the_email_is_given_up_with_its_error(agent, settings, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=False):
        message = reply(case, agent)
    Message.objects.filter(pk=message.pk).update(delivery_attempts=MAX_ATTEMPTS - 1)
    make_smtp_unreachable(settings)
    assert deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.send_error.endswith("(given up: no more attempts)")
    assert (message.sent_at, message.delivery_due_at, message.delivery_attempts) == (None, None, MAX_ATTEMPTS)
    assert send_due_emails(now=timezone.now() + timedelta(days=1)) == 0


@pytest.mark.django_db
def test_an_acknowledgement_waits_in_the_outbox_until_the_sweep_sends_it(django_capture_on_commit_callbacks):
    ensure_default_templates()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_email_case("lea@example.com", message_id="lea-1@example.com").case
    [ack] = Message.objects.filter(case=case, kind=MessageKind.OUTBOUND)
    assert mail.outbox == [] and ack.delivery_due_at is not None and ack.email_subject
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_emails() == 1
    [sent] = mail.outbox
    assert sent.subject == f"[{case.reference}] {ack.email_subject}"
    assert sent.extra_headers["In-Reply-To"] == "<lea-1@example.com>"
    ack.refresh_from_db()
    assert ack.sent_at is not None and ack.delivery_due_at is None
    assert send_due_emails(now=timezone.now() + timedelta(days=1)) == 0


@pytest.mark.django_db
def test_a_task_lost_with_the_broker_is_made_up_for_by_the_sweep_after_its_lease(agent, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=False):
        message = reply(case, agent)  # its task is never run: lost
    assert send_due_emails() == 0  # leased to that task for now
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_emails(now=timezone.now() + QUEUE_LEASE + timedelta(seconds=1)) == 1
    assert [sent.to for sent in mail.outbox] == [["lea@example.com"]]
    message.refresh_from_db()
    assert message.sent_at is not None


@pytest.mark.django_db
def test_an_erased_customers_email_leaves_the_outbox_unsent(agent, django_capture_on_commit_callbacks):
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=False):
        message = reply(case, agent)
    Message.objects.filter(pk=message.pk).update(customer=None, to_addresses=[])
    assert deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert (message.sent_at, message.delivery_due_at, mail.outbox) == (None, None, [])


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_email_once():
    ensure_default_templates()
    for n in range(6):
        open_email_case(f"client{n}@example.com")
    counts, errors = run_concurrently(send_due_emails, send_due_emails)
    assert errors == []
    assert sorted(counts) in ([0, 6], [1, 5], [2, 4], [3, 3])  # however the two split them
    assert sorted(address for sent in mail.outbox for address in sent.to) == [f"client{n}@example.com" for n in range(6)]
    assert not Message.objects.filter(kind=MessageKind.OUTBOUND, sent_at=None).exists()


def test_retry_delays_double_from_a_minute_up_to_an_hour():
    assert [retry_delay(n) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    # given up after the 9th attempt: about three hours after the first (docs/email-intake.md)
    assert sum(retry_delay(n) for n in range(8)) == 10_980


@pytest.mark.parametrize(("subject", "base"), [
    ("Re: Colis abîmé", "Colis abîmé"),
    ("RE: TR: Fwd: Colis", "Colis"),
    ("Re: [C-2026-000123] Colis", "Colis"),
    ("Réf : commande", "commande"),
    ("Absence de remboursement", "Absence de remboursement"),
])
def test_base_subject_drops_prefixes_and_our_tag(subject, base):
    assert base_subject(subject) == base


# Files an agent attaches -------------------------------------------------------------------

PDF = b"%PDF-1.4\n% a return label\n"


def upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


@pytest.mark.django_db
def test_a_reply_carries_its_files_in_the_email_and_on_the_thread(agent, django_capture_on_commit_callbacks):
    case = open_email_case("claire@example.com").case
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, agent, body="Voici l'étiquette de retour.",
                        files=[upload("étiquette retour.pdf", PDF), upload("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20)])
    [sent] = mail.outbox
    assert [(name, content, kind) for name, content, kind in sent.attachments] == [
        ("étiquette retour.pdf", PDF, "application/pdf"), ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png")]
    stored = list(message.attachments.order_by("pk").values_list("filename", "content_type", "size"))
    assert stored == [("étiquette retour.pdf", "application/pdf", len(PDF)), ("photo.png", "image/png", 28)]


@pytest.mark.django_db
def test_a_wrong_file_refuses_the_reply_with_nothing_written_or_sent(agent, settings, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    case = open_email_case("claire@example.com").case
    before = Message.objects.count()
    settings.PREVENANCE_REPLY_MAX_FILES = 2
    settings.PREVENANCE_REPLY_MAX_TOTAL_BYTES = 1024
    for files, expected in (
        ([upload("facture.pdf", b"Bonjour, ceci est du texte.")], "does not contain what its name says"),
        ([upload("setup.exe", b"MZ\x90\x00")], "setup.exe"),
        ([upload(f"f{n}.pdf", PDF) for n in range(3)], "At most 2 files."),
        ([upload("big.pdf", PDF + b"x" * 600), upload("big2.pdf", PDF + b"x" * 600)], "together they may be at most 1 KB."),
    ):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
            reply(case, agent, files=files)
        assert expected in " ".join(refused.value.message_dict["attachments"])
    assert Message.objects.count() == before
    assert mail.outbox == []


@pytest.mark.django_db
def test_files_stored_by_a_reply_that_fails_later_are_removed(agent, monkeypatch, tmp_path):
    from prevenance.cases.models import Attachment
    from prevenance.cases.services import handling

    case = open_email_case("claire@example.com").case

    def broken(message):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(handling, "queue_delivery", broken)
    with pytest.raises(RuntimeError):
        reply(case, agent, files=[upload("label.pdf", PDF)])
    assert not Attachment.objects.exists()
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []  # MEDIA_ROOT (the media fixture)


@pytest.mark.django_db
def test_a_note_keeps_its_files_for_colleagues_and_sends_nothing(agent, django_capture_on_commit_callbacks):
    from prevenance.cases.services import add_note

    case = open_email_case("claire@example.com").case
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(case=case, author=agent, body="Facture du transporteur.", files=[upload("facture.pdf", PDF)])
    assert list(note.attachments.values_list("filename", flat=True)) == ["facture.pdf"]
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_file_gone_from_the_storage_is_a_failed_attempt_with_its_reason(agent):
    from django.core.files.storage import default_storage

    case = open_email_case("claire@example.com").case
    message = reply(case, agent, body="Voici l'étiquette.", files=[upload("label.pdf", PDF)])  # not sent: no commit here
    default_storage.delete(message.attachments.get().file.name)
    assert deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert (message.sent_at, message.delivery_attempts) == (None, 1)
    assert message.send_error and message.delivery_due_at is not None  # tried again later, then given up
    assert mail.outbox == []
