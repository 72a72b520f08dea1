from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from prevenance.api.api import api

# The admin names the product, in the reader's language, and its "View site" link leads back to
# the app ("/": the admin reads it as the root of the app when it is served under a sub-path).
admin.site.site_header = _("Prévenance administration")
admin.site.site_title = _("Prévenance admin")
admin.site.index_title = _("Settings and data")
admin.site.site_url = "/"

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("cases/", include("prevenance.cases.urls")),
    path("", include("prevenance.web.urls")),
]
