"""Refusals that say which field is wrong and why, in words and as a code.

`ValidationError({"field": ["message"]}, code="x")` silently drops the code: Django keeps a
code only on a ValidationError built from one message. The API answers each error with its
code (api/errors.py), so a client can act on `over_limit` or `case_closed` without reading
the translated words; services build their refusals here so the code always survives.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from django.core.exceptions import ValidationError

# The largest primary key (a 64-bit signed integer, SQLite's and PostgreSQL's bigint): a number
# past it is no row's, and the databases refuse to even compare with it (OverflowError).
MAX_ID = 2**63 - 1


def is_row_id(value: int) -> bool:
    """Whether `value` can be a primary key (1 to MAX_ID): anything else is no row, not a 500."""
    return 0 < value <= MAX_ID


def invalid(field: str, message, code: str, params: dict | None = None) -> ValidationError:
    """A ValidationError on `field` whose one message carries `code`."""
    return ValidationError({field: [ValidationError(message, code=code, params=params)]})


@contextmanager
def errors_renamed(names: Mapping[str, str]) -> Iterator[None]:
    """Errors raised inside on a field of `names` re-keyed under the name it maps to: where the
    caller's input has it. A service refuses `order`; the API body sent `order_id`, and its
    error must point there (["body", "order_id"]). A dotted name is a field inside an object of
    the input: "customer.first_name" answers ["body", "customer", "first_name"]. Two fields
    renamed to one keep all their errors, each with its code."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict") or not names.keys() & exc.error_dict.keys():
            raise
        renamed: dict[str, list[ValidationError]] = {}
        for field, errors in exc.error_dict.items():
            renamed.setdefault(names.get(field, field), []).extend(errors)
        raise ValidationError(renamed) from exc


def errors_nested_under(prefix: str, fields: Iterable[str]) -> AbstractContextManager[None]:
    """Errors raised inside on `fields` re-keyed as `prefix.field`: where they sit in a nested
    input. A service checks customer hints under their own names ("first_name"); the API body
    has them under "customer", and its error answers ["body", "customer", "first_name"]."""
    return errors_renamed({field: f"{prefix}.{field}" for field in fields})
