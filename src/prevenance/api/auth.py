"""Who is calling: a personal API key (Authorization: Bearer KEY) or the web UI's session."""

from django.conf import settings
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer

from prevenance.api.middleware import RESOLVED_KEY_ATTR
from prevenance.api.selectors import active_key_for
from prevenance.api.services import touch_api_key


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token: str):
        # The idempotency middleware may have looked the key up already (api/middleware.py).
        key = getattr(request, RESOLVED_KEY_ATTR) if hasattr(request, RESOLVED_KEY_ATTR) else active_key_for(token.strip())
        if key is None:
            # A client that sent a key wants to know it is wrong, not to fall back to a session.
            raise AuthenticationError
        touch_api_key(key=key)
        return key.user


class SessionAuth(APIKeyCookie):
    """Django's session, with CSRF checked for unsafe methods as the web UI sends it.

    Unlike ninja's django_auth, CSRF is only checked for a logged-in session: an anonymous call
    gets 401 (who are you?) rather than 403 (CSRF), which is the useful answer to a client.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return request.user if request.user.is_authenticated else None


API_AUTH = [ApiKeyAuth(), SessionAuth()]
