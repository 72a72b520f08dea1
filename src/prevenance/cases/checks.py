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
