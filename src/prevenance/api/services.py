"""Every write about API keys, one transaction each."""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.api.models import ApiKey, IdempotencyKey
from prevenance.api.selectors import digest_of, note_key_used
from prevenance.core.audit import record_audit
from prevenance.core.choices import AuditKind

KEY_PREFIX = "pvn_"
VISIBLE_PREFIX_LENGTH = 12
NAME_MAX = 100
# A key's last use is a hint for its owner, not a log: one write a minute per key at most.
LAST_USED_PRECISION = timedelta(minutes=1)


def create_api_key(*, user, name: str) -> tuple[ApiKey, str]:
    """Make a key for `user`; the raw key is returned here once and never stored."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": [_("Give the key a name (what or who will use it).")]})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [_("At most %(limit)d characters.") % {"limit": NAME_MAX}]})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(user=user, name=name, prefix=raw[:VISIBLE_PREFIX_LENGTH], digest=digest_of(raw))
        record_audit(kind=AuditKind.API_KEY_CREATED, actor=user, subject=key, payload={"name": name, "prefix": key.prefix})
    return key, raw


def revoke_api_key(*, key: ApiKey, actor) -> ApiKey:
    """Stop a key from working. Its owner or an administrator of keys may; revoking twice is harmless."""
    if actor is None or (actor.pk != key.user_id and not actor.has_perm("api.change_apikey")):
        raise PermissionDenied
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record_audit(kind=AuditKind.API_KEY_REVOKED, actor=actor, subject=locked, payload={"prefix": locked.prefix})
    return locked


def touch_api_key(*, key: ApiKey) -> None:
    """Note that the key was used, at most once per LAST_USED_PRECISION (no write on most requests)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_PRECISION:
        return
    key.last_used_at = now
    note_key_used(key)
    # After commit: inside a request that runs in one transaction (Idempotency-Key), the row
    # lock would make every other request with this key wait for this one to finish.
    transaction.on_commit(lambda: ApiKey.objects.filter(pk=key.pk).update(last_used_at=now))


# Idempotency-Key (api/middleware.py): how long a stored answer is replayed to a retry.
IDEMPOTENCY_TTL = timedelta(hours=24)


def claim_idempotency_key(*, scope: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Inside the request's transaction: None when this request now holds the key (go on and
    answer), else the stored row of an earlier request (replay it, or refuse a different one).

    While another request holding the same key has not committed, the INSERT waits for it
    (PostgreSQL waits on the unique index; SQLite lets one writer at a time), then sees its
    committed row: two concurrent retries never both run.
    """
    now = timezone.now()
    for _attempt in range(2):
        if _insert_key(scope=scope, key=key, fingerprint=fingerprint, now=now):
            return None
        stored = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if stored is None:
            continue  # the holder gave the key up (an error answer is not kept): take it
        if now - stored.created_at < IDEMPOTENCY_TTL:
            return stored
        stored.delete()  # expired: the key starts afresh
    raise IntegrityError("Idempotency-Key could not be claimed")


def _insert_key(*, scope: str, key: str, fingerprint: str, now) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike): one statement, and no
    savepoint, on the path every POST with a key takes. True when this request inserted it."""
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    names = ("scope", "key", "fingerprint", "response_status", "response_body", "content_type", "created_at")
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    field = IdempotencyKey._meta.get_field("created_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, 0, '', '', %s) "  # noqa: S608 - names quoted, values bound
            f"ON CONFLICT ({connection.ops.quote_name('scope')}, {connection.ops.quote_name('key')}) DO NOTHING",
            [scope, key, fingerprint, field.get_db_prep_value(now, connection)],
        )
        return cursor.rowcount == 1


def store_idempotent_response(*, scope: str, key: str, status: int, body: str, content_type: str) -> None:
    """Keep the answer on the row claim_idempotency_key inserted. Plain SQL: the ORM compiled
    this UPDATE anew on every POST with a key (~0.3 ms, as much as the statement's round trip)."""
    table, quote = IdempotencyKey._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {quote('response_status')} = %s, {quote('response_body')} = %s, "  # noqa: S608 - names quoted, values bound
            f"{quote('content_type')} = %s WHERE {quote('scope')} = %s AND {quote('key')} = %s",
            [status, body, content_type, scope, key],
        )


def release_idempotency_key(*, scope: str, key: str) -> None:
    """An error answer is not kept: a retry of a refused request runs again."""
    IdempotencyKey.objects.filter(scope=scope, key=key).delete()


def prune_idempotency_keys(*, now=None) -> int:
    """Forget the answers older than IDEMPOTENCY_TTL (hourly, by beat); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=(now or timezone.now()) - IDEMPOTENCY_TTL).delete()
    return deleted
