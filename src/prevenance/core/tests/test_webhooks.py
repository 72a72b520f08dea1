"""Webhooks against a real HTTP server started here: signed, sent after commit, retried with backoff."""

import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import Client
from django.utils import timezone

from prevenance.core.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from prevenance.core.tests.receiver import Receiver
from prevenance.core.webhooks import services
from prevenance.core.webhooks.signing import SIGNATURE_HEADER, signature_header, verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what was scheduled on commit, as a real commit would (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


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
    assert services.retry_due_deliveries(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
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


def test_an_attempt_is_made_once_even_if_the_task_runs_twice(receiver, endpoint, committed):
    receiver.statuses = [500]
    with committed():
        emit()
    delivery = WebhookDelivery.objects.get()

    assert services.attempt_delivery(delivery_id=delivery.pk) is None  # not due: the retry waits its turn
    assert len(receiver.calls) == 1


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
