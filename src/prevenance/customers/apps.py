from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "prevenance.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        # The CSV registry lives in core, which cannot import this app: the app registers itself.
        from prevenance.core import csvio
        from prevenance.customers import exports, imports

        csvio.register(importer=imports.CustomersImporter(), exporter=exports.CustomersExporter())
        csvio.register(importer=imports.ConsentsImporter(), exporter=exports.ConsentsExporter())
        csvio.register(importer=imports.OrdersImporter(), exporter=exports.OrdersExporter())
