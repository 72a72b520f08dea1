"""The case settings an administrator keeps in the admin (models CaseSettings, TrustThreshold,
PrioritySettings). The priority figures every case is scored with are read through
kept_settings.priority_config(), kept per process."""

from datetime import timedelta
from decimal import Decimal

from prevenance.cases.models import Case, CaseSettings, PrioritySettings, TrustThreshold
from prevenance.cases.workflow import ACTIVE


def case_settings() -> CaseSettings:
    """The one settings row; its defaults (not saved) if it is missing, e.g. after a test flush."""
    return CaseSettings.objects.filter(pk=CaseSettings.SINGLETON_ID).first() or CaseSettings(pk=CaseSettings.SINGLETON_ID)


def reopen_window() -> timedelta:
    """How long after its resolution a customer's reply reopens a case."""
    return timedelta(days=case_settings().reopen_days)


def trust_threshold(currency: str) -> Decimal:
    """Up to this amount a gesture is made on the customer's word, without asking for proof.
    A currency without a threshold has none: proof is always asked."""
    amount = TrustThreshold.objects.filter(currency=currency).values_list("max_amount", flat=True).first()
    return amount if amount is not None else Decimal("0.00")


def priority_settings() -> PrioritySettings:
    """The one row of the priority score's figures; its defaults (not saved) if it is missing."""
    singleton = PrioritySettings.SINGLETON_ID
    return PrioritySettings.objects.filter(pk=singleton).first() or PrioritySettings(pk=singleton)


def cases_to_rescore() -> int:
    """The open cases (new, open, pending; not merged): each keeps the score it was given until
    it is scored again (services.priority.rescore_open_cases)."""
    return Case.objects.filter(status__in=ACTIVE, merged_into__isnull=True).count()
