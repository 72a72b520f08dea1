"""Saved inbox views: an agent keeps their own filters; supervisors share views with everyone."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases.models import SavedView
from prevenance.cases.selectors.inbox import (
    BUILTIN_LABELS,
    OPEN,
    clean_filters,
    narrowed_assignees,
    narrowed_statuses,
)
from prevenance.core.validation import invalid

SHARE_VIEW = "cases.add_savedview"
CHANGE_SHARED_VIEW = "cases.change_savedview"
DELETE_SHARED_VIEW = "cases.delete_savedview"
NAME_MAX = 100


def _clean_name(name) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise invalid("name", _("Give the view a name."), "required")
    if len(text) > NAME_MAX:
        raise invalid("name", _("At most %(max)d characters.") % {"max": NAME_MAX}, "too_long")
    return text


def _stored_filters(filters, base: str) -> dict:
    """The filters as stored: checked as the inbox checks them, with the view they narrow."""
    if base not in BUILTIN_LABELS:
        raise invalid("base", _("“%(value)s” is not an inbox view.") % {"value": str(base)[:40]}, "invalid_base")
    cleaned = clean_filters(filters)
    narrowed_statuses(base, cleaned)  # a status the base view does not hold would list nothing
    narrowed_assignees(base, cleaned)  # nor would another assignee than "Assigned to me"'s (or "Unassigned"'s)
    return {**cleaned, "base": base}


def _refuse_duplicate_name(owner, name: str, *, exclude=None) -> None:
    # No unique constraint on the model: two saves racing could both pass this check and
    # leave two views of one name, which is harmless (either can be deleted or renamed).
    others = SavedView.objects.filter(owner=owner, name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise invalid("name", _("There is already a view named “%(name)s”.") % {"name": name}, "duplicate")


def save_view(*, user, name: str, filters: dict, base: str = OPEN, shared: bool = False) -> SavedView:
    """Save the inbox filters under a name: the user's own view, or shared with everyone
    (needs cases.add_savedview: supervisors). A name is used once per owner (or once among
    the shared views); the filters are checked as the inbox checks them."""
    if not user.has_perm("cases.view_case"):
        raise PermissionDenied
    if shared and not user.has_perm(SHARE_VIEW):
        raise invalid("shared", _("Only supervisors can share a view with everyone."), "cannot_share")
    stored = _stored_filters(filters, base)
    text = _clean_name(name)
    owner = None if shared else user
    with transaction.atomic():
        _refuse_duplicate_name(owner, text)
        return SavedView.objects.create(name=text, owner=owner, filters=stored)


def _check_may_change(user, view: SavedView) -> None:
    """The owner changes their own view; a shared one needs cases.change_savedview (supervisors,
    who may also delete it). Someone else's own view: PermissionDenied (the pages answer 404 first)."""
    if not user.has_perm("cases.view_case"):
        raise PermissionDenied
    if view.owner_id is None:
        if not user.has_perm(CHANGE_SHARED_VIEW):
            raise PermissionDenied
    elif view.owner_id != user.pk:
        raise PermissionDenied


def update_view(*, user, view: SavedView, name: str | None = None, filters: dict | None = None,
                base: str | None = None, shared: bool | None = None) -> SavedView:
    """Edit a saved view: rename it (`name`), replace its filters with `filters` on `base`
    ("Update view with current filters"; both or neither), share it or take it back (`shared`).
    None leaves that part as it is. Who may: as for deleting (`_check_may_change`); sharing a
    view of one's own needs cases.add_savedview as saving a shared one does; a shared view
    taken back becomes the editor's own. The same checks as `save_view` on the name and filters."""
    _check_may_change(user, view)
    if (filters is None) != (base is None):
        raise ValueError("filters and base go together")
    stored = _stored_filters(filters, base) if filters is not None else None
    text = _clean_name(name) if name is not None else None
    with transaction.atomic():
        current = SavedView.objects.select_for_update().filter(pk=view.pk).first()
        if current is None:  # deleted since the page was shown
            raise invalid("name", _("This view no longer exists."), "gone")
        _check_may_change(user, current)
        owner_id = current.owner_id
        if shared is not None and shared != (owner_id is None):
            if shared and not user.has_perm(SHARE_VIEW):
                raise invalid("shared", _("Only supervisors can share a view with everyone."), "cannot_share")
            owner_id = None if shared else user.pk
        changed = []
        if text is not None and text != current.name:
            current.name = text
            changed.append("name")
        if owner_id != current.owner_id:
            current.owner_id = owner_id
            changed.append("owner")
        if stored is not None and stored != current.filters:
            current.filters = stored
            changed.append("filters")
        if {"name", "owner"} & set(changed):
            _refuse_duplicate_name(current.owner_id, current.name, exclude=current)
        if changed:
            current.save(update_fields=[*changed, "updated_at"])
        return current


def delete_view(*, user, view: SavedView) -> None:
    """Delete a saved view: the owner deletes their own; a shared one needs cases.delete_savedview."""
    if view.owner_id is None:
        if not user.has_perm(DELETE_SHARED_VIEW):
            raise PermissionDenied
    elif view.owner_id != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        SavedView.objects.filter(pk=view.pk).delete()
