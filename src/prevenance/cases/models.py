"""Cases (requests and complaints), their threads and what they are filed under.

See docs/cases.md for the model, the workflow and what issue 3 still adds.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from prevenance.cases.choices import (
    AutomaticEmail,
    CaseAuditKind,
    CaseStatus,
    CaseType,
    GestureStatus,
    GestureType,
    MessageKind,
    Priority,
    RoutingMethod,
    SLAEventKind,
    SuspendedStatus,
    SuspensionReason,
    TemplatePurpose,
)
from prevenance.cases.priority import PriorityConfig
from prevenance.core.choices import Channel
from prevenance.core.currencies import AmountField, clean_amount, clean_currency, format_money
from prevenance.core.models import AuditEvent, BusinessCalendar, TimeStampedModel
from prevenance.core.roles import ROLE_LABELS
from prevenance.core.text import search_key
from prevenance.customers.models import Customer, Order
from prevenance.customers.relations import ExportedFile
from prevenance.interactions.models import Interaction


class Team(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("business calendar"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="teams",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="case_teams")
    # The mailbox customers write to; replies to the team's cases are sent from it.
    email = models.EmailField(_("mailbox address"), blank=True, help_text=_("Replies to this team's cases are sent from this address."))
    routing_method = models.CharField(
        _("assignment within the team"), max_length=12, choices=RoutingMethod.choices, default=RoutingMethod.ROUND_ROBIN
    )
    # Round robin: the member who got the last case; the next one in username order gets the next.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("last assigned"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], name="case_team_unique_name", violation_error_message=_("A team with this name already exists.")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    """What an agent can handle (a language, a product, a kind of complaint); routing rules may require one."""

    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], name="case_skill_unique_name", violation_error_message=_("A skill with this name already exists.")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """How routing treats an agent: skills, whether they take new cases now, and their cap."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="agent_profile")
    skills = models.ManyToManyField(Skill, verbose_name=_("skills"), blank=True, related_name="agents")
    available = models.BooleanField(_("available for new cases"), default=True)
    max_open_cases = models.PositiveIntegerField(
        _("most open cases at once"), null=True, blank=True, help_text=_("Empty: no cap. Routing skips an agent at the cap.")
    )
    max_chats = models.PositiveIntegerField(
        _("most live chats at once"), null=True, blank=True, help_text=_("Empty: no cap.")
    )

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


class RoutingRule(TimeStampedModel):
    """Sends matching new cases to a team: the first active rule in position order that matches wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=100, help_text=_("Rules are tried from the lowest position."))
    active = models.BooleanField(pgettext_lazy("feminine", "active"), default=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True, help_text=_("Empty: any channel."))
    case_type = models.CharField(_("case type"), max_length=10, choices=CaseType.choices, blank=True, help_text=_("Empty: any type."))
    language = models.CharField(
        _("language"), max_length=5, blank=True, choices=settings.LANGUAGES,
        help_text=_("Empty: any language. A language also matches its regional variants (French: fr-BE, fr-CA...)."),
    )
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("One per line or comma-separated; any of them in the subject or message matches. Empty: any text."),
    )
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="routing_rules")
    required_skill = models.ForeignKey(
        Skill, verbose_name=_("required skill"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("Only agents with this skill get the case."),
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label agents put on cases. A table rather than a list in a column: one vocabulary to
    choose from, renamed in one place, and filtered through an index on SQLite and PostgreSQL
    alike (JSON list lookups differ between the two)."""

    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], name="case_tag_unique_name", violation_error_message=_("A tag with this name already exists.")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    """A category in the configurable tree of root causes, for continuous improvement."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(pgettext_lazy("feminine", "active"), default=True)

    class Meta:
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=Q(parent__isnull=False),
                name="root_cause_unique_name_per_parent",
                violation_error_message=_("This category already has a root cause with this name."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="root_cause_unique_top_level_name",
                violation_error_message=_("A top-level root cause with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        ancestor, hops = self.parent, 0
        while ancestor is not None and hops < 100:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A root cause cannot be filed under itself or one of its children.")})
            ancestor, hops = ancestor.parent, hops + 1


class CaseCounter(models.Model):
    """The last case number handed out in a year; its row is the lock that keeps references unique."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("case counter")
        verbose_name_plural = _("case counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Case(TimeStampedModel):
    reference = models.CharField(_("reference"), max_length=20, editable=False)
    # Intake always resolves the customer first, so services always set it; the column is
    # nullable only so that a GDPR erasure can unlink the case and keep it for the statistics.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
        db_index=False,  # case_customer_idx starts with the customer
    )
    type = models.CharField(_("type"), max_length=10, choices=CaseType.choices, default=CaseType.QUESTION)
    channel = models.CharField(_("origin channel"), max_length=20, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    # The subject folded for the inbox's search box (core.text.search_key: lower case, no
    # accents, spaces squeezed), so that "echange" finds "Demande d'échange" on every database
    # with a plain LIKE. Set with the subject: insert_case (the intake's raw INSERT) and save().
    # Folding can lengthen a text a little ("ß" -> "ss"), hence the longer column.
    subject_key = models.CharField(max_length=300, blank=True, default="", editable=False)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(_("priority"), max_length=6, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_cases", db_index=False,  # case_assignee_status_prio_idx starts with the assignee
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="cases",
        db_index=False,  # the case_team_* indexes start with the team
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="cases")
    root_cause = models.ForeignKey(
        RootCause, verbose_name=_("root cause"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
        db_index=False,  # case_root_cause_idx (see Meta)
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", db_index=False,
    )
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases",
        db_index=False,
    )
    reopened_from = models.ForeignKey(
        "self", verbose_name=_("follows up on"), null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups",
        db_index=False,
    )
    split_from = models.ForeignKey(
        "self", verbose_name=_("split from"), null=True, blank=True, on_delete=models.PROTECT, related_name="split_cases",
        db_index=False,
    )
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    language = models.CharField(_("language"), max_length=5, blank=True, help_text=_("The customer's language when the case opened."))
    # cases/priority.py: an explainable score; `priority_reasons` lists what made it, for display.
    priority_score = models.IntegerField(_("priority score"), default=0)
    priority_reasons = models.JSONField(_("priority reasons"), default=list, blank=True)
    # Email: the mailbox the customer wrote to (replies are sent from it) and the other people
    # in copy, kept on the case and copied on replies.
    mailbox = models.EmailField(_("mailbox"), blank=True)
    cc_addresses = models.JSONField(_("in copy"), default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    # The rule that sent the case to its team (shown with the priority reasons).
    routing_rule = models.ForeignKey(
        RoutingRule, verbose_name=_("routing rule"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Never cleared by a reopening (resolved_at is): the dashboard's reopen rate and "once and
    # done" count the cases first resolved in the period, reopened since or not.
    first_resolved_at = models.DateTimeField(_("first resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Closed as spam ("Mark as spam", cases/services/spam.py): closed, its sender blocked, and
    # out of every inbox view and of the dashboard's figures. "Not spam" reopens it and clears
    # this. db_default: the bench builders load cases with their own column lists.
    spam = models.BooleanField(_("spam"), default=False, db_default=False)
    last_customer_message_at = models.DateTimeField(_("last customer message at"), null=True, blank=True)
    # SLA (cases/sla.py, cases/services/sla.py): due times are set when the case opens, in UTC.
    sla_policy = models.ForeignKey(
        "SLAPolicy", verbose_name=_("SLA policy"), null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    first_response_due_at = models.DateTimeField(_("first response due at"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due at"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("SLA clock paused at"), null=True, blank=True)
    sla_paused_total = models.DurationField(_("business time paused"), default=timedelta(0))
    # Set when a reopening restarts the first-response clock of a case never answered; empty,
    # that clock runs from `created_at` (recalculate_due_times reads it).
    first_response_clock_started_at = models.DateTimeField(_("first-response clock started at"), null=True, blank=True)
    # The reply clock (Zendesk's "next reply time"): a customer's message that reopens a case
    # already answered waits for an answer again, due on the first-response target from the
    # reopening. Set while it runs, emptied by the agent's next reply; first_response_at and
    # first_response_due_at stay the first response's (the dashboard measures that one).
    next_reply_due_at = models.DateTimeField(_("next reply due at"), null=True, blank=True)
    next_reply_clock_started_at = models.DateTimeField(_("reply clock started at"), null=True, blank=True)
    # The agent-entry form submission that opened it (cases/services/submissions.py): the same
    # POST sent twice finds this case instead of opening a second one. NULL for every other intake.
    submission_id = models.UUIDField(_("form submission"), null=True, blank=True, editable=False)

    gdpr_on_erase = "unlink"
    gdpr_personal_fields = ("subject", "subject_key", "cc_addresses")

    @classmethod
    def gdpr_before_erase(cls, cases) -> None:
        """The subjects an agent wrote over go with the subject (customers/services/gdpr.py calls
        this before blanking it): the case.subject_changed audit rows keep who and when only."""
        AuditEvent.objects.filter(
            kind=CaseAuditKind.SUBJECT_CHANGED, subject_type=cls._meta.label_lower,
            subject_id__in=[str(pk) for pk in cases.values_list("pk", flat=True)],
        ).update(payload={"from": "", "to": ""})

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_all_cases", _("Can see the cases of every team")),
            ("merge_case", _("Can merge cases")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"], name="case_unique_reference", violation_error_message=_("This case reference is already taken.")
            ),
            models.UniqueConstraint(
                fields=["submission_id"], condition=Q(submission_id__isnull=False), name="case_unique_submission_id",
                violation_error_message=_("This form was already sent."),
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")),
                name="case_not_merged_into_itself",
                violation_error_message=_("A case cannot be merged into itself."),
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="case_customer_idx"),
            # The inbox: open work, most urgent first (cases/selectors/inbox.py). An agent's inbox
            # reads each of their teams, the triage queue (team NULL) and their own cases on its
            # own, so each source has its index in urgency order; the (team, status) and
            # (assignee, status) prefixes still serve the counts and routing's load per agent.
            # `channel` last, after the unique id: it does not change the order, but a team's cases
            # can be checked against the channel filter in the index, without reading the table.
            models.Index(fields=["team", "status", "-priority_score", "id", "channel"], name="case_team_status_prio_idx"),
            models.Index(fields=["assignee", "status", "-priority_score", "id"], name="case_assignee_status_prio_idx"),
            models.Index(fields=["status", "-priority_score", "id"], name="case_status_priority_idx"),
            # The triage queue (no team yet): small, and SQLite's statistics cannot tell that
            # "team IS NULL" is rare, so without its own index it walked a whole channel's cases.
            models.Index(fields=["status", "-priority_score", "id"], condition=Q(team__isnull=True), name="case_triage_prio_idx"),
            models.Index(fields=["status", "resolution_due_at", "id"], name="case_status_due_id_idx"),
            models.Index(fields=["team", "status", "resolution_due_at", "id"], name="case_team_status_due_idx"),
            # The inbox filtered by channel (a rare channel would walk each status's rows).
            models.Index(fields=["status", "channel", "-priority_score", "id"], name="case_status_channel_prio_idx"),
            # "Breaching soon" on the first-response clock: only cases still waiting for it.
            models.Index(
                fields=["status", "first_response_due_at", "id"], condition=Q(first_response_at__isnull=True),
                name="case_awaiting_first_idx",
            ),
            models.Index(
                fields=["team", "status", "first_response_due_at", "id"], condition=Q(first_response_at__isnull=True),
                name="case_team_awaiting_first_idx",
            ),
            # The same on the reply clock: only the few reopened cases waiting for an answer, so
            # opening or answering a case writes neither index.
            models.Index(
                fields=["status", "next_reply_due_at", "id"], condition=Q(next_reply_due_at__isnull=False),
                name="case_awaiting_reply_idx",
            ),
            models.Index(
                fields=["team", "status", "next_reply_due_at", "id"], condition=Q(next_reply_due_at__isnull=False),
                name="case_team_awaiting_reply_idx",
            ),
            # The dashboard's periods.
            models.Index(fields=["created_at"], name="case_created_idx"),
            # Partial: the periods' range conditions imply NOT NULL, so it still serves them; left
            # whole, SQLite took it for the inbox's "first_response_at IS NULL" (about one row a
            # value, it guessed) and read every unanswered case instead of the partial indexes above.
            models.Index(fields=["first_response_at"], condition=Q(first_response_at__isnull=False), name="case_first_response_idx"),
            models.Index(fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="case_resolved_idx"),
            models.Index(fields=["first_resolved_at"], condition=Q(first_resolved_at__isnull=False), name="case_first_resolved_idx"),
            # Links most cases do not have: indexed only where set, so that opening a case (all
            # of them empty) writes none of these indexes. A lookup by value (`order=…`, the
            # foreign keys' ON DELETE checks) implies "not null" and uses them.
            *(models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"case_{name}_idx")
              for name in ("root_cause", "order", "merged_into", "reopened_from", "split_from", "routing_rule")),
            # The few spam cases, for the dashboard's contacts that leave them out: no case
            # opened writes it.
            models.Index(fields=["id"], condition=Q(spam=True), name="case_spam_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}".strip()

    def refresh_subject_key(self) -> None:
        self.subject_key = search_key(self.subject)[:300]

    def save(self, *args, **kwargs):
        # Services write through insert_case (which sets the key) or save(update_fields=...)
        # without the subject; the admin edits the subject through a full save().
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "subject" in update_fields:
            self.refresh_subject_key()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "subject_key"}
        super().save(*args, **kwargs)


class Message(models.Model):
    """One entry in a case's thread: what the customer wrote, what we answered, or a note."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="messages",
        db_index=False,  # case_message_thread_idx starts with the case
    )
    # The case's customer, repeated so that a GDPR erasure (which walks the foreign keys to
    # Customer) blanks the words and a customer merge moves the thread with the case.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="case_messages"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,  # case_message_author_idx: only the messages an agent wrote
    )
    sender_address = models.CharField(_("sender address"), max_length=255, blank=True)
    sender_name = models.CharField(_("sender name"), max_length=255, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    # NULL rather than "" when there is none, so the unique constraint leaves those alone.
    message_id = models.CharField(_("message id"), max_length=255, null=True, blank=True)  # noqa: DJ001
    in_reply_to = models.CharField(_("in reply to"), max_length=255, blank=True)
    references = models.TextField(_("references"), blank=True, help_text=_("Message ids of the earlier messages, oldest first, space-separated."))
    mailbox = models.CharField(_("mailbox"), max_length=255, blank=True, help_text=_("The address the message came to, or was sent from."))
    to_addresses = models.JSONField(_("to"), default=list, blank=True)
    cc_addresses = models.JSONField(_("in copy"), default=list, blank=True)
    bcc_addresses = models.JSONField(_("in blind copy"), default=list, blank=True)
    # "auto_reply" or "bounce": stored, never answered (no mail loops).
    automatic = models.CharField(_("automatic message"), max_length=12, blank=True)
    # OUTBOUND messages: "acknowledgement" or "survey" when an automatic email of ours, not an
    # agent's reply ("" for those, and for the automatic emails stored before migration 0028).
    automatic_purpose = models.CharField(_("automatic email"), max_length=16, choices=AutomaticEmail.choices, blank=True)
    # What was wrong with it (malformed MIME, unknown charset, attachment refused...): stored and flagged.
    problems = models.JSONField(_("problems"), default=list, blank=True)
    # Outbound messages: sent by a background task (cases/services/outbound.py).
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    send_error = models.TextField(_("sending error"), blank=True)
    # The same, as a code and its values, said in the reader's language (cases/delivery_problems.py).
    send_problem = models.JSONField(_("sending problem"), default=dict, blank=True)
    # The outbox: when the next attempt to send this email is due (NULL: nothing to send, it
    # was sent or given up), how many were made, and the subject it goes with when it is not
    # "Re: [reference] case subject" (an acknowledgement's, a survey's). The periodic sweep
    # sends what is due, so an email whose task was lost is still sent.
    delivery_due_at = models.DateTimeField(_("next sending attempt"), null=True, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(_("sending attempts"), default=0)
    email_subject = models.CharField(_("email subject"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    interaction = models.ForeignKey(
        Interaction, verbose_name=_("interaction"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The case page's reply or note form submission that wrote it (cases/services/submissions.py):
    # the same POST sent twice finds this message instead of storing (and sending) a second one.
    submission_id = models.UUIDField(_("form submission"), null=True, blank=True, editable=False)

    gdpr_on_erase = "unlink"
    gdpr_personal_fields = (
        "sender_address", "sender_name", "body_text", "body_html", "to_addresses", "cc_addresses", "bcc_addresses", "email_subject",
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [
            # Each inbound message id is stored once: a re-delivered email finds its copy.
            models.UniqueConstraint(
                fields=["message_id"], condition=Q(message_id__isnull=False), name="case_message_unique_message_id",
                violation_error_message=_("A message with this id is already stored."),
            ),
            models.UniqueConstraint(
                fields=["submission_id"], condition=Q(submission_id__isnull=False), name="case_message_unique_submission_id",
                violation_error_message=_("This form was already sent."),
            ),
        ]
        indexes = [
            models.Index(fields=["case", "created_at"], name="case_message_thread_idx"),
            models.Index(fields=["author"], condition=Q(author__isnull=False), name="case_message_author_idx"),
            # Only the few emails waiting to be sent: the sweep's look-up stays small.
            models.Index(fields=["delivery_due_at"], name="case_message_outbox_idx", condition=Q(delivery_due_at__isnull=False)),
            # The timeline entries of out-of-office replies and bounces on cases, which the
            # dashboard does not count as contacts: a look-up of the few automatic messages.
            models.Index(fields=["interaction"], name="case_message_automatic_idx", condition=Q(automatic__gt="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @classmethod
    def gdpr_before_erase(cls, messages) -> None:
        """An erased customer's files go with their words (customers/services/gdpr.py calls this
        before unlinking the messages): the attachment rows now, the stored files once committed."""
        attachments = Attachment.objects.filter(message__in=messages.values("pk"))
        stored = [(attachment.file.storage, attachment.file.name) for attachment in attachments if attachment.file.name]
        attachments.delete()

        def delete_files() -> None:
            for storage, name in stored:
                storage.delete(name)

        transaction.on_commit(delete_files)

    @classmethod
    def gdpr_export_files(cls, messages) -> list[ExportedFile]:
        """The files of these messages, for a GDPR access request (customers/services/gdpr.py):
        what the person sent (the raw original of their emails included) and what they were sent."""
        attachments = Attachment.objects.filter(message__in=messages.values("pk")).order_by("pk")
        return [
            ExportedFile(
                model="cases.attachment", pk=a.pk, filename=a.filename, content_type=a.content_type, size=a.size,
                open=a.open, links={"message": a.message_id},
            )
            for a in attachments
        ]


class AttachmentManager(models.Manager):
    def get_queryset(self):
        # The bytes kept in the row are read only to be downloaded (Attachment.open), never
        # with a list of attachments.
        return super().get_queryset().defer("content")


class Attachment(models.Model):
    message = models.ForeignKey(Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attachments")
    # The storage cleans the stored name (no paths) and adds a suffix on clashes; the name the
    # customer gave is kept as they wrote it in `filename`, for display only.
    file = models.FileField(_("file"), upload_to="cases/%Y/%m/", max_length=255, blank=True)
    # Instead of `file`: the bytes in the row itself. Only the raw original of an inbound email
    # up to a size (email_intake.RAW_IN_DATABASE_MAX_BYTES): creating a file costs more than
    # the rest of a reply's intake on a journaled disk, and the row commits or rolls back
    # with its message, leaving no file behind.
    content = models.BinaryField(_("content kept in the database"), null=True, editable=False)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    # The raw original of an inbound email (email_intake._keep_raw), kept for its headers and
    # every part: not a file the customer attached, so shown apart ("Original email (.eml)")
    # and never counted with theirs. A customer's own "message.eml" is a file like any other.
    is_original = models.BooleanField(_("original email"), default=False, editable=False)

    objects = AttachmentManager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return self.filename

    def open(self):
        """The bytes as a binary file object: from the storage, or from the row. Raises
        FileNotFoundError when the stored file is gone."""
        if self.file.name:
            return self.file.open("rb")
        content = Attachment._base_manager.filter(pk=self.pk).values_list("content", flat=True).first()
        if content is None:
            raise FileNotFoundError(f"attachment {self.pk} has neither a file nor content")
        return io.BytesIO(bytes(content))


class Gesture(TimeStampedModel):
    """A commercial gesture (refund, voucher, gift...) made to a customer about a case.

    Granted at once within the requester's delegation limit, otherwise waiting for someone
    whose limit covers it (cases/services/gestures.py, docs/cases.md).
    """

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="gestures")
    # The case's customer, repeated so that a customer merge moves the gesture and an erasure
    # unlinks it; the amounts stay for the accounts and the control report.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="case_gestures"
    )
    type = models.CharField(_("type"), max_length=12, choices=GestureType.choices)
    amount = AmountField(_("amount"), max_digits=13, decimal_places=3)  # the currency's decimals, 0 to 3
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=GestureStatus.choices, default=GestureStatus.REQUESTED)
    without_proof = models.BooleanField(
        _("granted without proof"), default=False, help_text=_("Small enough to be granted on the customer's word alone.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="requested_gestures"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="decided_gestures",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    # NULL rather than "" for gestures that are not vouchers, so the unique constraint leaves them alone.
    voucher_code = models.CharField(_("voucher code"), max_length=20, null=True, blank=True)  # noqa: DJ001
    # The case page's gesture form submission that asked for it (cases/services/submissions.py):
    # the same POST sent twice finds this gesture instead of granting a second one.
    submission_id = models.UUIDField(_("form submission"), null=True, blank=True, editable=False)

    gdpr_on_erase = "unlink"
    gdpr_personal_fields = ("reason", "decision_reason")

    class Meta:
        verbose_name = _("commercial gesture")
        verbose_name_plural = _("commercial gestures")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_gesture", _("Can approve or refuse commercial gestures (within their delegation limit)")),
            ("view_gesture_report", _("Can see the control report of commercial gestures")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["voucher_code"], name="gesture_unique_voucher_code",
                violation_error_message=_("This voucher code is already taken."),
            ),
            models.UniqueConstraint(
                fields=["submission_id"], condition=Q(submission_id__isnull=False), name="gesture_unique_submission_id",
                violation_error_message=_("This form was already sent."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="gesture_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "currency", "amount"], name="gesture_queue_idx"),
            models.Index(fields=["decided_at"], name="gesture_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {format_money(self.amount, self.currency)} {self.currency}"

    def clean(self) -> None:
        self.currency = clean_currency(self.currency)
        self.amount = clean_amount(self.amount, self.currency)


class DelegationLimit(models.Model):
    """The total of the gestures granted on one case, in one currency, within which members of
    a group (or one user) grant a gesture on their own (request_gesture adds the case's granted
    total to the new gesture). A user's limit is the highest of their groups' limits and their own."""

    group = models.ForeignKey(Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="delegation_limits",
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    max_amount = AmountField(_("limit per case"), max_digits=13, decimal_places=3)

    class Meta:
        verbose_name = _("delegation limit")
        verbose_name_plural = _("delegation limits")
        ordering = ["currency", "max_amount"]
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, user__isnull=True) | Q(group__isnull=True, user__isnull=False),
                name="delegation_limit_group_or_user",
                violation_error_message=_("Choose either a group or a user."),
            ),
            models.CheckConstraint(
                condition=Q(max_amount__gte=0), name="delegation_limit_not_negative",
                violation_error_message=_("The limit cannot be negative."),
            ),
            models.UniqueConstraint(
                fields=["group", "currency"], condition=Q(group__isnull=False), name="delegation_limit_unique_group",
                violation_error_message=_("This group already has a limit in this currency."),
            ),
            models.UniqueConstraint(
                fields=["user", "currency"], condition=Q(user__isnull=False), name="delegation_limit_unique_user",
                violation_error_message=_("This user already has a limit in this currency."),
            ),
        ]

    def __str__(self) -> str:
        # The admin's title and breadcrumb: "Conseiller : 50,00 EUR" in French, the role's label
        # rather than its group's name (a group of one's own keeps its name).
        who = ROLE_LABELS.get(self.group.name, self.group.name) if self.group_id is not None else self.user
        return _("%(role)s: %(amount)s %(currency)s") % {
            "role": who, "amount": format_money(self.max_amount, self.currency), "currency": self.currency,
        }

    def clean(self) -> None:
        self.currency = clean_currency(self.currency)
        self.max_amount = clean_amount(self.max_amount, self.currency, field="max_amount")


class SLAPolicy(TimeStampedModel):
    """Targets in business time for the cases it matches; the most specific active policy wins
    (cases/sla.py select_policy, docs/cases.md). Two active policies never have the same scope
    (type, priority, customer tier): one would never apply."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(pgettext_lazy("feminine", "active"), default=True)
    case_type = models.CharField(_("case type"), max_length=10, choices=CaseType.choices, blank=True, help_text=_("Empty: any type."))
    priority = models.CharField(_("priority"), max_length=6, choices=Priority.choices, blank=True, help_text=_("Empty: any priority."))
    # Matched against Customer.tier (empty for standard customers) when the clock starts.
    customer_tier = models.CharField(_("customer tier"), max_length=50, blank=True, help_text=_("Empty: any customer."))
    first_response_target = models.DurationField(_("first response target (business time)"))
    resolution_target = models.DurationField(_("resolution target (business time)"))
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("business calendar"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="sla_policies", help_text=_("Empty: the team's calendar, else around the clock."),
    )
    near_breach_percent = models.PositiveSmallIntegerField(
        _("near breach at (% of the target)"), default=80, help_text=_("Warn once this share of the target has elapsed."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], name="sla_policy_unique_name", violation_error_message=_("An SLA policy with this name already exists.")
            ),
            # The race between two people saving: services/sla_policies.py checks first, naming the
            # policy, with the tier compared as matching does (spaces, any case). SQLite's LOWER
            # folds ASCII letters only: "Élite" beside "élite" is left to that check there.
            models.UniqueConstraint(
                F("case_type"), F("priority"), Lower("customer_tier"), condition=Q(active=True),
                name="sla_policy_unique_active_scope",
                violation_error_message=_("Another active SLA policy already has this type, priority and customer tier."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_target__gt=timedelta(0), resolution_target__gt=timedelta(0)),
                name="sla_policy_targets_positive",
                violation_error_message=_("Targets must be longer than zero."),
            ),
            models.CheckConstraint(
                condition=Q(near_breach_percent__gte=1, near_breach_percent__lte=99),
                name="sla_policy_near_breach_percent_range",
                violation_error_message=_("The near-breach threshold is between 1 and 99 %."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SLAEvent(models.Model):
    """A breach or near breach found by the periodic check: one per case and kind, so the
    escalation happens once however often the check runs."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(_("kind"), max_length=24, choices=SLAEventKind.choices)
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(_("found at"), default=timezone.now)
    notified_at = models.DateTimeField(_("supervisors notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA event")
        verbose_name_plural = _("SLA events")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], name="sla_event_unique_case_kind",
                violation_error_message=_("This case already has this SLA event."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"


class Signature(TimeStampedModel):
    """The relational signature: tone guidance for agents and the sign-off added to outbound
    messages. A team's signature in the message's language wins over the brand-wide one."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="signatures",
        help_text=_("Empty: the brand-wide signature."),
    )
    language = models.CharField(_("language"), max_length=5)
    tone_guidance = models.TextField(_("tone guidance"), blank=True, help_text=_("Shown to agents above the reply box."))
    sign_off = models.TextField(
        _("sign-off"), help_text=_("Added under every outbound message; placeholders such as {agent_first_name} allowed."),
    )
    active = models.BooleanField(pgettext_lazy("feminine", "active"), default=True)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "language"], condition=Q(team__isnull=False, active=True), name="signature_one_per_team_language",
                violation_error_message=_("This team already has an active signature in this language."),
            ),
            models.UniqueConstraint(
                fields=["language"], condition=Q(team__isnull=True, active=True), name="signature_one_brand_per_language",
                violation_error_message=_("There is already an active brand-wide signature in this language."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReplyTemplate(TimeStampedModel):
    """A macro: subject and text with placeholders ({customer_first_name}, {case_reference},
    {order_reference}, {agent_first_name}...), per language; acknowledgements and survey
    invitations are templates too, chosen by purpose, language and channel."""

    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=16, choices=TemplatePurpose.choices, default=TemplatePurpose.REPLY)
    language = models.CharField(_("language"), max_length=5)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True, help_text=_("Empty: any channel."))
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="reply_templates",
        help_text=_("Empty: every team."),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"))
    active = models.BooleanField(pgettext_lazy("masculine", "active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["purpose", "name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "name", "language", "channel"], name="reply_template_unique_name",
                violation_error_message=_("A template with this name already exists for this language and channel."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class SatisfactionSurvey(models.Model):
    """The CSAT and effort questions sent after a case is resolved, answered on a one-click page.

    Created at the resolution with `due_at` (resolution + PREVENANCE_SURVEY_DELAY_MINUTES) and no
    `sent_at`; the periodic sweep sends the invitation once it is due (services/surveys.py), then
    stamps `sent_at` and clears `due_at`. The agent and channel are copied at the resolution so
    the answer is reported against who handled the case then, even if it is reassigned later.
    """

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="surveys")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="case_surveys"
    )
    token = models.CharField(_("token"), max_length=64, editable=False)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=5)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, default=timezone.now)  # NULL: not sent yet
    # When the invitation is due (NULL once sent): the resolution plus the survey delay.
    due_at = models.DateTimeField(_("to be sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    csat = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    ces = models.PositiveSmallIntegerField(_("ease (1-7)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    gdpr_on_erase = "unlink"
    gdpr_personal_fields = ("comment",)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="survey_unique_token"),
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5), name="survey_csat_1_to_5",
                violation_error_message=_("Satisfaction is between 1 and 5."),
            ),
            models.CheckConstraint(
                condition=Q(ces__isnull=True) | Q(ces__gte=1, ces__lte=7), name="survey_ces_1_to_7",
                violation_error_message=_("Ease is between 1 and 7."),
            ),
        ]
        indexes = [
            models.Index(fields=["sent_at"], name="survey_sent_idx"),
            # The sweep's "due" read: only the surveys still waiting to be sent.
            models.Index(fields=["due_at"], name="survey_due_idx", condition=Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        when = self.sent_at or self.due_at  # not sent yet: when it is due
        return f"{self.case} {when:%Y-%m-%d}" if when else str(self.case)


MAX_REOPEN_DAYS = 365


class CaseSettings(TimeStampedModel):
    """The case settings an administrator changes in the admin: one row (id 1), created by the
    migration that brought it, with the values the environment gave before (docs/cases.md)."""

    SINGLETON_ID = 1

    reopen_days = models.PositiveSmallIntegerField(
        _("reopen window (days)"), default=7,
        validators=[MaxValueValidator(MAX_REOPEN_DAYS)],
        help_text=_("A customer's reply within this many days of a case's resolution reopens it; a later reply "
                    "opens a new case linked to the old one. 0: a reply to a resolved case always opens a new case."),
    )

    class Meta:
        verbose_name = _("case settings")
        verbose_name_plural = _("case settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="case_settings_single_row"),
            models.CheckConstraint(
                condition=Q(reopen_days__lte=MAX_REOPEN_DAYS), name="case_settings_reopen_days_max",
                violation_error_message=_("The reopen window is at most 365 days."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Case settings"))


class TrustThreshold(models.Model):
    """Up to this amount, in one currency, a commercial gesture is made on the customer's word,
    without asking for proof. A currency without a row has no such threshold: proof is asked."""

    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    max_amount = AmountField(_("largest gesture without proof"), max_digits=13, decimal_places=3)

    class Meta:
        verbose_name = _("trust-without-proof threshold")
        verbose_name_plural = _("trust-without-proof thresholds")
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"], name="trust_threshold_unique_currency",
                violation_error_message=_("This currency already has a threshold."),
            ),
            models.CheckConstraint(
                condition=Q(max_amount__gte=0), name="trust_threshold_not_negative",
                violation_error_message=_("The threshold cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.max_amount} {self.currency}"

    def clean(self) -> None:
        self.currency = clean_currency(self.currency)
        self.max_amount = clean_amount(self.max_amount, self.currency, field="max_amount")


# Bounds of the priority settings: beyond them a figure is a typing mistake, not a policy.
MAX_PRIORITY_POINTS = 1000
MAX_AGE_STEP_DAYS = 365


def default_public_channels() -> list[str]:
    return [Channel.SOCIAL, Channel.FORUM]


def _points_field(label, default: int, help_text=""):
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MaxValueValidator(MAX_PRIORITY_POINTS)], help_text=help_text,
    )


def _step_amount_field(label, default: int):
    return AmountField(label, max_digits=13, decimal_places=3, default=default, validators=[MinValueValidator(0)])


def _step_days_field(label, default: int):
    return models.PositiveSmallIntegerField(label, default=default, validators=[MaxValueValidator(MAX_AGE_STEP_DAYS)])


def _rising(first: str, second: str, third: str) -> Q:
    return Q(**{f"{second}__gt": F(first)}) & Q(**{f"{third}__gt": F(second)})


class PrioritySettings(TimeStampedModel):
    """The figures of the priority score (cases/priority.py, docs/routing-and-priority.md) that an
    administrator changes in the admin: one row (id 1), created by the migration that brought
    it with the figures of the former PREVENANCE_PRIORITY setting, or the defaults.

    A model of its own rather than more fields on CaseSettings: its figures go to the score of
    every case and are kept per process with the routing settings (selectors/kept_settings.py),
    they are checked together (steps that rise, levels in order), and a change to them is
    followed by rescoring the open cases, which the reopen window has nothing to do with."""

    SINGLETON_ID = 1
    # What an administrator sets (the service takes any of these): everything but the timestamps.
    FIGURES = (
        "currency", "value_step1_amount", "value_step1_points", "value_step2_amount", "value_step2_points",
        "value_step3_amount", "value_step3_points", "vip_points", "complaint_points", "incident_points",
        "request_points", "question_points", "public_channels", "public_points", "negative_points_per_unit",
        "negative_max", "positive_points_per_unit", "positive_max", "exclamation_points", "capitals_points",
        "churn_points", "legal_points", "age_step1_days", "age_step1_points", "age_step2_days", "age_step2_points",
        "age_step3_days", "age_step3_points", "sla_near_points", "sla_breached_points", "urgent_threshold",
        "high_threshold", "normal_threshold",
    )

    currency = models.CharField(
        _("currency of the orders"), max_length=3, default="EUR",
        help_text=_("An ISO 4217 code (EUR, USD, GBP...). Orders in another currency are not counted: there are no "
                    "exchange rates."),
    )
    value_step1_amount = _step_amount_field(_("first step: orders from"), 500)
    value_step1_points = _points_field(_("first step: points"), 10)
    value_step2_amount = _step_amount_field(_("second step: orders from"), 1500)
    value_step2_points = _points_field(_("second step: points"), 20)
    value_step3_amount = _step_amount_field(_("third step: orders from"), 5000)
    value_step3_points = _points_field(_("third step: points"), 30)
    vip_points = _points_field(_("VIP customer"), 25, _("The customer is marked VIP on their record."))
    complaint_points = _points_field(_("complaint"), 20)
    incident_points = _points_field(_("incident"), 20)
    request_points = _points_field(_("request"), 10)
    question_points = _points_field(_("question"), 0)
    public_channels = models.JSONField(
        _("public channels"), default=default_public_channels, blank=True,
        help_text=_("Channels where everyone can read what the customer writes. Tick none to give no channel "
                    "these points."),
    )
    public_points = _points_field(_("points for a public channel"), 20)
    negative_points_per_unit = _points_field(
        _("negative tone: points per unit"), 3,
        _("A mildly negative word (“late”, “retard”) is one unit, an angry one (“unacceptable”, “inadmissible”) up "
          "to four; “very” and “très” multiply it."),
    )
    negative_max = _points_field(_("negative tone: at most"), 30)
    positive_points_per_unit = _points_field(
        _("positive tone: points taken away per unit"), 2,
        _("A single “thanks” or “merci” is politeness and takes nothing away."),
    )
    positive_max = _points_field(_("positive tone: at most taken away"), 10)
    exclamation_points = _points_field(_("repeated exclamation marks"), 5, _("“!!” or more, anywhere."))
    capitals_points = _points_field(
        _("written in capitals"), 5,
        _("Three or more words of three letters or more in capitals, making at least half of the words."),
    )
    churn_points = _points_field(
        _("threat to leave"), 20,
        _("“Résilier”, “aller voir ailleurs”, “cancel my subscription”, “go elsewhere”… (“cancel my order” is a "
          "request, not a threat)."),
    )
    legal_points = _points_field(
        _("threat of legal action"), 25,
        _("“Avocat”, “mise en demeure”, “UFC-Que Choisir”, “lawyer”, “legal action”…"),
    )
    age_step1_days = _step_days_field(_("first step: waiting for (days)"), 1)
    age_step1_points = _points_field(_("first step: points"), 5)
    age_step2_days = _step_days_field(_("second step: waiting for (days)"), 3)
    age_step2_points = _points_field(_("second step: points"), 10)
    age_step3_days = _step_days_field(_("third step: waiting for (days)"), 7)
    age_step3_points = _points_field(_("third step: points"), 20)
    sla_near_points = _points_field(
        _("SLA due soon"), 15,
        _("The case's earliest running SLA clock (first response, then resolution) has less time left than its "
          "policy's near-breach percentage allows."),
    )
    sla_breached_points = _points_field(
        _("SLA overdue"), 30,
        _("That clock is past its due time. These points move the case up the list; its level rises one step "
          "through the SLA escalation."),
    )
    urgent_threshold = models.SmallIntegerField(_("urgent from"), default=60)
    high_threshold = models.SmallIntegerField(_("high from"), default=30)
    normal_threshold = models.SmallIntegerField(
        _("normal from"), default=0,
        help_text=_("Below this score a case is low (a clearly positive message on a plain question). It may be "
                    "negative."),
    )

    class Meta:
        verbose_name = _("priority settings")
        verbose_name_plural = _("priority settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="priority_settings_single_row"),
            models.CheckConstraint(
                condition=Q(value_step1_amount__gte=0)
                & _rising("value_step1_amount", "value_step2_amount", "value_step3_amount"),
                name="priority_settings_value_steps_rise",
                violation_error_message=_("The customer value steps rise from the first to the third."),
            ),
            models.CheckConstraint(
                condition=_rising("age_step1_days", "age_step2_days", "age_step3_days"),
                name="priority_settings_age_steps_rise",
                violation_error_message=_("The waiting steps rise from the first to the third."),
            ),
            models.CheckConstraint(
                condition=_rising("normal_threshold", "high_threshold", "urgent_threshold"),
                name="priority_settings_levels_in_order",
                violation_error_message=_("Urgent starts above high, and high above normal."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Priority settings"))

    def clean(self) -> None:
        """The errors the constraints would give, on the field to correct, with the figure to beat."""
        errors: dict[str, list] = {}
        self._clean_public_channels(errors)
        if self.currency is not None:
            try:
                self.currency = clean_currency(self.currency)
                for name in ("value_step1_amount", "value_step2_amount", "value_step3_amount"):
                    self._clean_step_amount(errors, name)
            except ValidationError as error:
                errors.update(error.message_dict)
        self._check_rising(errors, ("value_step1_amount", "value_step2_amount", "value_step3_amount"))
        self._check_rising(errors, ("age_step1_days", "age_step2_days", "age_step3_days"))
        if self._both_set("high_threshold", "normal_threshold") and self.high_threshold <= self.normal_threshold:
            errors.setdefault("high_threshold", []).append(
                _("High starts above normal (%(normal)s).") % {"normal": self.normal_threshold})
        if self._both_set("urgent_threshold", "high_threshold") and self.urgent_threshold <= self.high_threshold:
            errors.setdefault("urgent_threshold", []).append(
                _("Urgent starts above high (%(high)s).") % {"high": self.high_threshold})
        if errors:
            raise ValidationError(errors)

    def _clean_step_amount(self, errors: dict, name: str) -> None:
        """The order amounts of a step have the decimals of the orders' currency (no 500.50 JPY)."""
        try:
            clean_amount(getattr(self, name), self.currency, field=name)
        except ValidationError as error:
            errors.update(error.message_dict)

    def _both_set(self, *names: str) -> bool:
        return all(isinstance(getattr(self, name), int | Decimal) for name in names)

    def _check_rising(self, errors: dict, names: tuple[str, ...]) -> None:
        for lower, higher in zip(names, names[1:], strict=False):
            if self._both_set(lower, higher) and getattr(self, higher) <= getattr(self, lower):
                errors.setdefault(higher, []).append(
                    _("Each step starts above the one before (%(previous)s).") % {"previous": getattr(self, lower)})

    def _clean_public_channels(self, errors: dict) -> None:
        chosen = self.public_channels
        if not isinstance(chosen, list | tuple) or not all(isinstance(code, str) for code in chosen):
            errors["public_channels"] = [_("A list of channels.")]
            return
        if unknown := [code for code in chosen if code not in Channel.values]:
            errors["public_channels"] = [_("“%(value)s” is not a channel.") % {"value": unknown[0]}]
            return
        # In the order of the channel list, once each: the same choice always reads the same.
        self.public_channels = [code for code in Channel.values if code in chosen]

    def as_priority_config(self) -> PriorityConfig:
        """The figures as the rules read them (cases/priority.py)."""
        return PriorityConfig(
            value_thresholds=(
                (self.value_step3_amount, self.value_step3_points), (self.value_step2_amount, self.value_step2_points),
                (self.value_step1_amount, self.value_step1_points),
            ),
            currency=self.currency,
            vip_points=self.vip_points,
            type_points={
                CaseType.COMPLAINT: self.complaint_points, CaseType.INCIDENT: self.incident_points,
                CaseType.REQUEST: self.request_points, CaseType.QUESTION: self.question_points,
            },
            public_channels=tuple(self.public_channels),
            public_points=self.public_points,
            negative_points_per_unit=self.negative_points_per_unit,
            negative_max=self.negative_max,
            positive_points_per_unit=self.positive_points_per_unit,
            positive_max=self.positive_max,
            exclamation_points=self.exclamation_points,
            capitals_points=self.capitals_points,
            churn_points=self.churn_points,
            legal_points=self.legal_points,
            age_steps=(
                (self.age_step3_days, self.age_step3_points), (self.age_step2_days, self.age_step2_points),
                (self.age_step1_days, self.age_step1_points),
            ),
            sla_near_points=self.sla_near_points,
            sla_breached_points=self.sla_breached_points,
            levels={Priority.URGENT: self.urgent_threshold, Priority.HIGH: self.high_threshold,
                    Priority.NORMAL: self.normal_threshold},
        )


class ChannelCost(models.Model):
    """What one contact costs on a channel, for the dashboard's estimated cost by channel."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    unit_cost = AmountField(_("cost per contact"), max_digits=11, decimal_places=3)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")

    class Meta:
        verbose_name = _("channel cost")
        verbose_name_plural = _("channel costs")
        ordering = ["-unit_cost"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], name="channel_cost_unique_channel",
                violation_error_message=_("This channel already has a cost."),
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="channel_cost_not_negative",
                violation_error_message=_("A cost cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(channel)s: %(amount)s %(currency)s") % {
            "channel": self.get_channel_display(), "amount": format_money(self.unit_cost, self.currency), "currency": self.currency,
        }

    def clean(self) -> None:
        self.currency = clean_currency(self.currency)
        self.unit_cost = clean_amount(self.unit_cost, self.currency, field="unit_cost")


class SavedView(TimeStampedModel):
    """An inbox filter an agent saved (their own) or a supervisor shared (no owner)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="saved_case_views", help_text=_("Empty: shared with everyone."),
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    position = models.PositiveIntegerField(_("position"), default=100)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class SuspendedMessage(models.Model):
    """An inbound message that could not become a case on its own, kept for a person to review
    (the "suspended" queue of helpdesks): an email with no readable or no usable sender
    address, a contact form whose anti-robot field was filled in (a robot, or a password
    manager). A supervisor recovers it into a case, giving the sender's address, or discards
    it; the waiting ones are deleted after PREVENANCE_SUSPENDED_RETENTION_DAYS.
    See docs/email-intake.md, "Suspended messages"."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=SuspensionReason.choices)
    status = models.CharField(_("status"), max_length=20, choices=SuspendedStatus.choices, default=SuspendedStatus.WAITING)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    # What the message said about its sender, as it came (From header, or the form's field).
    sender = models.CharField(_("sender as given"), max_length=1000, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    # Email: the Message-ID (or the id derived from the bytes), so that the same message
    # delivered again is kept once. Contact form: the submission's message id.
    message_id = models.CharField(_("message ID"), max_length=255, blank=True)
    mailbox = models.CharField(_("mailbox"), max_length=254, blank=True)
    # Email: the raw original, in the row up to a size, else a file (as Attachment does).
    raw = models.BinaryField(_("raw message"), null=True, editable=False)
    raw_file = models.FileField(_("raw message file"), upload_to="suspended/%Y/%m/", max_length=255, blank=True)
    # Contact form: the fields as sent, and the files that passed the form's checks, stored
    # through the storage: [{"name", "path", "size", "content_type"}] (a list, not rows: they
    # are read and deleted with the row, and a form has at most a few).
    form_data = models.JSONField(_("form fields"), default=dict, blank=True)
    form_files = models.JSONField(_("form files"), default=list, blank=True)
    # How many of the form's files were not kept: refused by those checks, or past their number.
    files_refused = models.PositiveSmallIntegerField(_("files refused"), default=0)
    client = models.CharField(_("client"), max_length=100, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    case = models.ForeignKey(Case, verbose_name=_("recovered into"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("suspended message")
        verbose_name_plural = _("suspended messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="suspended_message_unique_message_id",
            ),
        ]
        indexes = [models.Index(fields=["status", "-received_at"], name="suspended_status_received")]

    def __str__(self) -> str:
        return self.subject or self.sender or str(self.pk)

    def stored_file_names(self) -> list[str]:
        """The storage names of the files this row holds (the raw email's, the form's)."""
        return [name for name in (self.raw_file.name, *(item["path"] for item in self.form_files)) if name]

    def raw_bytes(self) -> bytes | None:
        """The raw email, from the row or the storage; None for a contact form. Raises
        FileNotFoundError when the stored file is gone."""
        if self.raw_file.name:
            with self.raw_file.open("rb") as handle:
                return handle.read()
        return bytes(self.raw) if self.raw is not None else None


class SuspendedDiscardJob(models.Model):
    """A "Discard all" of the suspended queue too large for a web request, done in the
    background by cases.tasks.discard_suspended_messages: what it discards (the filter, up to
    which row), who asked, how far it went. The page reads it to say a discard is under way
    instead of offering the same one again; a job that stopped progressing (its task lost) is
    no longer under way after services.suspended_discard.DISCARD_JOB_LEASE, and a new request
    for the same filter takes over from it. See docs/email-intake.md, "Suspended messages"."""

    # Blank: any reason, any channel (the page's filter as it was).
    reason = models.CharField(_("reason"), max_length=20, choices=SuspensionReason.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    # The newest message the supervisor's page counted: one kept after it is not discarded unseen.
    up_to_id = models.BigIntegerField(_("up to message"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    matched = models.PositiveIntegerField(_("matching messages when requested"))
    discarded = models.PositiveIntegerField(_("discarded"), default=0)
    progressed_at = models.DateTimeField(_("last progress"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("background discard of suspended messages")
        verbose_name_plural = _("background discards of suspended messages")
        constraints = [
            # One job under way per filter: a second request (double click, two tabs) finds it.
            models.UniqueConstraint(fields=["reason", "channel"], condition=Q(finished_at=None), name="suspended_discard_one_running"),
        ]

    def __str__(self) -> str:
        return f"{self.reason or '*'}/{self.channel or '*'} ≤ {self.up_to_id}"


class BlockedSender(models.Model):
    """An email address whose messages are kept aside (SuspensionReason.SENDER_BLOCKED) instead
    of opening a case, threading or being acknowledged: blocked by "Mark as spam" on a case
    (cases/services/spam.py), unblocked by "Not spam", from the admin, or when a person recovers
    one of its suspended messages and asks so. See docs/cases.md, "Spam and blocked senders"."""

    # Normalised as identities are (customers.normalize.normalize_email: trimmed, lower case, an
    # IDN domain in A-labels), so that the unique index is case-insensitive and the intake's
    # lookup by the normalised From address is one index probe.
    address = models.CharField(_("address"), max_length=254, unique=True)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("blocked by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    blocked_at = models.DateTimeField(_("blocked at"), default=timezone.now)
    from_case = models.ForeignKey(
        Case, verbose_name=_("from case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("blocked sender")
        verbose_name_plural = _("blocked senders")
        ordering = ["-blocked_at", "-id"]

    def __str__(self) -> str:
        return self.address
