"""Every write about cases, one transaction each (see ARCHITECTURE.md and docs/cases.md).

Sub-modules by sub-domain; import the services from here.
"""

from prevenance.cases.services.acknowledgements import acknowledge_case
from prevenance.cases.services.agent_entry import record_agent_contact
from prevenance.cases.services.common import Intake, lock_case
from prevenance.cases.services.copies import change_case_copies
from prevenance.cases.services.costs import ensure_default_channel_costs
from prevenance.cases.services.default_templates import ensure_default_templates
from prevenance.cases.services.email_intake import ingest_email
from prevenance.cases.services.gestures import (
    approve_gesture,
    cancel_gesture,
    ensure_default_limits,
    new_voucher_code,
    refuse_gesture,
    request_gesture,
)
from prevenance.cases.services.handling import (
    add_note,
    add_reply,
    assign_case,
    change_status,
    reply_and_set_status,
    take_case,
)
from prevenance.cases.services.intake import add_inbound_message, open_case
from prevenance.cases.services.labels import set_case_labels
from prevenance.cases.services.outbound import queue_delivery
from prevenance.cases.services.priority import refresh_priority_scores
from prevenance.cases.services.routing import (
    route_again,
    set_agent_settings,
    set_availability,
    set_capacity,
)
from prevenance.cases.services.saved_views import delete_view, save_view, update_view
from prevenance.cases.services.sla import recalculate_due_times
from prevenance.cases.services.spam import block_sender, mark_as_spam, mark_not_spam, unblock_sender
from prevenance.cases.services.surveys import answer_survey, send_survey
from prevenance.cases.services.templates import (
    apply_signature,
    create_reply_template,
    create_signature,
    delete_reply_template,
    delete_signature,
    render_template,
    select_template,
    signature_for,
    update_reply_template,
    update_signature,
)
from prevenance.cases.services.threads import merge_cases, split_message
from prevenance.cases.services.updates import (
    change_case_channel,
    change_case_language,
    change_case_type,
    classify_case,
    update_case,
)
from prevenance.cases.services.web_form import submit_contact_form

__all__ = [
    "acknowledge_case",
    "answer_survey",
    "apply_signature",
    "create_reply_template",
    "create_signature",
    "delete_reply_template",
    "delete_signature",
    "ensure_default_templates",
    "render_template",
    "select_template",
    "send_survey",
    "update_case",
    "signature_for",
    "update_reply_template",
    "update_signature",
    "Intake",
    "add_inbound_message",
    "add_note",
    "change_case_copies",
    "add_reply",
    "approve_gesture",
    "cancel_gesture",
    "ensure_default_channel_costs",
    "ensure_default_limits",
    "ingest_email",
    "new_voucher_code",
    "refuse_gesture",
    "reply_and_set_status",
    "request_gesture",
    "assign_case",
    "change_case_channel",
    "change_case_language",
    "change_case_type",
    "change_status",
    "classify_case",
    "lock_case",
    "merge_cases",
    "open_case",
    "queue_delivery",
    "split_message",
    "take_case",
    "delete_view",
    "save_view",
    "update_view",
    "set_case_labels",
    "record_agent_contact",
    "submit_contact_form",
    "recalculate_due_times",
    "block_sender",
    "mark_as_spam",
    "mark_not_spam",
    "unblock_sender",
    "refresh_priority_scores",
    "route_again",
    "set_availability",
    "set_agent_settings",
    "set_capacity",
]
