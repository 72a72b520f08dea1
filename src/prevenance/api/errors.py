"""One error format for the whole API: {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}.

Ninja's own schema errors, the services' Django ValidationError, missing records, refused
permissions, bad cursors and bad credentials all answer in that shape, never with a 500.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError

from prevenance.core.pagination import InvalidCursor

# Every body parameter of every operation is named `payload`; it is dropped from `loc` so
# schema errors and service errors point at a field the same way: ["body", "email"].
BODY_PARAM = "payload"


def error_body(*items: tuple[list, str, str]) -> dict:
    return {"detail": [{"loc": list(loc), "msg": str(msg), "type": kind} for loc, msg, kind in items]}


def _loc(raw) -> list:
    loc = list(raw or [])
    if len(loc) > 1 and loc[0] == "body" and loc[1] == BODY_PARAM:
        del loc[1]
    return loc


def schema_error_body(errors: list[dict]) -> dict:
    # Only loc/msg/type: pydantic's "input" would echo a huge or personal value back.
    return error_body(*((_loc(e.get("loc")), e.get("msg", ""), e.get("type", "invalid")) for e in errors))


def django_error_body(exc: ValidationError) -> dict:
    items = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            loc = ["body"] if field == "__all__" else ["body", field]
            items.extend((loc, " ".join(error.messages), error.code or "invalid") for error in errors)
    else:
        items.extend((["body"], " ".join(error.messages), error.code or "invalid") for error in exc.error_list)
    return error_body(*items)


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(request, body: dict, status: int):
        response = api.create_response(request, body, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(SchemaValidationError)
    def schema_invalid(request, exc):
        return respond(request, schema_error_body(exc.errors), 422)

    @api.exception_handler(ValidationError)
    def service_invalid(request, exc):
        return respond(request, django_error_body(exc), 422)

    @api.exception_handler(InvalidCursor)
    def bad_cursor(request, exc):
        return respond(request, error_body((["query", "cursor"], _("This cursor is not one this server issued."), "invalid_cursor")), 422)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, error_body(([], _("Not found."), "not_found")), 404)

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request, exc):
        return not_found(request, exc)

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return respond(request, error_body(([], _("You do not have permission to do this."), "permission_denied")), 403)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        msg = _("Authentication required: send “Authorization: Bearer <API key>” with a valid, unrevoked key.")
        return respond(request, error_body(([], msg, "not_authenticated")), 401)

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        if exc.status_code == 400 and isinstance(exc.__cause__, SchemaValidationError):
            return schema_invalid(request, exc.__cause__)
        if exc.status_code == 400:
            # Ninja raises this for a body that is not JSON.
            return respond(request, error_body((["body"], _("The request body is not valid JSON."), "json_invalid")), 400)
        if exc.status_code == 403:
            return respond(request, error_body(([], str(exc), "csrf_failed" if "CSRF" in str(exc) else "forbidden")), 403)
        return respond(request, error_body(([], str(exc), "error")), exc.status_code)
