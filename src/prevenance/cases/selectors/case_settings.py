"""The case settings an administrator keeps in the admin (models CaseSettings, TrustThreshold)."""

from datetime import timedelta
from decimal import Decimal

from prevenance.cases.models import CaseSettings, TrustThreshold


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
