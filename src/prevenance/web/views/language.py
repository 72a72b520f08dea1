"""A user's own language (docs/dashboard.md, "My language"): the page that saves it, and the
app's login page (web/login_language.py applies it at each login, here or in the admin). The
saved language reaches the pages through Django's language cookie, the one the top bar's
switch sets, so that switch still changes the language for the session."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from prevenance.core.forms import ServiceErrorsMixin
from prevenance.core.preferences.selectors import saved_language
from prevenance.core.preferences.services import set_user_language


def _language_choices() -> list[tuple[str, str]]:
    # Each language in its own name, as the top bar's switch lists them.
    offered = [(code, capfirst(translation.get_language_info(code)["name_local"])) for code, _name in settings.LANGUAGES]
    return [("", gettext_lazy("As my browser says")), *offered]


class LanguageForm(ServiceErrorsMixin, forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=_language_choices,
        required=False,
        help_text=gettext_lazy(
            "The language of these pages and of the emails Prévenance sends you (SLA alerts). "
            "“As my browser says”: the pages follow your browser, the emails are in the site’s language."
        ),
    )


def set_language_cookie(response, language: str) -> None:
    """What Django's set_language view does to the response; "" forgets the cookie, so the
    browser's Accept-Language decides again."""
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language,
        max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@login_required
@require_http_methods(["GET", "POST"])
def my_language(request):
    # Every user has one, whatever their role: no permission beyond being logged in.
    if request.method == "POST":
        form = LanguageForm(request.POST)
        if form.is_valid():
            language = form.cleaned_data["language"]
            try:
                set_user_language(user=request.user, language=language)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                # Said in the language just chosen: the next page is in it.
                with translation.override(language or translation.get_language()):
                    messages.success(request, _("Your language is saved."))
                response = redirect("web:my_language")
                set_language_cookie(response, language)
                return response
    else:
        form = LanguageForm(initial={"language": saved_language(request.user)})
    return render(request, "web/my_language.html", {"form": form}, status=400 if form.is_bound else 200)


class LoginView(auth_views.LoginView):
    """Django's login in the app's page. The saved language is applied on logging in here as on
    the admin's login page (web/login_language.py)."""

    template_name = "web/login.html"
    redirect_authenticated_user = True
