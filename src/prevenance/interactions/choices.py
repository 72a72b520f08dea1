from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound (customer-initiated, pull)")
    OUTBOUND = "outbound", _("Outbound (company-initiated, push)")


class Nature(models.TextChoices):
    INFORMATIVE = "informative", _("Informative")
    TRANSACTIONAL = "transactional", _("Transactional")


class JourneyPhase(models.TextChoices):
    BEFORE = "before", _("Before purchase")
    DURING = "during", _("During purchase")
    AFTER = "after", _("After purchase")
