"""SLA writes: due times when a case opens, the clock paused while waiting for the customer,
and the periodic breach check that escalates once per case and kind (docs/cases.md)."""

import logging
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.cases import sla
from prevenance.cases.choices import CaseAuditKind, SLAEventKind
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.services.common import lock_case
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.calendars import CalendarSpec, calendar_spec
from prevenance.core.queue import run_once
from prevenance.core.roles import SUPERVISOR

logger = logging.getLogger(__name__)

BREACHES = frozenset({SLAEventKind.FIRST_RESPONSE_BREACHED, SLAEventKind.RESOLUTION_BREACHED})


def spec_for(case: Case, policy: SLAPolicy) -> CalendarSpec:
    """The policy's calendar, else the team's, else around the clock."""
    calendar = policy.calendar or (case.team.calendar if case.team_id is not None else None)
    return calendar_spec(calendar) if calendar is not None else sla.around_the_clock()


def start_clock(case: Case, opened_at: datetime) -> None:
    """Choose the policy and store the due times; call inside the transaction that opens the case."""
    policy = sla.select_policy(SLAPolicy.objects.filter(active=True), case_type=case.type, priority=case.priority)
    if policy is None:
        return
    due = sla.due_times(spec_for(case, policy), policy, opened_at)
    case.sla_policy, case.first_response_due_at, case.resolution_due_at = policy, due.first_response, due.resolution
    case.save(update_fields=["sla_policy", "first_response_due_at", "resolution_due_at"])


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
        case.resolution_due_at, paused = sla.resumed_due(
            spec_for(case, case.sla_policy), case.resolution_due_at, case.sla_paused_at, now
        )
        case.sla_paused_total += paused
    case.sla_paused_at = None
    return ["sla_paused_at", "resolution_due_at", "sla_paused_total"]


def _escalate(case_id: int, kind: str, due_at: datetime) -> SLAEvent | None:
    """Record one event and escalate, in one transaction; None when it was recorded already."""
    try:
        with transaction.atomic():
            case = lock_case(case_id)
            event = SLAEvent.objects.create(case=case, kind=kind, due_at=due_at)
            payload = {"sla_event": kind, "due_at": due_at.isoformat()}
            if kind in BREACHES and sla.ESCALATION[case.priority] != case.priority:
                payload.update({"priority_from": case.priority, "priority_to": sla.ESCALATION[case.priority]})
                case.priority = sla.ESCALATION[case.priority]
                case.save(update_fields=["priority", "updated_at"])
            audit_kind = CaseAuditKind.SLA_BREACHED if kind in BREACHES else CaseAuditKind.SLA_NEAR_BREACH
            record_audit(kind=audit_kind, actor=None, subject=case, payload=payload)
    except IntegrityError:
        return None  # another run recorded it first
    except ValidationError:
        logger.warning("Case %s moved while its SLA was checked; the next run sees it again", case_id)
        return None
    return event


def supervisors_to_notify(case: Case) -> list[str]:
    """The team's supervisors; every supervisor when the case has no team."""
    users = get_user_model().objects.filter(is_active=True, groups__name=SUPERVISOR).exclude(email="")
    if case.team_id is not None:
        users = users.filter(case_teams=case.team_id)
    return sorted(set(users.values_list("email", flat=True)))


def notify_sla_event(*, event_id: int) -> bool:
    """Email the supervisors about one SLA event, once however often it is called."""
    event = SLAEvent.objects.select_related("case").filter(pk=event_id).first()
    if event is None or event.notified_at is not None:
        return False
    recipients = supervisors_to_notify(event.case)

    def send() -> None:
        if recipients:
            send_mail(
                subject=_("Case %(reference)s: %(event)s") % {"reference": event.case.reference, "event": event.get_kind_display()},
                message=_("Case %(reference)s (%(subject)s) was due at %(due)s.\nPriority: %(priority)s.")
                % {
                    "reference": event.case.reference, "subject": event.case.subject,
                    "due": timezone.localtime(event.due_at).strftime("%Y-%m-%d %H:%M"),
                    "priority": event.case.get_priority_display(),
                },
                from_email=None,
                recipient_list=recipients,
            )

    sent = run_once(key=f"sla-notice:{event.pk}", effect=send)
    SLAEvent.objects.filter(pk=event.pk, notified_at=None).update(notified_at=timezone.now())
    return sent


def check_sla_breaches(*, now: datetime | None = None) -> int:
    """Find active cases past due or near breach, record and escalate each (case, kind) once,
    then notify the supervisors of every event not notified yet. Returns the events recorded.

    Idempotent: a second run finds the events recorded and changes nothing."""
    now = now or timezone.now()
    cases = (
        Case.objects.filter(status__in=ACTIVE, sla_policy__isnull=False, merged_into__isnull=True)
        .exclude(first_response_due_at__isnull=True, resolution_due_at__isnull=True)
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
            if kind not in seen and _escalate(case.pk, kind, due_at) is not None:
                recorded += 1
    for event_id in SLAEvent.objects.filter(notified_at=None).values_list("pk", flat=True):
        try:
            notify_sla_event(event_id=event_id)
        except OSError:
            logger.exception("Could not notify SLA event %s; the next run tries again", event_id)
    return recorded
