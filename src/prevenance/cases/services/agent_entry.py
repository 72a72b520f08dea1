"""Agent entry: a request an agent took by phone, in a store or on a field visit becomes a case.

See docs/contact-form.md ("Agent entry"). One transaction: the case, the agent's note and, when
the agent settled it there and then, the resolution (first-contact resolution).
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, MessageKind
from prevenance.cases.models import Case, Message, Team
from prevenance.cases.services.common import Intake, lock_case
from prevenance.cases.services.handling import add_note, assign_case, change_status
from prevenance.cases.services.intake import open_case
from prevenance.cases.services.submissions import (
    clean_submission_id,
    earlier_submission,
    submission_reused,
)
from prevenance.cases.services.web_form import typed_identities
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Order
from prevenance.customers.services import IdentityInput

# The channels where an agent, not the customer, types the request: the seeds' costliest.
AGENT_CHANNELS = (Channel.PHONE, Channel.STORE, Channel.FIELD_VISIT, Channel.VIDEO, Channel.POSTAL)
# Which known identity stands for a customer the agent picked: the most stable first.
_IDENTITY_PREFERENCE = [IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.LOYALTY_CARD, IdentityKind.EXTERNAL_ID]


def _known_identity(customer: Customer) -> IdentityInput | None:
    identities = list(customer.identities.order_by("-verified", "first_seen_at", "pk"))
    identities.sort(key=lambda i: _IDENTITY_PREFERENCE.index(i.kind) if i.kind in _IDENTITY_PREFERENCE else len(_IDENTITY_PREFERENCE))
    first = identities[0] if identities else None
    return IdentityInput(first.kind, first.value, first.network) if first else None


def _identities(customer: Customer | None, email: str, phone: str) -> list[IdentityInput]:
    typed = typed_identities(email, phone)
    if customer is None:
        if not typed:
            raise ValidationError({"customer": [_("Pick the customer, or type their email address or phone number.")]})
        return typed
    known = _known_identity(customer)
    if known is None and not typed:
        raise ValidationError({"customer": [_("This customer has no email, phone or card on file: type their email or phone.")]})
    return ([known] if known else []) + typed


def _order(reference: str) -> Order | None:
    reference = " ".join(reference.split())
    if not reference:
        return None
    order = Order.objects.filter(reference=reference).first() or Order.objects.filter(reference__iexact=reference).order_by("pk").first()
    if order is None:
        raise ValidationError({"order": [_("No order has the reference “%(reference)s”.") % {"reference": reference[:64]}]})
    return order


def _resolve_now(case: Case, actor) -> None:
    """First-contact resolution: the agent who settled it is the assignee, then it is resolved.

    The team is the one routing chose when the agent belongs to it, else the agent's own team
    (first by name): the case is counted for the team of the person who settled it. Someone in
    no team (a supervisor who took the call) leaves the routed team in place, rather than
    emptying it, and is the assignee all the same: they handled it. assign_case's rule (the
    assignee belongs to the team) is for handing a case to someone; this records who did."""
    if not actor.has_perm("cases.change_case"):
        raise ValidationError({"resolved": [_("You may not resolve cases.")]})
    team_id = Case.objects.filter(pk=case.pk).values_list("team_id", flat=True).get()
    routed = Team.objects.filter(pk=team_id).first() if team_id else None
    member = routed is not None and routed.members.filter(pk=actor.pk).exists()
    team = routed if member else (actor.case_teams.order_by("name").first() or routed)
    if team is not None and team is routed and not member:
        _handled_by(case, actor)
    else:
        assign_case(case=case, assignee=actor, team=team, actor=actor)
    change_status(case=case, status=CaseStatus.RESOLVED, actor=actor)


def _handled_by(case: Case, actor) -> None:
    """The actor becomes the assignee, the case keeps its team (audited as an assignment)."""
    locked = lock_case(case.pk)
    if locked.assignee_id == actor.pk:
        return
    before = {"assignee": locked.assignee_id, "team": locked.team_id}
    locked.assignee = actor
    locked.save(update_fields=["assignee", "updated_at"])
    after = {"assignee": locked.assignee_id, "team": locked.team_id}
    record_audit(kind=CaseAuditKind.ASSIGNED, actor=actor, subject=locked, payload={"from": before, "to": after})
    case_events.case_updated(locked, {"assignee": case_events.change(before["assignee"], after["assignee"])})


def _earlier_case(submission: uuid.UUID | None, actor) -> Intake | None:
    """The contact this form submission already recorded (submissions.py), as an Intake that
    created nothing, else None. The agent who recorded it wrote its first message."""
    case = earlier_submission(Case.objects.all(), submission)
    if case is None:
        return None
    first = Message.objects.filter(case=case, kind=MessageKind.INBOUND).order_by("created_at", "pk").first()
    if first is not None and first.author_id != actor.pk:
        raise submission_reused()
    return Intake(case=case, message=first, created=False)


def record_agent_contact(
    *,
    actor,
    channel: str,
    subject: str,
    body: str,
    type: str = CaseType.QUESTION,  # noqa: A002 - the business word
    customer: Customer | None = None,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    order_reference: str = "",
    resolved: bool = False,
    note: str = "",
    submission_id: uuid.UUID | str | None = None,
) -> Intake:
    """Open a case for what a customer told an agent (the agent is the message's author).

    The customer is the one picked, else the one the typed email/phone resolve to (created when
    unknown). A typed identity that belongs to someone other than the picked customer is refused
    rather than guessed at. `note` is kept as an internal note; `resolved` resolves the case at
    once, assigned to the agent.

    `submission_id` (the agent entry form): the same submission sent again returns the case it
    opened (`created` False), with nothing written, acknowledged or announced twice, also when
    both arrive at once (the case's unique submission id stops the second; it returns the first).
    """
    if not actor.has_perm("cases.add_case"):
        raise PermissionDenied
    submission = clean_submission_id(
        submission_id, channel, subject, body, type, getattr(customer, "pk", ""), email, phone, first_name, last_name,
        order_reference, resolved, note,
    )
    if (earlier := _earlier_case(submission, actor)) is not None:
        return earlier
    if channel not in AGENT_CHANNELS:
        labels = ", ".join(str(Channel(value).label) for value in AGENT_CHANNELS)
        raise ValidationError({"channel": [_("Agent entry is for contacts by %(channels)s.") % {"channels": labels}]})
    identities = _identities(customer, email, phone)
    order = _order(order_reference)
    hints = {key: value.strip() for key, value in (("first_name", first_name), ("last_name", last_name)) if value.strip()}
    with transaction.atomic():
        try:
            intake = open_case(
                identities=identities, hints=hints, channel=channel, subject=subject, body=body, type=type, order=order, actor=actor,
                sender_name=" ".join(f"{first_name} {last_name}".split()), sender_address=email.strip(),
                acknowledge=not resolved,  # settled on the spot: the survey at resolution is the only message
                assignee=actor if resolved else None,  # handled by whoever settled it: nobody's round-robin turn
                submission_id=submission,
            )
        except IntegrityError:
            # The same submission raced this one and committed first (open_case's savepoint is
            # rolled back, its acknowledgement and webhook with it): answer with its case.
            if (earlier := _earlier_case(submission, actor)) is not None:
                return earlier
            raise
        if customer is not None and (intake.conflict is not None or intake.case.customer_id != customer.pk):
            raise ValidationError(
                {"customer": [_("The email or phone you typed belongs to another customer: pick that customer, or leave it blank.")]}
            )
        if note.strip():
            add_note(case=intake.case, author=actor, body=note)
        if resolved:
            _resolve_now(intake.case, actor)
    intake.case.refresh_from_db()
    return intake
