"""JSON and query parsing that refuses text no database column can hold.

A NUL character or a lone surrogate would pass every schema and then make PostgreSQL (or
the UTF-8 encoder) fail deep in a service with a 500; they are refused here with a 422.
"""

import json
from typing import Any

from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from ninja.parser import Parser


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_unstorable(value: Any, loc: list) -> list | None:
    if isinstance(value, str):
        return loc if _unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_unstorable(key, [*loc, key]) or _find_unstorable(item, [*loc, key])
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_unstorable(item, [*loc, index])
            if found is not None:
                return found
    return None


def _refuse(loc: list) -> ValidationError:
    safe_loc = [part if isinstance(part, int) or not _unstorable(part) else "?" for part in loc]
    return ValidationError([{"loc": safe_loc, "msg": _("Text may not contain NUL or unpaired surrogate characters."), "type": "string_unstorable"}])


class StrictJsonParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        if not isinstance(data, dict):
            # Every body of this API is an object; Ninja's schemas would read a list or a
            # string as an empty object and accept it.
            raise ValidationError([{"loc": ["body"], "msg": _("The body must be a JSON object."), "type": "object_expected"}])
        found = _find_unstorable(data, ["body"])
        if found is not None:
            # Ninja turns any parse failure into a 400; the error handler unwraps this one to a 422.
            raise _refuse(found)
        return data

    def parse_querydict(self, data, list_fields, request):
        repeated = sorted(key for key in data if key not in list_fields and len(data.getlist(key)) > 1)
        if repeated:
            # Django would keep the last value alone: `?status=open&status=new` would list the
            # new cases only, as if the client had asked for them and nothing else.
            raise ValidationError([
                {"loc": ["query", key], "msg": _("Give this parameter once: it takes one value."), "type": "repeated_parameter"}
                for key in repeated
            ])
        result = super().parse_querydict(data, list_fields, request)
        found = _find_unstorable(result, ["query"])
        if found is not None:
            raise _refuse(found)
        return result
