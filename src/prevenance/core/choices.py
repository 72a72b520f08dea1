from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Every way a customer and the company reach each other (ranked by cost in the seeds)."""

    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Live chat")
    CHATBOT = "chatbot", _("Chatbot")
    SOCIAL = "social", _("Social network")
    SMS = "sms", _("SMS")
    WEB = "web", _("Website")
    MOBILE_APP = "mobile_app", _("Mobile app")
    STORE = "store", _("Store")
    FIELD_VISIT = "field_visit", _("Field visit")
    FORUM = "forum", _("Forum")
    POSTAL = "postal", _("Postal mail")
    VIDEO = "video", _("Video call")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class AuditKind(models.TextChoices):
    CUSTOMER_MERGED = "customer.merged", _("Customers merged")
    CUSTOMER_ERASED = "customer.erased", _("Customer erased (GDPR)")
    CUSTOMER_EXPORTED = "customer.exported", _("Customer data exported (GDPR)")
    IMPORT_RUN = "import.run", _("CSV import")
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")


class CalendarAuditKind(models.TextChoices):
    """Audit kinds written by the business-calendar services (core/calendars/services.py); the
    subject is the calendar, also for its holidays and opening periods."""

    CREATED = "calendar.created", _("Business calendar created")
    CHANGED = "calendar.changed", _("Business calendar changed")
    DELETED = "calendar.deleted", _("Business calendar deleted")
    HOLIDAY_ADDED = "calendar.holiday_added", _("Holiday added")
    HOLIDAY_CHANGED = "calendar.holiday_changed", _("Holiday changed")
    HOLIDAY_REMOVED = "calendar.holiday_removed", _("Holiday removed")
    # Written by the cases app (cases/services/sla.py), which runs the SLA clocks on calendars.
    DUE_TIMES_RECALCULATED = "calendar.due_times_recalculated", _("Due times of a calendar's open cases recalculated")


# `Channel.values` builds a new list on every access; intake checks membership per contact.
CHANNELS = frozenset(Channel.values)
