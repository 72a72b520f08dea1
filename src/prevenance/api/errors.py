"""One error format for the whole API: {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}.

Ninja's own schema errors, the services' Django ValidationError, missing records, refused
permissions, bad cursors, bad credentials and a body over the size limit all answer in that
shape, never with a 500; `msg` is in the request's language (pydantic's messages too, by
`type`: SCHEMA_MESSAGES). An unknown path and a method an endpoint does not have are put in
that shape by api.middleware.ApiErrorShapeMiddleware.
"""

from collections.abc import Callable, Collection

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError

from prevenance.core.formats import format_file_size
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


def _one_of(expected: str) -> str:
    # pydantic's "'a', 'b' or 'c'" with the request's "or".
    head, sep, last = str(expected).rpartition(" or ")
    # Translators: the end of a list of allowed values: 'question', 'request' or 'complaint'.
    return _("%(values)s or %(last)s") % {"values": head, "last": last} if sep else str(expected)


def _at_most(ctx: dict) -> str:
    limit = int(ctx["max_length"])
    return ngettext("String should have at most %(limit)d character", "String should have at most %(limit)d characters", limit) % {
        "limit": limit,
    }


def _at_least(ctx: dict) -> str:
    limit = int(ctx["min_length"])
    return ngettext("String should have at least %(limit)d character", "String should have at least %(limit)d characters", limit) % {
        "limit": limit,
    }


def _too_many(ctx: dict) -> str:
    limit, actual = int(ctx["max_length"]), int(ctx["actual_length"])
    return ngettext("List should have at most %(limit)d item after validation, not %(actual)d",
                    "List should have at most %(limit)d items after validation, not %(actual)d",
                    limit) % {"limit": limit, "actual": actual}


# pydantic's messages by error type, in the request's language, filled from the error's `ctx`;
# the English is pydantic's own. A type not listed keeps pydantic's (English) message.
SCHEMA_MESSAGES: dict[str, Callable[[dict], str]] = {
    "missing": lambda ctx: _("Field required"),
    "extra_forbidden": lambda ctx: _("Extra inputs are not permitted"),
    "string_type": lambda ctx: _("Input should be a valid string"),
    "string_too_long": _at_most,
    "string_too_short": _at_least,
    "string_pattern_mismatch": lambda ctx: _("String should match pattern '%(pattern)s'") % {"pattern": ctx["pattern"]},
    "too_long": _too_many,
    "int_type": lambda ctx: _("Input should be a valid integer"),
    "int_parsing": lambda ctx: _("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": lambda ctx: _("Input should be a valid integer, got a number with a fractional part"),
    "float_type": lambda ctx: _("Input should be a valid number"),
    "float_parsing": lambda ctx: _("Input should be a valid number, unable to parse string as a number"),
    "decimal_type": lambda ctx: _("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": lambda ctx: _("Input should be a valid decimal"),
    "bool_type": lambda ctx: _("Input should be a valid boolean"),
    "bool_parsing": lambda ctx: _("Input should be a valid boolean, unable to interpret input"),
    "enum": lambda ctx: _("Input should be %(expected)s") % {"expected": _one_of(ctx["expected"])},
    "literal_error": lambda ctx: _("Input should be %(expected)s") % {"expected": _one_of(ctx["expected"])},
    "less_than_equal": lambda ctx: _("Input should be less than or equal to %(limit)s") % {"limit": ctx["le"]},
    "less_than": lambda ctx: _("Input should be less than %(limit)s") % {"limit": ctx["lt"]},
    "greater_than_equal": lambda ctx: _("Input should be greater than or equal to %(limit)s") % {"limit": ctx["ge"]},
    "greater_than": lambda ctx: _("Input should be greater than %(limit)s") % {"limit": ctx["gt"]},
    "list_type": lambda ctx: _("Input should be a valid list"),
    "dict_type": lambda ctx: _("Input should be a valid dictionary"),
    "model_type": lambda ctx: _("Input should be a valid dictionary"),
    "model_attributes_type": lambda ctx: _("Input should be a valid dictionary"),
    # The parser's detail ("invalid digit in duration", "EOF while parsing...") stays as given.
    "datetime_type": lambda ctx: _("Input should be a valid datetime"),
    "datetime_parsing": lambda ctx: _("Input should be a valid datetime, %(error)s") % {"error": ctx["error"]},
    "datetime_from_date_parsing": lambda ctx: _("Input should be a valid datetime or date, %(error)s") % {"error": ctx["error"]},
    "date_type": lambda ctx: _("Input should be a valid date"),
    "date_parsing": lambda ctx: _("Input should be a valid date in the format YYYY-MM-DD, %(error)s") % {"error": ctx["error"]},
    "date_from_datetime_parsing": lambda ctx: _("Input should be a valid date or datetime, %(error)s") % {"error": ctx["error"]},
    "time_delta_type": lambda ctx: _("Input should be a valid timedelta"),
    "time_delta_parsing": lambda ctx: _("Input should be a valid timedelta, %(error)s") % {"error": ctx["error"]},
    "json_invalid": lambda ctx: _("Invalid JSON: %(error)s") % {"error": ctx["error"]},
    "json_type": lambda ctx: _("JSON input should be string, bytes or bytearray"),
    # Our own validators raise a translated ValueError (cases/schemas.py).
    "value_error": lambda ctx: _("Value error, %(error)s") % {"error": ctx["error"]},
}


def schema_message(error: dict) -> str:
    """pydantic's message for one error, in the request's language when its type is known."""
    translate = SCHEMA_MESSAGES.get(str(error.get("type", "")))
    if translate is not None:
        try:
            return translate(error.get("ctx") or {})
        except (KeyError, TypeError, ValueError):
            pass  # a ctx not as expected: pydantic's own words rather than none
    return str(error.get("msg", ""))


def schema_error_body(errors: list[dict]) -> dict:
    # Only loc/msg/type: pydantic's "input" would echo a huge or personal value back.
    return error_body(*((_loc(e.get("loc")), schema_message(e), e.get("type", "invalid")) for e in errors))


def too_large_body() -> dict:
    """A request over DATA_UPLOAD_MAX_MEMORY_SIZE (Django refuses to read its body): 413."""
    limit = format_file_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    msg = _("The request is larger than %(limit)s, the most this server accepts: send the files in several requests.") % {"limit": limit}
    return error_body((["body"], msg, "request_too_large"))


# Refusals about a record the request acts on, not about a field of its body: the services key
# them by the record ("case": closed, its customer erased, no rule to route it; "message": not
# one to split off; "actor": the gesture named is not the caller's to decide on, their own
# request or above their limit) or, with no field, by a code that names it (customer_gone).
# Each maps to the path parameter that names the record; see record_loc. No body has a field
# of these names.
RECORD_FIELDS = {"case": "case_id", "message": "message_id", "actor": "gesture_id"}
RECORD_CODES = {"customer_gone": "customer_id", "case_moved": "case_id"}


def record_loc(param: str, path_params: Collection[str]) -> list:
    """Where a refusal about a record points: the path parameter that names it,
    ["path", "case_id"], or [] when nothing in the request names it (POST /cases finds its
    customer from an email; /gestures/{id}/approve names the gesture, not its case), as a 404
    answers []. Never a body field the client did not send."""
    return ["path", param] if param in path_params else []


def django_error_body(exc: ValidationError, path_params: Collection[str] = ()) -> dict:
    """A service's refusal, on the body's field, or on the record it is about (record_loc).
    A handler whose body names a field otherwise than its service (`order_id` for `order`)
    renames it with core.validation.errors_renamed, one mapping per endpoint; a dotted field,
    "customer.first_name", is at ["body", "customer", "first_name"]. `path_params`: the names
    in the request's path (`case_id`)."""
    items = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                if field in RECORD_FIELDS:
                    loc = record_loc(RECORD_FIELDS[field], path_params)
                elif field == "__all__":
                    loc = _non_field_loc(error.code, path_params)
                else:
                    loc = ["body", *field.split(".")]
                items.append((loc, " ".join(error.messages), error.code or "invalid"))
    else:
        items.extend((_non_field_loc(error.code, path_params), " ".join(error.messages), error.code or "invalid")
                     for error in exc.error_list)
    return error_body(*items)


def _non_field_loc(code: str | None, path_params: Collection[str]) -> list:
    if code in RECORD_CODES:
        return record_loc(RECORD_CODES[code], path_params)
    return ["body"]


def _path_params(request) -> Collection[str]:
    match = getattr(request, "resolver_match", None)
    return match.kwargs.keys() if match is not None else ()


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
        return respond(request, django_error_body(exc, _path_params(request)), 422)

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

    @api.exception_handler(RequestDataTooBig)
    def too_large(request, exc):
        return respond(request, too_large_body(), 413)

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        if exc.status_code == 400 and isinstance(exc.__cause__, SchemaValidationError):
            return schema_invalid(request, exc.__cause__)
        if exc.status_code == 400 and isinstance(exc.__cause__, RequestDataTooBig):
            return too_large(request, exc.__cause__)
        if exc.status_code == 400:
            # Ninja raises this for a body that is not JSON.
            return respond(request, error_body((["body"], _("The request body is not valid JSON."), "json_invalid")), 400)
        if exc.status_code == 403:
            return respond(request, error_body(([], str(exc), "csrf_failed" if "CSRF" in str(exc) else "forbidden")), 403)
        return respond(request, error_body(([], str(exc), "error")), exc.status_code)
