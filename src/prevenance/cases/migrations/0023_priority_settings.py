"""The figures of the priority score move from the PREVENANCE_PRIORITY setting to the admin
(docs/routing-and-priority.md, "Configuration"). The one PrioritySettings row starts with what
the setting gives when this runs (read and checked as `priority.config()` did, and by the rules
the admin enforces), the defaults otherwise, so an upgrade keeps an installation's figures. A
value it cannot read stops the migration with the key's name; run again, a row already there is
kept as it is."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import django.core.validators
import django.utils.timezone
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import migrations, models

import prevenance.cases.models
from prevenance.core.currencies import clean_currency

SETTING = "PREVENANCE_PRIORITY"
MAX_POINTS = 1000
MAX_AGE_STEP_DAYS = 365
CASE_TYPES = ("question", "request", "complaint", "incident")
LEVELS = ("urgent", "high", "normal")
# The channel codes of core.choices.Channel when this was written (a setting naming another was
# never matched by any case either).
CHANNELS = (
    "email", "phone", "chat", "chatbot", "social", "sms", "web", "mobile_app", "store", "field_visit", "forum",
    "postal", "video", "import", "api",
)
SIMPLE_POINTS = (
    "vip_points", "public_points", "negative_points_per_unit", "negative_max", "positive_points_per_unit",
    "positive_max", "exclamation_points", "capitals_points", "churn_points", "legal_points", "sla_near_points",
    "sla_breached_points",
)


class Unreadable(ValueError):
    """A value of the setting that this migration cannot copy: the message names its key."""

    def __init__(self, key: str, expected: str, value) -> None:
        super().__init__(f"{SETTING}[{key!r}] must be {expected}, got {value!r}. Correct it (or remove the key to "
                         f"start from the default) and migrate again.")


def _whole(key: str, value, *, low: int, high: int, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise Unreadable(key, expected, value)
    try:
        whole = int(value)
    except (ValueError, OverflowError, InvalidOperation):  # NaN, infinity
        raise Unreadable(key, expected, value) from None
    if whole != value or not low <= whole <= high:
        raise Unreadable(key, expected, value)
    return whole


def _points(key: str, value) -> int:
    return _whole(key, value, low=0, high=MAX_POINTS, expected=f"a whole number of points from 0 to {MAX_POINTS}")


def _steps(key: str, value, read_limit) -> list[tuple]:
    """Three (threshold, points) pairs in any order, as config() sorted them; lowest first here."""
    expected = "three (threshold, points) pairs with three different thresholds"
    if isinstance(value, str | bytes | Mapping):
        raise Unreadable(key, expected, value)
    try:
        pairs = [(limit, points) for limit, points in value]
    except (TypeError, ValueError):
        raise Unreadable(key, expected, value) from None
    if len(pairs) != 3:
        raise Unreadable(key, expected + " (give a step 0 points to leave it out)", value)
    steps = sorted((read_limit(limit), _points(key, points)) for limit, points in pairs)
    if len({limit for limit, _points_ in steps}) != 3:
        raise Unreadable(key, expected, value)
    return steps


def _amount(key: str):
    def read(limit) -> Decimal:
        try:
            amount = Decimal(str(limit))
        except InvalidOperation:
            amount = Decimal("NaN")
        if isinstance(limit, bool) or not amount.is_finite() or not 0 <= amount < Decimal("1e10"):
            raise Unreadable(key, "pairs of an amount (0 or more) and points", limit)
        return amount.quantize(Decimal("0.01"))
    return read


def _days(key: str):
    def read(limit) -> int:
        return _whole(key, limit, low=0, high=MAX_AGE_STEP_DAYS, expected=f"pairs of days (0 to {MAX_AGE_STEP_DAYS}) "
                      "and points")
    return read


def _value_thresholds(key: str, value) -> dict:
    figures = {}
    for number, (amount, points) in enumerate(_steps(key, value, _amount(key)), start=1):
        figures.update({f"value_step{number}_amount": amount, f"value_step{number}_points": points})
    return figures


def _age_steps(key: str, value) -> dict:
    figures = {}
    for number, (days, points) in enumerate(_steps(key, value, _days(key)), start=1):
        figures.update({f"age_step{number}_days": days, f"age_step{number}_points": points})
    return figures


def _currency(key: str, value) -> dict:
    try:
        return {"currency": clean_currency(value)}
    except ValidationError:
        raise Unreadable(key, "an ISO 4217 currency code such as 'EUR'", value) from None


def _type_points(key: str, value) -> dict:
    # The dict replaced the default one whole: a type left out scored 0.
    if not isinstance(value, Mapping) or not set(value) <= set(CASE_TYPES):
        raise Unreadable(key, f"a dict of points by case type ({', '.join(CASE_TYPES)})", value)
    return {f"{case_type}_points": _points(key, value.get(case_type, 0)) for case_type in CASE_TYPES}


def _public_channels(key: str, value) -> dict:
    if isinstance(value, str | bytes | Mapping) or not all(isinstance(code, str) for code in _iterable(value)):
        raise Unreadable(key, "a list of channel codes", value)
    if unknown := sorted(set(value) - set(CHANNELS)):
        raise Unreadable(key, f"a list of channel codes ({', '.join(CHANNELS)}); {unknown[0]!r} is none", value)
    return {"public_channels": [code for code in CHANNELS if code in set(value)]}


def _iterable(value) -> tuple:
    try:
        return tuple(value)
    except TypeError:
        return (None,)


def _levels(key: str, value) -> dict:
    expected = "a dict of the lowest score of urgent, high and normal, urgent > high > normal"
    if not isinstance(value, Mapping) or set(value) != set(LEVELS):
        raise Unreadable(key, expected, value)
    levels = {level: _whole(key, value[level], low=-32768, high=32767, expected=expected) for level in LEVELS}
    if not levels["urgent"] > levels["high"] > levels["normal"]:
        raise Unreadable(key, expected, value)
    return {f"{level}_threshold": score for level, score in levels.items()}


READERS = {
    "value_thresholds": _value_thresholds, "currency": _currency, "type_points": _type_points,
    "public_channels": _public_channels, "age_steps": _age_steps, "levels": _levels,
    **{key: (lambda key, value: {key: _points(key, value)}) for key in SIMPLE_POINTS},
}


def figures_from_setting(overrides) -> dict:
    """The PrioritySettings fields the setting gives (a key left out keeps its default)."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"{SETTING} must be a dict, got {overrides!r}")
    if unknown := sorted(set(overrides) - set(READERS), key=str):
        raise ValueError(f"{SETTING} has unknown keys: {unknown}. Remove them and migrate again.")
    figures = {}
    for key, value in overrides.items():
        figures.update(READERS[key](key, value))
    return figures


def seed_from_setting(apps, schema_editor):
    PrioritySettings = apps.get_model("cases", "PrioritySettings")
    figures = figures_from_setting(getattr(settings, SETTING, None))
    PrioritySettings.objects.get_or_create(id=1, defaults=figures)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0022_sla_policy_one_active_per_scope'),
    ]

    operations = [
        migrations.CreateModel(
            name='PrioritySettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('currency', models.CharField(default='EUR', help_text='An ISO 4217 code (EUR, USD, GBP...). Orders in another currency are not counted: there are no exchange rates.', max_length=3, verbose_name='currency of the orders')),
                ('value_step1_amount', models.DecimalField(decimal_places=2, default=500, max_digits=12, validators=[django.core.validators.MinValueValidator(0)], verbose_name='first step: orders from')),
                ('value_step1_points', models.PositiveSmallIntegerField(default=10, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='first step: points')),
                ('value_step2_amount', models.DecimalField(decimal_places=2, default=1500, max_digits=12, validators=[django.core.validators.MinValueValidator(0)], verbose_name='second step: orders from')),
                ('value_step2_points', models.PositiveSmallIntegerField(default=20, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='second step: points')),
                ('value_step3_amount', models.DecimalField(decimal_places=2, default=5000, max_digits=12, validators=[django.core.validators.MinValueValidator(0)], verbose_name='third step: orders from')),
                ('value_step3_points', models.PositiveSmallIntegerField(default=30, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='third step: points')),
                ('vip_points', models.PositiveSmallIntegerField(default=25, help_text='The customer is marked VIP on their record.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='VIP customer')),
                ('complaint_points', models.PositiveSmallIntegerField(default=20, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='complaint')),
                ('incident_points', models.PositiveSmallIntegerField(default=20, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='incident')),
                ('request_points', models.PositiveSmallIntegerField(default=10, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='request')),
                ('question_points', models.PositiveSmallIntegerField(default=0, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='question')),
                ('public_channels', models.JSONField(blank=True, default=prevenance.cases.models.default_public_channels, help_text='Channels where everyone can read what the customer writes. Tick none to give no channel these points.', verbose_name='public channels')),
                ('public_points', models.PositiveSmallIntegerField(default=20, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='points for a public channel')),
                ('negative_points_per_unit', models.PositiveSmallIntegerField(default=3, help_text='A mildly negative word (“late”, “retard”) is one unit, an angry one (“unacceptable”, “inadmissible”) up to four; “very” and “très” multiply it.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='negative tone: points per unit')),
                ('negative_max', models.PositiveSmallIntegerField(default=30, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='negative tone: at most')),
                ('positive_points_per_unit', models.PositiveSmallIntegerField(default=2, help_text='A single “thanks” or “merci” is politeness and takes nothing away.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='positive tone: points taken away per unit')),
                ('positive_max', models.PositiveSmallIntegerField(default=10, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='positive tone: at most taken away')),
                ('exclamation_points', models.PositiveSmallIntegerField(default=5, help_text='“!!” or more, anywhere.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='repeated exclamation marks')),
                ('capitals_points', models.PositiveSmallIntegerField(default=5, help_text='Three or more words of three letters or more in capitals, making at least half of the words.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='written in capitals')),
                ('churn_points', models.PositiveSmallIntegerField(default=20, help_text='“Résilier”, “aller voir ailleurs”, “cancel my subscription”, “go elsewhere”… (“cancel my order” is a request, not a threat).', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='threat to leave')),
                ('legal_points', models.PositiveSmallIntegerField(default=25, help_text='“Avocat”, “mise en demeure”, “UFC-Que Choisir”, “lawyer”, “legal action”…', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='threat of legal action')),
                ('age_step1_days', models.PositiveSmallIntegerField(default=1, validators=[django.core.validators.MaxValueValidator(365)], verbose_name='first step: waiting for (days)')),
                ('age_step1_points', models.PositiveSmallIntegerField(default=5, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='first step: points')),
                ('age_step2_days', models.PositiveSmallIntegerField(default=3, validators=[django.core.validators.MaxValueValidator(365)], verbose_name='second step: waiting for (days)')),
                ('age_step2_points', models.PositiveSmallIntegerField(default=10, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='second step: points')),
                ('age_step3_days', models.PositiveSmallIntegerField(default=7, validators=[django.core.validators.MaxValueValidator(365)], verbose_name='third step: waiting for (days)')),
                ('age_step3_points', models.PositiveSmallIntegerField(default=20, validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='third step: points')),
                ('sla_near_points', models.PositiveSmallIntegerField(default=15, help_text="The case's earliest running SLA clock (first response, then resolution) has less time left than its policy's near-breach percentage allows.", validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='SLA due soon')),
                ('sla_breached_points', models.PositiveSmallIntegerField(default=30, help_text='That clock is past its due time. These points move the case up the list; its level rises one step through the SLA escalation.', validators=[django.core.validators.MaxValueValidator(1000)], verbose_name='SLA overdue')),
                ('urgent_threshold', models.SmallIntegerField(default=60, verbose_name='urgent from')),
                ('high_threshold', models.SmallIntegerField(default=30, verbose_name='high from')),
                ('normal_threshold', models.SmallIntegerField(default=0, help_text='Below this score a case is low (a clearly positive message on a plain question). It may be negative.', verbose_name='normal from')),
            ],
            options={
                'verbose_name': 'priority settings',
                'verbose_name_plural': 'priority settings',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='priority_settings_single_row'), models.CheckConstraint(condition=models.Q(('value_step1_amount__gte', 0), ('value_step2_amount__gt', models.F('value_step1_amount')), ('value_step3_amount__gt', models.F('value_step2_amount'))), name='priority_settings_value_steps_rise', violation_error_message='The customer value steps rise from the first to the third.'), models.CheckConstraint(condition=models.Q(('age_step2_days__gt', models.F('age_step1_days')), ('age_step3_days__gt', models.F('age_step2_days'))), name='priority_settings_age_steps_rise', violation_error_message='The waiting steps rise from the first to the third.'), models.CheckConstraint(condition=models.Q(('high_threshold__gt', models.F('normal_threshold')), ('urgent_threshold__gt', models.F('high_threshold'))), name='priority_settings_levels_in_order', violation_error_message='Urgent starts above high, and high above normal.')],
            },
        ),
        migrations.RunPython(seed_from_setting, migrations.RunPython.noop),
    ]
