"""Every write about API keys, one transaction each."""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.api.models import ApiKey
from prevenance.api.selectors import digest_of
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
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
