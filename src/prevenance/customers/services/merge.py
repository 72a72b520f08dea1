"""Merging two records of the same person, and settling identity conflicts."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core.audit import record_audit
from prevenance.core.choices import AuditKind
from prevenance.core.validation import invalid
from prevenance.customers.choices import ConflictStatus
from prevenance.customers.models import Customer, IdentityConflict
from prevenance.customers.relations import customer_foreign_keys
from prevenance.customers.services.profile import fill_blank_fields

_MERGEABLE_FIELDS = Customer.PERSONAL_FIELDS + ("country",)


def _settle_conflicts(survivor: Customer, loser: Customer, actor) -> None:
    """Conflicts between the two are settled by the merge; the loser's others move to the survivor."""
    now = timezone.now()
    between = Q(customer_a=survivor, customer_b=loser) | Q(customer_a=loser, customer_b=survivor)
    IdentityConflict.objects.filter(between, status=ConflictStatus.OPEN).update(
        status=ConflictStatus.MERGED, resolved_at=now, resolved_by=actor if getattr(actor, "is_authenticated", False) else None
    )
    for conflict in IdentityConflict.objects.filter(Q(customer_a=loser) | Q(customer_b=loser), status=ConflictStatus.OPEN):
        other = conflict.customer_b_id if conflict.customer_a_id == loser.pk else conflict.customer_a_id
        first, second = sorted((survivor.pk, other))
        duplicate = IdentityConflict.objects.filter(customer_a_id=first, customer_b_id=second, status=ConflictStatus.OPEN)
        if duplicate.exists():
            conflict.status = ConflictStatus.DISMISSED
            conflict.resolved_at = now
            conflict.save(update_fields=["status", "resolved_at"])
        else:
            conflict.customer_a_id, conflict.customer_b_id = first, second
            conflict.save(update_fields=["customer_a", "customer_b"])


def merge_customers(*, survivor: Customer, loser: Customer, actor=None) -> Customer:
    """Fold `loser` into `survivor`: everything that points at the loser now points at the survivor.

    The loser stays as a tombstone (merged_into) so old links and ids still lead somewhere.
    Idempotent: merging the same pair again returns the survivor and changes nothing.
    """
    if survivor.pk == loser.pk:
        raise invalid("loser", _("A customer cannot be merged with itself."), "merge_itself")
    with transaction.atomic():
        # Lock both in primary-key order so two merges of the same pair cannot deadlock.
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, loser.pk]).order_by("pk")}
        if len(locked) != 2:
            raise Customer.DoesNotExist
        survivor, loser = locked[survivor.pk], locked[loser.pk]
        if loser.merged_into_id == survivor.pk:
            return survivor
        if survivor.merged_into_id or loser.merged_into_id:
            raise invalid("loser", _("One of these customers was already merged into another record."), "already_merged")
        if survivor.erased_at or loser.erased_at:
            raise invalid("loser", _("An erased customer cannot be merged."), "customer_erased")

        _settle_conflicts(survivor, loser, actor)
        moved = {}
        for relation in customer_foreign_keys(exclude=(IdentityConflict,)):
            count = relation.related_model._base_manager.filter(**{relation.field.name: loser}).update(
                **{relation.field.name: survivor}
            )
            if count:
                moved[relation.related_model._meta.label_lower] = count

        completed = fill_blank_fields(survivor, {f: getattr(loser, f) for f in _MERGEABLE_FIELDS})
        if completed:
            survivor.save(update_fields=completed)
        loser.merged_into = survivor
        loser.merged_at = timezone.now()
        loser.save(update_fields=["merged_into", "merged_at"])
        record_audit(
            kind=AuditKind.CUSTOMER_MERGED,
            actor=actor,
            subject=survivor,
            payload={"survivor": survivor.pk, "loser": loser.pk, "moved": moved, "completed_fields": completed},
        )
    return survivor


def dismiss_conflict(*, conflict: IdentityConflict, actor=None) -> IdentityConflict:
    """Two records are different people after all: close the conflict without merging."""
    with transaction.atomic():
        locked = IdentityConflict.objects.select_for_update().get(pk=conflict.pk)
        if locked.status == ConflictStatus.OPEN:
            locked.status = ConflictStatus.DISMISSED
            locked.resolved_at = timezone.now()
            locked.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
            locked.save(update_fields=["status", "resolved_at", "resolved_by"])
    return locked
