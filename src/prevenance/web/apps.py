from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _refresh_roles(sender, **kwargs) -> None:
    # Runs after each app's post_migrate (web has no models, so it gets no signal of its own):
    # idempotent and cheap, and the last run sees every app's permissions.
    from prevenance.core.roles import ensure_roles  # noqa: PLC0415 - auth models need ready apps

    ensure_roles()


class WebConfig(AppConfig):
    name = "prevenance.web"
    label = "web"
    verbose_name = _("Web")

    def ready(self) -> None:
        post_migrate.connect(_refresh_roles, dispatch_uid="prevenance-roles")
        from prevenance.web.login_language import note_login_language  # noqa: PLC0415 - imports models

        user_logged_in.connect(note_login_language, dispatch_uid="prevenance-login-language")
