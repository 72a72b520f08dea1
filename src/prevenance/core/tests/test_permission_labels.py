"""The admin's permissions pickers (a group's, a user's) name each permission in the reader's
language, from the translated app and model names and the action, in the order app, model,
action (core/permission_labels.py, docs/api.md "Roles"); the names stored stay Django's."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import translation

from prevenance.core.permission_labels import permission_name
from prevenance.core.roles import SUPERVISOR, ensure_roles

pytestmark = pytest.mark.django_db


def perm(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.select_related("content_type").get(content_type__app_label=app_label, codename=codename)


def label(permission: Permission, language: str) -> str:
    with translation.override(language):
        return str(permission_name(permission))


def admin_client(language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(get_user_model().objects.get_or_create(username="root", is_staff=True, is_superuser=True)[0])
    return client


def options(page: str, field: str) -> list[tuple[str, str, bool]]:
    """The picker's options as (value, label, selected), in the page's order."""
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(value, text, bool(selected))
            for value, selected, text in re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', select)]


class TestLabels:
    def test_a_default_permission_reads_the_models_name_and_the_action_in_each_language(self):
        add_case = perm("cases.add_case")

        assert label(add_case, "en") == "Cases | Case | Can add"
        assert label(add_case, "fr") == "Dossiers | Dossier | Peut ajouter"
        assert label(perm("cases.view_gesture"), "fr") == "Dossiers | Geste commercial | Peut consulter"
        assert label(perm("customers.change_customer"), "fr") == "Clients | Client | Peut modifier"
        assert label(perm("auth.delete_group"), "fr") == "Authentification et autorisation | Groupe | Peut supprimer"

    def test_a_models_own_permission_reads_its_declared_name_in_each_language(self):
        approve = perm("cases.approve_gesture")

        assert label(approve, "en") == (
            "Cases | Commercial gesture | Can approve or refuse commercial gestures (within their delegation limit)")
        assert label(approve, "fr") == ("Dossiers | Geste commercial | Peut valider ou refuser des gestes commerciaux "
                                        "(dans la limite de son plafond de délégation)")
        assert label(perm("customers.erase_customer"), "fr") == "Clients | Client | Peut effacer un client (RGPD)"

    def test_the_stored_names_stay_djangos(self):
        add_case, merge = perm("cases.add_case"), perm("cases.merge_case")
        label(add_case, "fr"), label(merge, "fr")

        add_case.refresh_from_db(), merge.refresh_from_db()
        assert (add_case.name, merge.name) == ("Can add case", "Can merge cases")

    def test_a_permission_its_model_no_longer_declares_keeps_its_stored_name(self):
        gone = Permission.objects.create(content_type=ContentType.objects.get_for_model(Group),
                                         codename="rename_group", name="Can rename groups")

        assert label(gone, "fr") == "Authentification et autorisation | Groupe | Can rename groups"

    def test_a_permission_whose_model_is_gone_keeps_its_stored_names(self):
        content_type = ContentType.objects.create(app_label="retired", model="widget")
        gone = Permission.objects.create(content_type=content_type, codename="add_widget", name="Can add widget")

        assert label(gone, "fr") == "retired | widget | Can add widget"


class TestGroupPage:
    def test_in_french_the_pickers_name_the_permissions_in_french_and_show_the_chosen_ones(self):
        ensure_roles()
        supervisor = Group.objects.get(name=SUPERVISOR)

        page = admin_client("fr").get(reverse("admin:auth_group_change", args=[supervisor.pk])).content.decode()

        picked = {text: selected for _value, text, selected in options(page, "permissions")}
        assert picked["Dossiers | Dossier | Peut ajouter"] is True
        assert picked["Dossiers | Geste commercial | Peut valider ou refuser des gestes commerciaux "
                      "(dans la limite de son plafond de délégation)"] is True
        assert picked["Dossiers | Dossier | Peut supprimer"] is False  # administrators only
        assert "Can add case" not in page and "Can approve" not in page
        assert len(picked) == Permission.objects.count()

    def test_the_options_go_by_app_then_model_then_action_in_the_readers_language(self):
        group = Group.objects.create(name="quality")
        url = reverse("admin:auth_group_change", args=[group.pk])

        french = [text for _value, text, _selected in options(admin_client("fr").get(url).content.decode(), "permissions")]
        english = [text for _value, text, _selected in options(admin_client("en").get(url).content.decode(), "permissions")]

        # Apps and models by their names in the reader's language (accents do not sort last).
        assert french.index("Clients | Client | Peut consulter") < french.index("Dossiers | Dossier | Peut consulter")
        assert french.index("Dossiers | Dossier | Peut consulter") < french.index("Dossiers | Équipe | Peut consulter")
        assert french.index("Dossiers | Équipe | Peut supprimer") < french.index("Dossiers | Étiquette | Peut consulter")
        assert french.index("Dossiers | Étiquette | Peut supprimer") < french.index("Dossiers | Signature | Peut consulter")
        assert french.index("Dossiers | Étiquette | Peut supprimer") < french.index("Général | Calendrier ouvré | Peut consulter")
        assert english.index("Cases | Case | Can view") < english.index("Customers | Customer | Can view")
        # A model's actions: view, add, change, delete, then its own as declared.
        case = [text.split(" | ")[2] for text in french if text.startswith("Dossiers | Dossier | ")]
        assert case == ["Peut consulter", "Peut ajouter", "Peut modifier", "Peut supprimer",
                        "Peut voir les dossiers de toutes les équipes", "Peut fusionner des dossiers"]

    def test_a_saved_group_keeps_the_chosen_permissions(self):
        group = Group.objects.create(name="quality")
        chosen = [perm("cases.view_case"), perm("cases.merge_case"), perm("customers.export_data")]

        response = admin_client("fr").post(reverse("admin:auth_group_change", args=[group.pk]), {
            "name": "quality", "permissions": [permission.pk for permission in chosen]})

        assert response.status_code == 302, response.content.decode()[:3000]
        assert set(group.permissions.all()) == set(chosen)
        page = admin_client("fr").get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
        assert {text for _value, text, selected in options(page, "permissions") if selected} == {
            "Dossiers | Dossier | Peut consulter", "Dossiers | Dossier | Peut fusionner des dossiers",
            "Clients | Client | Peut exporter des fichiers CSV"}

    def test_a_permission_that_does_not_exist_is_refused_and_nothing_changes(self):
        group = Group.objects.create(name="quality")
        group.permissions.add(perm("cases.view_case"))
        missing = Permission.objects.order_by("pk").last().pk + 1

        response = admin_client("en").post(reverse("admin:auth_group_change", args=[group.pk]), {
            "name": "renamed", "permissions": [perm("cases.add_case").pk, missing]})

        assert response.status_code == 200
        assert f"Select a valid choice. {missing} is not one of the available choices." in response.content.decode()
        group.refresh_from_db()
        assert group.name == "quality" and list(group.permissions.all()) == [perm("cases.view_case")]


class TestUserPage:
    def test_in_french_a_users_own_permissions_read_in_french(self):
        user = get_user_model().objects.create_user("nadia")
        user.user_permissions.add(perm("customers.merge_customer"))

        page = admin_client("fr").get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()

        picked = {text: selected for _value, text, selected in options(page, "user_permissions")}
        assert picked["Clients | Client | Peut fusionner deux clients"] is True
        assert picked["Clients | Client | Peut ajouter"] is False
        assert "Can merge two customers" not in page

    def test_in_french_the_user_page_names_the_roles_as_people_call_them(self):
        ensure_roles()
        user = get_user_model().objects.create_user("hugo")
        user.groups.add(Group.objects.get(name=SUPERVISOR))

        page = admin_client("fr").get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()

        picked = {text: selected for _value, text, selected in options(page, "groups")}
        assert picked["Superviseur"] is True
        assert picked["Conseiller"] is False
        assert "supervisor" not in picked


class TestGroupList:
    def test_in_french_the_roles_are_listed_by_label_beside_their_key_and_other_groups_by_name(self):
        ensure_roles()
        Group.objects.create(name="Qualité")

        page = admin_client("fr").get(reverse("admin:auth_group_changelist")).content.decode()

        assert "Rôle ou groupe" in page
        cells = re.findall(r'<t[hd] class="field-shown_name">(?:<a [^>]*>)?([^<]*)', page)
        assert {"Superviseur", "Administrateur", "Conseiller", "Qualité"} <= set(cells)
