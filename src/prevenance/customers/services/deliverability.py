"""Email addresses that bounce: flagged when a mail server refuses one for good, cleared when
the person writes from it again, or by someone who knows it works again (docs/email-intake.md,
"Bounces")."""

from collections.abc import Mapping
from datetime import datetime

from django.db import connection, transaction

from prevenance.core.audit import record_audit
from prevenance.customers.choices import IdentityAuditKind, IdentityKind
from prevenance.customers.models import Identity


def mark_bounced(*, reasons: Mapping[str, str], at: datetime) -> list[Identity]:
    """Flag the email identities of these normalised addresses ({address: the server's reason})
    as bouncing since `at`; one audit row per identity flagged. Addresses no customer has are
    ignored. Returns the identities flagged."""
    with transaction.atomic(savepoint=False):
        identities = list(Identity.objects.select_for_update().filter(kind=IdentityKind.EMAIL, normalized__in=list(reasons)).order_by("pk"))
        for identity in identities:
            identity.bounced_at, identity.bounce_reason = at, reasons[identity.normalized][:255]
            identity.save(update_fields=["bounced_at", "bounce_reason"])
            record_audit(
                kind=IdentityAuditKind.BOUNCED, actor=None, subject=identity.customer,
                # The identity's id only: an erasure deletes the identity, and audit rows stay.
                payload={"identity": identity.pk},
            )
    return identities


def clear_bounce(address: str) -> None:
    """The person just wrote from `address` (a normalised email address): it works again.

    One plain statement, run for every email reply: it changes a row only when the address
    was flagged."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Identity._meta.db_table)} SET {quote('bounced_at')} = NULL, {quote('bounce_reason')} = '' "
            f"WHERE {quote('normalized')} = %s AND {quote('kind')} = %s AND {quote('bounced_at')} IS NOT NULL",
            [address, IdentityKind.EMAIL],
        )


def clear_bounce_by_hand(*, identity: Identity, actor) -> Identity:
    """Someone knows the address works again (the customer said so on the phone, their mailbox
    was full): emails go there again. Audited; a no-op on an address not flagged."""
    with transaction.atomic():
        locked = Identity.objects.select_for_update().get(pk=identity.pk)
        if locked.bounced_at is None:
            return locked
        locked.bounced_at, locked.bounce_reason = None, ""
        locked.save(update_fields=["bounced_at", "bounce_reason"])
        record_audit(kind=IdentityAuditKind.BOUNCE_CLEARED, actor=actor, subject=locked.customer, payload={"identity": locked.pk})
    return locked
