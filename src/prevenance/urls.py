from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from prevenance.api.api import api

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("cases/", include("prevenance.cases.urls")),
    path("", include("prevenance.web.urls")),
]
