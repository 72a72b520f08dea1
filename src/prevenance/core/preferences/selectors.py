"""Reading users' languages: the saved one, or the site's (settings.LANGUAGE_CODE) for the
emails sent to them when they saved none."""

from collections.abc import Iterable

from django.conf import settings

from prevenance.core.models import UserPreferences


def _offered(language: str | None) -> str:
    # A language saved, then taken out of settings.LANGUAGES, counts as none.
    return language if language and language in dict(settings.LANGUAGES) else ""


def saved_language(user) -> str:
    """The language `user` chose, "" when none (the browser or the site then decides)."""
    if user is None or user.pk is None:
        return ""
    return _offered(UserPreferences.objects.filter(user=user).values_list("language", flat=True).first())


def user_language(user) -> str:
    """The language to write to `user` in when no browser is there to say (an email)."""
    return saved_language(user) or settings.LANGUAGE_CODE


def user_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """user_language() for many users in one query: {user id: language}."""
    user_ids = list(user_ids)
    saved = dict(
        UserPreferences.objects.filter(user_id__in=user_ids).exclude(language="").values_list("user_id", "language")
    )
    return {user_id: _offered(saved.get(user_id)) or settings.LANGUAGE_CODE for user_id in user_ids}
