"""My language (docs/dashboard.md): every user saves the language of their pages and emails;
saving switches the pages at once, logging in applies it, the top bar's switch still works."""

import pytest
from django.conf import settings
from django.urls import reverse

from prevenance.core.models import UserPreferences
from prevenance.core.preferences.selectors import saved_language
from prevenance.core.preferences.services import set_user_language

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
