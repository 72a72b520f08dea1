"""The reopen window and the trust-without-proof thresholds move from the environment to the
admin (docs/cases.md). The one settings row and the thresholds start with what the environment
gives when it is migrated (PREVENANCE_REOPEN_DAYS, PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF, as
the settings read them before), so an upgrade keeps an installation's values."""

import os
from decimal import Decimal, InvalidOperation

import django.core.validators
import django.utils.timezone
from django.db import migrations, models


DEFAULT_REOPEN_DAYS = 7
DEFAULT_TRUST = "EUR=30"


def environment_reopen_days() -> int:
    raw = os.environ.get("PREVENANCE_REOPEN_DAYS", "").strip()
    try:
        days = int(raw) if raw else DEFAULT_REOPEN_DAYS
    except ValueError:
        raise ValueError(f"PREVENANCE_REOPEN_DAYS must be a whole number, got {raw!r}") from None
    if not 0 <= days <= 365:
        raise ValueError(f"PREVENANCE_REOPEN_DAYS must be between 0 and 365, got {days}")
    return days


def environment_trust_thresholds() -> dict[str, Decimal]:
    raw = os.environ.get("PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF") or DEFAULT_TRUST
    amounts = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        currency, _, amount = item.partition("=")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal("NaN")
        currency = currency.strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not value.is_finite() or value < 0:
            raise ValueError(f"PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF must read like EUR=30,GBP=25, got {raw!r}")
        amounts[currency] = value.quantize(Decimal("0.01"))
    return amounts


def seed_from_environment(apps, schema_editor):
    CaseSettings = apps.get_model("cases", "CaseSettings")
    TrustThreshold = apps.get_model("cases", "TrustThreshold")
    CaseSettings.objects.get_or_create(id=1, defaults={"reopen_days": environment_reopen_days()})
    for currency, amount in environment_trust_thresholds().items():
        TrustThreshold.objects.get_or_create(currency=currency, defaults={"max_amount": amount})


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0020_routing_rule_language_choices'),
    ]

    operations = [
        migrations.CreateModel(
            name='CaseSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('reopen_days', models.PositiveSmallIntegerField(default=7, help_text="A customer's reply within this many days of a case's resolution reopens it; a later reply opens a new case linked to the old one. 0: a reply to a resolved case always opens a new case.", validators=[django.core.validators.MaxValueValidator(365)], verbose_name='reopen window (days)')),
            ],
            options={
                'verbose_name': 'case settings',
                'verbose_name_plural': 'case settings',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='case_settings_single_row'), models.CheckConstraint(condition=models.Q(('reopen_days__lte', 365)), name='case_settings_reopen_days_max', violation_error_message='The reopen window is at most 365 days.')],
            },
        ),
        migrations.CreateModel(
            name='TrustThreshold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(default='EUR', max_length=3, verbose_name='currency')),
                ('max_amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='largest gesture without proof')),
            ],
            options={
                'verbose_name': 'trust-without-proof threshold',
                'verbose_name_plural': 'trust-without-proof thresholds',
                'ordering': ['currency'],
                'constraints': [models.UniqueConstraint(fields=('currency',), name='trust_threshold_unique_currency', violation_error_message='This currency already has a threshold.'), models.CheckConstraint(condition=models.Q(('max_amount__gte', 0)), name='trust_threshold_not_negative', violation_error_message='The threshold cannot be negative.')],
            },
        ),
        migrations.RunPython(seed_from_environment, migrations.RunPython.noop),
    ]
