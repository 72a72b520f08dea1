"""Every write about cases, one transaction each (see ARCHITECTURE.md and docs/cases.md).

Sub-modules by sub-domain; import the services from here.
"""

from prevenance.cases.services.common import Intake, lock_case
from prevenance.cases.services.email_intake import ingest_email
from prevenance.cases.services.gestures import (
    approve_gesture,
    cancel_gesture,
    ensure_default_limits,
    new_voucher_code,
    refuse_gesture,
    request_gesture,
)
from prevenance.cases.services.handling import add_note, add_reply, assign_case, change_status
from prevenance.cases.services.intake import add_inbound_message, open_case, reopen_window
from prevenance.cases.services.threads import merge_cases, split_message

__all__ = [
    "Intake",
    "add_inbound_message",
    "add_note",
    "add_reply",
    "approve_gesture",
    "cancel_gesture",
    "ensure_default_limits",
    "ingest_email",
    "new_voucher_code",
    "refuse_gesture",
    "request_gesture",
    "assign_case",
    "change_status",
    "lock_case",
    "merge_cases",
    "open_case",
    "reopen_window",
    "split_message",
]
