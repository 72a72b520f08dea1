"""The root-cause picker of the case page (Classification): findable among hundreds, grouped by
category in reading order, retired causes hidden but the case's own kept, bad ids refused."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.models import Case, RootCause, Tag
from prevenance.cases.services import assign_case, set_case_labels, update_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.tests.select_options import select_options
from prevenance.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def picker(response) -> list[tuple]:
    return select_options(response, "root_cause")


@pytest.fixture
def case(agent, supervisor):
    team = TeamFactory(members=[agent])
    opened = open_email_case("camille@example.com", subject="Colis abîmé", body="Mon colis est arrivé abîmé.").case
    return assign_case(case=opened, team=team, actor=supervisor)


def labels(case, **changes) -> dict:
    return {"type": case.type, "language": "fr", "tags": [], "root_cause": "", **changes}


def cause(name, parent=None, *, active=True) -> RootCause:
    return RootCause.objects.create(name=name, parent=parent, active=active)


def test_causes_are_grouped_by_category_in_reading_order_and_retired_ones_are_not_offered(client, agent, case):
    delivery, billing, exchange = cause("Livraison"), cause("facturation"), cause("Échange")
    carrier = cause("Transporteur", delivery)
    cause("Retard", carrier), cause("colis abîmé", delivery), cause("Adresse", delivery), cause("Ancien prestataire", delivery, active=False)
    cause("Double prélèvement", billing), cause("Avoir", billing)
    cause("Taille", exchange)
    cause("Autre"), cause("Zèle"), cause("Abandonné", active=False)
    client.force_login(agent)

    options = picker(client.get(reverse("cases:case", kwargs={"case_id": case.pk})))

    shown = [(group, label) for group, label, _value, _selected in options]
    # Accents and case do not move a name ("Échange" before "facturation", "colis" before "Retard");
    # causes with nothing under them first, then each category with itself first, then its causes.
    assert shown == [
        (None, "Not known yet"),
        (None, "Autre"),
        (None, "Zèle"),
        ("Échange", "Échange (general)"),
        ("Échange", "Taille"),
        ("facturation", "facturation (general)"),
        ("facturation", "Avoir"),
        ("facturation", "Double prélèvement"),
        ("Livraison", "Livraison (general)"),
        ("Livraison", "Adresse"),
        ("Livraison", "colis abîmé"),
        ("Livraison", "Transporteur"),
        ("Livraison", "Transporteur › Retard"),
    ]
    assert [selected for *_rest, selected in options] == [True] + [False] * 12
    # The picker comes with its search box (shown by picklist.js) and still is a plain select.
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
    assert 'data-pick-filter="id_root_cause"' in page and "cases/picklist.js" in page


def test_the_cases_retired_cause_stays_shown_and_picked_and_saving_other_labels_keeps_it(client, agent, case):
    delivery = cause("Livraison")
    late = cause("Retard", delivery)
    case = set_case_labels(case=case, tags=[], root_cause=late, actor=agent)
    RootCause.objects.filter(pk=late.pk).update(active=False)
    client.force_login(agent)

    options = picker(client.get(reverse("cases:case", kwargs={"case_id": case.pk})))

    assert ("Livraison", "Retard (no longer in use)", str(late.pk), True) in options
    assert [option for option in options if option[3]] == [("Livraison", "Retard (no longer in use)", str(late.pk), True)]

    tag = Tag.objects.create(name="Cadeau")
    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), labels(case, tags=[tag.pk], root_cause=late.pk))

    assert response.status_code == 302
    saved = Case.objects.get(pk=case.pk)
    assert saved.root_cause_id == late.pk and list(saved.tags.all()) == [tag]


def test_tags_changed_through_the_api_service_keep_a_retired_cause(agent, case):
    late = cause("Retard")
    case = set_case_labels(case=case, tags=[], root_cause=late, actor=agent)
    RootCause.objects.filter(pk=late.pk).update(active=False)
    tag = Tag.objects.create(name="Cadeau")

    update_case(case=Case.objects.get(pk=case.pk), tags=[tag], actor=agent)

    saved = Case.objects.get(pk=case.pk)
    assert saved.root_cause_id == late.pk and list(saved.tags.all()) == [tag]


@pytest.mark.parametrize(("sent", "error"), [
    ("999999", "There is no such root cause: pick one from the list."),
    ("abc", "There is no such root cause: pick one from the list."),
    ("99999999999999999999999", "There is no such root cause: pick one from the list."),
    ("retired", "This root cause is no longer in use."),
])
def test_an_unknown_or_retired_cause_is_refused_on_the_field_and_nothing_is_saved(client, agent, case, sent, error):
    kept = cause("Retard")
    case = set_case_labels(case=case, tags=[], root_cause=kept, actor=agent)
    retired = cause("Ancien", active=False)
    tag = Tag.objects.create(name="Cadeau")
    audit_rows = AuditEvent.objects.count()
    client.force_login(agent)
    other_type = "incident" if case.type != "incident" else "question"

    response = client.post(reverse("cases:case_labels", kwargs={"case_id": case.pk}), labels(
        case, type=other_type, tags=[tag.pk], root_cause=retired.pk if sent == "retired" else sent), HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="error" id="id_root_cause-error">{error}</p>' in page
    saved = Case.objects.get(pk=case.pk)
    assert (saved.type, saved.root_cause_id, list(saved.tags.all())) == (case.type, kept.pk, [])
    assert AuditEvent.objects.count() == audit_rows
    # The form shown again still offers the case's cause and not the retired one.
    values = [value for _group, _label, value, _selected in picker(response)]
    assert str(kept.pk) in values and str(retired.pk) not in values


def _page_queries(client, case) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("cases:case", kwargs={"case_id": case.pk}))
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_the_page_reads_the_causes_in_one_query_however_many_there_are(client, agent, case):
    client.force_login(agent)
    top = cause("Livraison")
    case = set_case_labels(case=case, tags=[], root_cause=cause("Retard", top), actor=agent)
    few = _page_queries(client, case)

    categories = RootCause.objects.bulk_create(RootCause(name=f"Catégorie {n:02}") for n in range(25))
    RootCause.objects.bulk_create(RootCause(name=f"Cause {n:03}", parent=categories[n % 25], active=n % 10 != 0)
                                  for n in range(475))
    assert RootCause.objects.count() == 502
    many = _page_queries(client, case)

    assert len(many) == len(few)
    assert sum('"cases_rootcause"' in sql for sql in many) == 1
    options = picker(client.get(reverse("cases:case", kwargs={"case_id": case.pk})))
    assert len(options) == 1 + 2 + 25 + 475 - 48  # "Not known yet", Livraison and its cause, the active ones
