"""SLA computations, without the database: which policy applies, due times, breach states.

The writes (setting due times, pausing the clock, escalating) are in cases/services/sla.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache

from django.conf import settings

from prevenance.cases.choices import SLAEventKind
from prevenance.core.calendars import (
    CalendarSpec,
    add_business_time,
    build_spec,
    business_time_between,
    calendar_spec,
)

ESCALATION = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


@cache
def around_the_clock() -> CalendarSpec:
    """The calendar used when neither the policy nor the team has one: always open."""
    return build_spec(time_zone=settings.TIME_ZONE, periods=[(day, time(0), time(0)) for day in range(7)])


def usable(spec: CalendarSpec) -> CalendarSpec:
    """`spec`, or around the clock when it has no opening period at all: a calendar emptied
    after it was attached must not make intake fail, and a clock that could never run would
    hide the case from the breach check (docs/calendars.md). Attaching such a calendar is
    refused (core.calendars.require_opening_hours); this is for one emptied since."""
    return spec if spec.has_opening else around_the_clock()


def calendar_for(case, policy):
    """The calendar the case's clocks run on: the policy's, else the case team's; None when
    neither has one (around the clock)."""
    if policy is not None and policy.calendar_id is not None:
        return policy.calendar
    return case.team.calendar if case.team_id is not None and case.team.calendar_id is not None else None


def spec_for(case, policy) -> CalendarSpec:
    """The policy's calendar, else the case team's, else around the clock."""
    calendar = calendar_for(case, policy)
    return usable(calendar_spec(calendar)) if calendar is not None else around_the_clock()


def tier_key(value: str | None) -> str:
    """A tier as matching compares it: typed by people on both sides (the customer's tier, the
    policy's), "Gold " is gold."""
    return (value or "").strip().casefold()


def specificity(policy) -> int:
    return sum(1 for value in (policy.case_type, policy.priority, policy.customer_tier) if value)


def matches(policy, *, case_type: str, priority: str, customer_tier: str = "") -> bool:
    return (
        policy.active
        and policy.case_type in ("", case_type)
        and policy.priority in ("", priority)
        and (not policy.customer_tier or tier_key(policy.customer_tier) == tier_key(customer_tier))
    )


def _scope(policy) -> tuple[str, str, str]:
    return policy.case_type, policy.priority, tier_key(policy.customer_tier)


def crossing(policy, others: Iterable) -> list:
    """The policies of `others` as specific as `policy`, of another scope, that some cases match
    together with it ("complaints" and "urgent": an urgent complaint), where no more specific
    policy of `others` takes those cases: for them the older applies, which the admin says when
    one of the two is saved. `others` are the active policies."""
    others = list(others)
    mine = _scope(policy)

    def covers(candidate, scope) -> bool:  # matches every case of `scope`
        return all(not want or want == have for want, have in zip(_scope(candidate), scope, strict=True))

    found = []
    for other in others:
        theirs = _scope(other)
        if other.pk == policy.pk or theirs == mine or specificity(other) != specificity(policy):
            continue
        if any(a and b and a != b for a, b in zip(mine, theirs, strict=True)):
            continue  # no case matches both
        both = tuple(a or b for a, b in zip(mine, theirs, strict=True))
        if not any(covers(third, both) and specificity(third) > specificity(policy) for third in others):
            found.append(other)
    return found


def select_policy(policies: Iterable, *, case_type: str, priority: str, customer_tier: str = ""):
    """The active policy matching the case with the most criteria set (type, priority, tier);
    between equally specific ones (two policies of the same scope cannot both be active, so
    scopes that cross: "complaints" and "urgent" for an urgent complaint), the oldest (lowest
    id). None when nothing matches."""
    candidates = [p for p in policies if matches(p, case_type=case_type, priority=priority, customer_tier=customer_tier)]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (-specificity(p), p.pk))


@dataclass(frozen=True)
class DueTimes:
    first_response: datetime | None  # None: not computable (services/sla.py set_due_times)
    resolution: datetime | None


def due_times(
    spec: CalendarSpec, policy, opened_at: datetime, *, not_counted: timedelta = timedelta(0),
    first_response_from: datetime | None = None,
) -> DueTimes:
    """Both due times of a clock started at `opened_at`; `not_counted` is the business time the
    resolution clock did not run since (waiting for the customer, the time before a reopening);
    `first_response_from`, when the first-response clock started later (a reopening)."""
    return DueTimes(
        first_response=add_business_time(spec, first_response_from or opened_at, policy.first_response_target),
        resolution=add_business_time(spec, opened_at, policy.resolution_target + not_counted),
    )


def resumed_due(spec: CalendarSpec, due: datetime, paused_at: datetime, resumed_at: datetime) -> tuple[datetime, timedelta]:
    """The resolution due time moved by the business time spent paused, and that time."""
    paused = business_time_between(spec, paused_at, resumed_at)
    return (add_business_time(spec, due, paused) if paused else due), paused


def is_near(spec: CalendarSpec, *, now: datetime, due: datetime, target: timedelta, percent: int) -> bool:
    """Less business time left than (100 - percent) % of the target, but not yet due."""
    if now >= due:
        return False
    return business_time_between(usable(spec), now, due) <= target * (100 - percent) / 100


def pending_events(case, policy, spec: CalendarSpec, now: datetime) -> list[tuple[str, datetime]]:
    """The SLA events a case has reached at `now` (kind, due time), before de-duplication.

    The first response counts until the first reply; the reply clock of a reopened case (on
    the first-response target) until the next reply, neither paused while waiting for the
    customer; the resolution until the case is resolved, and not while its clock is paused."""
    found = []
    clocks = []
    if case.first_response_at is None and case.first_response_due_at is not None:
        clocks.append((case.first_response_due_at, policy.first_response_target,
                       SLAEventKind.FIRST_RESPONSE_BREACHED, SLAEventKind.FIRST_RESPONSE_NEAR))
    if case.next_reply_due_at is not None:
        clocks.append((case.next_reply_due_at, policy.first_response_target,
                       SLAEventKind.NEXT_REPLY_BREACHED, SLAEventKind.NEXT_REPLY_NEAR))
    if case.sla_paused_at is None and case.resolution_due_at is not None:
        clocks.append((case.resolution_due_at, policy.resolution_target,
                       SLAEventKind.RESOLUTION_BREACHED, SLAEventKind.RESOLUTION_NEAR))
    for due, target, breached, near in clocks:
        if now >= due:
            found.append((breached, due))
        elif is_near(spec, now=now, due=due, target=target, percent=policy.near_breach_percent):
            found.append((near, due))
    return found


@dataclass(frozen=True)
class TimeLeft:
    """The SLA clock an agent should watch: the first response until it is given, the next
    reply while a reopened case waits for one (running_clock), then the resolution. `left` is
    business time, negative once overdue; a paused clock does not run."""

    clock: str  # "first_response", "next_reply" or "resolution"
    due_at: datetime
    left: timedelta
    target: timedelta
    paused: bool
    near: bool
    # Whether `left` was counted in a calendar's opening hours (not around the clock, nor in
    # wall-clock time far from the due time): the page says "business hours" only then.
    business_hours: bool = False
    # Whether `left` was counted on the clock's calendar (business time, or around the clock).
    # False for the wall-clock distance selectors/inbox.py gives far from the due time: the
    # pages then show the due time rather than a time left that would not be business time.
    exact: bool = False

    @property
    def breached(self) -> bool:
        return self.left <= timedelta(0)

    @property
    def state(self) -> str:
        """"breached", "near" or "" (the priority rules read this)."""
        return "breached" if self.breached else ("near" if self.near else "")


def running_clock(case, policy) -> tuple[str, datetime, timedelta, datetime | None] | None:
    """The clock an agent should watch, as (name, due time, target, paused at): the first
    response while it is awaited, else the next reply while a reopened case awaits one (both
    never pause), else the resolution; None when no due time is set."""
    if case.first_response_at is None and case.first_response_due_at is not None:
        return "first_response", case.first_response_due_at, policy.first_response_target, None
    if case.next_reply_due_at is not None:
        return "next_reply", case.next_reply_due_at, policy.first_response_target, None
    if case.resolution_due_at is not None:
        return "resolution", case.resolution_due_at, policy.resolution_target, case.sla_paused_at
    return None


def sla_time_left(case, now: datetime, spec: CalendarSpec | None = None) -> TimeLeft | None:
    """Time left on the case's running SLA clock at `now` (running_clock), None when no clock
    runs (no policy, answered and resolved, or closed). Pass `spec` when looping over many cases."""
    policy = case.sla_policy
    if policy is None or case.resolved_at is not None or case.closed_at is not None:
        return None
    if (running := running_clock(case, policy)) is None:
        return None
    clock, due, target, paused_at = running
    spec = usable(spec) if spec is not None else spec_for(case, policy)
    moment = paused_at or now  # a paused clock stays where it stopped
    left = business_time_between(spec, moment, due) if moment < due else -business_time_between(spec, due, moment)
    # Waiting for the customer, nobody here can act: "due soon" is not raised on a paused clock.
    near = paused_at is None and timedelta(0) < left <= target * (100 - policy.near_breach_percent) / 100
    return TimeLeft(clock=clock, due_at=due, left=left, target=target, paused=paused_at is not None, near=near, exact=True)
