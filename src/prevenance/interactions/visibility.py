"""Which timeline entries a person may read.

An entry can belong to a record of another app (`ref_type`, `ref_id`): each message of a case
is on the customer's timeline with its words. Whoever may not see that case may not read
them on the timeline either: the app registers, for its `ref_type`, the ids of the records a
user may see (cases: the one visibility rule, cases/selectors/visibility.py), and every read
of interactions for a person (the 360 timeline, the case page's sidebar, the API, the CSV
export) goes through `visible_interactions`. Entries of other types are everyone's who may
read interactions.
"""

from collections.abc import Callable

from django.db.models import Q, QuerySet

# ref_type -> rule(user, customer_ids) -> a queryset of the visible records' ids as text (the
# type of ref_id), restricted to these customers when given, or None when the user sees all.
VisibleRefs = Callable[[object, list[int] | None], QuerySet | None]
_rules: dict[str, VisibleRefs] = {}


def register_ref_visibility(ref_type: str, rule: VisibleRefs) -> None:
    """Registered once by the app that owns `ref_type` (its AppConfig.ready)."""
    _rules[ref_type] = rule


def visible_interactions(user, queryset: QuerySet, *, customer_ids: list[int] | None = None) -> QuerySet:
    """`queryset` (interactions) without the entries of records `user` may not see. Give the
    customers the queryset is about when known: the rule's subquery is then theirs only."""
    for ref_type, rule in _rules.items():
        visible = rule(user, customer_ids)
        if visible is not None:
            queryset = queryset.exclude(Q(ref_type=ref_type) & ~Q(ref_id__in=visible))
    return queryset
