"""The REST API at /api/v1/: authentication, the error format, and each app's router."""

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from prevenance.api.auth import API_AUTH
from prevenance.api.errors import install_error_handlers
from prevenance.api.parser import StrictJsonParser
from prevenance.cases.api import gestures_router, sla_router, templates_router
from prevenance.cases.api import router as cases_router
from prevenance.customers.api import router as customers_router
from prevenance.interactions.api import router as interactions_router

api = NinjaAPI(
    title="Prévenance API",
    version="1.0.0",
    description=str(
        _("Customers, identities, consents, orders, interactions and timeline; cases, their messages and commercial gestures, "
          "approvals, reply templates and SLA policies. POST requests accept an “Idempotency-Key” header. "
          "Authenticate with an “Authorization: Bearer” header carrying your API key (create one with `prevenance create-api-key USERNAME`).")
    ),
    auth=API_AUTH,
    parser=StrictJsonParser(),
    urls_namespace="api-v1",
    # With "ninja" in INSTALLED_APPS, Swagger UI comes from ninja's bundled static files (no CDN);
    # validatorUrl None stops it from sending the schema to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/customers", customers_router)
api.add_router("/customers", interactions_router)
api.add_router("/cases", cases_router)
api.add_router("/gestures", gestures_router)
api.add_router("/templates", templates_router)
api.add_router("/sla-policies", sla_router)
