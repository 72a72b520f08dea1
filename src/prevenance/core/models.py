import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from prevenance.core.choices import AuditKind
from prevenance.core.webhooks.signing import new_webhook_secret


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who did what to which record, written by the service inside its own transaction."""

    kind = models.CharField(_("kind"), max_length=40, choices=AuditKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    subject_type = models.CharField(_("subject type"), max_length=60)
    subject_id = models.CharField(_("subject id"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}#{self.subject_id}"


# Business-hours calendars: the opening hours SLA clocks run on (see docs/calendars.md).
# The computations live in prevenance.core.calendars and work on an in-memory CalendarSpec.


def validate_time_zone(value: str) -> None:
    """Refuse anything that is not an IANA time zone known to this machine's tz database."""
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("“%(value)s” is not a known IANA time zone (such as Europe/Paris)."),
            code="invalid_time_zone",
            params={"value": str(value)[:64]},
        ) from exc


class Weekday(models.IntegerChoices):
    # Python's date.weekday() numbering, so a spec can index its week by it directly.
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                name="business_calendar_unique_name",
                violation_error_message=_("A business calendar with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


MIDNIGHT = dt.time(0, 0)


class OpeningPeriod(models.Model):
    """One stretch of opening hours on one weekday; a lunch break is two periods.

    An end of 00:00 means midnight at the end of the day, so 00:00–00:00 is the whole day.
    """

    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="periods"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("opens at"))
    end_time = models.TimeField(_("closes at"))

    class Meta:
        verbose_name = _("opening period")
        verbose_name_plural = _("opening periods")
        ordering = ["calendar", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")) | Q(end_time=MIDNIGHT),
                name="opening_period_starts_before_end",
                violation_error_message=_("An opening period must start before it ends."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="opening_period_valid_weekday",
                violation_error_message=_("The weekday must be between 0 (Monday) and 6 (Sunday)."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="holiday_unique_per_calendar_and_date",
                violation_error_message=_("This calendar already has a holiday on that date."),
            ),
        ]

    def __str__(self) -> str:
        return f"{date_format(self.date, 'SHORT_DATE_FORMAT')} {self.name}"  # 25/12/2027, as the reader's language writes it


class TaskEffect(models.Model):
    """A side effect a background task has produced, or is producing now (sent an email, called
    a webhook): the record that lets a retried or redelivered task skip what is already done.

    Written only by prevenance.core.queue.run_once; `key` names the effect and its subject,
    e.g. "consent-confirmation:42". Kept apart from the rows it is about because some of them
    (the consent ledger) are append-only and never edited.
    """

    key = models.CharField(_("key"), max_length=200)
    claimed_at = models.DateTimeField(_("claimed at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("task effect")
        verbose_name_plural = _("task effects")
        ordering = ["-claimed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["key"], name="task_effect_unique_key")]

    def __str__(self) -> str:
        return self.key


# Webhooks: signed HTTP calls to an integrator's URL when something happens (docs/webhooks.md).
# The code is in prevenance.core.webhooks; apps emit their events through it.


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Given up")


class WebhookEndpoint(TimeStampedModel):
    """An integrator's URL and the events it wants; every call is signed with its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, help_text=_("Called with POST and a JSON body, http or https."))
    # Kept readable (not hashed): it signs every call. Shown to administrators only.
    secret = models.CharField(_("signing secret"), max_length=100, default=new_webhook_secret)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("The event types sent to this URL; empty: every event.")
    )
    active = models.BooleanField(pgettext_lazy("masculine", "active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint, and how sending it went: the delivery log."""

    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=60)
    # The same for every endpoint that gets the event, so a receiver can skip one it already has.
    event_id = models.CharField(_("event id"), max_length=40)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    status = models.CharField(_("status"), max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set when its task is sent to the queue: until then the retry sweep does not send it again
    # (a task waiting behind a backlog); cleared when an attempt starts. See webhooks/services.py.
    queued_until = models.DateTimeField(_("queued until"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    # Set while a worker makes an attempt (core/webhooks/services.py, _claim): "retry now"
    # leaves such a delivery to that worker rather than start a second POST beside it.
    attempt_started_at = models.DateTimeField(_("attempt started at"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event_per_endpoint"),
        ]
        indexes = [
            # The retry sweep: pending deliveries whose next attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


# A staff user's own settings (docs/dashboard.md, "My language").


def language_choices() -> list[tuple[str, str]]:
    # A callable, so the migration refers to settings.LANGUAGES instead of freezing a copy of it.
    return list(settings.LANGUAGES)


class UserPreferences(TimeStampedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="preferences"
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=language_choices,
        help_text=_("The language of the pages and of the emails sent to this user; blank: as the browser or the site says."),
    )

    class Meta:
        verbose_name = _("user preferences")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or '-'}"
