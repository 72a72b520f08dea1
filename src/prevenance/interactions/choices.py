from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound (from the customer)")
    OUTBOUND = "outbound", _("Outbound (to the customer)")


class Nature(models.TextChoices):
    INFORMATIVE = "informative", _("Informative")
    TRANSACTIONAL = "transactional", _("Transactional")


class JourneyPhase(models.TextChoices):
    BEFORE = "before", _("Before purchase")
    DURING = "during", _("During purchase")
    AFTER = "after", _("After purchase")
