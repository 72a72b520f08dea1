"""The inbox's search box ("q"): case numbers, words in any order without accents, the
customer's name; inside what the user may see; kept in saved views. And Case.subject_key,
the folded subject it searches: written with the subject, filled by migration 0016."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.admin.sites import site as admin_site
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.urls import reverse

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.selectors.inbox import (
    inbox,
    inbox_count,
    resolve_view,
    search_words,
    searched_references,
    view_queryset,
)
from prevenance.cases.services import (
    add_inbound_message,
    assign_case,
    change_status,
    save_view,
    split_message,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case, reopen_within
from prevenance.core.text import search_key
from prevenance.customers.services import erase_customer

pytestmark = pytest.mark.django_db

migration_0016 = importlib.import_module("prevenance.cases.migrations.0016_case_subject_key")
inbox_selectors = importlib.import_module("prevenance.cases.selectors.inbox")  # the package's `inbox` is the function


def make_case(email, subject, *, team=None, actor=None, score=0, name=None) -> Case:
    case = open_email_case(email, subject=subject).case
    if team is not None:
        case = assign_case(case=case, team=team, assignee=None, actor=actor)
    Case.objects.filter(pk=case.pk).update(priority_score=score)
    if name is not None:
        customer = case.customer
        customer.first_name, customer.last_name = name
        customer.save()
    return Case.objects.get(pk=case.pk)


def found(user, text, view="open") -> list[str]:
    return [case.subject for case in inbox(user, view=view, filters={"q": text}).items]


@pytest.fixture
def desk(agent, supervisor):
    ours, theirs = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    return {
        "ours": ours,
        "theirs": theirs,
        "echange": make_case("a@example.com", "Demande d'échange", team=ours, actor=supervisor, score=50),
        "armoire": make_case("b@example.com", "Montage de l'armoire", team=ours, actor=supervisor, score=40,
                             name=("Emma", "Dupont")),
        "triage": make_case("c@example.com", "Colis abîmé, commande 58", score=30),
        # Another team's cases: the same words, the same customer name.
        "other": make_case("d@example.com", "Échange et montage de l'armoire", team=theirs, actor=supervisor, score=90,
                           name=("Emma", "Dupontel")),
    }


# --- case numbers --------------------------------------------------------------------------


def test_a_number_alone_finds_the_case_with_that_number_and_subjects_holding_it(agent, desk):
    year, number = desk["armoire"].reference.split("-")[1:]
    assert number == "000002"
    for typed in ("2", "02", "000002", f"C-{year}-2", f"c-{year}-0002", f"{year}-2", f"C-{year}-000002"):
        assert found(agent, typed) == ["Montage de l'armoire"], typed
    # "58" is no case's number here, but a subject's word: found as such.
    assert found(agent, "58") == ["Colis abîmé, commande 58"]


def test_a_number_means_that_number_in_every_year_cases_exist_for(agent, desk):
    Case.objects.filter(pk=desk["echange"].pk).update(reference="C-2019-000007")
    assert searched_references("7") == [f"C-{year}-000007" for year in range(2019, int(desk["armoire"].reference[2:6]) + 1)]
    assert searched_references("C-2019-7") == ["C-2019-000007"]
    assert found(agent, "7") == ["Demande d'échange"]
    assert searched_references("0") == searched_references("colis") == searched_references("C-24-") == []


def test_a_number_never_finds_another_teams_case(agent, supervisor, desk):
    number = str(int(desk["other"].reference.rsplit("-", 1)[1]))
    assert found(agent, number) == []
    assert found(supervisor, number) == ["Échange et montage de l'armoire"]


def test_typing_a_full_reference_still_opens_the_case(client, agent, desk):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"q": desk["triage"].reference})
    assert response.status_code == 302 and response["Location"] == reverse("cases:case", kwargs={"case_id": desk["triage"].pk})
    # A partial one lists the case instead.
    response = client.get(reverse("cases:inbox"), {"q": str(int(desk["triage"].reference.rsplit("-", 1)[1]))})
    assert response.status_code == 200 and desk["triage"].reference in response.content.decode()
    # Another team's reference is not found, not opened.
    response = client.get(reverse("cases:inbox"), {"q": desk["other"].reference})
    assert response.status_code == 200 and [case.pk for case in response.context["page"].items] == []


# --- words ---------------------------------------------------------------------------------


def test_words_match_without_accents_nor_case(agent, desk):
    for typed in ("echange", "échange", "ÉCHANGE", "Echange", "d'échange", "d’echange"):
        assert found(agent, typed) == ["Demande d'échange"], typed
    assert found(agent, "abime") == ["Colis abîmé, commande 58"]


def test_words_match_in_any_order_anywhere_in_the_subject(agent, desk):
    assert found(agent, "Armoire montage") == ["Montage de l'armoire"]
    assert found(agent, "l'armoire, MONTAGE") == ["Montage de l'armoire"]
    assert found(agent, "arm mont") == ["Montage de l'armoire"]  # parts of words
    assert found(agent, "armoire cuisine") == []  # every word must match
    assert found(agent, "colis 58") == ["Colis abîmé, commande 58"]


def test_percent_and_underscore_are_searched_as_typed(agent, desk):
    make_case("p@example.com", "Remise de 10% refusée")
    assert found(agent, "10%") == ["Remise de 10% refusée"]
    assert found(agent, "%") == ["Remise de 10% refusée"]
    assert found(agent, "_") == []


def test_search_words():
    assert search_words("  Armoire   MONTAGE ") == ["armoire", "montage"]
    assert search_words("l'armoire, d’échange (colis)") == ["armoire", "echange", "colis"]
    assert search_words("aujourd'hui qu'il") == ["aujourd", "hui", "il"]
    assert search_words("colis colis") == ["colis"]
    assert search_words("…") == ["..."]  # folded as the subjects are (NFKD)
    assert len(search_words(" ".join(f"w{i}" for i in range(20)))) == 8


# --- the customer's name -------------------------------------------------------------------


def test_a_word_matches_the_start_of_a_word_of_the_customers_name(agent, desk):
    for typed in ("Emma", "emma", "Dupont", "dup", "Emma Dupont", "dupont emma", "Émma"):
        assert found(agent, typed) == ["Montage de l'armoire"], typed
    assert found(agent, "upont") == []  # the start of a word of the name, not any part
    # Name and subject words together.
    assert found(agent, "Dupont armoire") == ["Montage de l'armoire"]
    assert found(agent, "Dupont colis") == []


def test_a_name_prefix_shared_by_many_customers_is_checked_case_by_case(agent, desk, monkeypatch):
    monkeypatch.setattr(inbox_selectors, "NAME_MATCHES_MAX", 0)
    for typed in ("Emma", "dup", "Emma Dupont", "Dupont armoire"):
        assert found(agent, typed) == ["Montage de l'armoire"], typed
    assert found(agent, "upont") == found(agent, "Dupont colis") == []
    assert "Échange et montage de l'armoire" not in found(agent, "Dupontel")


def test_a_company_customer_is_found_by_its_name(agent, supervisor, desk):
    case = make_case("e@example.com", "Facture", team=desk["ours"], actor=supervisor)
    customer = case.customer
    customer.kind, customer.company_name = "company", "Boulangerie Lefèvre"
    customer.save()
    assert found(agent, "boulang") == ["Facture"]  # the name's start, as customer search matches it
    assert found(agent, "lefevre") == []


def test_an_erased_customers_case_is_still_searched_by_its_number_only(agent, desk):
    case = desk["armoire"]
    erase_customer(customer=case.customer)
    case.refresh_from_db()
    assert (case.subject, case.subject_key) == ("", "")
    assert found(agent, "dupont") == found(agent, "armoire") == []
    assert found(agent, str(int(case.reference.rsplit("-", 1)[1]))) == [""]


# --- visibility, views, counts, exports ----------------------------------------------------


def test_a_search_never_shows_another_teams_case(agent, supervisor, desk):
    for typed in ("armoire", "échange", "Emma", "Dupontel", "montage echange"):
        assert "Échange et montage de l'armoire" not in found(agent, typed), typed
        for view in ("mine", "team", "unassigned", "breaching"):
            assert "Échange et montage de l'armoire" not in found(agent, typed, view), (typed, view)
        assert "Échange et montage de l'armoire" in found(supervisor, typed)
    assert found(agent, "Dupontel") == []
    assert sorted(found(supervisor, "armoire")) == ["Montage de l'armoire", "Échange et montage de l'armoire"]
    assert list(view_queryset(agent, view="open", filters={"q": "armoire"}).values_list("pk", flat=True)) == [desk["armoire"].pk]


def test_the_search_stays_inside_the_view_and_its_statuses(agent, supervisor, desk):
    change_status(case=desk["echange"], status=CaseStatus.RESOLVED, actor=supervisor)
    assert found(agent, "echange") == []
    assert [c.subject for c in inbox(agent, view="all", filters={"q": "echange", "status": "resolved"}).items] == ["Demande d'échange"]
    assert found(agent, "colis", view="team") == []  # the triage case is in no team
    assert found(agent, "colis", view="unassigned") == ["Colis abîmé, commande 58"]


def test_a_saved_view_keeps_its_search_and_counts_it(agent, desk):
    saved = save_view(user=agent, name="Échanges", filters={"q": "echange"}, base="open")
    view = f"saved-{saved.pk}"
    assert [c.subject for c in inbox(agent, view=view).items] == ["Demande d'échange"]
    assert inbox_count(agent, view=resolve_view(agent, view)) == 1
    # What is typed on top replaces the saved words.
    assert [c.subject for c in inbox(agent, view=view, filters={"q": "Emma"}).items] == ["Montage de l'armoire"]


def test_search_pages_follow_the_cursor(agent, supervisor, desk):
    made = [make_case(f"p{i}@example.com", f"Retour numéro {i}", team=desk["ours"], actor=supervisor, score=i) for i in range(5)]
    seen, cursor = [], None
    while True:
        page = inbox(agent, view="open", filters={"q": "retour"}, cursor=cursor, limit=2)
        seen += [case.pk for case in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == [case.pk for case in reversed(made)]


# --- Case.subject_key is written with the subject ------------------------------------------


def test_every_new_case_gets_its_folded_subject(agent):
    intake = open_email_case("f@example.com", subject="Demande d'ÉCHANGE   urgent")
    assert Case.objects.get(pk=intake.case.pk).subject_key == "demande d'echange urgent"
    # Split out of a case: a new case, the same subject.
    second = add_inbound_message(case=intake.case, body="Autre chose.", message_id="<second@mail>")
    split = split_message(message=second.message, actor=agent)
    assert Case.objects.get(pk=split.pk).subject_key == "demande d'echange urgent"


def test_a_follow_up_case_gets_its_folded_subject(agent):
    reopen_within(3)
    case = change_status(case=open_email_case(subject="Colis abîmé").case, status=CaseStatus.RESOLVED, actor=agent)
    intake = add_inbound_message(case=case, body="Toujours cassé.", received_at=case.resolved_at + dt.timedelta(days=4),
                                 message_id="<late@mail>")
    assert intake.case.pk != case.pk
    assert Case.objects.get(pk=intake.case.pk).subject_key == "colis abime"


def test_changing_the_subject_changes_its_key(admin_user):
    case = open_email_case(subject="Ancien objet").case
    case.subject = "Nouvel OBJET reçu"
    case.save(update_fields=["subject"])
    assert Case.objects.get(pk=case.pk).subject_key == "nouvel objet recu"
    # Through the admin, where the subject is edited.
    request = RequestFactory().post("/")
    request.user = admin_user
    model_admin = admin_site._registry[Case]
    case.subject = "Réclamation Livraison"
    model_admin.save_model(request, case, form=None, change=True)
    assert Case.objects.get(pk=case.pk).subject_key == "reclamation livraison"
    # A save of other fields leaves the key alone.
    Case.objects.filter(pk=case.pk).update(subject_key="stale")
    case.priority_score = 5
    case.save(update_fields=["priority_score"])
    assert Case.objects.get(pk=case.pk).subject_key == "stale"


# --- migration 0016 ------------------------------------------------------------------------


SUBJECTS = ["Demande d'échange", "", "Colis ABÎMÉ", "Straße   fermée", "Øre ½"]


@pytest.mark.django_db(transaction=True)
def test_migration_0016_adds_the_column_and_fills_existing_cases_in_batches(monkeypatch):
    cases = [open_email_case(f"m{i}@example.com", subject=subject).case for i, subject in enumerate(SUBJECTS)]
    executor = MigrationExecutor(connection)
    latest = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "cases"]
    executor.migrate([("cases", "0015_namespace_automatic_timeline_ids")])
    try:
        with connection.cursor() as cursor:
            columns = [column.name for column in connection.introspection.get_table_description(cursor, "cases_case")]
        assert "subject_key" not in columns
        monkeypatch.setattr(migration_0016, "BATCH", 2)  # three batches for five cases
        executor = MigrationExecutor(connection)
        executor.migrate([("cases", "0016_case_subject_key")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    keys = dict(Case.objects.values_list("pk", "subject_key"))
    assert keys == {case.pk: search_key(subject) for case, subject in zip(cases, SUBJECTS, strict=True)}
    assert keys[cases[0].pk] == "demande d'echange" and keys[cases[3].pk] == "strasse fermee"


def test_migration_0016_can_be_run_again_and_mends_stale_keys():
    fresh = open_email_case("n@example.com", subject="Échange").case
    stale = open_email_case("o@example.com", subject="Montage").case
    Case.objects.filter(pk=stale.pk).update(subject_key="")
    editor = SimpleNamespace(connection=connection)
    migration_0016.add_column(global_apps, editor)  # the column is there: nothing to do
    migration_0016.fill_subject_keys(global_apps, editor)
    migration_0016.fill_subject_keys(global_apps, editor)
    assert dict(Case.objects.values_list("pk", "subject_key")) == {fresh.pk: "echange", stale.pk: "montage"}


# --- review fixes ---------------------------------------------------------------------------


def test_a_full_name_with_a_particle_or_an_apostrophe_finds_its_customers_case(agent, desk, supervisor):
    make_case("g@example.com", "Facture", team=desk["ours"], actor=supervisor, name=("Yann", "Le Goff"))
    make_case("o@example.com", "Retour", team=desk["ours"], actor=supervisor, name=("Sean", "O'Brien"))
    assert found(agent, "Le Goff") == ["Facture"]
    assert found(agent, "O'Brien") == ["Retour"]
    assert found(agent, "o’brien") == ["Retour"]


def test_a_number_written_with_a_hash_or_a_final_dot_is_a_case_number(agent, desk):
    number = str(int(desk["armoire"].reference.rsplit("-", 1)[1]))
    assert "Montage de l'armoire" in found(agent, f"#{number}")
    assert "Montage de l'armoire" in found(agent, f"{number}.")


def test_an_elision_alone_searches_nothing_rather_than_every_l(agent, desk):
    assert found(agent, "l'") == [] and found(agent, "qu’") == []


def test_odd_characters_are_a_search_like_any_other_never_a_500(client, agent, desk):
    client.force_login(agent)
    for typed in ("colis \U0010ffff", "\U0010ffff", "colis\x00"):
        assert client.get(reverse("cases:inbox"), {"q": typed}).status_code == 200
