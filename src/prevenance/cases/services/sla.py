"""SLA writes: due times when a case opens or reopens, the reply clock of a reopened case and
the reply that stops it, the clock paused while waiting for the customer, due times recalculated when a policy or a calendar changes, and the periodic breach check that
escalates once per case and kind (docs/cases.md)."""

import copy
import logging
from datetime import datetime
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection, send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases import priority as priority_rules
from prevenance.cases import sla
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import CaseAuditKind, CaseStatus, SLAEventKind
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.selectors.kept_settings import kept_settings, pinned_settings, priority_config
from prevenance.cases.services.common import lock_case
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.calendars import (
    CalendarError,
    CalendarSpec,
    add_business_time,
    business_time_between,
    calendar_spec,
)
from prevenance.core.choices import CalendarAuditKind
from prevenance.core.models import BusinessCalendar, TaskEffect
from prevenance.core.preferences.selectors import user_languages
from prevenance.core.queue import enqueue_on_commit, run_once
from prevenance.core.roles import SUPERVISOR

logger = logging.getLogger(__name__)

BREACHES = frozenset({SLAEventKind.FIRST_RESPONSE_BREACHED, SLAEventKind.NEXT_REPLY_BREACHED, SLAEventKind.RESOLUTION_BREACHED})


spec_for = sla.spec_for
RESOLUTION_EVENTS = (SLAEventKind.RESOLUTION_NEAR, SLAEventKind.RESOLUTION_BREACHED)
FIRST_RESPONSE_EVENTS = (SLAEventKind.FIRST_RESPONSE_NEAR, SLAEventKind.FIRST_RESPONSE_BREACHED)
NEXT_REPLY_EVENTS = (SLAEventKind.NEXT_REPLY_NEAR, SLAEventKind.NEXT_REPLY_BREACHED)
BREACH_OF = {SLAEventKind.FIRST_RESPONSE_NEAR: SLAEventKind.FIRST_RESPONSE_BREACHED,
             SLAEventKind.NEXT_REPLY_NEAR: SLAEventKind.NEXT_REPLY_BREACHED,
             SLAEventKind.RESOLUTION_NEAR: SLAEventKind.RESOLUTION_BREACHED}


def _policy_for(case: Case) -> SLAPolicy | None:
    tier = case.customer.tier if case.customer_id is not None else ""
    # The active policies and their calendars are kept per process (selectors/kept_settings.py).
    policy = sla.select_policy(kept_settings().policies, case_type=case.type, priority=case.priority, customer_tier=tier)
    return copy.copy(policy) if policy is not None else None


def _clock_spec(case: Case, calendar: BusinessCalendar | None) -> CalendarSpec:
    """The calendar's spec, as sla.spec_for gives it: around the clock when there is no
    calendar, or when it has no opening period (emptied after it was attached), said in the log."""
    if calendar is None:
        return sla.around_the_clock()
    spec = calendar_spec(calendar)
    if not spec.has_opening:
        logger.warning(
            "The business calendar %r has no opening period: the SLA clocks of case %s run around the clock",
            calendar.name, case.reference or "(new)",
        )
    return sla.usable(spec)


def _opening_spec(case: Case, policy: SLAPolicy) -> CalendarSpec:
    """spec_for without reading the case's team: the kept team's calendar."""
    team = kept_settings().teams.get(case.team_id) if case.team_id is not None else None
    calendar = policy.calendar or (team.calendar if team is not None else None)
    return _clock_spec(case, calendar)


def _no_due_time(case: Case, policy: SLAPolicy) -> None:
    # Reached only by a target too long to compute (refused since by the API and the admin,
    # services/sla_policies.py): the customer's message must not be lost over a due time.
    logger.warning(
        "Case %s: the SLA policy %r gives no computable due time; the clock is left without one",
        case.reference or "(new)", policy.name, exc_info=True,
    )


def set_due_times(case: Case, opened_at: datetime) -> list[str]:
    """Choose the policy and set the due times of a clock started at `opened_at`, without
    saving; returns the fields changed. open_case calls it before the case's single INSERT,
    so it never raises over a calendar: one without opening hours counts around the clock,
    and a due time that cannot be computed is left empty (logged)."""
    policy = _policy_for(case)
    if policy is None:
        return []
    try:
        due = sla.due_times(_opening_spec(case, policy), policy, opened_at)
    except CalendarError:
        _no_due_time(case, policy)
        due = sla.DueTimes(first_response=None, resolution=None)
    case.sla_policy, case.first_response_due_at, case.resolution_due_at = policy, due.first_response, due.resolution
    return ["sla_policy", "first_response_due_at", "resolution_due_at"]


def start_clock(case: Case, opened_at: datetime) -> None:
    """set_due_times and save: for a case already stored (follow-ups of a late reply, split
    cases: each has its own clock from its creation). Call inside its transaction."""
    if changed := set_due_times(case, opened_at):
        case.save(update_fields=changed)


def pause_clock(case: Case, now: datetime) -> list[str]:
    """Stop the resolution clock (the case waits for the customer); returns the fields changed."""
    if case.sla_policy_id is None or case.sla_paused_at is not None:
        return []
    case.sla_paused_at = now
    return ["sla_paused_at"]


def resume_clock(case: Case, now: datetime) -> list[str]:
    """Restart the clock: the resolution due time moves by the business time spent paused."""
    if case.sla_paused_at is None:
        return []
    if case.sla_policy is not None and case.resolution_due_at is not None:
        spec = _clock_spec(case, sla.calendar_for(case, case.sla_policy))
        try:
            case.resolution_due_at, paused = sla.resumed_due(spec, case.resolution_due_at, case.sla_paused_at, now)
        except CalendarError:
            _no_due_time(case, case.sla_policy)  # the due time stays where it was
            paused = business_time_between(spec, case.sla_paused_at, now)
        case.sla_paused_total += paused
    case.sla_paused_at = None
    return ["sla_paused_at", "resolution_due_at", "sla_paused_total"]


def restart_resolution_clock(case: Case, now: datetime, *, by_customer: bool = False) -> list[str]:
    """A resolved case reopens: the resolution target runs again from `now`. A case never
    answered is received anew, so its first-response target runs again from `now` too; a first
    response already given is left alone (the dashboard measures it). A case already answered
    that the customer's message reopens (`by_customer`) waits for an answer again: its reply
    clock runs on the first-response target from `now` (Zendesk's "next reply time"); an agent
    reopening a case whose reply clock was still running (resolved without an answer to the
    customer) restarts it as the first-response one. Returns the fields changed (the caller saves).

    The business time from the case's creation to the reopening goes into `sla_paused_total`
    (the time the resolution clock did not run) and the start of a restarted first-response or
    reply clock into `first_response_clock_started_at`, resp. `next_reply_clock_started_at`, so
    that due times can always be recomputed (recalculate_due_times). The previous events of the
    restarted clocks are removed so that they warn and escalate again; their audit rows stay."""
    policy = case.sla_policy
    if policy is None:
        return []
    spec = _clock_spec(case, sla.calendar_for(case, policy))

    def due_after(target):
        # Called inside the intake of the customer's reply: a due time never makes it fail.
        try:
            return add_business_time(spec, now, target)
        except CalendarError:
            _no_due_time(case, policy)
            return None

    case.resolution_due_at = due_after(policy.resolution_target)
    case.sla_paused_total = business_time_between(spec, case.created_at, now)
    case.sla_paused_at = None
    changed, restarted = ["resolution_due_at", "sla_paused_total", "sla_paused_at"], [*RESOLUTION_EVENTS]
    if case.first_response_at is None:
        case.first_response_clock_started_at = now
        case.first_response_due_at = due_after(policy.first_response_target)
        changed += ["first_response_clock_started_at", "first_response_due_at"]
        restarted += FIRST_RESPONSE_EVENTS
    elif by_customer or case.next_reply_due_at is not None:
        case.next_reply_clock_started_at = now
        case.next_reply_due_at = due_after(policy.first_response_target)
        changed += ["next_reply_clock_started_at", "next_reply_due_at"]
        restarted += NEXT_REPLY_EVENTS
    SLAEvent.objects.filter(case=case, kind__in=restarted).delete()
    return changed


def stop_reply_clock(case: Case) -> list[str]:
    """The agent's public reply answers the customer: the reply clock of a reopened case stops
    (its events stay, a breach is a fact). Sets without saving; returns the fields changed."""
    if case.next_reply_due_at is None and case.next_reply_clock_started_at is None:
        return []
    case.next_reply_due_at = case.next_reply_clock_started_at = None
    return ["next_reply_due_at", "next_reply_clock_started_at"]


def carry_reply_clock(survivor: Case, loser: Case) -> list[str]:
    """A merge moves `loser`'s messages into `survivor`: when the loser still awaited an answer
    (its first response, or its next reply) and the survivor has answered its own customer,
    the survivor now waits for that answer, on the loser's clock (its start and due time)
    unless its own reply clock is due sooner. A survivor never answered keeps its first-response
    clock, which runs until an answer anyway. Sets without saving; returns the fields changed."""
    if survivor.first_response_at is None or loser.status == CaseStatus.RESOLVED:
        return []
    if loser.first_response_at is None and loser.first_response_due_at is not None:
        started, due = loser.first_response_clock_started_at or loser.created_at, loser.first_response_due_at
    elif loser.next_reply_due_at is not None:
        started, due = loser.next_reply_clock_started_at or loser.created_at, loser.next_reply_due_at
    else:
        return []
    if survivor.next_reply_due_at is not None and survivor.next_reply_due_at <= due:
        return []
    survivor.next_reply_due_at, survivor.next_reply_clock_started_at = due, started
    return ["next_reply_due_at", "next_reply_clock_started_at"]


def _recomputed_reply_due(case: Case, policy: SLAPolicy) -> datetime | None:
    """The reply clock's due time on the policy's first-response target from its start, on the
    calendar as it is now; None when no reply clock runs."""
    if case.next_reply_due_at is None or case.next_reply_clock_started_at is None:
        return None
    return add_business_time(_opening_spec(case, policy), case.next_reply_clock_started_at, policy.first_response_target)


def _recompute_due_times(case: Case, policy: SLAPolicy, include_breached: bool) -> list[str]:
    """The due times of `policy` for this case from its creation (paused time not counted, a
    restarted first-response clock from its restart, a reply clock from its start), set without
    saving; returns the fields changed. A clock already stopped (first response given, reply
    given) is left alone, and so is a breached one unless `include_breached`. A clock whose due
    time moves warns again before its new due time: its "due soon" event goes (its audit row stays)."""
    breached = set(case.sla_events.filter(kind__in=BREACHES).values_list("kind", flat=True))
    due = sla.due_times(
        _opening_spec(case, policy), policy, case.created_at, not_counted=case.sla_paused_total,
        first_response_from=case.first_response_clock_started_at,
    )
    changed = []
    if case.first_response_at is None and (include_breached or SLAEventKind.FIRST_RESPONSE_BREACHED not in breached):
        if case.first_response_due_at != due.first_response:
            case.first_response_due_at = due.first_response
            changed.append("first_response_due_at")
    if include_breached or SLAEventKind.RESOLUTION_BREACHED not in breached:
        if case.resolution_due_at != due.resolution:
            case.resolution_due_at = due.resolution
            changed.append("resolution_due_at")
    if include_breached or SLAEventKind.NEXT_REPLY_BREACHED not in breached:
        reply_due = _recomputed_reply_due(case, policy)
        if reply_due is not None and case.next_reply_due_at != reply_due:
            case.next_reply_due_at = reply_due
            changed.append("next_reply_due_at")
    moved = {"first_response_due_at": SLAEventKind.FIRST_RESPONSE_NEAR, "resolution_due_at": SLAEventKind.RESOLUTION_NEAR,
             "next_reply_due_at": SLAEventKind.NEXT_REPLY_NEAR}
    if warned_again := [moved[name] for name in changed]:
        SLAEvent.objects.filter(case=case, kind__in=warned_again).delete()
    return changed


def follow_policy_of_type(case: Case) -> list[str]:
    """After a case was reclassified or its priority set by hand: the policy its type, priority
    and customer's tier now select, its due times counted from the case's creation; a breached clock
    keeps its due time (an escalated breach is not hidden). When no policy matches any more
    the case keeps the promise made at opening. Sets without saving; returns the fields changed."""
    policy = _policy_for(case)
    if policy is None or policy.pk == case.sla_policy_id:
        return []
    case.sla_policy = policy
    if case.status not in ACTIVE:
        # A resolved case's result is a fact: its due times stay. The policy still changes, so
        # that a reopening restarts its clock on the targets the case now calls for.
        return ["sla_policy"]
    # A case waiting for the customer when its first policy applies had no clock to pause then.
    paused = pause_clock(case, timezone.now()) if case.status == CaseStatus.PENDING_CUSTOMER else []
    try:
        return ["sla_policy", *paused, *_recompute_due_times(case, policy, include_breached=False)]
    except CalendarError:
        _no_due_time(case, policy)  # the due times promised at opening stay
        return ["sla_policy", *paused]


def _recalculate_one(case_id: int, policy: SLAPolicy, include_breached: bool) -> bool:
    with transaction.atomic():
        case = lock_case(case_id)
        if case.sla_policy_id != policy.pk or case.status not in ACTIVE or case.merged_into_id is not None:
            return False  # moved on meanwhile
        changed = _recompute_due_times(case, policy, include_breached)
        if changed:
            case.save(update_fields=changed)
        return bool(changed)


def _recalculate(cases, include_breached: bool) -> int:
    """Recompute the due times of the open cases among `cases` (a queryset) from their policy's
    current targets and the calendar their clocks run on as it is now; returns the cases changed.
    Each case is its own transaction, so open cases keep taking replies meanwhile, and a case
    that moved on meanwhile (answered, resolved, given another policy) is left as it is."""
    rows = list(cases.filter(status__in=ACTIVE, merged_into__isnull=True, sla_policy__isnull=False)
                .order_by("pk").values_list("pk", "sla_policy_id"))
    # The policies and the teams' calendars are read once for the run, not once per case.
    policies = SLAPolicy.objects.select_related("calendar").in_bulk({policy_id for _case_id, policy_id in rows})
    changed = 0
    with pinned_settings():
        for case_id, policy_id in rows:
            if (policy := policies.get(policy_id)) is None:
                continue  # deleted meanwhile (refused while open cases use it): nothing to follow
            try:
                changed += _recalculate_one(case_id, policy, include_breached)
            except ValidationError:
                logger.warning("Case %s moved while its due times were recalculated; left as it was", case_id)
            except CalendarError:
                # One case whose due time cannot be computed must not stop the others.
                logger.warning("Case %s: no computable due time on the SLA policy %r; left as it was", case_id, policy.name,
                               exc_info=True)
    return changed


def recalculate_due_times(*, policy: SLAPolicy, include_breached: bool = False) -> int:
    """Recompute the due times of the open cases on `policy` from its current targets and
    calendar; returns the cases changed. Idempotent.

    Cases already breached on a clock keep that clock's due time unless `include_breached`
    (the admin action asks for it): moving a breach into the future would hide it, and the
    breach was already escalated. A clock already stopped (first response given) is left
    alone, and a paused clock stays paused."""
    return _recalculate(Case.objects.filter(sla_policy=policy), include_breached)


def cases_on_calendar(calendar: BusinessCalendar):
    """The open cases whose SLA clocks run on `calendar`, as sla.calendar_for picks it: their
    policy's calendar, or their team's when the policy has none."""
    return Case.objects.filter(status__in=ACTIVE, merged_into__isnull=True, sla_policy__isnull=False).filter(
        Q(sla_policy__calendar=calendar) | Q(sla_policy__calendar__isnull=True, team__calendar=calendar))


def recalculate_calendar_due_times(*, calendar: BusinessCalendar, include_breached: bool = True) -> int:
    """Recompute the due times of the open cases whose clocks run on `calendar`, after its
    holidays or opening hours changed (an unplanned closure entered afterwards); returns the
    cases changed. As recalculate_due_times, of which it is the calendar's side; breached
    clocks are included by default, as the admin's actions do: a strike that made a case late
    is exactly what this moves."""
    return _recalculate(cases_on_calendar(calendar), include_breached)


def request_calendar_recalculation(*, calendar: BusinessCalendar, actor) -> int:
    """Queue recalculate_calendar_due_times after commit, with an audit row on the calendar
    naming who asked and how many open cases run on it then (returned)."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("core.change_businesscalendar"):
        raise PermissionDenied
    with transaction.atomic():
        count = cases_on_calendar(calendar).count()
        record_audit(kind=CalendarAuditKind.DUE_TIMES_RECALCULATED, actor=actor, subject=calendar,
                     payload={"open_cases": count, "breached_included": True})
        enqueue_on_commit(case_tasks.recalculate_calendar_due_times, calendar.pk)
    return count


def _still_due(case: Case, kind: str, due_at: datetime, now: datetime) -> bool:
    """Whether the locked case still reaches `kind` at `due_at`: between the read and the lock
    it may have been answered, resolved, paused, merged or given other due times."""
    policy = case.sla_policy
    if policy is None or case.status not in ACTIVE or case.merged_into_id is not None:
        return False
    return (kind, due_at) in sla.pending_events(case, policy, spec_for(case, policy), now)


def _escalate(case_id: int, kind: str, due_at: datetime, now: datetime) -> SLAEvent | None:
    """Record one event and escalate, in one transaction; None when it was recorded already,
    or when the case no longer reaches it once locked."""
    try:
        with transaction.atomic():
            case = lock_case(case_id)
            if not _still_due(case, kind, due_at, now):
                return None  # the next run sees the case as it is now
            event = SLAEvent.objects.create(case=case, kind=kind, due_at=due_at)
            payload = {"sla_event": kind, "due_at": due_at.isoformat()}
            if kind in BREACHES and sla.ESCALATION[case.priority] != case.priority:
                payload.update({"priority_from": case.priority, "priority_to": sla.ESCALATION[case.priority]})
                case.priority = sla.ESCALATION[case.priority]
                case.priority_score, case.priority_reasons = priority_rules.with_level_floor(case.priority_reasons or [], case.priority, priority_config())
                case.save(update_fields=["priority", "priority_score", "priority_reasons", "updated_at"])
                case_events.case_updated(case, {"priority": case_events.change(payload["priority_from"], case.priority)})
            audit_kind = CaseAuditKind.SLA_BREACHED if kind in BREACHES else CaseAuditKind.SLA_NEAR_BREACH
            record_audit(kind=audit_kind, actor=None, subject=case, payload=payload)
    except IntegrityError:
        return None  # another run recorded it first
    except ValidationError:
        logger.warning("Case %s moved while its SLA was checked; the next run sees it again", case_id)
        return None
    return event


class NoticeRecipient(NamedTuple):
    """A supervisor to tell about an SLA event: the account (the key of their email, sent
    once), the address and the language they read."""

    pk: int
    email: str
    language: str


def supervisors_to_notify(case: Case) -> list[NoticeRecipient]:
    """The team's supervisors with an email address, each with the language they read (their
    own, else the site's); every supervisor when the case has no team, or when its team has
    none with an email address (an escalation nobody receives is no escalation). An address
    two accounts share is told once, in the first one's language. Two or three queries."""
    users = get_user_model().objects.filter(is_active=True, groups__name=SUPERVISOR).exclude(email="")
    rows = []
    if case.team_id is not None:
        rows = list(users.filter(case_teams=case.team_id).order_by("pk").values_list("pk", "email").distinct())
    if not rows:
        rows = list(users.order_by("pk").values_list("pk", "email").distinct())
    languages = user_languages(pk for pk, _email in rows)
    recipients: dict[str, NoticeRecipient] = {}
    for pk, email in rows:
        recipients.setdefault(email, NoticeRecipient(pk, email, languages[pk]))
    return list(recipients.values())


def sla_notice(event: SLAEvent, language: str) -> tuple[str, str]:
    """The subject and body of the supervisors' email about `event`, in `language` whatever the
    worker runs in, the due time written as that language writes it, in the zone of the calendar
    the clock runs on, named."""
    case = event.case
    calendar = sla.calendar_for(case, case.sla_policy)
    zone = calendar.time_zone if calendar is not None else settings.TIME_ZONE
    with translation.override(language):
        values = {
            "reference": case.reference, "subject": case.subject, "event": event.get_kind_display(),
            "due": formats.date_format(timezone.localtime(event.due_at, ZoneInfo(zone)), "DATETIME_FORMAT"),
            "time_zone": zone, "priority": case.get_priority_display(),
        }
        subject = _("Case %(reference)s: %(event)s") % values
        if event.kind in BREACHES:
            body = _("Case %(reference)s (%(subject)s) was due at %(due)s (%(time_zone)s time) and is overdue.\nPriority: %(priority)s.")
        else:
            body = _("Case %(reference)s (%(subject)s) is due at %(due)s (%(time_zone)s time).\nPriority: %(priority)s.")
        return subject, body % values


def _send_notice(event: SLAEvent, recipient: NoticeRecipient, connection) -> None:
    subject, body = sla_notice(event, recipient.language)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[recipient.email], connection=connection)


def _outdated_notice(event: SLAEvent) -> str | None:
    """Why a "due soon" notice not sent yet no longer holds (for the log), None while it does:
    its breach was recorded since, or its clock stopped (the first response given, the case
    resolved). Breach notices always go."""
    if event.kind not in BREACH_OF:
        return None
    if SLAEvent.objects.filter(case=event.case_id, kind=BREACH_OF[event.kind]).exists():
        return "its breach overtook it"
    case = event.case
    if event.kind == SLAEventKind.FIRST_RESPONSE_NEAR and case.first_response_at is not None:
        return "the first response was given meanwhile"
    if event.kind == SLAEventKind.NEXT_REPLY_NEAR and case.next_reply_due_at is None:
        return "the reply was given meanwhile"
    if event.kind == SLAEventKind.RESOLUTION_NEAR and case.resolved_at is not None:
        return "the case was resolved meanwhile"
    return None


def notify_sla_event(*, event_id: int) -> bool:
    """Email the supervisors about one SLA event, once however often it is called. The event
    is marked notified only once its email was sent, by this call or an earlier one: while
    another run is sending it, it is left for the next run, which sends it if that one failed."""
    event = SLAEvent.objects.select_related("case__sla_policy__calendar", "case__team__calendar").filter(pk=event_id).first()
    if event is None or event.notified_at is not None:
        return False
    if (outdated := _outdated_notice(event)) is not None:
        # Its notice was held up (mail server down) until it no longer held: "is due at" a time
        # gone by, or for a clock already stopped, would only mislead. Not sent, not retried.
        logger.info("SLA event %s on case %s: not sent, %s", event.pk, event.case.reference, outdated)
        SLAEvent.objects.filter(pk=event.pk, notified_at=None).update(notified_at=timezone.now())
        return False
    recipients = supervisors_to_notify(event.case)
    key = f"sla-notice:{event.pk}"

    def send() -> None:
        # One email per supervisor, each sent once under its own key: a retry after a failure
        # part-way (the mail server gone between two) sends only the ones not sent yet, whatever
        # changed meanwhile (a supervisor who chose another language is not told twice).
        with get_connection() as connection:
            for recipient in recipients:
                run_once(key=f"{key}:user:{recipient.pk}", effect=partial(_send_notice, event, recipient, connection))

    if not recipients:
        logger.warning("SLA event %s on case %s: no active supervisor has an email address to be told", event.pk, event.case.reference)
    sent = run_once(key=key, effect=send)
    if sent or TaskEffect.objects.filter(key=key, done_at__isnull=False).exists():
        SLAEvent.objects.filter(pk=event.pk, notified_at=None).update(notified_at=timezone.now())
    return sent


def check_sla_breaches(*, now: datetime | None = None) -> int:
    """Find active cases past due or near breach, record and escalate each (case, kind) once,
    then notify the supervisors of every event not notified yet. Returns the events recorded.

    Idempotent: a second run finds the events recorded and changes nothing."""
    now = now or timezone.now()
    cases = (
        Case.objects.filter(status__in=ACTIVE, sla_policy__isnull=False, merged_into__isnull=True)
        .exclude(first_response_due_at__isnull=True, resolution_due_at__isnull=True, next_reply_due_at__isnull=True)
        .select_related("sla_policy__calendar", "team__calendar")
        .prefetch_related("sla_events")
    )
    specs: dict[tuple, CalendarSpec] = {}
    recorded = 0
    for case in cases.iterator(chunk_size=500):
        policy = case.sla_policy
        calendar = policy.calendar or (case.team.calendar if case.team_id is not None else None)
        key = (calendar.pk if calendar else None,)
        if key not in specs:
            specs[key] = spec_for(case, policy)
        seen = {event.kind for event in case.sla_events.all()}
        for kind, due_at in sla.pending_events(case, policy, specs[key], now):
            if kind not in seen and _escalate(case.pk, kind, due_at, now) is not None:
                recorded += 1
    for event_id in SLAEvent.objects.filter(notified_at=None).values_list("pk", flat=True):
        try:
            notify_sla_event(event_id=event_id)
        except OSError:
            logger.exception("Could not notify SLA event %s; the next run tries again", event_id)
    return recorded
