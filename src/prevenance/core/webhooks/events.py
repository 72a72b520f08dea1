"""The events a webhook endpoint can subscribe to. Apps emit them through services.emit_event."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    CASE_CREATED = "case.created", _("A case was opened")
    CASE_UPDATED = "case.updated", _("A case changed (status, assignment, priority, tags, thread)")
    CASE_RESOLVED = "case.resolved", _("A case was resolved")
    GESTURE_REQUESTED = "gesture.requested", _("A commercial gesture was requested")


# Sent only by "send test event"; never subscribed to.
TEST_EVENT = "webhook.test"
