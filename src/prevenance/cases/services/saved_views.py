"""Saved inbox views: an agent keeps their own filters; supervisors share views with everyone."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases.models import SavedView
from prevenance.cases.selectors.inbox import BUILTIN_LABELS, OPEN, clean_filters
from prevenance.core.validation import invalid

SHARE_VIEW = "cases.add_savedview"
DELETE_SHARED_VIEW = "cases.delete_savedview"
NAME_MAX = 100


def _clean_name(name) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise invalid("name", _("Give the view a name."), "required")
    if len(text) > NAME_MAX:
        raise invalid("name", _("At most %(max)d characters.") % {"max": NAME_MAX}, "too_long")
    return text


def save_view(*, user, name: str, filters: dict, base: str = OPEN, shared: bool = False) -> SavedView:
    """Save the inbox filters under a name: the user's own view, or shared with everyone
    (needs cases.add_savedview: supervisors). A name is used once per owner (or once among
    the shared views); the filters are checked as the inbox checks them."""
    if not user.has_perm("cases.view_case"):
        raise PermissionDenied
    if shared and not user.has_perm(SHARE_VIEW):
        raise invalid("shared", _("Only supervisors can share a view with everyone."), "cannot_share")
    if base not in BUILTIN_LABELS:
        raise invalid("base", _("“%(value)s” is not an inbox view.") % {"value": str(base)[:40]}, "invalid_base")
    text = _clean_name(name)
    stored = {**clean_filters(filters), "base": base}
    owner = None if shared else user
    with transaction.atomic():
        # No unique constraint on the model: two saves racing could both pass this check and
        # leave two views of one name, which is harmless (either can be deleted).
        if SavedView.objects.filter(owner=owner, name=text).exists():
            raise invalid("name", _("There is already a view named “%(name)s”.") % {"name": text}, "duplicate")
        return SavedView.objects.create(name=text, owner=owner, filters=stored)


def delete_view(*, user, view: SavedView) -> None:
    """Delete a saved view: the owner deletes their own; a shared one needs cases.delete_savedview."""
    if view.owner_id is None:
        if not user.has_perm(DELETE_SHARED_VIEW):
            raise PermissionDenied
    elif view.owner_id != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        SavedView.objects.filter(pk=view.pk).delete()
