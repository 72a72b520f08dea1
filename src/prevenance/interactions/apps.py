from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "prevenance.interactions"
    label = "interactions"
    verbose_name = _("Interactions")

    def ready(self):
        # The CSV registry lives in core, which cannot import this app: the app registers itself.
        from prevenance.core import csvio
        from prevenance.interactions import exports, imports

        csvio.register(importer=imports.InteractionsImporter(), exporter=exports.InteractionsExporter())
