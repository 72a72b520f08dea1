"""Case pages under /cases/ (the inbox, case pages, forms) and the public pages customers reach."""

from django.urls import path  # noqa: F401 - each screen's module adds its paths below

app_name = "cases"

urlpatterns: list = []
