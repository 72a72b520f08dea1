"""The case settings an administrator keeps (the reopen window, the trust-without-proof
thresholds, the figures of the priority score): each change through a service, with an audit
row naming who made it and the values before and after (docs/cases.md, "Case settings")."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases.choices import SettingsAuditKind
from prevenance.cases.models import CaseSettings, PrioritySettings, TrustThreshold
from prevenance.core.audit import record_audit
from prevenance.core.currencies import clean_currency, in_minor_units
from prevenance.core.models import AuditEvent

# The trust-without-proof thresholds an installation starts with: what migration 0021 writes
# when PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF is not set (its DEFAULT_TRUST).
DEFAULT_TRUST_THRESHOLDS = {"EUR": Decimal("30.00")}


@transaction.atomic
def update_case_settings(*, actor, reopen_days: int) -> CaseSettings:
    """Set the reopen window (whole days, 0 to 365: the model's validators say why otherwise)."""
    CaseSettings.objects.get_or_create(pk=CaseSettings.SINGLETON_ID)
    row = CaseSettings.objects.select_for_update().get(pk=CaseSettings.SINGLETON_ID)
    before = row.reopen_days
    row.reopen_days = reopen_days
    row.full_clean()
    if row.reopen_days != before:
        row.save(update_fields=["reopen_days", "updated_at"])
        record_audit(kind=SettingsAuditKind.CASE_SETTINGS_CHANGED, actor=actor, subject=row,
                     payload={"reopen_days": [before, row.reopen_days]})
    return row


@transaction.atomic
def set_trust_threshold(*, actor, currency: str, max_amount: Decimal | str) -> TrustThreshold:
    """Gestures up to `max_amount` in `currency` are made without proof (replaces that currency's)."""
    currency = clean_currency(currency)
    candidate = TrustThreshold(currency=currency, max_amount=max_amount)
    # The currency's row is replaced, not refused as a duplicate: its other rules are checked here.
    candidate.full_clean(validate_unique=False, validate_constraints=False)
    if candidate.max_amount < 0:
        raise ValidationError({"max_amount": [_("The threshold cannot be negative.")]})
    current = TrustThreshold.objects.select_for_update().filter(currency=currency).first()
    before = str(in_minor_units(current.max_amount, currency)) if current is not None else None
    threshold, _created = TrustThreshold.objects.update_or_create(currency=currency, defaults={"max_amount": candidate.max_amount})
    threshold.refresh_from_db(fields=["max_amount"])
    after = str(in_minor_units(threshold.max_amount, currency))
    if before != after:
        record_audit(kind=SettingsAuditKind.TRUST_THRESHOLD_SET, actor=actor, subject=threshold,
                     payload={"currency": currency, "max_amount": [before, after]})
    return threshold


@transaction.atomic
def remove_trust_threshold(*, actor, threshold: TrustThreshold) -> None:
    """From now on, proof is asked for every gesture in that currency."""
    deleted, _rows = TrustThreshold.objects.filter(pk=threshold.pk).delete()
    if deleted:
        record_audit(kind=SettingsAuditKind.TRUST_THRESHOLD_REMOVED, actor=actor, subject=threshold,
                     payload={"currency": threshold.currency,
                              "max_amount": str(in_minor_units(threshold.max_amount, threshold.currency))})


def ensure_default_trust_thresholds() -> int:
    """Write the default thresholds (DEFAULT_TRUST_THRESHOLDS) where there is none at all and
    no administrator ever set or removed one; returns how many were written. Run after every
    migrate, and so after a `flush`, like the delegation limits (cases/apps.py): a flushed
    database had no threshold, and proof was asked for every gesture.

    The thresholds are taken as a whole, as migration 0021 wrote them: an installation that has
    any (an upgrade's PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF=GBP=25 gave GBP only) is left as it
    is. Every change in the admin goes through set_trust_threshold or remove_trust_threshold,
    which leave an audit row: with one, the administrator has decided, and thresholds they
    removed stay removed. Only rows deleted without the services (the shell, SQL), none left
    and no such audit row, come back."""
    with transaction.atomic():
        if TrustThreshold.objects.exists():
            return 0
        decided = AuditEvent.objects.filter(
            subject_type=TrustThreshold._meta.label_lower,
            kind__in=[SettingsAuditKind.TRUST_THRESHOLD_SET, SettingsAuditKind.TRUST_THRESHOLD_REMOVED],
        )
        if decided.exists():
            return 0
        created = 0
        for currency, amount in DEFAULT_TRUST_THRESHOLDS.items():
            _row, new = TrustThreshold.objects.get_or_create(currency=currency, defaults={"max_amount": amount})
            created += new
    return created


@transaction.atomic
def update_priority_settings(*, actor, **figures) -> PrioritySettings:
    """Set figures of the priority score (any of PrioritySettings.FIGURES; the others keep
    theirs). Checked as the admin checks them: a ValidationError names each field to correct
    and nothing is saved. Cases scored before keep their score until they are scored again
    (services.priority.request_rescore)."""
    if unknown := sorted(set(figures) - set(PrioritySettings.FIGURES)):
        raise TypeError(f"update_priority_settings() got unknown figures: {unknown}")
    PrioritySettings.objects.get_or_create(pk=PrioritySettings.SINGLETON_ID)
    row = PrioritySettings.objects.select_for_update().get(pk=PrioritySettings.SINGLETON_ID)
    before = _figures(row)
    for name, value in figures.items():
        setattr(row, name, value)
    row.full_clean()
    after = _figures(row)
    if changed := {name: [before[name], after[name]] for name in PrioritySettings.FIGURES if before[name] != after[name]}:
        row.save(update_fields=[*changed, "updated_at"])
        record_audit(kind=SettingsAuditKind.PRIORITY_SETTINGS_CHANGED, actor=actor, subject=row, payload=changed)
    return row


def _figures(row: PrioritySettings) -> dict:
    """The figures as the audit row holds them: amounts as text with the decimals of the
    orders' currency ("500.00" EUR, "500" JPY)."""
    figures = {name: getattr(row, name) for name in PrioritySettings.FIGURES}
    return {name: str(in_minor_units(value, row.currency)) if isinstance(value, Decimal) else value
            for name, value in figures.items()}
