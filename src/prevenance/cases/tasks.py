"""Background tasks of the cases app: ids in (or nothing), one service call, idempotent."""

from celery import shared_task

from prevenance.cases.models import SLAPolicy

# The module, not its function (docs/background-jobs.md, "import cycles").
from prevenance.cases.services import outbound as outbound_services
from prevenance.cases.services import priority as priority_services
from prevenance.cases.services import sla as sla_services
from prevenance.cases.services import surveys as survey_services
from prevenance.cases.services import suspended_discard, suspended_retention
from prevenance.core.models import BusinessCalendar


@shared_task(name="prevenance.cases.tasks.check_sla_breaches")
def check_sla_breaches() -> int:
    """Escalate SLA breaches and near breaches once each (run every 5 minutes by beat)."""
    return sla_services.check_sla_breaches()


@shared_task(name="prevenance.cases.tasks.refresh_priority_scores")
def refresh_priority_scores() -> int:
    """Re-evaluate the priority rules that change with time (age, SLA time left) on open cases
    (run every 5 minutes by beat); idempotent."""
    return priority_services.refresh_priority_scores()


@shared_task(name="prevenance.cases.tasks.rescore_open_cases")
def rescore_open_cases() -> int:
    """Score the open cases again with the priority figures as they are now (after an
    administrator changed them and asked for it in the admin); idempotent."""
    return priority_services.rescore_open_cases()


@shared_task(name="prevenance.cases.tasks.recalculate_due_times")
def recalculate_due_times(policy_id: int, include_breached: bool = False) -> int:
    """Move the due times of the open cases on an SLA policy after it changed; idempotent."""
    policy = SLAPolicy.objects.filter(pk=policy_id).first()
    return sla_services.recalculate_due_times(policy=policy, include_breached=include_breached) if policy else 0


@shared_task(name="prevenance.cases.tasks.recalculate_calendar_due_times")
def recalculate_calendar_due_times(calendar_id: int, include_breached: bool = True) -> int:
    """Move the due times of the open cases whose clocks run on a business calendar after its
    holidays or hours changed (the admin's action); idempotent."""
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    return sla_services.recalculate_calendar_due_times(calendar=calendar, include_breached=include_breached) if calendar else 0


@shared_task(name="prevenance.cases.tasks.purge_suspended_messages")
def purge_suspended_messages() -> int:
    """Delete the suspended messages past their retention (run daily by beat); idempotent."""
    return suspended_retention.purge_suspended()


@shared_task(name="prevenance.cases.tasks.discard_suspended_messages")
def discard_suspended_messages(job_id: int) -> int:
    """A supervisor's "Discard all" of many suspended messages, in batches that each commit
    (cases/services/suspended_discard.py, run_suspended_discard_job); run again, it goes on
    with what still waits and discards nothing twice."""
    return suspended_discard.run_suspended_discard_job(job_id=job_id)


@shared_task(name="prevenance.cases.tasks.deliver_message")
def deliver_message(message_id: int, subject: str = "") -> bool:
    """Send an outbound case message by email once. A failed send is due again after a backoff
    and the sweep below sends it then; given up after the last attempt, its error kept on the
    message (cases/services/outbound.py). `subject`: tasks queued by older versions."""
    return outbound_services.deliver(message_id=message_id, subject=subject)


@shared_task(name="prevenance.cases.tasks.send_due_emails")
def send_due_emails() -> int:
    """Send the tasks of the outbox emails that are due: acknowledgements, retries, and any
    whose task was lost (run every few seconds by beat; PREVENANCE_OUTBOX_SECONDS).

    The satisfaction surveys that are due go first, through the same sweep rather than a task
    of their own: they wait in their table (due_at) as these emails wait in theirs, and a
    survey whose case still has an email in the outbox waits for the next sweep, after it."""
    survey_services.send_due_surveys()  # each invitation's task is sent when its survey commits
    return outbound_services.send_due_emails()
