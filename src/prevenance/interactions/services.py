"""Recording touchpoints: one function for every channel."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core.choices import Channel
from prevenance.core.validation import invalid
from prevenance.customers.models import Customer, Order
from prevenance.customers.selectors import has_ordered
from prevenance.customers.services import lock_live_customer
from prevenance.interactions.choices import Direction, JourneyPhase, Nature
from prevenance.interactions.models import Interaction

MAX_BODY = 100_000

# External-id prefixes the platform writes itself (a case message's entry, an automatic
# email's): registered by the app that owns them (its AppConfig.ready). Nobody else may use
# them: an entry claimed ahead of time under a message's id would stop that message's intake.
_reserved_prefixes: set[str] = set()


def reserve_external_id_prefix(prefix: str) -> None:
    _reserved_prefixes.add(prefix)


def is_reserved_external_id(external_id: str) -> bool:
    return any(external_id.startswith(prefix) for prefix in _reserved_prefixes)


# The allowed values, read once (Choices.values builds a new list on every access, and every
# message an intake stores writes an interaction).
_CHOICES = {"channel": Channel.values, "direction": Direction.values, "nature": Nature.values, "phase": JourneyPhase.values}
_ALLOWED = {name: frozenset(values) for name, values in _CHOICES.items()}


def clean_interaction_fields(*, channel, direction, nature, phase, summary, body) -> dict:
    errors: dict[str, list] = {}
    for name, value in (("channel", channel), ("direction", direction), ("nature", nature), ("phase", phase)):
        if value not in _ALLOWED[name]:
            errors[name] = [_("“%(value)s” is not one of: %(choices)s.") % {"value": str(value)[:40], "choices": ", ".join(_CHOICES[name])}]
    summary = " ".join(str(summary or "").split())
    if not summary:
        errors["summary"] = [_("A summary is required.")]
    elif len(summary) > 255:
        errors["summary"] = [_("At most 255 characters (got %(n)d).") % {"n": len(summary)}]
    body = str(body or "")
    if len(body) > MAX_BODY:
        errors["body"] = [_("At most %(limit)d characters.") % {"limit": MAX_BODY}]
    if errors:
        raise ValidationError(errors)
    return {"channel": channel, "direction": direction, "nature": nature, "phase": phase, "summary": summary, "body": body}


def purchase_phase(customer: Customer, *, about_order: bool = False) -> str:
    """The journey phase of a contact with the customer that does not know its own (a case's
    message, an automatic email): after purchase when it is about an order or the customer has
    ordered, before purchase for a prospect who never has. Never "during purchase": that is the
    delivery and use of what was bought, which only the touchpoint that records it knows (an
    order placed, a delivery); the customer service is after purchase (seeds: the journey's
    three phases, APRÈS being "l'après-vente, intégrant le service client")."""
    if about_order or has_ordered(customer):
        return JourneyPhase.AFTER
    return JourneyPhase.BEFORE


def record_interaction(
    *,
    customer: Customer,
    channel: str,
    direction: str,
    summary: str,
    nature: str = Nature.INFORMATIVE,
    phase: str = JourneyPhase.AFTER,
    occurred_at: datetime | None = None,
    body: str = "",
    agent=None,
    order: Order | None = None,
    ref_type: str = "",
    ref_id: str = "",
    external_id: str | None = None,
    system: bool = False,
) -> tuple[Interaction, bool]:
    """Store one touchpoint on the customer's timeline. With an external_id, a retry or a
    re-import returns the stored one instead of writing it twice.

    An external id is the customer's: the same id on another customer's entry is refused
    (`external_id_taken`), never answered with that entry, which could be a case message the
    caller may not read. The platform's own prefixes (`reserve_external_id_prefix`) are
    refused too (`external_id_reserved`), unless `system` (the platform writing its own, which
    finds its earlier entry whoever's timeline it is on, as a duplicate)."""
    fields = clean_interaction_fields(channel=channel, direction=direction, nature=nature, phase=phase, summary=summary, body=body)
    if order is not None and order.customer_id != customer.pk:
        raise ValidationError({"order": [_("This order belongs to another customer.")]})
    external_id = (external_id or "").strip()[:100] or None
    if external_id and not system and is_reserved_external_id(external_id):
        raise invalid("external_id", _("This external id is reserved for the platform's own entries."), "external_id_reserved")
    with transaction.atomic():
        customer = lock_live_customer(customer)
        if external_id:
            existing = Interaction.objects.filter(external_id=external_id).first()
            if existing is not None and existing.customer_id != customer.pk and not system:
                raise invalid("external_id", _("This external id is already used on another customer's timeline."), "external_id_taken")
            if existing is not None:
                return existing, False
        interaction = Interaction.objects.create(
            customer=customer,
            occurred_at=occurred_at or timezone.now(),
            agent=agent if getattr(agent, "is_authenticated", False) else None,
            order=order,
            ref_type=(ref_type or "")[:40],
            ref_id=str(ref_id or "")[:64],
            external_id=external_id,
            **fields,
        )
    return interaction, True
