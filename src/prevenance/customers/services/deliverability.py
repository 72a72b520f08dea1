"""Email addresses that bounce: flagged when a mail server refuses one for good, or gives up on
it for now again and again; cleared when the person writes from it again, or by someone who
knows it works again (docs/email-intake.md, "Bounces")."""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
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


def note_temporary_failures(*, reasons: Mapping[str, str], at: datetime) -> list[Identity]:
    """A mail server gave up on these addresses for now ({address: its reason}): a mailbox
    full, a server down for days. One such failure says little; PREVENANCE_SOFT_BOUNCE_LIMIT
    of them within PREVENANCE_SOFT_BOUNCE_DAYS of the first, without the person writing in
    between (clear_bounce), flag the address as mark_bounced does, with the last reason. A
    series older than the window starts again. Returns the identities flagged now."""
    limit, window = settings.PREVENANCE_SOFT_BOUNCE_LIMIT, timedelta(days=settings.PREVENANCE_SOFT_BOUNCE_DAYS)
    flagged = []
    with transaction.atomic(savepoint=False):
        identities = Identity.objects.select_for_update().filter(
            kind=IdentityKind.EMAIL, normalized__in=list(reasons), bounced_at__isnull=True,
        ).order_by("pk")
        for identity in identities:
            if identity.soft_bounces_since is None or at - identity.soft_bounces_since > window:
                identity.soft_bounces, identity.soft_bounces_since = 0, at
            identity.soft_bounces += 1
            if identity.soft_bounces >= limit:
                identity.bounced_at, identity.bounce_reason = at, reasons[identity.normalized][:255]
                flagged.append(identity)
            identity.save(update_fields=["soft_bounces", "soft_bounces_since", "bounced_at", "bounce_reason"])
        for identity in flagged:
            record_audit(kind=IdentityAuditKind.BOUNCED, actor=None, subject=identity.customer,
                         payload={"identity": identity.pk, "temporary_failures": identity.soft_bounces})
    return flagged


def clear_bounce(address: str) -> None:
    """The person just wrote from `address` (a normalised email address): it works again, and
    a series of temporary failures starts over.

    One plain statement, run for every email reply: it changes a row only when the address
    was flagged or had failed for now."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Identity._meta.db_table)} SET {quote('bounced_at')} = NULL, {quote('bounce_reason')} = '', "
            f"{quote('soft_bounces')} = 0, {quote('soft_bounces_since')} = NULL "
            f"WHERE {quote('normalized')} = %s AND {quote('kind')} = %s "
            f"AND ({quote('bounced_at')} IS NOT NULL OR {quote('soft_bounces')} > 0)",
            [address, IdentityKind.EMAIL],
        )


def clear_bounce_by_hand(*, identity: Identity, actor) -> Identity:
    """Someone knows the address works again (the customer said so on the phone, their mailbox
    was full): emails go there again. Audited; a no-op on an address not flagged."""
    with transaction.atomic():
        locked = Identity.objects.select_for_update().get(pk=identity.pk)
        if locked.bounced_at is None:
            return locked
        locked.bounced_at, locked.bounce_reason, locked.soft_bounces, locked.soft_bounces_since = None, "", 0, None
        locked.save(update_fields=["bounced_at", "bounce_reason", "soft_bounces", "soft_bounces_since"])
        record_audit(kind=IdentityAuditKind.BOUNCE_CLEARED, actor=actor, subject=locked.customer, payload={"identity": locked.pk})
    return locked
