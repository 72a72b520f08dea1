"""Every write about webhooks: emit an event, attempt a delivery, retry what is due, test an endpoint.

The path of an event: a service calls `emit_event` inside its transaction, which stores one
`WebhookDelivery` per subscribed endpoint (the rows first) and sends the delivery task once
the transaction commits. The task makes one signed attempt; a failed attempt is retried
after RETRY_DELAYS by the periodic sweep, then given up. See docs/webhooks.md.

Two leases, two columns. `queued_until`: a task for the delivery was sent to the queue at
most QUEUE_LEASE ago, so the sweep does not send another while it waits behind a backlog.
`next_attempt_at`: when the next attempt may start, the backoff of a retry or, while a worker
makes an attempt, ATTEMPT_LEASE ahead, so no second worker starts one meanwhile.
"""

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core import tasks as core_tasks
from prevenance.core.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from prevenance.core.queue import enqueue_on_commit, lease_due_rows
from prevenance.core.sql import db_datetime
from prevenance.core.webhooks.destinations import RefusedDestination, open_checked
from prevenance.core.webhooks.events import TEST_EVENT
from prevenance.core.webhooks.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

# After the n-th failed attempt the next one comes RETRY_DELAYS[n-1] later; after the last
# delay's attempt fails too, the delivery is given up (6 attempts over about 14 h 36 min).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
TIMEOUT_SECONDS = 10
# A claimed attempt pushes next_attempt_at this far ahead, so the sweep leaves it to the
# worker making it; longer than TIMEOUT_SECONDS. A worker that dies leaves it due again after.
ATTEMPT_LEASE = timedelta(minutes=2)
# A task sent to the queue keeps the sweep from sending the delivery again this long: the
# queue grows by one message per lease, not per sweep, during a backlog; a message lost with
# the broker is sent again by the first sweep after it.
QUEUE_LEASE = timedelta(minutes=5)
SWEEP_BATCH = 500
MAX_ERROR = 1000
USER_AGENT = "Prevenance-Webhooks/1"


def _json_safe(data: Any) -> Any:
    # Stored as sent: datetimes, decimals and UUIDs become the strings the receiver reads.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _envelope(event: str, data: dict, now: datetime) -> dict:
    event_id = "evt_" + uuid.uuid4().hex
    return {"id": event_id, "type": event, "created_at": now.isoformat(), "data": _json_safe(data)}


# The active endpoints, read at most every ENDPOINTS_TTL seconds per process: emit_event runs
# on every case write, and endpoints change a few times a year. A change made in this process
# (admin, tests) clears it at once; other processes see it within ENDPOINTS_TTL. A delivery
# to an endpoint deactivated meanwhile is not sent (attempt_delivery checks it).
ENDPOINTS_TTL = 5.0
_endpoints: tuple[float, list[WebhookEndpoint]] = (0.0, [])


@receiver([post_save, post_delete], sender=WebhookEndpoint, dispatch_uid="webhook-endpoints-cache")
def forget_endpoints(**kwargs) -> None:
    global _endpoints  # noqa: PLW0603 - the per-process cache above
    _endpoints = (0.0, [])


def _active_endpoints() -> list[WebhookEndpoint]:
    global _endpoints  # noqa: PLW0603
    read_at, endpoints = _endpoints
    if time.monotonic() - read_at > ENDPOINTS_TTL:
        endpoints = list(WebhookEndpoint.objects.filter(active=True).only("id", "events"))
        _endpoints = (time.monotonic(), endpoints)
    return endpoints


def _subscribed(event: str) -> list[WebhookEndpoint]:
    return [endpoint for endpoint in _active_endpoints() if endpoint.wants(event)]


def _store(endpoint_ids: list[int], envelope: dict, now: datetime) -> list[int]:
    """One delivery per endpoint that still exists and is active (the list may be a few seconds
    old), in one INSERT ... SELECT; their ids, each sent to the delivery task after commit
    (so each is stored leased to the queue)."""
    table, endpoints = WebhookDelivery._meta.db_table, WebhookEndpoint._meta.db_table
    payload = WebhookDelivery._meta.get_field("payload").get_db_prep_save(envelope, connection)
    when, queued_until = (db_datetime(value) for value in (now, now + QUEUE_LEASE))
    marks = ", ".join(["%s"] * len(endpoint_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 - table names from the models, values bound
            "(endpoint_id, event, event_id, payload, status, attempts, next_attempt_at, queued_until, error, created_at) "
            f"SELECT id, %s, %s, %s, %s, 0, %s, %s, '', %s FROM {endpoints} WHERE active AND id IN ({marks}) RETURNING id",
            [envelope["type"], envelope["id"], payload, WebhookDeliveryStatus.PENDING, when, queued_until, when, *endpoint_ids],
        )
        delivery_ids = [row[0] for row in cursor.fetchall()]
    for delivery_id in delivery_ids:
        enqueue_on_commit(core_tasks.deliver_webhook, delivery_id)
    return delivery_ids


def emit_event(event: str, data: dict) -> list[int]:
    """Queue `event` with `data` for every active endpoint that wants it; call it inside the
    service's transaction, so nothing is sent for a write that is rolled back. Returns the
    ids of the deliveries (none, and no query, when no endpoint wants it)."""
    endpoint_ids = [endpoint.pk for endpoint in _subscribed(event)]
    if not endpoint_ids:
        return []
    now = timezone.now()
    return _store(endpoint_ids, _envelope(event, data, now), now)


# The words an event's object may carry about a person (case subject, copied addresses,
# gesture reasons): what an erasure blanks in the delivery log.
PERSONAL_KEYS = ("subject", "cc_addresses", "reason", "decision_reason", "body", "comment", "sender_address", "sender_name")


def erase_from_delivery_log(*, customer_ids: list[int]) -> int:
    """Right to erasure in the delivery log: the events about these customers keep their ids,
    dates and statuses (what debugging a receiver needs) and lose their words and the link to
    the customer. A delivery not sent yet goes out erased. Returns the deliveries changed."""
    changed = 0
    rows = WebhookDelivery.objects.filter(payload__data__object__customer_id__in=customer_ids).only("pk", "payload")
    for delivery in rows.iterator(chunk_size=500):
        payload = delivery.payload
        item = payload["data"]["object"]
        for key in PERSONAL_KEYS:
            if key in item:
                item[key] = [] if isinstance(item[key], list) else ""
        item["customer_id"] = None
        # A change of a personal field keeps that it changed, not from what to what.
        for key, change in (payload["data"].get("changes") or {}).items():
            if key in PERSONAL_KEYS and isinstance(change, dict):
                payload["data"]["changes"][key] = {"from": "", "to": ""}
        changed += WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=payload)
    return changed


def send_test_event(*, endpoint: WebhookEndpoint, actor=None) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint alone (active or not), to check the receiver."""
    now = timezone.now()
    data = {"message": "This is a test event from Prévenance.", "endpoint": endpoint.pk, "sent_by": getattr(actor, "username", None)}
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event=TEST_EVENT, payload=(envelope := _envelope(TEST_EVENT, data, now)), event_id=envelope["id"],
            next_attempt_at=now, queued_until=now + QUEUE_LEASE,
        )
        enqueue_on_commit(core_tasks.deliver_webhook, delivery.pk)
    return delivery


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery for one attempt if it is pending and due; None if not (given up,
    delivered, its retry not due yet, or taken by another worker, whose ATTEMPT_LEASE is in
    next_attempt_at). Being leased to the queue (queued_until) does not stop it: that is this
    task's own message, or another one for the same attempt; the lease ends here, so the
    sweep sends the retry of a failed attempt as soon as it is due."""
    due = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
    if not due.update(next_attempt_at=now + ATTEMPT_LEASE, queued_until=None, attempt_started_at=now):
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """(status code, error text); a status of 2xx with an empty error is a success. Raises
    RefusedDestination, before anything is sent, for a URL that may not be called: not
    http(s), or a host that resolves to an internal address now (destinations.py)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        request = _request(delivery, body)
    except ValueError as exc:  # a URL written into the table by hand: the admin refuses it
        raise RefusedDestination(_("The endpoint's URL cannot be read: %(error)s") % {"error": exc}) from exc
    try:
        with open_checked(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        text = exc.read(MAX_ERROR).decode("utf-8", "replace")
        return exc.code, f"HTTP {exc.code}: {text}".strip()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def _request(delivery: WebhookDelivery, body: bytes) -> urllib.request.Request:
    return urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(delivery.endpoint.secret, body),
            "Prevenance-Event": delivery.event,
            "Prevenance-Event-Id": delivery.event_id,
            "Prevenance-Delivery": str(delivery.pk),
        },
    )


def attempt_delivery(*, delivery_id: int, now: datetime | None = None) -> bool | None:
    """One signed POST of a due delivery. True delivered, False failed (retried later or given
    up), None when there was nothing to do (already delivered, given up, not due, or taken)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    if not delivery.endpoint.active and delivery.event != TEST_EVENT:
        code, error = None, _("The endpoint was deactivated.")
        give_up = True
    else:
        try:
            code, error = _post(delivery)
            give_up = False
        except RefusedDestination as exc:
            # Retrying would not change the answer (an address let through on purpose needs
            # the setting, then "retry now"); the reason stays in the log.
            code, error = None, str(exc)
            give_up = True
    finished = timezone.now()
    fields = {"attempts": delivery.attempts + 1, "last_attempt_at": finished, "response_code": code, "error": error[:MAX_ERROR],
              "attempt_started_at": None}
    succeeded = code is not None and 200 <= code < 300
    if succeeded:
        fields.update(status=WebhookDeliveryStatus.SUCCEEDED, delivered_at=finished, next_attempt_at=None, error="")
    elif give_up or fields["attempts"] > len(RETRY_DELAYS):
        fields.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=finished + RETRY_DELAYS[fields["attempts"] - 1])
    _record_attempt(delivery.pk, started=now, fields=fields)
    if not succeeded:
        logger.warning("Webhook delivery %s to %s failed (attempt %s): %s", delivery.pk, delivery.endpoint.url, fields["attempts"], error)
    return succeeded


def _record_attempt(delivery_id: int, *, started: datetime, fields: dict) -> bool:
    """Write an attempt's outcome, unless the attempt outlived its lease and another worker
    took the delivery over meanwhile: the newer attempt's outcome stays. True when written."""
    if WebhookDelivery.objects.filter(pk=delivery_id, attempt_started_at=started).update(**fields):
        return True
    logger.warning("Webhook delivery %s: the attempt started at %s outlived its lease; its outcome is dropped", delivery_id, started)
    return False


def retry_due_deliveries(*, now: datetime | None = None) -> int:
    """Send the task for every pending delivery whose next attempt is due and whose task is not
    already waiting in the queue (the periodic sweep). A task sent more than QUEUE_LEASE ago
    counts as lost and is sent again. Returns how many were sent (core.queue.lease_due_rows:
    two sweeps at once send each delivery once)."""
    now = now or timezone.now()
    at, queued_until = db_datetime(now), db_datetime(now + QUEUE_LEASE)
    return lease_due_rows(
        core_tasks.deliver_webhook, table=WebhookDelivery._meta.db_table,
        due="status = %s AND next_attempt_at <= %s AND (queued_until IS NULL OR queued_until <= %s)",
        due_params=[WebhookDeliveryStatus.PENDING, at, at],
        lease="queued_until = %s", lease_params=[queued_until], order_by="next_attempt_at, id", batch=SWEEP_BATCH,
    )


def retry_now(*, delivery: WebhookDelivery) -> bool:
    """An administrator's "retry now": a failed or waiting delivery gets one more attempt at once.
    False, and nothing changes, for a delivered one or one whose attempt is running now (its
    worker holds it for ATTEMPT_LEASE; retrying beside it would POST twice)."""
    now = timezone.now()
    with transaction.atomic():
        retried = (
            WebhookDelivery.objects.filter(pk=delivery.pk).exclude(status=WebhookDeliveryStatus.SUCCEEDED)
            .exclude(attempt_started_at__gt=now - ATTEMPT_LEASE)
            .update(status=WebhookDeliveryStatus.PENDING, next_attempt_at=now, queued_until=now + QUEUE_LEASE)
        )
        if retried:
            enqueue_on_commit(core_tasks.deliver_webhook, delivery.pk)
    return bool(retried)
