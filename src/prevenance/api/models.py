from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A personal key for the REST API. Only a digest is stored: the key itself is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the key, so a person can tell their keys apart without the secret.
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    # sha256 of a 256-bit random key: a slow password hash adds nothing against guessing here.
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes = [models.Index(fields=["user", "-created_at"], name="api_key_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The answer given to a POST sent with an Idempotency-Key header, replayed to its retries.

    `scope` is who sent it ("key:<api key id>", or "user:<id>" for the web session): the same
    key from two clients is two different requests. Rows are written in the request's own
    transaction, so only a committed answer is ever stored (api/middleware.py, docs/api.md).
    """

    scope = models.CharField(_("scope"), max_length=40)
    key = models.CharField(_("idempotency key"), max_length=255)
    # sha256 of the method, path, query string and body: the same key with another request is refused.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), default=0)
    response_body = models.TextField(_("response body"), blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
