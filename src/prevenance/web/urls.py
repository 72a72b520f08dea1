from django.urls import path

from prevenance.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("consent/confirm/<str:token>/", views.confirm_consent, name="confirm_consent"),
]
