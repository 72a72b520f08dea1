"""Reads about API keys."""

import hashlib

from django.db.models import QuerySet

from prevenance.api.models import ApiKey


def digest_of(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def user_api_keys(user) -> QuerySet[ApiKey]:
    """The user's own keys, newest first, revoked ones included (they show when it happened)."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-pk")


def active_key_for(raw_key: str) -> ApiKey | None:
    """The live key matching what a client sent, with its (active) user; None otherwise."""
    if not raw_key or len(raw_key) > 200:
        return None
    key = ApiKey.objects.select_related("user").filter(digest=digest_of(raw_key), revoked_at__isnull=True).first()
    if key is None or not key.user.is_active:
        return None
    return key
