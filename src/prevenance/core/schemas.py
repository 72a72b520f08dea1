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


# Declared on each operation so the OpenAPI schema documents the error answers.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}

LIMIT_DEFAULT = 25
LIMIT_MAX = 100
