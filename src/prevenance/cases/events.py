"""The webhook events about cases and gestures, and what their payload says (docs/webhooks.md).

The case services call these inside their transaction; core.webhooks stores one delivery
per subscribed endpoint and sends it after commit (nothing is sent for a rolled-back write).
"""

from typing import Any

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, Gesture, Message
from prevenance.core.currencies import in_minor_units
from prevenance.core.webhooks.events import WebhookEvent
from prevenance.core.webhooks.services import emit_event


def case_data(case: Case) -> dict[str, Any]:
    """The case as the API's CaseOut shows it, without the fields that need another query."""
    return {
        "id": case.pk,
        "reference": case.reference,
        "customer_id": case.customer_id,
        "type": case.type,
        "channel": case.channel,
        "subject": case.subject,
        "status": case.status,
        "spam": case.spam,
        "priority": case.priority,
        "assignee_id": case.assignee_id,
        "team_id": case.team_id,
        "language": case.language,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "first_response_at": case.first_response_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "first_response_due_at": case.first_response_due_at,
        "next_reply_due_at": case.next_reply_due_at,
        "resolution_due_at": case.resolution_due_at,
        "merged_into_id": case.merged_into_id,
        "reopened_from_id": case.reopened_from_id,
    }


def change(before, after) -> dict[str, Any]:
    return {"from": before, "to": after}


def case_created(case: Case) -> None:
    emit_event(WebhookEvent.CASE_CREATED, {"object": case_data(case)})


def case_updated(case: Case, changes: dict[str, Any]) -> None:
    """`changes`: {field: {"from": ..., "to": ...}} (or {"message": {...}} for a new message).
    A move to resolved is also sent as case.resolved, for receivers that only want that."""
    if not changes:
        return
    data = {"object": case_data(case), "changes": changes}
    emit_event(WebhookEvent.CASE_UPDATED, data)
    status = changes.get("status")
    if status and status.get("to") == CaseStatus.RESOLVED:
        emit_event(WebhookEvent.CASE_RESOLVED, data)


def message_added(case: Case, message: Message, *, status: dict[str, Any] | None = None) -> None:
    """A reply or a customer message on an existing case (internal notes are not sent out),
    with the status change it made, if any (a reply reopening a resolved case)."""
    changes = {"message": {"id": message.pk, "kind": message.kind, "channel": message.channel}}
    if status is not None:
        changes["status"] = status
    case_updated(case, changes)


def gesture_requested(gesture: Gesture) -> None:
    emit_event(
        WebhookEvent.GESTURE_REQUESTED,
        {
            "object": {
                "id": gesture.pk,
                "case_id": gesture.case_id,
                "customer_id": gesture.customer_id,
                "type": gesture.type,
                "amount": str(in_minor_units(gesture.amount, gesture.currency)),  # "1500" JPY, "12.345" TND
                "currency": gesture.currency,
                "status": gesture.status,
                # A voucher granted at once: the shop creates it from this code.
                "voucher_code": gesture.voucher_code or None,
                "reason": gesture.reason,
                "without_proof": gesture.without_proof,
                "requested_by_id": gesture.requested_by_id,
                "decided_by_id": gesture.decided_by_id,
                "decided_at": gesture.decided_at,
                "created_at": gesture.created_at,
            }
        },
    )


def inbound_message(case: Case, message: Message, *, opened: bool, status: dict[str, Any] | None = None) -> None:
    """A customer's message: case.created when it opened a follow-up case, else case.updated
    (with `status` when it moved the case: reopened, or no longer waiting for the customer)."""
    if opened:
        case_created(case)
    else:
        message_added(case, message, status=status)
