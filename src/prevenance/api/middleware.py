"""The API's middleware: Idempotency-Key on POST requests, and the error shape for what
never reaches an endpoint (ApiErrorShapeMiddleware, at the end).

Idempotency-Key on the API's POST requests: a retried request gets the first answer again.

A POST under /api/v1/ with an `Idempotency-Key` header runs in one transaction that also
stores its answer under (caller, key); a retry with the same key and the same request is
answered from that row (`Idempotent-Replayed: true`) and runs nothing, so a client whose
connection dropped can retry a case creation without ever opening a second case. The same
key with another request is refused (422). Only success answers (2xx) are kept: a refused
request can be corrected and retried under the same key. Keys expire after 24 hours.
See docs/api.md, "Idempotent retries".
"""

import hashlib
import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from prevenance.api import services
from prevenance.api.errors import error_body, too_large_body
from prevenance.api.selectors import active_key_for
from prevenance.core.files import discard_files, files_discarded_on_failure

API_PREFIX = "/api/"
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
# Set on the request so ApiKeyAuth does not look the same key up twice.
RESOLVED_KEY_ATTR = "prevenance_api_key"


def _refuse(status: int, msg: str, kind: str) -> JsonResponse:
    return JsonResponse(error_body((["header", HEADER], msg, kind)), status=status)


def _scope(request) -> str | None:
    """Who is asking: their API key, else their web session; None leaves the 401 to the API."""
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        key = active_key_for(authorization[7:].strip())
        setattr(request, RESOLVED_KEY_ATTR, key)
        return f"key:{key.pk}" if key is not None else None
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _replay(stored) -> HttpResponse:
    response = HttpResponse(stored.response_body, status=stored.response_status, content_type=stored.content_type or None)
    response[REPLAYED_HEADER] = "true"
    return response


def _server_error(response: HttpResponse) -> HttpResponse:
    """Django's 500 page, its body replaced by the error format. Nothing of the exception is
    said: its text may name tables, paths or a customer's data. The same response object, so
    Django does not log it a second time (log_response marks the one it logged)."""
    msg = _("An unexpected error occurred on the server; it has been logged.")
    response.content = json.dumps(error_body(([], msg, "server_error")))
    response["Content-Type"] = "application/json"
    if response.has_header("Content-Length"):  # set by CommonMiddleware for the page
        response["Content-Length"] = str(len(response.content))
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or HEADER not in request.headers or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        key = request.headers[HEADER].strip()
        if not KEY_PATTERN.fullmatch(key):
            return _refuse(422, _("The Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is best)."), "idempotency_key_invalid")
        scope = _scope(request)
        if scope is None:
            return self.get_response(request)
        try:
            request.body  # noqa: B018 - read once here: the fingerprint needs it
        except RequestDataTooBig:
            # Over DATA_UPLOAD_MAX_MEMORY_SIZE: refused before any claim, so nothing is kept.
            return JsonResponse(too_large_body(), status=413)
        return self._once(request, scope, key)

    def _once(self, request, scope: str, key: str):
        with files_discarded_on_failure() as stored:
            response = self._in_transaction(request, scope, key)
            if response.status_code >= 500:
                discard_files(stored)  # _in_transaction rolled back: no row points to them
                stored.clear()
        return response

    def _in_transaction(self, request, scope: str, key: str):
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            stored = services.claim_idempotency_key(scope=scope, key=key, fingerprint=fingerprint)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return _refuse(
                        422, _("This Idempotency-Key was already used with a different request; use a new key for a new request."),
                        "idempotency_key_reused",
                    )
                return _replay(stored)
            response = self.get_response(request)
            if 200 <= response.status_code < 300 and not response.streaming:
                services.store_idempotent_response(
                    scope=scope, key=key, status=response.status_code, body=response.content.decode("utf-8"),
                    content_type=response.get("Content-Type", ""),
                )
            elif response.status_code >= 500:
                # As ATOMIC_REQUESTS does on an exception: nothing of a failed request is kept.
                transaction.set_rollback(True)
            else:
                # A refused request keeps what it wrote on purpose (a 409 of /customers/resolve
                # opens the identity conflict it names) but not its claim: it can be corrected
                # and sent again under the same key.
                services.release_idempotency_key(scope=scope, key=key)
        return response


class ApiErrorShapeMiddleware:
    """The API's error shape for the answers no endpoint writes: Django's HTML 400 for a request
    it refuses to read (more than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters, a Host not
    allowed), its HTML 404 for a path under /api/ that does not exist, Ninja's plain-text 405
    for a method an endpoint does not have (its `Allow` header is kept), and Django's HTML 500
    for an unhandled exception. A JSON answer passes as it is. After LocaleMiddleware: `msg` is
    in the request's language.

    The 500 is reshaped here, after Django has turned the exception into its answer: Django has
    logged it (logger django.request, with the traceback) and IdempotencyMiddleware, further in,
    has rolled the request back on that 5xx. With DEBUG on, the traceback is answered as it is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code not in (400, 404, 405, 500)
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 500:
            return response if settings.DEBUG else _server_error(response)
        if response.status_code == 400:
            return JsonResponse(error_body(([], _("This request is malformed: it was not read."), "bad_request")), status=400)
        if response.status_code == 404:
            return JsonResponse(error_body(([], _("Not found."), "not_found")), status=404)
        allowed = ", ".join(sorted(method.strip() for method in response.get("Allow", "").split(",") if method.strip()))
        msg = _("This path does not accept %(method)s; it accepts %(allowed)s.") % {"method": request.method[:20], "allowed": allowed}
        shaped = JsonResponse(error_body(([], msg, "method_not_allowed")), status=405)
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped
