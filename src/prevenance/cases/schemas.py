"""What the cases API reads and answers (Ninja schemas).

The schemas check types and enumerations; lengths, workflow moves, limits and permissions are
checked by the services, which answer with the field and the reason.
"""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import BeforeValidator

from prevenance.cases.choices import CaseStatus, CaseType, GestureType, Priority, TemplatePurpose
from prevenance.cases.mail.problems import problem_lines
from prevenance.core.choices import Channel
from prevenance.core.currencies import in_minor_units
from prevenance.core.validation import MAX_ID
from prevenance.customers.choices import IdentityKind, Language

OptionalId = Field(None, ge=1, le=MAX_ID)


# Cases ---------------------------------------------------------------------------------------


class CaseIdentityIn(Schema):
    kind: IdentityKind
    value: str = Field(..., max_length=1000)
    network: str = Field("", max_length=100)
    verified: bool = False


class CaseCustomerIn(Schema):
    """Hints for a customer the intake creates (ignored when the identities find one)."""

    first_name: str | None = Field(None, max_length=1000)
    last_name: str | None = Field(None, max_length=1000)
    language: Language | None = None


class CaseIn(Schema):
    """A case opened from another system: who (an email, a phone or identities), what, and how."""

    email: str | None = Field(None, max_length=1000, description="The customer's email address (an identity).")
    phone: str | None = Field(None, max_length=100, description="The customer's phone number (an identity).")
    identities: list[CaseIdentityIn] = Field(default_factory=list, max_length=20)
    customer: CaseCustomerIn | None = None
    subject: str = Field("", max_length=10_000)
    body: str = Field("", max_length=1_000_000)
    body_html: str = Field("", max_length=1_000_000)
    type: CaseType = CaseType.QUESTION
    priority: Priority | None = Field(
        None, description="A floor: the priority score may raise it, never lower it. Left out, the score decides alone.",
    )
    channel: Channel = Channel.API
    team_id: int | None = OptionalId
    order_id: int | None = OptionalId
    sender_name: str = Field("", max_length=1000)
    message_id: str | None = Field(
        None, max_length=1000, description="Your id for this message: the same id again returns the stored case (200) instead of a new one."
    )


class CaseUpdateIn(Schema):
    """Only the fields sent change; `null` clears the assignee or the team."""

    status: CaseStatus | None = None
    assignee_id: int | None = OptionalId
    team_id: int | None = OptionalId
    priority: Priority | None = None
    type: CaseType | None = Field(None, description="Reclassify: the priority is scored again and the SLA policy of the new type applies.")
    language: Language | None = Field(None, description="The language the customer is written to in (templates, routing rules).")
    channel: Channel | None = Field(
        None, description="Correct the origin channel (not to or from email): the opening message follows and the priority is scored again.",
    )
    tags: list[str] | None = Field(None, max_length=50, description="The case's tags, replacing the current ones (existing tag names).")
    subject: str | None = Field(
        None, max_length=255, description="Rename the case: spaces squeezed, not empty, at most 255 characters; refused on a closed case.",
    )


class CaseOut(Schema):
    id: int
    reference: str
    customer_id: int | None
    type: str
    channel: str
    subject: str
    status: str
    # Closed as spam ("Mark as spam" on the case page): its sender is blocked (docs/cases.md).
    spam: bool
    priority: str
    priority_score: int
    priority_reasons: list[dict[str, Any]]
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    language: str
    order_id: int | None
    merged_into_id: int | None
    reopened_from_id: int | None
    split_from_id: int | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_due_at: datetime | None
    # The reply clock of a reopened case awaiting an answer again; null when none runs.
    next_reply_due_at: datetime | None
    resolution_due_at: datetime | None

    @staticmethod
    def resolve_tags(case) -> list[str]:
        # A case just opened has none: no query for it (the create path is the hot one).
        if getattr(case, "tag_names", None) is not None:
            return case.tag_names
        return sorted(tag.name for tag in case.tags.all())


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class MergeIn(Schema):
    loser_id: int = Field(..., ge=1, le=MAX_ID)


# Messages ------------------------------------------------------------------------------------


class AttachmentIn(Schema):
    """A file sent with a reply or a note, its bytes in base64 (the whole request stays within
    DATA_UPLOAD_MAX_MEMORY_SIZE, 10 MB by default)."""

    filename: str = Field(..., min_length=1, max_length=255)
    content_base64: str = Field(..., min_length=1)


class MessageIn(Schema):
    """`reply`: an answer to the customer; `note`: internal; `inbound`: what the customer wrote
    (from a chat or social integration), with the reopen rules of any customer reply.
    `attachments` go with a reply (sent with its email) or a note. `status` (a reply only): the
    status the case is moved to with it, in one transaction (reply_and_set_status)."""

    kind: Literal["reply", "note", "inbound"]
    body: str = Field(..., max_length=1_000_000)
    body_html: str = Field("", max_length=1_000_000)
    channel: Channel | None = None
    sender_address: str = Field("", max_length=1000)
    sender_name: str = Field("", max_length=1000)
    message_id: str | None = Field(None, max_length=1000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=100)
    status: CaseStatus | None = None


class AttachmentOut(Schema):
    """A file of the thread: GET /cases/{case_id}/attachments/{id} downloads it."""

    id: int
    filename: str
    content_type: str
    size: int
    kind: Literal["file", "original"] = Field(
        description='"file": attached by a person; "original": the raw email the message came as (message/rfc822, '
        "every header and part), not a file the customer attached",
    )

    @staticmethod
    def resolve_kind(attachment) -> str:
        return "original" if attachment.is_original else "file"


class MessageProblemOut(Schema):
    code: str
    label: str
    detail: str


class MessageOut(Schema):
    id: int
    case_id: int
    kind: str
    channel: str
    author_id: int | None
    sender_address: str
    sender_name: str
    body_text: str
    body_html: str
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None
    attachments: list[AttachmentOut]
    problems: list[MessageProblemOut] = Field(description="What went wrong reading the message (email intake), with a label in the request's language")

    @staticmethod
    def resolve_attachments(message) -> list:
        return list(message.attachments.all())  # prefetched by case_thread

    @staticmethod
    def resolve_problems(message) -> list[dict[str, str]]:
        return problem_lines(message.problems)


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class MessageCreatedOut(Schema):
    """The message, and the case it landed on (a late customer reply opens a follow-up case)."""

    message: MessageOut
    case: CaseOut
    case_opened: bool


# Gestures ------------------------------------------------------------------------------------


def _json_number_or_text(value):
    # JSON true would otherwise become 1 (a euro granted for a client's bug), and a list three
    # errors, one per type tried: one refusal on the field instead.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(_("a decimal as a string (“12.50”) or a whole number"))
    return value


class GestureIn(Schema):
    type: GestureType
    amount: Annotated[str | int | float, BeforeValidator(_json_number_or_text)] = Field(
        ..., description="A decimal as a string (“12.50”) or a whole number; a float or a boolean is refused. "
                         "At most the decimals of the currency (ISO 4217): none for JPY, 3 for TND.",
    )
    currency: str = Field("EUR", max_length=10)
    reason: str = Field(..., max_length=10_000)


class GestureDecisionIn(Schema):
    reason: str = Field("", max_length=10_000)


class GestureOut(Schema):
    id: int
    case_id: int
    customer_id: int | None
    type: str
    amount: str
    currency: str
    reason: str
    status: str
    without_proof: bool
    requested_by_id: int | None
    decided_by_id: int | None
    decided_at: datetime | None
    decision_reason: str
    voucher_code: str | None
    created_at: datetime

    @staticmethod
    def resolve_amount(gesture) -> str:
        # With the currency's decimals ("12.50" EUR, "1500" JPY, "12.345" TND), not the column's 3.
        return str(in_minor_units(gesture.amount, gesture.currency))


class GesturePage(Schema):
    items: list[GestureOut]
    next_cursor: str | None


# Reply templates -----------------------------------------------------------------------------


class TemplateIn(Schema):
    name: str = Field(..., max_length=1000)
    purpose: TemplatePurpose = TemplatePurpose.REPLY
    language: str = Field(..., max_length=10)
    channel: Channel | Literal[""] = ""
    team_id: int | None = OptionalId
    subject: str = Field("", max_length=10_000)
    body: str = Field(..., max_length=1_000_000)
    active: bool = True


class TemplatePatch(Schema):
    name: str | None = Field(None, max_length=1000)
    purpose: TemplatePurpose | None = None
    language: str | None = Field(None, max_length=10)
    channel: Channel | Literal[""] | None = None
    team_id: int | None = OptionalId
    subject: str | None = Field(None, max_length=10_000)
    body: str | None = Field(None, max_length=1_000_000)
    active: bool | None = None


class TemplateOut(Schema):
    id: int
    name: str
    purpose: str
    language: str
    channel: str
    team_id: int | None
    subject: str
    body: str
    active: bool
    created_at: datetime
    updated_at: datetime


class TemplatePage(Schema):
    items: list[TemplateOut]
    next_cursor: str | None


# SLA policies --------------------------------------------------------------------------------


# What the OpenAPI schema says of a target (docs/api.md): the stored duration, unchanged since
# the first version of the API, counted in the calendar's opening hours only.
TARGET_DESCRIPTION = (
    "Business time: only the opening hours of the policy's calendar (else the case team's; around the clock "
    "without either) count. An ISO 8601 duration or a number of seconds, answered as ISO 8601. Write it in "
    "hours: a day (\"P1D\") is 24 business hours, three working days on a calendar open 8 hours a day, so "
    "three such working days are \"PT24H\", not \"P3D\". From one minute to 8760 hours."
)


def _target(default=...):
    return Field(default, description=TARGET_DESCRIPTION)


class SLAPolicyIn(Schema):
    """Targets in business time: an ISO 8601 duration (“PT4H”, “PT24H”) or a number of seconds."""

    name: str = Field(..., max_length=1000)
    active: bool = True
    case_type: CaseType | Literal[""] = ""
    priority: Priority | Literal[""] = ""
    customer_tier: str = Field("", max_length=1000)
    first_response_target: timedelta = _target()
    resolution_target: timedelta = _target()
    calendar_id: int | None = OptionalId
    near_breach_percent: int = Field(80, ge=-(2**31), le=2**31)


class SLAPolicyPatch(Schema):
    name: str | None = Field(None, max_length=1000)
    active: bool | None = None
    case_type: CaseType | Literal[""] | None = None
    priority: Priority | Literal[""] | None = None
    customer_tier: str | None = Field(None, max_length=1000)
    first_response_target: timedelta | None = _target(None)
    resolution_target: timedelta | None = _target(None)
    calendar_id: int | None = OptionalId
    near_breach_percent: int | None = Field(None, ge=-(2**31), le=2**31)


class SLAPolicyOut(Schema):
    id: int
    name: str
    active: bool
    case_type: str
    priority: str
    customer_tier: str
    first_response_target: timedelta = _target()
    resolution_target: timedelta = _target()
    calendar_id: int | None
    near_breach_percent: int
    created_at: datetime
    updated_at: datetime


class SLAPolicyPage(Schema):
    items: list[SLAPolicyOut]
    next_cursor: str | None
