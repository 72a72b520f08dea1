"""Reads about API keys."""

import copy
import hashlib
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save

from prevenance.api.models import ApiKey


def digest_of(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def user_api_keys(user) -> QuerySet[ApiKey]:
    """The user's own keys, newest first, revoked ones included (they show when it happened)."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-pk")


def _load_key(digest: str) -> ApiKey | None:
    key = ApiKey.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
    if key is None or not key.user.is_active:
        return None
    key.user.get_all_permissions()  # fills the user's permission caches, kept with the key below
    return key


# Live keys with their user and permissions, for KEY_CACHE_SECONDS per process: without it,
# every API call costs three queries (the key, the user's and the groups' permissions) before
# it starts. A revocation, a user or a role changed in this process clears it at once (the
# receivers below); other processes see the change within KEY_CACHE_SECONDS. 0 turns it off.
_keys: dict[str, tuple[float, ApiKey]] = {}
KEY_CACHE_MAX = 10_000


def _key_cache_seconds() -> float:
    return float(getattr(settings, "PREVENANCE_API_KEY_CACHE_SECONDS", 10))


def active_key_for(raw_key: str) -> ApiKey | None:
    """The live key matching what a client sent, with its (active) user; None otherwise."""
    if not raw_key or len(raw_key) > 200:
        return None
    digest = digest_of(raw_key)
    now = time.monotonic()
    hit = _keys.get(digest)
    if hit is not None and hit[0] > now:
        # A copy per request: a request that changes its user object cannot reach another's.
        key = copy.copy(hit[1])
        key.user = copy.copy(hit[1].user)
        return key
    key = _load_key(digest)
    ttl = _key_cache_seconds()
    if key is not None and ttl > 0:
        if len(_keys) >= KEY_CACHE_MAX:
            _keys.clear()
        _keys[digest] = (now + ttl, key)
    return key


def note_key_used(key: ApiKey) -> None:
    """touch_api_key wrote last_used_at: the cached copy learns it too, or each request would write it again."""
    hit = _keys.get(key.digest)
    if hit is not None:
        hit[1].last_used_at = key.last_used_at


def forget_api_keys(**kwargs) -> None:
    """Empty this process's key cache (connected to the changes that can refuse a key)."""
    _keys.clear()


for _model in (ApiKey, get_user_model(), Group):
    post_save.connect(forget_api_keys, sender=_model, dispatch_uid=f"api-key-cache-save-{_model._meta.label_lower}")
    post_delete.connect(forget_api_keys, sender=_model, dispatch_uid=f"api-key-cache-delete-{_model._meta.label_lower}")
for _through in (get_user_model().groups.through, get_user_model().user_permissions.through, Group.permissions.through):
    m2m_changed.connect(forget_api_keys, sender=_through, dispatch_uid=f"api-key-cache-m2m-{_through._meta.label_lower}")
