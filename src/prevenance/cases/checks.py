"""System checks (`prevenance check`, and every command that starts the server) for the cases app."""

import os

from django.conf import settings
from django.core import checks

# Environment variables an earlier version read; their settings now live in the admin.
MOVED_TO_THE_ADMIN = {
    "PREVENANCE_REOPEN_DAYS": "Cases > Case settings > reopen window",
    "PREVENANCE_GESTURE_TRUST_WITHOUT_PROOF": "Cases > Trust-without-proof thresholds",
}


@checks.register()
def settings_moved_to_the_admin(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Say so when an environment variable that is no longer read is still set: whoever set it
    would otherwise believe it still applies."""
    return [
        checks.Warning(
            f"{name} is set but read only once: migration cases 0021 copies its value into the admin, and nothing "
            f"reads it after that. Once migrated, change the setting in the admin ({place}).",
            hint=f"Remove {name} from the environment after migrating (before, the migration would start from the "
                 f"default instead).", id="prevenance.W001",
        )
        for name, place in MOVED_TO_THE_ADMIN.items()
        if os.environ.get(name, "").strip()
    ]


@checks.register()
def priority_setting_moved_to_the_admin(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The same for the PREVENANCE_PRIORITY setting (a dict in a settings module, not a variable):
    the figures of the priority score are the admin's since migration cases 0023."""
    if getattr(settings, "PREVENANCE_PRIORITY", None) is None:
        return []
    return [checks.Warning(
        "PREVENANCE_PRIORITY is set but read only once: migration cases 0023 copies its figures into the admin, "
        "and nothing reads it after that. Once migrated, change the figures in the admin (Cases > Priority settings).",
        hint="Remove PREVENANCE_PRIORITY from your settings module after migrating (before, the migration would start "
             "from the defaults instead).", id="prevenance.W002",
    )]


DJANGO_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SMTPUTF8_BACKEND = "prevenance.core.mail_backends.SMTPUTF8EmailBackend"


@checks.register()
def smtp_backend_for_international_addresses(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Django's SMTP backend writes an address with accents before the @ as an encoded word:
    the server takes it and the reply reaches nobody, with no error anywhere. Prévenance's
    backend is the same for every other email."""
    if settings.EMAIL_BACKEND != DJANGO_SMTP_BACKEND:
        return []
    return [checks.Warning(
        "EMAIL_BACKEND is Django's SMTP backend: replies to international addresses (accents or other scripts "
        "before the @, such as clàire@exämple.com) would go to a garbled address and be lost without an error.",
        hint=f"Set EMAIL_BACKEND={SMTPUTF8_BACKEND}: it sends every other email exactly as Django's does, and these "
             "with SMTPUTF8 (docs/email-intake.md, \"International addresses\").", id="prevenance.W003",
    )]


@checks.register()
def one_way_to_encrypt_smtp(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Django's SMTP backend refuses both at every send; said at start instead, where it is seen."""
    if not (settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL):
        return []
    return [checks.Error(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: no email could be sent.",
        hint="Keep one: EMAIL_USE_TLS=1 for STARTTLS (usually port 587), or EMAIL_USE_SSL=1 for TLS from the start "
             "(usually port 465).", id="prevenance.E001",
    )]
