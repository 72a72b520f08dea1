"""A user's own API keys: create (the key is shown once), list, revoke."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from prevenance.api.selectors import user_api_keys
from prevenance.api.services import create_api_key, revoke_api_key
from prevenance.web.forms import ApiKeyForm


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    # Every user may hold keys: the API then grants exactly what their role grants here.
    form = ApiKeyForm(request.POST or None)
    created = raw_key = None
    if request.method == "POST" and form.is_valid():
        try:
            created, raw_key = create_api_key(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            form = ApiKeyForm()
    context = {"form": form, "keys": list(user_api_keys(request.user)), "created": created, "raw_key": raw_key}
    response = render(request, "web/api_keys.html", context, status=400 if form.errors else 200)
    # The raw key is in this page once: no cache may keep it.
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def api_key_revoke(request, key_id: int):
    key = user_api_keys(request.user).filter(pk=key_id).first()
    if key is None:
        raise Http404
    revoke_api_key(key=key, actor=request.user)
    return redirect("web:api_keys")
