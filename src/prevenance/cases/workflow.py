"""The case status workflow: every allowed move, in one table (docs/cases.md shows it)."""

from django.utils.translation import gettext as _

from prevenance.cases.choices import CaseStatus
from prevenance.core.validation import invalid

S = CaseStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING_CUSTOMER, S.PENDING_INTERNAL, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING_CUSTOMER, S.PENDING_INTERNAL, S.RESOLVED, S.CLOSED}),
    S.PENDING_CUSTOMER: frozenset({S.OPEN, S.PENDING_INTERNAL, S.RESOLVED, S.CLOSED}),
    S.PENDING_INTERNAL: frozenset({S.OPEN, S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    # Reopening a resolved case is a move back to open; nothing leaves closed (a late reply
    # opens a new case linked to the closed one instead).
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Every status some case may be moved to: what a list of many cases offers (the inbox's bulk
# bar), where each case is then checked on its own (check_transition).
TARGETS = frozenset().union(*TRANSITIONS.values())

# Statuses in which the case still waits for someone in the company to act.
ACTIVE = frozenset({S.NEW, S.OPEN, S.PENDING_CUSTOMER, S.PENDING_INTERNAL})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    """Raise a ValidationError on `status` with the reason, unless current → target is allowed."""
    if target not in S.values:
        raise invalid(
            "status", _("“%(value)s” is not one of: %(choices)s.") % {"value": str(target)[:40], "choices": ", ".join(S.values)},
            "invalid_status",
        )
    if current == target:
        raise invalid("status", _("The case is already “%(status)s”.") % {"status": S(target).label}, "same_status")
    if current == S.CLOSED:
        raise invalid("status", _("A closed case cannot change status; a new message opens a new case instead."), "case_closed")
    if not can_transition(current, target):
        raise invalid(
            "status", _("A case cannot go from “%(current)s” to “%(target)s”.") % {"current": S(current).label, "target": S(target).label},
            "transition_refused",
        )
