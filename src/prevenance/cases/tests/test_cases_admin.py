"""The cases admin: configuration is edited there; threads and the workflow only through the services."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, RootCause
from prevenance.cases.services import add_note
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client, user


def test_every_cases_admin_page_answers(superuser_client):
    client, user = superuser_client
    case = open_email_case().case
    note = add_note(case=case, author=user, body="internal")
    team = TeamFactory(members=[user])
    cause = RootCause.objects.create(name="Livraison")
    for url in (
        "/admin/cases/case/", f"/admin/cases/case/{case.pk}/change/",
        "/admin/cases/message/", f"/admin/cases/message/{note.pk}/change/",
        "/admin/cases/team/", f"/admin/cases/team/{team.pk}/change/",
        "/admin/cases/rootcause/", f"/admin/cases/rootcause/{cause.pk}/change/",
        "/admin/cases/tag/", "/admin/cases/casecounter/", "/admin/cases/attachment/",
    ):
        assert client.get(url).status_code == 200, url


def test_cases_cannot_be_added_and_their_workflow_type_and_priority_cannot_be_edited_in_the_admin(superuser_client):
    client, _user = superuser_client
    case = open_email_case(subject="Avant").case
    type_before, priority_before = case.type, case.priority
    assert (type_before, priority_before) != ("complaint", "high")
    assert client.get("/admin/cases/case/add/").status_code == 403
    assert client.get("/admin/cases/message/add/").status_code == 403
    response = client.post(
        f"/admin/cases/case/{case.pk}/change/",
        {"subject": "Après", "type": "complaint", "priority": "high", "status": "closed",
         "messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "1"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    # Type and priority change on the case page, through the services (SLA policy, score, audit).
    assert (case.subject, case.type, case.priority, case.status) == ("Après", type_before, priority_before, CaseStatus.NEW)


def test_a_root_cause_cannot_sit_under_its_own_child():
    parent = RootCause.objects.create(name="Livraison")
    child = RootCause.objects.create(name="Retard", parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as raised:
        parent.full_clean()
    assert raised.value.message_dict == {"parent": ["A root cause cannot be filed under itself or one of its children."]}
    assert RootCause.objects.get(pk=parent.pk).parent is None
    assert Case.objects.count() == 0




def test_root_causes_are_found_by_category_and_by_their_parents_name(superuser_client):
    client, _user = superuser_client
    delivery = RootCause.objects.create(name="Livraison")
    carrier = RootCause.objects.create(name="Transporteur", parent=delivery)
    late = RootCause.objects.create(name="Retard", parent=carrier)
    RootCause.objects.create(name="Week-end", parent=late)  # three levels down
    billing = RootCause.objects.create(name="Facturation")
    RootCause.objects.create(name="Double prélèvement", parent=billing)

    def names(**query) -> set[str]:
        response = client.get("/admin/cases/rootcause/", query)
        assert response.status_code == 200
        return {cause.name for cause in response.context["cl"].result_list}

    assert names(category=str(delivery.pk)) == {"Livraison", "Transporteur", "Retard", "Week-end"}
    assert names(q="transporteur") == {"Transporteur", "Retard"}
    assert names(category="x") == names()  # a forged value filters nothing
    filters = client.get("/admin/cases/rootcause/").content.decode()
    assert f"?category={delivery.pk}" in filters and f"?category={late.pk}" not in filters
    # The parent is picked by typing: the autocomplete answers the causes by their name or their parent's.
    found = client.get("/admin/autocomplete/", {"app_label": "cases", "model_name": "rootcause", "field_name": "parent", "term": "fact"})
    assert {row["text"] for row in found.json()["results"]} == {"Facturation", "Double prélèvement"}
