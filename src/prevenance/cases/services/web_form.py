"""The public contact form: a customer's request becomes a case (channel web) with its files.

See docs/contact-form.md. The view handles what is about HTTP (rate limit, honeypot, CSRF);
this service is the write: one transaction, nothing half-stored.
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases.choices import CaseType
from prevenance.cases.services.attachments import (
    check_uploads,
    store_attachments,
)
from prevenance.cases.services.common import Intake
from prevenance.cases.services.intake import open_case
from prevenance.core.choices import Channel
from prevenance.core.files import files_discarded_on_failure
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Order
from prevenance.customers.selectors import find_by_identity
from prevenance.customers.services import IdentityInput

# A customer chooses among these; "incident" is a classification agents make.
FORM_TYPES = (CaseType.QUESTION, CaseType.REQUEST, CaseType.COMPLAINT)
MESSAGE_ID_DOMAIN = "contact-form.prevenance"


def file_fingerprints(files) -> list[str]:
    """Each file as its name and a digest of its bytes: a form sent again with a file added is
    a new message (forgetting the photo is why people go Back), a double click is not."""
    fingerprints = []
    for item in files:
        digest = hashlib.sha256()
        item.upload.seek(0)
        for chunk in item.upload.chunks():
            digest.update(chunk)
        item.upload.seek(0)
        fingerprints.append(f"{item.filename}:{digest.hexdigest()}")
    return fingerprints


def form_message_id(submission_id: str, *content: str) -> str:
    """The submission's id and what it says, as a message id: a double click or a retried POST
    stores nothing twice, while a form sent again with other words (the browser's Back
    button shows the same form, with the same submission_id) is a new message, not dropped.

    Only a UUID is taken: anything else could name a message stored from another channel.
    """
    try:
        submission = uuid.UUID(str(submission_id)).hex
    except ValueError as exc:
        raise ValidationError({"submission_id": [_("This form has expired; please reload the page.")]}) from exc
    digest = hashlib.sha256("\x1f".join(content).encode()).hexdigest()[:16]
    return f"<{submission}.{digest}@{MESSAGE_ID_DOMAIN}>"


def typed_identities(email: str, phone: str) -> list[IdentityInput]:
    """The email and/or phone a person typed (blank ones left out)."""
    pairs = ((IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone))
    return [IdentityInput(kind, value.strip()) for kind, value in pairs if value and value.strip()]


def _identities(email: str, phone: str) -> list[IdentityInput]:
    identities = typed_identities(email, phone)
    if not identities:
        raise ValidationError({"email": [_("Give an email address or a phone number, so that we can answer you.")]})
    return identities


def senders_order(reference: str, identities: Sequence[IdentityInput]) -> Order | None:
    """The order with this reference if it belongs to the one customer these identities name.

    Anything else (no such order, someone else's order, identities of nobody or of two
    customers) gives None, and the form answers the same: nothing tells a visitor whether an
    order exists. The reference the customer typed stays in their message either way.
    """
    reference = " ".join(reference.split())
    if not reference:
        return None
    owners = {customer.pk for item in identities if (customer := find_by_identity(item.kind, item.value)) is not None}
    if len(owners) != 1:
        return None
    return Order.objects.filter(customer_id=owners.pop(), reference__iexact=reference).order_by("pk").first()


def _body_with_reference(body: str, reference: str) -> str:
    reference = " ".join(reference.split())
    if not reference:
        return body
    line = _("Order reference given in the form: %(reference)s") % {"reference": reference}
    return f"{body.rstrip()}\n\n{line}"


def submit_contact_form(
    *,
    submission_id: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    type: str = CaseType.QUESTION,  # noqa: A002 - the business word
    subject: str,
    body: str,
    order_reference: str = "",
    files: Sequence = (),
    language: str = "",
    received_at: datetime | None = None,
) -> Intake:
    """Open a case from the contact form: customer resolved from the email/phone, files attached.

    The same submission twice (a double click, a browser retry: same submission_id, same
    words) returns the first case. `received_at`: when it was sent, for a form kept aside
    (suspended) and recovered later; now by default.
    """
    if type not in FORM_TYPES:
        raise ValidationError({"type": [_("Choose a question, a request or a complaint.")]})
    identities = _identities(email, phone)
    checked = check_uploads(list(files), max_files=settings.PREVENANCE_CONTACT_FORM_MAX_FILES)
    hints = {key: value for key, value in (("first_name", first_name), ("last_name", last_name), ("language", language)) if value}
    common = {
        "identities": identities, "hints": hints, "channel": Channel.WEB, "subject": subject, "type": type,
        "body": _body_with_reference(body, order_reference), "sender_address": email.strip(),
        "sender_name": " ".join(f"{first_name} {last_name}".split()),
        "message_id": form_message_id(submission_id, email, phone, type, subject, body, order_reference, *file_fingerprints(checked)),
        "received_at": received_at,
    }
    order = senders_order(order_reference, identities)
    with files_discarded_on_failure(), transaction.atomic():
        try:
            with transaction.atomic():
                intake = open_case(order=order, **common)
        except ValidationError as exc:
            # The order changed hands between our check and the intake: open without it.
            if order is None or "order" not in getattr(exc, "error_dict", {}):
                raise
            intake = open_case(order=None, **common)
        if intake.created:
            store_attachments(intake.message, checked)
    return intake
