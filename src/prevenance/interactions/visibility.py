"""Which timeline entries a person may read.

An entry can belong to a record of another app (`ref_type`, `ref_id`): each message of a case
is on the customer's timeline with its words. Whoever may not see that case may not read
them on the timeline either. The app registers, for its `ref_type`, which of its records a
user may see (cases: the one visibility rule, cases/selectors/visibility.py), and every read
of interactions for a person goes through here: `visible_interactions` for a customer's
entries (the 360 timeline, the case page's sidebar, the API), `readable_interactions` for a
list across customers (the home page, the CSV export), which asks about the records those
entries name only. Entries of other types are everyone's who may read interactions.
"""

from collections.abc import Callable, Iterable, Sequence

from django.db.models import Q, QuerySet

# ref_type -> rule(user, customer_ids=..., ref_ids=...) -> a queryset of the ids, as text (the
# type of ref_id), of the records the user may see among these customers' or among these ids;
# None when the user sees all of them.
VisibleRefs = Callable[..., QuerySet | None]
_rules: dict[str, VisibleRefs] = {}


def register_ref_visibility(ref_type: str, rule: VisibleRefs) -> None:
    """Registered once by the app that owns `ref_type` (its AppConfig.ready)."""
    _rules[ref_type] = rule


def visible_interactions(user, queryset: QuerySet, *, customer_ids: Sequence[int]) -> QuerySet:
    """`queryset` (these customers' interactions) without the entries of records `user` may
    not see. The rule's subquery is about these customers' records only."""
    for ref_type, rule in _rules.items():
        visible = rule(user, customer_ids=list(customer_ids))
        if visible is not None:
            queryset = queryset.exclude(Q(ref_type=ref_type) & ~Q(ref_id__in=visible))
    return queryset


def readable_interactions(user, interactions: Iterable) -> list:
    """These interactions (any customers') without those of records `user` may not see: one
    query per registered type, about the records they name (never every record the user sees)."""
    interactions = list(interactions)
    hidden: dict[str, set[str]] = {}
    for ref_type, rule in _rules.items():
        named = sorted({item.ref_id for item in interactions if item.ref_type == ref_type})
        if not named:
            continue
        visible = rule(user, ref_ids=named)
        if visible is not None:
            hidden[ref_type] = set(named) - set(visible.values_list("ref", flat=True))
    return [item for item in interactions if item.ref_id not in hidden.get(item.ref_type, ())]
