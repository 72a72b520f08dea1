from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseType(models.TextChoices):
    QUESTION = "question", _("Question")
    REQUEST = "request", _("Request")
    COMPLAINT = "complaint", _("Complaint")
    INCIDENT = "incident", _("Incident")


class CaseStatus(models.TextChoices):
    """The workflow's states; the allowed moves between them are in cases/workflow.py."""

    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Waiting for the customer")
    PENDING_INTERNAL = "pending_internal", _("Waiting for an internal answer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("Reply to the customer")
    NOTE = "note", _("Internal note")


class AutomaticEmail(models.TextChoices):
    """Which automatic email of ours an OUTBOUND message is (Message.automatic_purpose): the
    thread and the timeline name it so, not as an agent's reply. The values are the template
    purposes that write them (TemplatePurpose)."""

    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement of receipt (automatic)")
    SURVEY = "survey", _("Satisfaction survey (automatic)")


class CaseAuditKind(models.TextChoices):
    """Audit kinds written by case services (stored in core.AuditEvent.kind)."""

    OPENED = "case.opened", _("Case opened")
    STATUS_CHANGED = "case.status_changed", _("Case status changed")
    ASSIGNED = "case.assigned", _("Case assigned")
    MERGED = "case.merged", _("Cases merged")
    SPLIT = "case.split", _("Message split into a new case")
    REPLIED = "case.replied", _("Reply sent")
    NOTE_ADDED = "case.note_added", _("Internal note added")
    SLA_NEAR_BREACH = "case.sla_near_breach", _("SLA near breach")
    SLA_BREACHED = "case.sla_breached", _("SLA breached")
    ROUTED = "case.routed", _("Case routed")
    PRIORITY_RAISED = "case.priority_raised", _("Case priority raised")
    AGENT_SETTINGS_CHANGED = "agent.settings_changed", _("Agent availability or caps changed")
    LABELS_CHANGED = "case.labels_changed", _("Case tags or root cause changed")
    PRIORITY_CHANGED = "case.priority_changed", _("Case priority changed")
    TYPE_CHANGED = "case.type_changed", _("Case type changed")
    LANGUAGE_CHANGED = "case.language_changed", _("Case language changed")
    CHANNEL_CHANGED = "case.channel_changed", _("Case origin channel corrected")
    SUBJECT_CHANGED = "case.subject_changed", _("Case subject changed")
    COPIES_CHANGED = "case.copies_changed", _("People in copy of a case changed")
    SLA_POLICY_CHANGED = "sla_policy.changed", _("SLA policy created, changed or deleted")
    MARKED_SPAM = "case.marked_spam", _("Case marked as spam")
    NOT_SPAM = "case.not_spam", _("Case marked as not spam")


class GestureType(models.TextChoices):
    REFUND = "refund", _("Refund")
    VOUCHER = "voucher", _("Voucher")
    GIFT = "gift", _("Gift")
    REDELIVERY = "redelivery", _("Redelivery")
    FREE_SERVICE = "free_service", _("Free service")


class GestureStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for approval")
    # A context of their own: French agrees them with "geste" (masculine), unlike the same
    # English words elsewhere (consents, orders, import reports).
    GRANTED = "granted", pgettext_lazy("gesture status", "Granted")
    REFUSED = "refused", pgettext_lazy("gesture status", "Refused")
    CANCELLED = "cancelled", pgettext_lazy("gesture status", "Cancelled")


class GestureAuditKind(models.TextChoices):
    """Audit kinds written by the commercial gesture services (stored in core.AuditEvent.kind)."""

    REQUESTED = "gesture.requested", _("Commercial gesture requested")
    GRANTED = "gesture.granted", _("Commercial gesture granted")
    REFUSED = "gesture.refused", _("Commercial gesture refused")
    CANCELLED = "gesture.cancelled", _("Commercial gesture cancelled")


class SLAEventKind(models.TextChoices):
    FIRST_RESPONSE_NEAR = "first_response_near", _("First response due soon")
    FIRST_RESPONSE_BREACHED = "first_response_breached", _("First response overdue")
    RESOLUTION_NEAR = "resolution_near", _("Resolution due soon")
    RESOLUTION_BREACHED = "resolution_breached", _("Resolution overdue")
    NEXT_REPLY_NEAR = "next_reply_near", _("Next reply due soon")
    NEXT_REPLY_BREACHED = "next_reply_breached", _("Next reply overdue")


class RoutingMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOAD = "least_load", _("Least open cases")
    MANUAL = "manual", _("Nobody: agents pick cases")


class TemplatePurpose(models.TextChoices):
    REPLY = "reply", _("Reply (macro)")
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement of receipt")
    SURVEY = "survey", _("Satisfaction survey invitation")


class SettingsAuditKind(models.TextChoices):
    """Audit kinds written by the case settings services (cases/services/case_settings.py)."""

    CASE_SETTINGS_CHANGED = "case_settings.changed", _("Case settings changed")
    TRUST_THRESHOLD_SET = "trust_threshold.set", _("Trust-without-proof threshold set")
    TRUST_THRESHOLD_REMOVED = "trust_threshold.removed", _("Trust-without-proof threshold removed")
    PRIORITY_SETTINGS_CHANGED = "priority_settings.changed", _("Priority settings changed")
    PRIORITY_RESCORE_REQUESTED = "priority_settings.rescore_requested", _("Open cases queued to be scored again")


class TemplateAuditKind(models.TextChoices):
    """Audit kinds written by the template, acknowledgement and survey services (cases/services/templates.py...)."""

    TEMPLATE_CREATED = "template.created", _("Reply template created")
    TEMPLATE_CHANGED = "template.changed", _("Reply template changed")
    TEMPLATE_DELETED = "template.deleted", _("Reply template deleted")
    SIGNATURE_CREATED = "signature.created", _("Signature created")
    SIGNATURE_CHANGED = "signature.changed", _("Signature changed")
    SIGNATURE_DELETED = "signature.deleted", _("Signature deleted")
    ACKNOWLEDGEMENT_SKIPPED = "case.acknowledgement_skipped", _("No acknowledgement sent")
    SURVEY_SKIPPED = "case.survey_skipped", _("No satisfaction survey sent")


# The external id prefix of the timeline entry of an automatic email kept off the cases (an
# out-of-office, a bounce): "cases.email:<Message-ID>" (services/email_intake.py), in the
# cases app's namespace as "cases.message:" is, so that no integration's own ids collide.
AUTOMATIC_TIMELINE_PREFIX = "cases.email:"  # "email:" before migration cases/0015


class SuspensionReason(models.TextChoices):
    """Why an inbound message was kept aside instead of opening a case (cases/services/suspended.py)."""

    NO_SENDER = "no_sender", _("No readable sender address")
    INVALID_SENDER = "invalid_sender", _("Sender address not usable")
    HONEYPOT = "honeypot", _("Anti-robot field filled in")
    # The sender's address is on the blocked list (a case of theirs was marked as spam:
    # cases/services/spam.py): kept here rather than dropped, in case the block was a mistake.
    SENDER_BLOCKED = "sender_blocked", _("Sender blocked as spam")


class SuspendedStatus(models.TextChoices):
    # A discarded message is deleted (an audit row says what it was).
    WAITING = "waiting", _("Waiting for review")
    RECOVERED = "recovered", _("Recovered into a case")


class SuspendedAuditKind(models.TextChoices):
    RECOVERED = "suspended.recovered", _("Suspended message recovered into a case")
    DISCARDED = "suspended.discarded", _("Suspended message discarded")


class BlockedSenderAuditKind(models.TextChoices):
    """Audit kinds of the blocked senders list (cases/services/spam.py)."""

    BLOCKED = "blocked_sender.blocked", _("Sender address blocked as spam")
    UNBLOCKED = "blocked_sender.unblocked", _("Sender address unblocked")
