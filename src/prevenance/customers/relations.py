"""Every foreign key that points at a customer, found by introspection.

Merge and GDPR walk these instead of a hand-written list, so a table that a later app adds
(cases, surveys, loyalty accounts...) is moved on merge and covered on erasure without
this app importing it (apps depend one way, ARCHITECTURE.md). A model states its erasure
policy with `gdpr_on_erase` ("delete" or "unlink") and `gdpr_personal_fields`.
"""

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
