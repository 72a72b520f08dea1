"""Reads about cases, one module per sub-domain; import them from here.

Every list and every fetch of cases starts from `visible_cases` (visibility.py).
"""

from prevenance.cases.selectors.agents import AgentSettings, agent_settings
from prevenance.cases.selectors.case_settings import case_settings, reopen_window, trust_threshold
from prevenance.cases.selectors.dashboard import Dashboard, Period, case_dashboard
from prevenance.cases.selectors.gestures import (
    ADD_GESTURE,
    APPROVE_GESTURE,
    DEFAULT_CURRENCY,
    VIEW_GESTURE_REPORT,
    AgentGestures,
    GestureReport,
    approval_queue_count,
    delegation_limit,
    delegation_limits,
    gesture_approval_queue,
    gesture_control_report,
    gesture_currencies,
    gesture_report_csv,
    gestures_beyond_my_limit,
    granted_on_case,
    preselected_gesture_currency,
    refusable_gestures,
    remaining_delegation,
)
from prevenance.cases.selectors.inbox import (
    InboxPage,
    InboxView,
    inbox,
    inbox_counts,
    inbox_views,
    saved_views,
    sla_times,
)
from prevenance.cases.selectors.satisfaction import (
    SatisfactionLine,
    SatisfactionSummary,
    satisfaction_summary,
    survey_by_token,
)
from prevenance.cases.selectors.visibility import (
    VIEW_ALL_CASES,
    VIEW_CASE,
    access_case,
    case_by_reference,
    case_thread,
    visible_cases,
)

__all__ = [
    "case_settings",
    "reopen_window",
    "trust_threshold",
    "granted_on_case",
    "remaining_delegation",
    "gesture_currencies",
    "preselected_gesture_currency",
    "DEFAULT_CURRENCY",
    "gestures_beyond_my_limit",
    "refusable_gestures",
    "AgentSettings",
    "agent_settings",
    "SatisfactionLine",
    "SatisfactionSummary",
    "satisfaction_summary",
    "survey_by_token",
    "ADD_GESTURE",
    "APPROVE_GESTURE",
    "VIEW_ALL_CASES",
    "VIEW_CASE",
    "VIEW_GESTURE_REPORT",
    "AgentGestures",
    "Dashboard",
    "GestureReport",
    "InboxPage",
    "InboxView",
    "Period",
    "access_case",
    "case_by_reference",
    "case_dashboard",
    "case_thread",
    "delegation_limit",
    "delegation_limits",
    "approval_queue_count",
    "gesture_approval_queue",
    "gesture_control_report",
    "gesture_report_csv",
    "inbox",
    "inbox_counts",
    "inbox_views",
    "saved_views",
    "sla_times",
    "visible_cases",
]
