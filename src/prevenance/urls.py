from django.contrib import admin
from django.urls import include, path

from prevenance.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("cases/", include("prevenance.cases.urls")),
    path("", include("prevenance.web.urls")),
]
