from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


class LifecycleState(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    LOST = "lost", _("Lost")
    REACTIVATED = "reactivated", _("Reactivated")


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social handle")
    LOYALTY_CARD = "loyalty_card", _("Loyalty card")
    EXTERNAL_ID = "external_id", _("External id")
    DEVICE_ID = "device_id", _("Device id")


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", _("Marketing by email")
    MARKETING_SMS = "marketing_sms", _("Marketing by SMS")
    MARKETING_PHONE = "marketing_phone", _("Marketing by phone")
    POSTAL = "postal", _("Postal mailings")
    PROFILING = "profiling", _("Profiling")
    SURVEYS = "surveys", _("Surveys")


class ConsentAction(models.TextChoices):
    REQUESTED = "requested", _("Requested (awaiting double opt-in)")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentMethod(models.TextChoices):
    CHECKBOX = "checkbox", _("Checkbox ticked")
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in confirmed")
    VERBAL = "verbal", _("Verbal, recorded by an agent")
    PAPER = "paper", _("Signed paper form")
    IMPORT = "import", _("Imported from another system")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")


class ConsentState(models.TextChoices):
    UNKNOWN = "unknown", _("Never asked")
    PENDING = "pending", _("Awaiting confirmation")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Qualification(models.TextChoices):
    """The seeds' two levels: known to the company, or also open to commercial contact."""

    IDENTIFIED = "identified", _("Identified, no opt-in")
    OPTED_IN = "opted_in", _("Opted in")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


class ConflictStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Dismissed")


# Purposes whose grant by email must be confirmed by the person (double opt-in).
DOUBLE_OPT_IN_PURPOSES = frozenset({ConsentPurpose.MARKETING_EMAIL})
MARKETING_PURPOSES = frozenset(
    {
        ConsentPurpose.MARKETING_EMAIL,
        ConsentPurpose.MARKETING_SMS,
        ConsentPurpose.MARKETING_PHONE,
        ConsentPurpose.POSTAL,
    }
)


class IdentityAuditKind(models.TextChoices):
    """Audit kinds written about identities (customers/services/deliverability.py)."""

    BOUNCED = "identity.bounced", _("Email address bounced")
    BOUNCE_CLEARED = "identity.bounce_cleared", _("Bounced email address to be tried again")
