from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _create_cache_tables(sender, using="default", **kwargs) -> None:
    # The shared cache (settings.CACHES["shared"], rate limits) is a table by default; creating
    # it after every migrate means `make run`, a deployment and the test databases all have it
    # without a separate step. It does nothing when the table exists or the cache is Redis.
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "prevenance.core"
    label = "core"
    verbose_name = _("General")

    def ready(self) -> None:
        post_migrate.connect(_create_cache_tables, sender=self, dispatch_uid="prevenance-cache-tables")
        # Connects the signals that keep per-process calendar specs in step with their rows.
        from prevenance.core.calendars import selectors  # noqa: F401
