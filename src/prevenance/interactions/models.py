from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from prevenance.core.choices import Channel
from prevenance.customers.models import Customer, Order
from prevenance.interactions.choices import Direction, JourneyPhase, Nature


class Interaction(models.Model):
    """One touchpoint between the company and a customer, whatever the channel."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions",
        db_index=False,  # interaction_timeline_idx starts with the customer
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    nature = models.CharField(_("nature"), max_length=13, choices=Nature.choices, default=Nature.INFORMATIVE)
    phase = models.CharField(_("journey phase"), max_length=6, choices=JourneyPhase.choices, default=JourneyPhase.AFTER)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    summary = models.CharField(_("summary"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,  # interaction_agent_idx (see Meta)
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions",
        db_index=False,  # interaction_order_idx (see Meta)
    )
    # A generic link to what the touchpoint belongs to (a case, a campaign, a survey...).
    ref_type = models.CharField(_("reference type"), max_length=40, blank=True)
    ref_id = models.CharField(_("reference id"), max_length=64, blank=True)
    # Unique where set (constraint in Meta): a field's unique=True would add a second index for
    # LIKE queries on PostgreSQL, which nothing runs.
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)  # noqa: DJ001

    # Erasure keeps the row for aggregate counts (channel, direction, date) and drops the words.
    gdpr_on_erase = "unlink"
    gdpr_personal_fields = ("summary", "body")

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline_idx"),
            models.Index(fields=["ref_type", "ref_id"], name="interaction_ref_idx"),
            # Only the rows that have them: most timeline entries name no agent and no order.
            models.Index(fields=["agent"], condition=Q(agent__isnull=False), name="interaction_agent_idx"),
            models.Index(fields=["order"], condition=Q(order__isnull=False), name="interaction_order_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="interaction_unique_external_id",
                violation_error_message=_("An interaction with this external id is already stored."),
            ),
        ]

    def __str__(self) -> str:
        # The admin's title and breadcrumb, in the reader's language (the 360 timeline's words).
        direction = _("inbound") if self.direction == Direction.INBOUND else _("outbound")
        when = date_format(timezone.localtime(self.occurred_at), "SHORT_DATE_FORMAT")
        return f"{self.get_channel_display()} · {direction} · {when}"
