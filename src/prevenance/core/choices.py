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


# `Channel.values` builds a new list on every access; intake checks membership per contact.
CHANNELS = frozenset(Channel.values)
