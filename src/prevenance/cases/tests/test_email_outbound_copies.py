"""Outbound delivery, copy by copy: a copy that keeps failing does not fail the copies that went.

Each recipient gets their own copy (outbound.deliver). When one copy, say to a person in Cc,
is refused for now at every attempt, the others are never sent again, the email counts as
sent as soon as the customer's copy went, and the last attempt gives up that copy alone,
named on the message. Only an email no one got is given up as a whole."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.delivery_problems import message_send_error
from prevenance.cases.models import Case, Message
from prevenance.cases.services import add_reply, ingest_email
from prevenance.cases.services.outbound import MAX_ATTEMPTS, deliver, send_due_emails
from prevenance.cases.tests.smtp_server import smtp_server
from prevenance.core.models import TaskEffect
from prevenance.core.testing import run_concurrently


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


def claire_paul_and_marc_case() -> Case:
    raw = (
        "From: claire@example.com\r\nTo: care@prevenance.test\r\nCc: paul@example.com, marc@example.com\r\n"
        "Subject: Colis\r\nMessage-ID: <c1@example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nToujours rien reçu.\r\n"
    ).encode()
    return Case.objects.get(pk=ingest_email(raw=raw).case.pk)


def sent_to() -> list[str]:
    return [address for sent in mail.outbox for address in sent.recipients()]


def given_up(address: str, error: str) -> dict:
    return {"code": "not_delivered_given_up", "params": {"address": address, "error": error, "attempts": str(MAX_ATTEMPTS)}}


@pytest.mark.django_db
def test_a_copy_in_copy_refused_for_now_at_every_attempt_is_given_up_alone_and_the_email_is_sent(
    agent, refusing_mail, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"paul@example.com": 451}
    # The first attempt: Claire (the customer) and Marc get their copies, Paul's server says later
    with django_capture_on_commit_callbacks(execute=True):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    message.refresh_from_db()
    assert sent_to() == ["claire@example.com", "marc@example.com"]
    # The customer has it: the email counts as sent, and stays in the outbox for Paul's copy
    first_sent_at = message.sent_at
    assert first_sent_at is not None and message.delivery_due_at is not None and message.delivery_attempts == 1
    assert message.send_problem == {"code": "copies_not_delivered", "copies": [
        {"code": "not_delivered_yet", "params": {"address": "paul@example.com", "error": "451 4.7.1 Try again later"}},
    ]}
    assert message.send_error == "Not delivered to paul@example.com yet: 451 4.7.1 Try again later"

    # Every retry sends Paul's copy alone, and it is refused every time
    for attempt in range(2, MAX_ATTEMPTS):
        assert deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.delivery_attempts, message.delivery_due_at is not None) == (attempt, True)
    assert deliver(message_id=message.pk) is True  # the last: nothing left to try again
    assert sent_to() == ["claire@example.com", "marc@example.com"]  # never sent twice

    message.refresh_from_db()
    assert (message.sent_at, message.delivery_due_at, message.delivery_attempts) == (first_sent_at, None, MAX_ATTEMPTS)
    assert message.send_problem == {"code": "copies_not_delivered", "copies": [given_up("paul@example.com", "451 4.7.1 Try again later")]}
    assert message.send_error == f"Not delivered to paul@example.com: 451 4.7.1 Try again later (given up after {MAX_ATTEMPTS} attempts)"
    assert "given_up" not in message.send_problem  # not the whole email
    # Out of the outbox: no sweep, no task sends anything again
    assert send_due_emails(now=timezone.now() + timedelta(days=1)) == 0
    assert deliver(message_id=message.pk) is False
    assert sent_to() == ["claire@example.com", "marc@example.com"]


@pytest.mark.django_db
def test_an_email_no_one_got_is_given_up_as_a_whole_after_the_last_attempt(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"claire@example.com": 451, "paul@example.com": 452, "marc@example.com": 451}
    with django_capture_on_commit_callbacks(execute=True):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    for _attempt in range(2, MAX_ATTEMPTS + 1):
        assert deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert mail.outbox == []
    assert (message.sent_at, message.delivery_due_at, message.delivery_attempts) == (None, None, MAX_ATTEMPTS)
    assert message.send_problem == {"code": "send_failed", "params": {"error": "451 4.7.1 Try again later"}, "given_up": True}
    assert message.send_error == "Sending failed: 451 4.7.1 Try again later (given up: no more attempts)"


@pytest.mark.django_db
def test_while_the_customers_copy_is_refused_for_now_the_email_is_not_sent_yet(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"claire@example.com": 421}
    with django_capture_on_commit_callbacks(execute=True):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    message.refresh_from_db()
    # Paul and Marc have it, Claire does not: not sent yet, and her copy is named
    assert sent_to() == ["paul@example.com", "marc@example.com"]
    assert (message.sent_at, message.delivery_attempts, message.delivery_due_at is not None) == (None, 1, True)
    assert message_send_error(message) == "Not delivered to claire@example.com yet: 421 4.7.1 Try again later"

    # Her server takes it at the next attempt: sent, to her alone, nothing left to say
    refusing_mail.rejected = {}
    assert deliver(message_id=message.pk) is True
    message.refresh_from_db()
    assert sent_to() == ["paul@example.com", "marc@example.com", "claire@example.com"]
    assert message.sent_at is not None and (message.send_error, message.send_problem, message.delivery_due_at) == ("", {}, None)


@pytest.mark.django_db
def test_the_last_attempt_gives_up_the_customers_copy_when_only_people_in_copy_got_it(
    agent, refusing_mail, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"claire@example.com": 450}
    with django_capture_on_commit_callbacks(execute=False):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    Message.objects.filter(pk=message.pk).update(delivery_attempts=MAX_ATTEMPTS - 1)
    assert deliver(message_id=message.pk) is True
    message.refresh_from_db()
    # Someone got it: sent, with the customer named as not reached (the agent sees it, beside the message)
    assert message.sent_at is not None and message.delivery_due_at is None
    assert message.send_problem["copies"] == [given_up("claire@example.com", "450 4.7.1 Try again later")]


@pytest.mark.django_db
def test_a_copy_refused_for_good_is_not_sent_again_while_another_is_tried_again(
    agent, refusing_mail, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    # Paul's server refuses his copy for good once it has read it, Marc's says later
    refusing_mail.rejected = {"paul@example.com": (550, b"5.7.1 Message rejected"), "marc@example.com": 451}
    with django_capture_on_commit_callbacks(execute=True):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    assert refusing_mail.tried == ["claire@example.com", "paul@example.com", "marc@example.com"]

    # Every retry sends Marc's copy alone; Paul's refusal stays named meanwhile
    deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message_send_error(message) == ("Not delivered to paul@example.com: 550 5.7.1 Message rejected\n"
                                           "Not delivered to marc@example.com yet: 451 4.7.1 Try again later")
    refusing_mail.rejected.pop("marc@example.com")
    assert deliver(message_id=message.pk) is True
    assert refusing_mail.tried == ["claire@example.com", "paul@example.com", "marc@example.com", "marc@example.com",
                                   "marc@example.com"]

    message.refresh_from_db()
    assert message.delivery_due_at is None and message.send_problem == {"code": "copies_not_delivered", "copies": [
        {"code": "not_delivered", "params": {"address": "paul@example.com", "error": "550 5.7.1 Message rejected"}}]}


# Over a real SMTP server, for the two temporary failures smtplib and Django's SMTP backend
# raise themselves: a recipient refused for now at RCPT (greylisting), and a connection that drops.

@pytest.mark.django_db
def test_over_a_real_smtp_server_a_dropped_connection_and_a_greylisted_copy_do_not_stop_the_others(
    agent, settings, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    with smtp_server(settings) as server:
        # Paul's copy drops the connection every time, Marc's server greylists him for ever
        server.hangs_up_on, server.greylisted = {"paul@example.com"}, {"marc@example.com"}
        with django_capture_on_commit_callbacks(execute=True):
            message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
        # The first attempt: Claire's copy went; Marc's was tried over a new connection after Paul's dropped
        assert ([d.recipients for d in server.delivered], server.connections) == ([["claire@example.com"]], 2)
        message.refresh_from_db()
        assert message.sent_at is not None and message.delivery_due_at is not None
        for _attempt in range(2, MAX_ATTEMPTS + 1):
            deliver(message_id=message.pk)
        assert [d.recipients for d in server.delivered] == [["claire@example.com"]]  # never sent again
    message.refresh_from_db()
    assert (message.delivery_due_at, message.delivery_attempts) == (None, MAX_ATTEMPTS)
    assert message.send_problem["copies"] == [
        given_up("paul@example.com", "Connection unexpectedly closed"),
        given_up("marc@example.com", "450 4.2.0 <marc@example.com>: Recipient address rejected: Greylisted, try again later"),
    ]


@pytest.mark.django_db
def test_the_thread_shows_an_email_sent_and_the_recipients_it_did_not_reach(
    client, agent, refusing_mail, django_capture_on_commit_callbacks,
):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"paul@example.com": 451}
    with django_capture_on_commit_callbacks(execute=True):
        message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    client.force_login(agent)

    def shown() -> str:
        page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
        start = page.index(f'id="message-{message.pk}"')
        return page[start:page.index("msg-body", start)]

    # While Paul's copy is tried again: sent, his copy still to send
    retrying = shown()
    assert "· sent ·" in retrying and "some copies still to send, next attempt" in retrying and "not sent" not in retrying
    assert "⚠ Not delivered to paul@example.com yet: 451 4.7.1 Try again later" in retrying
    # Given up: sent, and Paul named with why
    Message.objects.filter(pk=message.pk).update(delivery_attempts=MAX_ATTEMPTS - 1)
    deliver(message_id=message.pk)
    done = shown()
    assert "· sent" in done and "not sent" not in done and "still to send" not in done and 'class="error send-error"' not in done
    assert f"⚠ Not delivered to paul@example.com: 451 4.7.1 Try again later (given up after {MAX_ATTEMPTS} attempts)" in done


@pytest.mark.django_db(transaction=True)
def test_two_workers_retrying_an_email_at_once_send_the_copy_left_once(agent, refusing_mail):
    case = claire_paul_and_marc_case()
    refusing_mail.rejected = {"paul@example.com": 451}
    message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")  # sent at its commit
    assert sent_to() == ["claire@example.com", "marc@example.com"]
    # Paul's server takes it now; the task and the sweep's task run at the same instant
    refusing_mail.rejected = {}
    results, errors = run_concurrently(lambda: deliver(message_id=message.pk), lambda: deliver(message_id=message.pk))
    assert errors == [] and sorted(results) == [False, True]
    assert sent_to() == ["claire@example.com", "marc@example.com", "paul@example.com"]
    message.refresh_from_db()
    assert (message.send_problem, message.delivery_due_at, message.delivery_attempts) == ({}, None, 1)


@pytest.mark.django_db
def test_a_copy_a_dead_worker_was_sending_is_tried_again_not_counted_as_sent(agent, refusing_mail, django_capture_on_commit_callbacks):
    case = claire_paul_and_marc_case()
    message = add_reply(case=case, author=agent, body="Nous regardons votre commande.")  # not sent: no commit callback
    # A worker took the email and claimed Paul's copy (the second), then died mid-send; the
    # email's own claim has run out and this attempt takes it over, Paul's claim a moment later
    # has not yet.
    TaskEffect.objects.create(key=f"case-message-send:{message.pk}", claimed_at=timezone.now() - timedelta(minutes=11))
    TaskEffect.objects.create(key=f"case-message-send:{message.pk}:1", claimed_at=timezone.now() - timedelta(minutes=9))

    assert deliver(message_id=message.pk) is False
    assert sent_to() == ["claire@example.com", "marc@example.com"]
    message.refresh_from_db()
    assert message.sent_at is not None and message.delivery_due_at is not None  # Claire has it; Paul's copy is due again
    assert [copy["params"]["address"] for copy in message.send_problem["copies"]] == ["paul@example.com"]

    TaskEffect.objects.filter(key=f"case-message-send:{message.pk}:1").update(claimed_at=timezone.now() - timedelta(minutes=11))
    assert deliver(message_id=message.pk) is True
    assert sent_to() == ["claire@example.com", "marc@example.com", "paul@example.com"]
    message.refresh_from_db()
    assert (message.send_problem, message.delivery_due_at) == ({}, None)
