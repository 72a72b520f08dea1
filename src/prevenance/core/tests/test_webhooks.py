"""Webhooks against a real HTTP server started here: signed, sent after commit, retried with backoff."""

import hmac
import json
import re
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import Client
from django.utils import timezone

from prevenance.core import queue, tasks
from prevenance.core.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from prevenance.core.testing import run_concurrently
from prevenance.core.webhooks import services
from prevenance.core.webhooks.signing import SIGNATURE_HEADER, signature_header, verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """A queue whose workers are all busy: each deliver_webhook task sent lands here (its
    delivery id) and waits; a test plays the worker with tasks.deliver_webhook(delivery_id)."""
    waiting: list[int] = []
    send = queue._send

    def publish(task, args):
        # By name: `tasks.deliver_webhook` is a proxy to the current Celery app's task, and the
        # worker tests run other apps, so patching the proxy's apply_async may miss the task sent.
        if task.name == tasks.deliver_webhook.name:
            waiting.extend(args)
        else:
            send(task, args)

    monkeypatch.setattr(queue, "_send", publish)
    return waiting


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(name="CRM", url=receiver.url)


CASE = {"object": {"id": 42, "reference": "C-2026-000042", "status": "new"}}


def emit(event: str = "case.created", data: dict | None = None) -> list[int]:
    """What a case service does inside its transaction."""
    with transaction.atomic():
        return services.emit_event(event, CASE if data is None else data)


def test_an_event_is_posted_signed_after_commit(receiver, endpoint, committed):
    with committed():
        emit()

    assert receiver.events() == ["case.created"]
    call = receiver.calls[0]
    body = json.loads(call["body"])
    assert body["data"] == CASE
    assert body["id"].startswith("evt_")
    assert call["headers"]["Prevenance-Event"] == "case.created"
    assert call["headers"]["Prevenance-Event-Id"] == body["id"]
    assert verify_signature(endpoint.secret, call["headers"][SIGNATURE_HEADER], call["body"])
    assert not verify_signature("whsec_other", call["headers"][SIGNATURE_HEADER], call["body"])
    assert not verify_signature(endpoint.secret, call["headers"][SIGNATURE_HEADER], call["body"] + b" ")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (WebhookDeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.delivered_at is not None


def test_values_a_json_body_cannot_hold_are_sent_as_strings(receiver, endpoint, committed):
    moment = timezone.now()
    with committed():
        emit(data={"at": moment, "amount": Decimal("12.50")})

    assert json.loads(receiver.calls[0]["body"])["data"] == {"at": DjangoJSONEncoder().default(moment), "amount": "12.50"}


def test_the_signature_is_hmac_sha256_over_timestamp_and_body():
    header = signature_header("whsec_test", b'{"a":1}', timestamp=1_700_000_000)

    assert header == "t=1700000000,v1=" + hmac.new(b"whsec_test", b'1700000000.{"a":1}', "sha256").hexdigest()
    assert verify_signature("whsec_test", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("whsec_test", header, b'{"a":1}', now=1_700_000_000 + 301)  # replayed too late
    assert not verify_signature("whsec_test", "garbage", b'{"a":1}')


def _documented_verify():
    """The receiver's check as docs/webhooks.md prints it, run as a receiver would copy it."""
    docs = (Path(__file__).resolve().parents[4] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(import hashlib.*?def verify\(.*?)```", docs, re.DOTALL).group(1)
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


@pytest.mark.parametrize("forged", ["é", "\ud800", "ａｂ"])
def test_a_signature_header_that_is_not_ascii_is_refused_not_raised(forged):
    # hmac.compare_digest raises TypeError on a str holding anything but ASCII.
    header = f"t={int(time.time())},v1={forged}"

    assert verify_signature("whsec_test", header, b"{}") is False
    assert _documented_verify()("whsec_test", header, b"{}") is False


def test_the_documented_receiver_check_accepts_what_we_sign():
    header = signature_header("whsec_test", b'{"a":1}')

    assert _documented_verify()("whsec_test", header, b'{"a":1}') is True
    assert _documented_verify()("whsec_other", header, b'{"a":1}') is False


def test_nothing_is_sent_for_a_rolled_back_write(receiver, endpoint, committed):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        emit()
        raise RuntimeError("the caller's transaction fails")

    assert receiver.calls == []
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_gets_only_the_events_it_subscribed_to(receiver, committed):
    WebhookEndpoint.objects.create(name="Resolutions", url=receiver.url, events=["case.resolved"])
    with committed():
        emit("case.created")
        emit("case.resolved")

    assert receiver.events() == ["case.resolved"]


def test_without_any_endpoint_nothing_is_stored(django_assert_num_queries):
    services.forget_endpoints()
    emit()  # reads the endpoints once: there are none
    with django_assert_num_queries(0):
        assert services.emit_event("case.created", CASE) == []


def test_an_inactive_endpoint_gets_nothing(receiver, endpoint, committed):
    endpoint.active = False
    endpoint.save()

    with committed():
        emit()

    assert receiver.calls == []


def test_a_failure_is_retried_with_backoff_then_delivered(receiver, endpoint, committed):
    receiver.statuses = [500, 503]
    with committed():
        emit()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (WebhookDeliveryStatus.PENDING, 1, 500)
    assert "HTTP 500" in delivery.error
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_wait == services.RETRY_DELAYS[0]

    assert services.retry_due_deliveries() == 0  # not due yet: nothing sent
    assert len(receiver.calls) == 1

    # The sweep finds it once due; its task attempts at the real time, so make it due now.
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    with committed():
        assert services.retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (WebhookDeliveryStatus.PENDING, 2, 503)
    assert delivery.next_attempt_at - delivery.last_attempt_at == services.RETRY_DELAYS[1]

    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    with committed():
        services.retry_due_deliveries()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert delivery.response_code == 200
    assert delivery.error == ""
    assert [json.loads(call["body"])["id"] for call in receiver.calls] == [delivery.event_id] * len(receiver.calls)
    assert len(receiver.calls) == 3


def test_each_failed_attempt_waits_longer_then_it_is_given_up(receiver, endpoint, committed):
    receiver.statuses = [500] * 10
    with committed():
        emit()
    delivery = WebhookDelivery.objects.get()
    waits = [delivery.next_attempt_at - delivery.last_attempt_at]
    for _attempt in services.RETRY_DELAYS:
        assert services.attempt_delivery(delivery_id=delivery.pk, now=delivery.next_attempt_at) is False
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append(delivery.next_attempt_at - delivery.last_attempt_at)

    assert waits == list(services.RETRY_DELAYS)
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.attempts == len(services.RETRY_DELAYS) + 1
    assert delivery.next_attempt_at is None
    assert services.attempt_delivery(delivery_id=delivery.pk) is None  # given up: nothing more is sent
    assert len(receiver.calls) == len(services.RETRY_DELAYS) + 1


def test_an_unreachable_endpoint_is_a_failed_attempt_with_the_reason(endpoint, receiver, committed):
    receiver.close()  # nobody listens any more
    with committed():
        emit()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.response_code is None
    assert delivery.error


def test_a_redirect_is_not_followed(receiver, endpoint, committed):
    receiver.statuses = [302]
    with committed():
        emit()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code, len(receiver.calls)) == (WebhookDeliveryStatus.PENDING, 302, 1)


def test_a_delivery_to_an_endpoint_deactivated_meanwhile_is_given_up_with_a_translated_reason(receiver, endpoint, monkeypatch):
    # No catalogue line exists yet for a new msgid: a stand-in gettext shows the words go through it.
    monkeypatch.setattr(services, "_", lambda message: f"«{message}»")
    [delivery_id] = emit()  # still inside the test's transaction: queued, not sent
    endpoint.active = False
    endpoint.save()

    assert services.attempt_delivery(delivery_id=delivery_id) is False

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error) == (WebhookDeliveryStatus.FAILED, "«The endpoint was deactivated.»")
    assert receiver.calls == []


def test_an_attempt_is_made_once_even_if_the_task_runs_twice(receiver, endpoint, committed):
    receiver.statuses = [500]
    with committed():
        emit()
    delivery = WebhookDelivery.objects.get()

    assert services.attempt_delivery(delivery_id=delivery.pk) is None  # not due: the retry waits its turn
    assert len(receiver.calls) == 1


def test_the_sweep_does_not_queue_again_a_delivery_whose_task_waits(receiver, endpoint, broker, committed):
    with committed():
        [delivery_id] = emit()
    assert broker == [delivery_id]
    sent_at = timezone.now()

    for minute in range(1, int(services.QUEUE_LEASE / timedelta(minutes=1))):  # beat, every minute
        with committed():
            assert services.retry_due_deliveries(now=sent_at + timedelta(minutes=minute)) == 0
    assert broker == [delivery_id]  # one message however long the backlog lasts
    assert receiver.calls == []

    # Its message was lost (a broker restart): once the lease has run out, the sweep sends it
    # again, once.
    with committed():
        assert services.retry_due_deliveries(now=sent_at + services.QUEUE_LEASE) == 1
        assert services.retry_due_deliveries(now=sent_at + services.QUEUE_LEASE + timedelta(minutes=1)) == 0
    assert broker == [delivery_id, delivery_id]


def test_a_queued_task_delivers_and_another_message_for_it_sends_nothing(receiver, endpoint, broker, committed):
    with committed():
        [delivery_id] = emit()
        services.retry_due_deliveries(now=timezone.now() + services.QUEUE_LEASE)  # the backlog outlasted the lease
    assert broker == [delivery_id, delivery_id]

    assert [tasks.deliver_webhook(message) for message in broker] == [True, None]
    assert receiver.events() == ["case.created"]
    assert WebhookDelivery.objects.get().status == WebhookDeliveryStatus.SUCCEEDED
    with committed():
        assert services.retry_due_deliveries(now=timezone.now() + 2 * services.QUEUE_LEASE) == 0


def test_a_retry_is_queued_when_its_backoff_ends_not_before(receiver, endpoint, broker, committed):
    receiver.statuses = [500]
    with committed():
        [delivery_id] = emit()
    assert tasks.deliver_webhook(delivery_id) is False
    due = WebhookDelivery.objects.get().next_attempt_at

    # A second message for it (sent before the attempt) does not make the retry early.
    assert tasks.deliver_webhook(delivery_id) is None
    assert len(receiver.calls) == 1
    with committed():
        assert services.retry_due_deliveries(now=due - timedelta(seconds=1)) == 0
        # Due after RETRY_DELAYS[0], though the first message was sent less than QUEUE_LEASE ago.
        assert services.retry_due_deliveries(now=due) == 1
    assert broker == [delivery_id, delivery_id]

    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # its worker attempts at the real time
    assert tasks.deliver_webhook(delivery_id) is True
    assert len(receiver.calls) == 2


def test_a_worker_taking_a_delivery_during_its_attempt_sends_nothing(receiver, endpoint, broker, committed, monkeypatch):
    with committed():
        [delivery_id] = emit()
        services.retry_due_deliveries(now=timezone.now() + services.QUEUE_LEASE)  # a second message for it
    post, meanwhile = services._post, []

    def post_while_another_worker_and_the_sweep_run(delivery):
        meanwhile.append(tasks.deliver_webhook(delivery.pk))
        meanwhile.append(services.retry_due_deliveries())  # within ATTEMPT_LEASE
        return post(delivery)

    monkeypatch.setattr(services, "_post", post_while_another_worker_and_the_sweep_run)
    assert tasks.deliver_webhook(delivery_id) is True

    assert meanwhile == [None, 0]
    assert len(receiver.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_on_one_delivery_make_one_attempt(receiver, endpoint, broker):
    [delivery_id] = emit()  # committed for real: each thread has its own connection
    services.retry_due_deliveries(now=timezone.now() + services.QUEUE_LEASE)
    assert broker == [delivery_id, delivery_id]

    results, errors = run_concurrently(*(lambda: tasks.deliver_webhook(delivery_id) for _ in broker))

    assert errors == []
    assert sorted(results, key=str) == [None, True]
    assert len(receiver.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_queue_each_delivery_once(receiver, endpoint, broker):
    delivery_ids = [emit()[0] for _ in range(5)]
    broker.clear()  # their messages were lost
    later = timezone.now() + services.QUEUE_LEASE

    results, errors = run_concurrently(*(lambda: services.retry_due_deliveries(now=later) for _ in range(2)))

    assert errors == []
    assert sum(results) == len(delivery_ids)
    assert sorted(broker) == sorted(delivery_ids)


def test_retry_now_queues_the_delivery_once(receiver, endpoint, broker, committed):
    with committed():
        [delivery_id] = emit()
    WebhookDelivery.objects.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None, queued_until=None)
    broker.clear()

    with committed():
        services.retry_now(delivery=WebhookDelivery.objects.get())
        assert services.retry_due_deliveries() == 0
    assert broker == [delivery_id]
    assert tasks.deliver_webhook(delivery_id) is True


def staff_client(role: str) -> Client:
    user = get_user_model().objects.create_user(f"staff-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_the_test_event_reaches_an_endpoint_and_is_logged(receiver, endpoint, committed):
    client = staff_client("admin")

    with committed():
        response = client.post(
            "/admin/core/webhookendpoint/", {"action": "send_test_event", "_selected_action": [endpoint.pk]}, follow=True
        )

    assert response.status_code == 200
    assert receiver.events() == ["webhook.test"]
    assert WebhookDelivery.objects.get().status == WebhookDeliveryStatus.SUCCEEDED
    log = client.get(f"/admin/core/webhookdelivery/?endpoint__id__exact={endpoint.pk}")
    assert log.status_code == 200
    assert b"webhook.test" in log.content


def test_the_delivery_log_is_for_administrators_only():
    client = staff_client("supervisor")

    assert client.get("/admin/core/webhookdelivery/").status_code == 403
    assert client.get("/admin/core/webhookendpoint/").status_code == 403
    assert site.is_registered(WebhookEndpoint)


def test_retry_now_leaves_a_running_attempt_to_its_worker(receiver, endpoint, broker, committed):
    with committed():
        [delivery_id] = emit()
    broker.clear()
    # A worker has taken the delivery and is posting it (its attempt has started)
    started = timezone.now()
    assert services._claim(delivery_id, started) is not None
    # "Retry now" changes nothing and queues nothing: a second POST would go beside the first
    with committed():
        assert services.retry_now(delivery=WebhookDelivery.objects.get()) is False
    assert broker == []
    assert services.attempt_delivery(delivery_id=delivery_id) is None  # still the first worker's
    # Once the attempt's lease has passed (its worker died), it may be retried
    WebhookDelivery.objects.update(attempt_started_at=started - services.ATTEMPT_LEASE - timedelta(seconds=1))
    with committed():
        assert services.retry_now(delivery=WebhookDelivery.objects.get()) is True
    assert broker == [delivery_id]



def test_a_worker_that_outlived_its_lease_does_not_overwrite_the_newer_attempt(receiver, endpoint, broker, committed):
    with committed():
        [delivery_id] = emit()
    hung = timezone.now() - services.ATTEMPT_LEASE - timedelta(minutes=1)
    WebhookDelivery.objects.update(next_attempt_at=hung)
    assert services._claim(delivery_id, hung) is not None  # a worker that then hung for too long
    assert services.attempt_delivery(delivery_id=delivery_id) is True  # another one took it over and delivered
    # The hung worker comes back with its failure: it is not written over the delivery
    assert services._record_attempt(delivery_id, started=hung, fields={
        "status": WebhookDeliveryStatus.FAILED, "attempts": 1, "error": "timed out", "attempt_started_at": None,
    }) is False
    delivered = WebhookDelivery.objects.get()
    assert (delivered.status, delivered.attempts, delivered.error) == (WebhookDeliveryStatus.SUCCEEDED, 1, "")


def test_the_admin_refuses_a_signing_secret_anyone_could_guess(dns):
    dns.answer("crm.example.com", ["93.184.215.14"])
    client = staff_client("admin")
    form = {"name": "CRM", "url": "https://crm.example.com/hooks", "active": "on"}

    short = client.post("/admin/core/webhookendpoint/add/", {**form, "secret": "abc"})
    kept = client.post("/admin/core/webhookendpoint/add/", {**form, "secret": "  a" * 12})

    assert short.status_code == 200 and "At least 24 characters" in short.content.decode()
    assert not WebhookEndpoint.objects.filter(secret="abc").exists()
    assert kept.status_code == 302 and WebhookEndpoint.objects.get().secret == ("  a" * 12).strip()
