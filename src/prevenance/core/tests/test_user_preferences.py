"""A user's language: saved only among settings.LANGUAGES, read with the site's as fallback."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from prevenance.core.preferences.selectors import saved_language, user_language, user_languages
from prevenance.core.preferences.services import set_user_language

pytestmark = pytest.mark.django_db

_numbers = itertools.count()


def new_user():
    # Not the customers app's UserFactory: core imports from no other app (import-linter).
    return get_user_model().objects.create_user(f"person{next(_numbers)}")


def test_a_user_who_chose_nothing_is_written_to_in_the_sites_language(settings):
    settings.LANGUAGE_CODE = "fr"
    user = new_user()

    assert saved_language(user) == ""
    assert user_language(user) == "fr"


def test_a_saved_language_is_the_users(settings):
    settings.LANGUAGE_CODE = "fr"
    user = new_user()

    set_user_language(user=user, language="en")

    assert user_language(user) == "en"


def test_a_language_the_site_does_not_offer_is_refused():
    user = new_user()
    set_user_language(user=user, language="fr")

    with pytest.raises(ValidationError) as refused:
        set_user_language(user=user, language="de")

    assert refused.value.error_dict["language"][0].code == "invalid_language"
    assert saved_language(user) == "fr"


def test_a_language_the_site_no_longer_offers_counts_as_none(settings):
    user = new_user()
    set_user_language(user=user, language="fr")
    settings.LANGUAGES = [("en", "English")]

    assert saved_language(user) == ""
    assert user_languages([user.pk]) == {user.pk: settings.LANGUAGE_CODE}


def test_many_users_languages_in_one_query(settings, django_assert_num_queries):
    settings.LANGUAGE_CODE = "en"
    french, english, undecided = new_user(), new_user(), new_user()
    set_user_language(user=french, language="fr")
    set_user_language(user=english, language="en")

    with django_assert_num_queries(1):
        languages = user_languages([french.pk, english.pk, undecided.pk])

    assert languages == {french.pk: "fr", english.pk: "en", undecided.pk: "en"}
