"""Schema pieces every app's API router shares: the one error format and the cursor page.

Here rather than in `api` because domain routers sit below `api` in the layer order.
"""

from ninja import Schema


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(Schema):
    """Every error the API answers: a list of (where, what, machine-readable kind)."""

    detail: list[ErrorItem]


# Declared on each operation so the OpenAPI schema documents the error answers (docs/api.md,
# "Errors"): 400 a request Django will not read (or a body that is not JSON), 500 an unhandled
# error. 405 is a path's answer to a method it lacks, never an operation's: not declared.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 500: ErrorOut}
# POST and PATCH read a body, which may be over DATA_UPLOAD_MAX_MEMORY_SIZE: 413. (A 409 is one
# operation's, with its own schema: /customers/resolve.)
BODY_ERRORS = {**ERRORS, 413: ErrorOut}

LIMIT_DEFAULT = 25
LIMIT_MAX = 100
