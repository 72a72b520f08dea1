"""Writing a user's preferences."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from prevenance.core.models import UserPreferences


def set_user_language(*, user, language: str) -> UserPreferences:
    """Save `user`'s language: a code of settings.LANGUAGES, or "" for "as the browser or the
    site says". Anything else is refused, so an email is never rendered in a language the site
    has no translation for."""
    language = (language or "").strip()
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(
            {"language": ValidationError(
                _("“%(value)s” is not one of the languages offered."),
                code="invalid_language",
                params={"value": language[:20]},
            )}
        )
    preferences, _created = UserPreferences.objects.update_or_create(user=user, defaults={"language": language})
    return preferences
