"""Every foreign key that points at a customer, found by introspection.

Merge and GDPR walk these instead of a hand-written list, so a table that a later app adds
(cases, surveys, loyalty accounts...) is moved on merge and covered on erasure without
this app importing it (apps depend one way, ARCHITECTURE.md). A model states its erasure
policy with `gdpr_on_erase` ("delete" or "unlink") and `gdpr_personal_fields`; one whose
rows carry files the person is owed in an access request (attachments...) lists them with a
`gdpr_export_files(rows)` class method returning `ExportedFile`s.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import ForeignObjectRel

from prevenance.customers.models import Customer


def customer_foreign_keys(*, exclude: tuple = ()) -> list[ForeignObjectRel]:
    return [
        relation
        for relation in Customer._meta.related_objects
        if (relation.one_to_many or relation.one_to_one)
        and relation.related_model is not Customer
        and relation.related_model not in exclude
    ]


@dataclass(frozen=True)
class ExportedFile:
    """A file held about the person: described in the export's JSON, its bytes in the archive."""

    model: str  # "cases.attachment"
    pk: int
    filename: str  # as the person or the agent named it
    content_type: str
    size: int
    open: Callable[[], IO[bytes]]  # raises FileNotFoundError when the stored file is gone
    links: dict[str, Any] = field(default_factory=dict)  # {"message": 12}: the row it belongs to
