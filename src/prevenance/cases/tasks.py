"""Background tasks of the cases app: ids in (or nothing), one service call, idempotent."""

from celery import shared_task

# The module, not its function (docs/background-jobs.md, "import cycles").
from prevenance.cases.services import sla as sla_services


@shared_task(name="prevenance.cases.tasks.check_sla_breaches")
def check_sla_breaches() -> int:
    """Escalate SLA breaches and near breaches once each (run every 5 minutes by beat)."""
    return sla_services.check_sla_breaches()
