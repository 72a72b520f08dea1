"""The consent ledger: every grant, request and withdrawal is a new row; nothing is edited."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prevenance.core.choices import CHANNELS, Channel
from prevenance.core.queue import enqueue_on_commit, run_once
from prevenance.customers import tasks as customer_tasks
from prevenance.customers.choices import (
    DOUBLE_OPT_IN_PURPOSES,
    ConsentAction,
    ConsentMethod,
    ConsentPurpose,
    IdentityKind,
)
from prevenance.customers.delivery_marks import (
    BOUNCE_TOKEN_HEADER,
    bounce_token,
    consent_message_id,
)
from prevenance.customers.models import ConsentEvent, ConsentWording, Customer, Identity
from prevenance.customers.services.profile import lock_live_customer

CONFIRMATION_VALID_FOR = timedelta(days=30)
# Ways of granting that carry their own proof, so no confirmation email is sent.
_SELF_PROVEN_METHODS = {ConsentMethod.DOUBLE_OPT_IN, ConsentMethod.IMPORT, ConsentMethod.PAPER}


def _check(purpose: str, channel: str, method: str) -> None:
    errors = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [_("Unknown purpose “%(v)s”; use one of: %(c)s.") % {"v": str(purpose)[:40], "c": ", ".join(ConsentPurpose.values)}]
    if channel not in CHANNELS:
        errors["channel"] = [_("Unknown channel “%(v)s”.") % {"v": str(channel)[:40]}]
    if method not in ConsentMethod.values:
        errors["method"] = [_("Unknown method “%(v)s”; use one of: %(c)s.") % {"v": str(method)[:40], "c": ", ".join(ConsentMethod.values)}]
    if errors:
        raise ValidationError(errors)


def _subject_digest(customer: Customer) -> str:
    """A digest of the person's main contact: proof that outlives an erasure, with nothing readable."""
    identity = (
        Identity.objects.filter(customer=customer, kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE])
        .order_by("kind", "first_seen_at", "pk")
        .first()
    )
    basis = identity.normalized if identity else f"customer:{customer.pk}"
    return hashlib.sha256(basis.encode()).hexdigest()


def ensure_consent_wording(*, purpose: str, language: str, text: str) -> ConsentWording:
    """The wording in force for a purpose and language; a changed text becomes a new version."""
    with transaction.atomic():
        latest = ConsentWording.objects.filter(purpose=purpose, language=language).order_by("-version").first()
        if latest and latest.text == text:
            return latest
        return ConsentWording.objects.create(
            purpose=purpose, language=language, text=text, version=(latest.version + 1) if latest else 1
        )


def _append(*, customer, purpose, action, method, channel, source, wording, occurred_at, actor, token=None) -> ConsentEvent:
    return ConsentEvent.objects.create(
        customer=customer,
        purpose=purpose,
        action=action,
        method=method,
        channel=channel,
        source=(source or "")[:200],
        wording=wording,
        occurred_at=occurred_at or timezone.now(),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        confirmation_token=token,
        subject_digest=_subject_digest(customer),
    )


def send_consent_confirmation(*, event_id: int) -> bool:
    """Email the double opt-in link of a consent request, once per request however often the
    task runs (prevenance.core.queue.run_once). True when it was sent now; False when it had
    been sent already, or there is nothing to send: the request is gone or settled since (a
    withdrawal or a newer request came first), the person was erased, or has no email address
    that does not bounce."""
    event = ConsentEvent.objects.select_related("customer").filter(
        pk=event_id, action=ConsentAction.REQUESTED, confirmation_token__isnull=False
    ).first()
    if event is None or event.customer is None or event.customer.erased_at is not None:
        return False
    settled = ConsentEvent.objects.filter(
        customer_id=event.customer_id, purpose=event.purpose, recorded_at__gte=event.recorded_at, pk__gt=event.pk
    ).exists()
    if settled:
        return False
    customer = event.customer
    # An address flagged as undeliverable (a bounce, docs/email-intake.md) gets nothing: the
    # next one does, if the person has another.
    email = (
        Identity.objects.filter(customer=customer, kind=IdentityKind.EMAIL, bounced_at__isnull=True)
        .order_by("first_seen_at", "pk").first()
    )
    if email is None:
        return False

    def send() -> None:
        # Our Message-ID and the person's delivery mark: a bounce of it flags a mistyped
        # address like that of any of our emails (cases/services/bounces.py).
        message_id = consent_message_id(event.pk)
        with translation.override(customer.language):
            link = settings.PREVENANCE_BASE_URL.rstrip("/") + reverse("web:confirm_consent", args=[event.confirmation_token])
            EmailMessage(
                subject=_("Please confirm your subscription"),
                body=_("Hello %(name)s,\n\nTo confirm that you wish to receive our news by email, open this link:\n%(link)s\n\nIf you did not ask for it, ignore this message.")
                % {"name": customer.first_name or "", "link": link},
                to=[email.normalized],
                headers={"Message-ID": f"<{message_id}>", BOUNCE_TOKEN_HEADER: bounce_token(message_id, email.normalized)},
            ).send()

    return run_once(key=f"consent-confirmation:{event.pk}", effect=send)


def grant_consent(
    *,
    customer: Customer,
    purpose: str,
    channel: str,
    method: str = ConsentMethod.CHECKBOX,
    source: str = "",
    wording: ConsentWording | None = None,
    occurred_at: datetime | None = None,
    actor=None,
) -> ConsentEvent:
    """Record an opt-in. For purposes that need double opt-in, a ticked box only *requests* it:
    the person gets a confirmation link and the grant is appended when they open it."""
    _check(purpose, channel, method)
    needs_confirmation = purpose in DOUBLE_OPT_IN_PURPOSES and method not in _SELF_PROVEN_METHODS
    with transaction.atomic():
        customer = lock_live_customer(customer)
        if not needs_confirmation:
            return _append(customer=customer, purpose=purpose, action=ConsentAction.GRANTED, method=method,
                           channel=channel, source=source, wording=wording, occurred_at=occurred_at, actor=actor)
        token = secrets.token_urlsafe(32)
        event = _append(customer=customer, purpose=purpose, action=ConsentAction.REQUESTED, method=method,
                        channel=channel, source=source, wording=wording, occurred_at=occurred_at, actor=actor, token=token)
        enqueue_on_commit(customer_tasks.send_consent_confirmation, event.pk)
        return event


def confirm_consent(*, token: str) -> ConsentEvent:
    """The person opened their confirmation link: append the grant (once, however often they click)."""
    with transaction.atomic():
        request = ConsentEvent.objects.select_for_update().filter(confirmation_token=token or "-").first()
        if request is None or request.customer_id is None:
            raise ValidationError(_("This confirmation link is not valid."), code="invalid_token")
        if timezone.now() - request.recorded_at > CONFIRMATION_VALID_FOR:
            raise ValidationError(_("This confirmation link has expired; please subscribe again."), code="expired_token")
        later = ConsentEvent.objects.filter(
            customer_id=request.customer_id, purpose=request.purpose, recorded_at__gte=request.recorded_at
        ).exclude(pk=request.pk).order_by("-recorded_at", "-pk").first()
        if later is not None and later.action == ConsentAction.GRANTED and later.method == ConsentMethod.DOUBLE_OPT_IN:
            return later
        if later is not None and later.action == ConsentAction.WITHDRAWN:
            raise ValidationError(_("This request was withdrawn since; please subscribe again."), code="superseded_token")
        return _append(customer=request.customer, purpose=request.purpose, action=ConsentAction.GRANTED,
                       method=ConsentMethod.DOUBLE_OPT_IN, channel=Channel.EMAIL, source=_("confirmation link"),
                       wording=request.wording, occurred_at=None, actor=None)


def withdraw_consent(
    *,
    customer: Customer,
    purpose: str,
    channel: str,
    method: str = ConsentMethod.CHECKBOX,
    source: str = "",
    occurred_at: datetime | None = None,
    actor=None,
) -> ConsentEvent:
    _check(purpose, channel, method)
    with transaction.atomic():
        customer = lock_live_customer(customer)
        return _append(customer=customer, purpose=purpose, action=ConsentAction.WITHDRAWN, method=method,
                       channel=channel, source=source, wording=None, occurred_at=occurred_at, actor=actor)
