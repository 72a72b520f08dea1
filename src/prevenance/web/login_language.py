"""A user's saved language applied at each login, whichever page logged them in: the app's
/login/ or the Django admin's own (docs/dashboard.md, "My language"). Django's user_logged_in
signal names the user but has no response to set the language cookie on: the receiver notes
the language on the request, and the middleware puts it on that request's response."""

from prevenance.core.preferences.selectors import saved_language
from prevenance.web.views.language import set_language_cookie

_LOGIN_LANGUAGE = "prevenance_login_language"


def note_login_language(sender, request, user, **kwargs) -> None:
    """Receiver of user_logged_in. A user who saved no language keeps what the cookie or the
    browser says. A login with no request (a test client's force_login) has no page to change."""
    if request is not None and (language := saved_language(user)):
        setattr(request, _LOGIN_LANGUAGE, language)


class LoginLanguageMiddleware:
    """Puts the language noted at login on the response's language cookie: from the first page
    after logging in, whatever the browser or an earlier session chose."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if language := getattr(request, _LOGIN_LANGUAGE, ""):
            set_language_cookie(response, language)
        return response
