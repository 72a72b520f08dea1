"""Several changes to a case at once (the API's PATCH), all or nothing; and the priority by hand."""

from typing import Any

from django.db import transaction

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, Priority
from prevenance.cases.models import Case, Tag
from prevenance.cases.services.common import clean_choice, lock_case, refuse_closed
from prevenance.cases.services.handling import assign_case, change_status
from prevenance.cases.services.labels import set_case_labels
from prevenance.core.audit import record_audit

UNSET: Any = object()


def change_priority(*, case: Case, priority: str, actor) -> Case:
    """Set the priority level by hand (the score and its reasons stay, for the record)."""
    clean_choice("priority", priority, Priority)
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        previous = locked.priority
        if previous == priority:
            return locked
        locked.priority = priority
        locked.save(update_fields=["priority", "updated_at"])
        record_audit(kind=CaseAuditKind.PRIORITY_CHANGED, actor=actor, subject=locked, payload={"from": previous, "to": priority})
        case_events.case_updated(locked, {"priority": case_events.change(previous, priority)})
    return locked


def update_case(
    *, case: Case, actor, status: str = UNSET, assignee=UNSET, team=UNSET, priority: str = UNSET, tags: list[Tag] = UNSET
) -> Case:
    """Apply each given change through its own service, in one transaction: if one is refused,
    none is kept. Assignment is one change (assignee and team together; the one not given stays)."""
    with transaction.atomic():
        current = lock_case(case.pk)
        if assignee is not UNSET or team is not UNSET:
            current = assign_case(
                case=current, actor=actor,
                assignee=current.assignee if assignee is UNSET else assignee,
                team=current.team if team is UNSET else team,
            )
        if priority is not UNSET:
            current = change_priority(case=current, priority=priority, actor=actor)
        if tags is not UNSET:
            before = sorted(current.tags.values_list("name", flat=True))
            current = set_case_labels(case=current, tags=tags, root_cause=current.root_cause, actor=actor)
            after = sorted(tag.name for tag in tags)
            if before != after:
                case_events.case_updated(current, {"tags": case_events.change(before, after)})
        # Last: a move to closed would refuse the changes above.
        if status is not UNSET and status != current.status:
            current = change_status(case=current, status=status, actor=actor)
    return current
