"""One change on many cases at once (the inbox's bulk bar, docs/inbox.md "Changing several cases").

Each case is changed in its own transaction, through the service the case page uses for that
change: one refused case (closed, a move the workflow forbids, an assignee outside its team)
is reported with the service's reason, and the others are changed all the same. That is why
these functions are not one transaction, unlike every other service. Which cases the user may
see is the caller's check (selectors.visibility.visible_cases), before calling.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from prevenance.cases.models import Case, Tag, Team
from prevenance.cases.services.common import lock_case
from prevenance.cases.services.handling import assign_case, change_status, take_case
from prevenance.cases.services.labels import set_case_labels
from prevenance.cases.services.updates import change_priority

logger = logging.getLogger(__name__)

# Cases one request may change: a page of the inbox is 25 rows, four pages loaded are 100.
MAX_BULK_CASES = 100


@dataclass
class BulkOutcome:
    changed: list[Case] = field(default_factory=list)
    refused: list[tuple[Case, str]] = field(default_factory=list)  # the case and why, in the service's words
    vanished: int = 0  # deleted between the caller's read and this change


def _each(cases: Iterable[Case], change: Callable[[Case], object]) -> BulkOutcome:
    """`change(case)` on each case, each in its own transaction, in primary-key order (the
    order locks are taken in elsewhere, so two bulk changes never deadlock)."""
    outcome = BulkOutcome()
    for case in sorted(cases, key=lambda case: case.pk):
        try:
            with transaction.atomic():
                change(case)
        except ValidationError as exc:
            outcome.refused.append((case, " ".join(exc.messages)))
        except Case.DoesNotExist:
            outcome.vanished += 1
        except DatabaseError:
            # A lock wait cut short, a deadlock: this case's transaction rolled back, the cases
            # before it stay changed, so it is reported with them rather than failing the page.
            logger.exception("bulk change of case %s failed", case.pk)
            outcome.refused.append((case, _("The database could not change it just now: try again.")))
        else:
            outcome.changed.append(case)
    return outcome


def bulk_take_cases(*, cases: Iterable[Case], actor, seen_assignees: dict[int, int | None]) -> BulkOutcome:
    """"Assign to me" on each case (take_case): each keeps its team; a case someone else was
    given since the inbox showed its assignee (`seen_assignees`, by case id; a case missing from
    it: the assignee as read now) is refused, as on the case page."""
    return _each(cases, lambda case: take_case(
        case=case, actor=actor, seen_assignee_id=seen_assignees.get(case.pk, case.assignee_id)))


def bulk_assign_to_agent(*, cases: Iterable[Case], actor, assignee) -> BulkOutcome:
    """Give each case to `assignee` within the team it has (assign_case refuses a person outside it)."""
    def assign(case: Case) -> None:
        locked = lock_case(case.pk)
        assign_case(case=locked, assignee=assignee, team=locked.team, actor=actor)

    return _each(cases, assign)


def bulk_assign_to_team(*, cases: Iterable[Case], actor, team: Team) -> BulkOutcome:
    """Give each case to `team`; its assignee stays when they are a member of it, else the
    case waits in the team's queue (assign_case refuses an assignee outside the team)."""
    members = set(team.members.values_list("pk", flat=True))

    def assign(case: Case) -> None:
        locked = lock_case(case.pk)
        kept = locked.assignee if locked.assignee_id in members else None
        assign_case(case=locked, assignee=kept, team=team, actor=actor)

    return _each(cases, assign)


def bulk_change_status(*, cases: Iterable[Case], actor, status: str) -> BulkOutcome:
    """Move each case to `status` (change_status: workflow.check_transition says which may)."""
    return _each(cases, lambda case: change_status(case=case, status=status, actor=actor))


def bulk_change_priority(*, cases: Iterable[Case], actor, priority: str) -> BulkOutcome:
    """Set each case's priority level by hand (change_priority; refused on a closed case)."""
    return _each(cases, lambda case: change_priority(case=case, priority=priority, actor=actor))


def bulk_add_tag(*, cases: Iterable[Case], actor, tag: Tag) -> BulkOutcome:
    """Add `tag` to each case's tags (set_case_labels: its other tags and root cause stay; a
    closed case may be tagged too, as on the case page)."""
    def add(case: Case) -> None:
        locked = lock_case(case.pk)  # the tags read under the lock: a tag added meanwhile stays
        set_case_labels(case=locked, tags=[*locked.tags.all(), tag], root_cause=locked.root_cause, actor=actor)

    return _each(cases, add)
