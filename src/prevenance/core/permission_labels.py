"""Django permissions as a person reads them, in their language (docs/api.md, "Roles").

Django stores a permission's name once, in English, when migrate creates it ("Can add case"),
and shows it as "Cases | case | Can add case". Here it is named at display time instead, from
what the code declares and gettext translates: the app's and the model's verbose names, and
the action. Django's default actions read "Can view", "Can add", "Can change", "Can delete"
(the model is named once, beside them: French needs no article or gender for it); a
permission of a model's Meta.permissions reads its declared, translated name. The stored
names do not change. The pickers list them by app, then model (in the reader's language),
then action: view, add, change, delete, then the model's own permissions as declared.
"""

from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import Permission
from django.forms.models import ModelChoiceIterator
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy

from prevenance.core.text import search_key

DEFAULT_ACTIONS = {
    "view": pgettext_lazy("permission", "Can view"),
    "add": pgettext_lazy("permission", "Can add"),
    "change": pgettext_lazy("permission", "Can change"),
    "delete": pgettext_lazy("permission", "Can delete"),
}


@dataclass(frozen=True)
class PermissionName:
    app: str
    model: str
    action: str
    rank: int  # the action's place among its model's: default actions first, then as declared

    def __str__(self) -> str:
        # Django's own form ("app | model | name"): what every Django guide shows.
        return f"{self.app} | {self.model} | {self.action}"

    @property
    def sort_key(self) -> tuple:
        return search_key(self.app), search_key(self.model), self.rank, search_key(self.action)


def permission_name(permission: Permission) -> PermissionName:
    """The permission's names in the active language. One whose model is gone (a stale content
    type) or that its model no longer declares keeps its stored names, through gettext."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:
        return PermissionName(content_type.app_label, content_type.model, gettext(permission.name), len(DEFAULT_ACTIONS))
    opts = model._meta
    app, model_name = str(opts.app_config.verbose_name), capfirst(str(opts.verbose_name))
    for rank, (action, label) in enumerate(DEFAULT_ACTIONS.items()):
        if action in opts.default_permissions and permission.codename == f"{action}_{opts.model_name}":
            return PermissionName(app, model_name, str(label), rank)
    declared = [codename for codename, _name in opts.permissions]
    if permission.codename in declared:
        rank = declared.index(permission.codename)
        return PermissionName(app, model_name, str(opts.permissions[rank][1]), len(DEFAULT_ACTIONS) + rank)
    return PermissionName(app, model_name, gettext(permission.name), len(DEFAULT_ACTIONS) + len(declared))


class PermissionChoiceIterator(ModelChoiceIterator):
    """The permissions in the reader's order (permission_name), not Django's by codename."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for permission in sorted(self.queryset, key=lambda permission: (permission_name(permission).sort_key, permission.pk)):
            yield self.choice(permission)


class PermissionMultipleChoiceField(forms.ModelMultipleChoiceField):
    """The admin's permissions pickers (a group's, a user's): labels and order as above."""

    iterator = PermissionChoiceIterator

    def label_from_instance(self, obj: Permission) -> str:
        return str(permission_name(obj))


class PermissionPickersMixin:
    """For a ModelAdmin with a many-to-many to Permission (Django's GroupAdmin, UserAdmin)."""

    permission_fields = ("permissions", "user_permissions")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name in self.permission_fields and db_field.remote_field.model is Permission:
            kwargs["form_class"] = PermissionMultipleChoiceField
            # Each label reads its content type: one query, not one a permission.
            kwargs["queryset"] = kwargs.get("queryset", Permission.objects).select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)
