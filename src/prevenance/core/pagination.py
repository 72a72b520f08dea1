"""Opaque cursors for keyset pagination: stable under inserts, O(page) at any depth."""

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class InvalidCursor(ValueError):
    pass


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, length: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not one this server issued") from exc
    if not isinstance(values, list) or len(values) != length:
        raise InvalidCursor("cursor is not one this server issued")
    return values


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def paginate_by_id(queryset, *, cursor: str | None, limit: int, descending: bool = True) -> Page:
    """Keyset page over the primary key, newest first by default."""
    values = decode_cursor(cursor, 1)
    if values is not None:
        if not isinstance(values[0], int):
            raise InvalidCursor("cursor is not one this server issued")
        queryset = queryset.filter(pk__lt=values[0]) if descending else queryset.filter(pk__gt=values[0])
    rows = list(queryset.order_by("-pk" if descending else "pk")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].pk]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)
