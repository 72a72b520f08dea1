"""Reads about cases, one module per sub-domain; import them from here.

Every list and every fetch of cases starts from `visible_cases` (visibility.py).
"""

from prevenance.cases.selectors.gestures import (
    ADD_GESTURE,
    APPROVE_GESTURE,
    VIEW_GESTURE_REPORT,
    AgentGestures,
    GestureReport,
    delegation_limit,
    delegation_limits,
    gesture_approval_queue,
    gesture_control_report,
    gesture_report_csv,
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
    "ADD_GESTURE",
    "APPROVE_GESTURE",
    "VIEW_ALL_CASES",
    "VIEW_CASE",
    "VIEW_GESTURE_REPORT",
    "AgentGestures",
    "GestureReport",
    "access_case",
    "case_by_reference",
    "case_thread",
    "delegation_limit",
    "delegation_limits",
    "gesture_approval_queue",
    "gesture_control_report",
    "gesture_report_csv",
    "visible_cases",
]
