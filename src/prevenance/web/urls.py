from django.contrib.auth import views as auth_views
from django.urls import path

from prevenance.web import imports
from prevenance.web.views import api_keys, customers, home, language, merge

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    # Django's login, applying the user's saved language (web/views/language.py).
    path("login/", language.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("consent/confirm/<str:token>/", home.confirm_consent, name="confirm_consent"),
    path("customers/", customers.customer_search, name="customer_search"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("customers/<int:customer_id>/timeline/", customers.customer_timeline_page, name="customer_timeline"),
    path("customers/<int:customer_id>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/consents/", customers.customer_consent, name="customer_consent"),
    path("customers/<int:customer_id>/export/", customers.customer_export, name="customer_export"),
    path("customers/<int:customer_id>/identities/<int:identity_id>/works/", customers.customer_address_works,
         name="customer_address_works"),
    path("customers/<int:customer_id>/erase/", customers.customer_erase, name="customer_erase"),
    path("customers/merge/<int:first_id>/<int:second_id>/", merge.customer_merge, name="customer_merge"),
    path("conflicts/", merge.conflict_list, name="conflicts"),
    path("conflicts/<int:conflict_id>/dismiss/", merge.conflict_dismiss, name="conflict_dismiss"),
    path("account/api-keys/", api_keys.api_keys, name="api_keys"),
    path("account/api-keys/<int:key_id>/revoke/", api_keys.api_key_revoke, name="api_key_revoke"),
    path("account/language/", language.my_language, name="my_language"),
]

# CSV import and export (web/imports.py).
urlpatterns += [
    path("import/", imports.import_page, name="import"),
    path("import/export/<str:kind>.csv", imports.export_download, name="export"),
]
