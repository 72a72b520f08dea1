"""My language (docs/dashboard.md): every user saves the language of their pages and emails;
saving switches the pages at once, logging in applies it (on /login/ and on the admin's login
page), the top bar's switch still works, an administrator sets it on the user's admin page."""

import pytest
from django.conf import settings
from django.urls import reverse

from prevenance.core.models import UserPreferences
from prevenance.core.preferences.selectors import saved_language
from prevenance.core.preferences.services import set_user_language
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME


class TestThePage:
    def test_every_logged_in_user_finds_it_in_their_menu(self, login, nobody):
        home = login(nobody).get(reverse("web:home")).content.decode()

        assert f'href="{reverse("web:my_language")}"' in home
        page = login(nobody).get(reverse("web:my_language"))
        assert page.status_code == 200
        assert '<option value="fr">Français</option>' in page.content.decode()

    def test_it_needs_a_login(self, client):
        response = client.get(reverse("web:my_language"))

        assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))

    def test_saving_french_saves_it_and_switches_the_pages_at_once(self, login, agent):
        client = login(agent)

        response = client.post(reverse("web:my_language"), {"language": "fr"}, HTTP_ACCEPT_LANGUAGE="en")
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert saved_language(agent) == "fr"
        assert response.status_code == 302 and response.cookies[COOKIE].value == "fr"
        assert '<html lang="fr">' in page
        assert "message-success" in page  # "Your language is saved.", in French once translated
        assert '<option value="fr" selected>Français</option>' in page

    def test_a_language_the_site_does_not_offer_is_refused(self, login, agent):
        set_user_language(user=agent, language="fr")
        client = login(agent)

        response = client.post(reverse("web:my_language"), {"language": "de"})

        assert response.status_code == 400
        assert response.context["form"].errors["language"]
        assert COOKIE not in response.cookies
        assert saved_language(agent) == "fr"

    def test_as_my_browser_says_forgets_the_choice_and_the_cookie(self, login, agent):
        set_user_language(user=agent, language="fr")
        client = login(agent)
        client.cookies[COOKIE] = "fr"

        response = client.post(reverse("web:my_language"), {"language": ""})
        page = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert UserPreferences.objects.get(user=agent).language == ""
        assert response.cookies[COOKIE]["max-age"] == 0  # deleted
        assert '<html lang="en">' in page


class TestLogin:
    def test_logging_in_applies_the_saved_language_whatever_the_browser_says(self, client, agent):
        set_user_language(user=agent, language="fr")

        response = client.post(
            reverse("web:login"), {"username": "agent", "password": "correct horse battery"}, HTTP_ACCEPT_LANGUAGE="en"
        )
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert response.status_code == 302 and response["Location"] == reverse("web:home")
        assert '<html lang="fr">' in page

    def test_the_saved_language_wins_over_an_earlier_sessions_switch(self, client, agent):
        set_user_language(user=agent, language="en")
        client.cookies[COOKIE] = "fr"

        client.post(reverse("web:login"), {"username": "agent", "password": "correct horse battery"})

        assert '<html lang="en">' in client.get(reverse("web:home")).content.decode()

    def test_without_a_saved_language_the_browser_decides_as_before(self, client, agent):
        response = client.post(
            reverse("web:login"), {"username": "agent", "password": "correct horse battery"}, HTTP_ACCEPT_LANGUAGE="fr"
        )

        assert COOKIE not in response.cookies
        assert '<html lang="fr">' in client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    def test_the_top_bar_switch_still_changes_the_language_for_the_session(self, login, agent):
        set_user_language(user=agent, language="fr")
        client = login(agent)

        client.post("/i18n/setlang/", {"language": "en", "next": reverse("web:home")})

        assert '<html lang="en">' in client.get(reverse("web:home")).content.decode()
        assert saved_language(agent) == "fr"  # the saved choice is the page's, not the switch's


class TestAdminLogin:
    """The Django admin's own login page applies the saved language as /login/ does."""

    def test_logging_in_on_the_admins_page_applies_the_saved_language(self, client):
        staff = UserFactory(username="nadia", is_staff=True)
        set_user_language(user=staff, language="fr")

        response = client.post(
            "/admin/login/", {"username": "nadia", "password": "correct horse battery", "next": "/admin/"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert response.status_code == 302 and response["Location"] == "/admin/"
        assert response.cookies[COOKIE].value == "fr"
        assert '<html lang="fr"' in page

    def test_a_failed_login_applies_nothing(self, client):
        staff = UserFactory(username="nadia", is_staff=True)
        set_user_language(user=staff, language="fr")

        response = client.post("/admin/login/", {"username": "nadia", "password": "wrong", "next": "/admin/"})

        assert response.status_code == 200 and COOKIE not in response.cookies


class TestUserAdmin:
    """An administrator sets a user's language on that user's page in the admin."""

    @pytest.fixture
    def root(self, django_user_model):
        return django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")

    def test_the_users_page_shows_their_language(self, client, root, agent):
        set_user_language(user=agent, language="fr")
        client.force_login(root)

        page = client.get(reverse("admin:auth_user_change", args=[agent.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert 'name="preferences-0-language"' in page
        assert '<option value="fr" selected>French</option>' in page

    def test_a_user_who_chose_none_is_shown_as_following_their_browser(self, client, root, agent):
        client.force_login(root)

        page = client.get(reverse("admin:auth_user_change", args=[agent.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert '<option value="" selected>As their browser says</option>' in page
        assert "#1" not in page  # no heading over a preference not saved yet

    def test_an_administrator_sets_a_users_language(self, client, root, agent):
        client.force_login(root)
        group = agent.groups.get()

        response = client.post(reverse("admin:auth_user_change", args=[agent.pk]), {
            "username": "agent", "first_name": "", "last_name": "", "email": agent.email, "is_active": "on",
            "groups": [group.pk], "last_login_0": "", "last_login_1": "",
            "date_joined_0": agent.date_joined.strftime("%Y-%m-%d"), "date_joined_1": agent.date_joined.strftime("%H:%M:%S"),
            "preferences-TOTAL_FORMS": "1", "preferences-INITIAL_FORMS": "0", "preferences-MIN_NUM_FORMS": "0",
            "preferences-MAX_NUM_FORMS": "1", "preferences-0-id": "", "preferences-0-language": "fr",
        })

        assert response.status_code == 302, response.content.decode()[:3000]
        assert saved_language(agent) == "fr"
        assert list(agent.groups.all()) == [group]  # the rest of the user is as it was
