import pytest
from django.urls import reverse

from prevenance.api.models import ApiKey
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


class TestLanguageSwitch:
    def test_switching_to_french_renders_the_pages_in_french(self, login, agent):
        customer = CustomerFactory(birth_date="1980-03-14")
        client = login(agent)
        url = reverse("web:customer", args=[customer.pk])

        response = client.post("/i18n/setlang/", {"language": "fr", "next": url})
        page = client.get(url).content.decode()

        assert response.status_code == 302 and response["Location"] == url
        assert '<html lang="fr">' in page
        assert "14 mars 1980" in page  # dates follow the language
        assert '<option value="fr" selected>Français</option>' in page

    def test_english_by_default(self, login, agent):
        customer = CustomerFactory(birth_date="1980-03-14")
        client = login(agent)

        page = client.get(reverse("web:customer", args=[customer.pk])).content.decode()

        assert '<html lang="en">' in page
        assert "14 Mar 1980" in page  # English written the European way (prevenance/formats/en)

    def test_login_page_in_french(self, client):
        page = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

        assert "Nom d’utilisateur" in page  # Django's own French catalogue


class TestLogin:
    def test_login_then_logout(self, client, agent):
        response = client.post(reverse("web:login"), {"username": "agent", "password": "correct horse battery"})
        assert response.status_code == 302 and response["Location"] == reverse("web:home")

        response = client.post(reverse("web:logout"))

        assert response.status_code == 302 and response["Location"] == reverse("web:login")
        assert client.get(reverse("web:home")).status_code == 302

    def test_a_wrong_password_re_renders_with_an_error(self, client, agent):
        response = client.post(reverse("web:login"), {"username": "agent", "password": "nope"})

        assert response.status_code == 200
        assert response.context["form"].errors["__all__"][0].startswith("Please enter a correct username and password.")


class TestApiKeys:
    def test_create_shows_the_key_once(self, login, agent):
        client = login(agent)

        response = client.post(reverse("web:api_keys"), {"name": "e-shop sync"})

        raw = response.context["raw_key"]
        key = ApiKey.objects.get(user=agent)
        assert raw.startswith(key.prefix) and raw in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        again = client.get(reverse("web:api_keys")).content.decode()
        assert raw not in again
        assert f"{key.prefix}…" in again and "e-shop sync" in again

    def test_a_blank_name_is_refused(self, login, agent):
        client = login(agent)

        response = client.post(reverse("web:api_keys"), {"name": "   "})

        assert response.status_code == 400
        assert response.context["form"].errors["name"] == ["This field is required."]
        assert ApiKey.objects.count() == 0

    def test_revoke_my_key(self, login, agent):
        client = login(agent)
        client.post(reverse("web:api_keys"), {"name": "script"})
        key = ApiKey.objects.get(user=agent)

        response = client.post(reverse("web:api_key_revoke", args=[key.pk]))

        assert response.status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert AuditEvent.objects.filter(kind="api_key.revoked").count() == 1

    def test_someone_elses_key_is_404_and_stays_active(self, login, agent, supervisor):
        login(supervisor).post(reverse("web:api_keys"), {"name": "theirs"})
        key = ApiKey.objects.get(user=supervisor)
        client = login(agent)

        response = client.post(reverse("web:api_key_revoke", args=[key.pk]))

        assert response.status_code == 404
        key.refresh_from_db()
        assert key.revoked_at is None
