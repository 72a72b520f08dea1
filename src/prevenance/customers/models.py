from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from prevenance.core.choices import Channel
from prevenance.core.currencies import AmountField, clean_amount
from prevenance.core.models import TimeStampedModel
from prevenance.core.text import name_search_keys
from prevenance.customers.choices import (
    ConflictStatus,
    ConsentAction,
    ConsentMethod,
    ConsentPurpose,
    CustomerKind,
    IdentityKind,
    Language,
    LifecycleState,
    OrderStatus,
)
from prevenance.customers.normalize import display_email

# What may name a nameless customer on a page (a card number or a device id may not).
_ADDRESS_KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.SOCIAL)

# How each model that points at a customer is treated on a GDPR erasure
# (read by customers.gdpr, which walks every relation generically):
#   gdpr_on_erase = "delete"  the rows go;
#   gdpr_on_erase = "unlink"  the rows stay, customer set to NULL and gdpr_personal_fields blanked;
#   a classmethod gdpr_before_erase(rows), when defined, runs first (e.g. to delete stored files).


class Customer(TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PERSON)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.FRENCH)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 alpha-2 code"))
    lifecycle_state = models.CharField(
        _("lifecycle state"), max_length=12, choices=LifecycleState.choices, default=LifecycleState.PROSPECT
    )
    # Folded copies of the name for prefix search ("dupont jean" and "jean dupont"). Their
    # indexes differ per database (byte order on PostgreSQL), so migration 0002 makes them.
    sort_key = models.CharField(max_length=220, blank=True, editable=False)
    alt_key = models.CharField(max_length=220, blank=True, editable=False)
    # Service levels and case priority (cases/sla.py, cases/priority.py) read these two.
    tier = models.CharField(
        _("tier"), max_length=50, blank=True, help_text=_("Customer segment for service levels, e.g. gold. Empty: standard.")
    )
    is_vip = models.BooleanField(_("VIP"), default=False, help_text=_("Raises the priority of this customer's cases."))
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    PERSONAL_FIELDS = (
        "first_name", "last_name", "company_name", "birth_date", "address", "postal_code", "city",
    )

    # Whether the customer has any order, when the read that loaded this instance said so in
    # the same statement (resolve_customer, cases' lock_case; False for a customer just
    # created); None: not read. customers.selectors.has_ordered reads it, or asks.
    has_orders: bool | None = None

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["lifecycle_state"], name="customer_lifecycle_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_itself"
            ),
        ]
        permissions = [
            ("merge_customer", _("Can merge two customers")),
            ("export_customer_data", _("Can export a customer's personal data (GDPR)")),
            ("erase_customer", _("Can erase a customer (GDPR)")),
            ("import_data", _("Can import CSV files")),
            ("export_data", _("Can export CSV files")),
        ]

    def __str__(self) -> str:
        return self.display_name or self.loaded_address or f"#{self.pk}"

    @property
    def loaded_address(self) -> str:
        """How a nameless customer is known, as a helpdesk shows them: their first email (its
        domain as people read it: normalize.display_email) or phone, when the caller loaded
        their identities (customers.selectors.load_nameless_addresses); "" otherwise, so that
        printing a customer never runs a query."""
        loaded = getattr(self, "_prefetched_objects_cache", {}).get("identities")
        return next((display_email(identity.value) for identity in loaded or () if identity.kind in _ADDRESS_KINDS), "")

    @property
    def display_name(self) -> str:
        if self.kind == CustomerKind.COMPANY and self.company_name:
            return self.company_name
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.company_name

    def refresh_search_keys(self) -> None:
        self.sort_key, self.alt_key = name_search_keys(
            self.first_name, self.last_name, self.company_name, company=self.kind == CustomerKind.COMPANY
        )

    def save(self, *args, **kwargs):
        self.refresh_search_keys()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"sort_key", "alt_key", "updated_at"}
        super().save(*args, **kwargs)


class Identity(models.Model):
    """One way to reach or recognise a customer; (kind, normalised value) names one person."""

    # db_index=False: the (customer, kind) index below serves every lookup by customer.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value as given"), max_length=255)
    normalized = models.CharField(_("normalised value"), max_length=255)
    network = models.CharField(_("social network"), max_length=30, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    source_channel = models.CharField(_("source channel"), max_length=20, choices=Channel.choices, default=Channel.WEB)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    # An email address a mail server refused for good (a bounce of one of our emails): no
    # automatic email goes there until the person writes from it again (docs/email-intake.md).
    bounced_at = models.DateTimeField(_("bounced at"), null=True, blank=True)
    # db_default: the CSV import and the bench builders write identities with their own column lists.
    bounce_reason = models.CharField(_("bounce reason"), max_length=255, blank=True, default="", db_default="")
    # Temporary failures (a mail server gave up for now) counted since the first of a series:
    # enough of them flag the address too (PREVENANCE_SOFT_BOUNCE_LIMIT within _DAYS).
    soft_bounces = models.PositiveSmallIntegerField(_("temporary delivery failures"), default=0, db_default=0)
    soft_bounces_since = models.DateTimeField(_("temporary failures since"), null=True, blank=True)

    gdpr_on_erase = "delete"

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(
                # Value first: intake looks identities up by value alone (normalized IN (...)).
                fields=["normalized", "kind"],
                name="identity_unique_value_kind",
                violation_error_message=_("This identity already belongs to a customer."),
            ),
        ]
        indexes = [models.Index(fields=["customer", "kind"], name="identity_customer_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.normalized}"


class ConsentWording(models.Model):
    """What the person was told when asked, versioned: the ledger points at the exact text."""

    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent wording")
        verbose_name_plural = _("consent wordings")
        constraints = [
            models.UniqueConstraint(fields=["purpose", "language", "version"], name="consent_wording_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.version} ({self.language})"


class ConsentEvent(models.Model):
    """One line of the append-only consent ledger; the current state is derived, never stored."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_events",
        db_index=False,  # consent_customer_purpose_idx starts with the customer
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    action = models.CharField(_("action"), max_length=10, choices=ConsentAction.choices)
    method = models.CharField(_("how it was given"), max_length=20, choices=ConsentMethod.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    source = models.CharField(_("source"), max_length=200, blank=True)
    wording = models.ForeignKey(
        ConsentWording, verbose_name=_("wording shown"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmation_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # Proof that survives erasure: a digest of the contact the consent was about.
    subject_digest = models.CharField(_("subject digest"), max_length=64, blank=True, editable=False)

    gdpr_on_erase = "unlink"
    gdpr_personal_fields = ()

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent ledger")
        indexes = [models.Index(fields=["customer", "purpose", "occurred_at"], name="consent_customer_purpose_idx")]

    def __str__(self) -> str:
        when = date_format(timezone.localtime(self.occurred_at), "SHORT_DATE_FORMAT")  # as the reader's language writes it
        return f"{self.get_purpose_display()} · {self.get_action_display()} · {when}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_ledger_unlink", False):
            raise ValueError("The consent ledger is append-only: add a new event instead of editing one.")
        super().save(*args, **kwargs)


class Order(TimeStampedModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="orders",
        db_index=False,  # order_customer_date_idx starts with the customer
    )
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    ordered_at = models.DateTimeField(_("date"))
    amount = AmountField(_("amount"), max_digits=13, decimal_places=3)  # the currency's decimals, 0 to 3
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.WEB)
    store = models.CharField(_("store or site"), max_length=100, blank=True)
    items_count = models.PositiveIntegerField(_("items"), default=1)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PLACED)

    gdpr_on_erase = "unlink"  # kept for the accounts; nothing personal in an order row
    gdpr_personal_fields = ()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "-ordered_at", "-id"], name="order_customer_date_idx")]

    def __str__(self) -> str:
        return self.reference

    def clean(self) -> None:
        # The currency is not held to ISO 4217 here: a shop's own code is imported as it comes.
        self.amount = clean_amount(self.amount, self.currency)


class IdentityConflict(models.Model):
    """Intake found identities of two different customers together: a person decides, not a guess."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("first customer"))
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("second customer"))
    identities = models.JSONField(_("identities seen together"), default=list)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    gdpr_on_erase = "delete"

    class Meta:
        verbose_name = _("identity conflict")
        verbose_name_plural = _("identity conflicts")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"],
                condition=Q(status="open"),
                name="identity_conflict_one_open_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.customer_a_id} / #{self.customer_b_id}"
