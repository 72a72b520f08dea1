"""Folded search keys: letters Unicode does not decompose (œ, æ, ø, ł…), the migrations that
refill the stored keys (cases 0017, customers 0009) and `prevenance refresh-search-keys`."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.core.management import call_command
from django.db import connection

from prevenance.cases.models import Case
from prevenance.cases.selectors import inbox
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.refill import refill_derived_columns
from prevenance.core.text import search_key
from prevenance.customers.models import Customer
from prevenance.customers.selectors import search_customers

cases_0017 = importlib.import_module("prevenance.cases.migrations.0017_fold_undecomposed_letters")
customers_0009 = importlib.import_module("prevenance.customers.migrations.0009_fold_undecomposed_letters")

pytestmark = pytest.mark.django_db


def test_letters_without_a_decomposition_are_written_as_typed_without_them():
    assert search_key("Mon CŒUR, l'Æther, Ørsted, Łukasz, Đorđe, Þór, Straße") == (
        "mon coeur, l'aether, orsted, lukasz, dorde, thor, strasse"
    )


def test_coeur_typed_without_the_ligature_finds_the_case_and_the_customer(supervisor):
    case = open_email_case("coeur@example.com", subject="Une œuvre abîmée").case
    customer = case.customer
    customer.first_name, customer.last_name = "Łukasz", "Lœuvre"
    customer.save()
    assert [c.pk for c in inbox(supervisor, view="open", filters={"q": "oeuvre"}).items] == [case.pk]
    assert [c.pk for c in inbox(supervisor, view="open", filters={"q": "lukasz loeuvre"}).items] == [case.pk]
    assert search_customers(supervisor, "loeuvre") == [customer]


def _stale(case: Case, subject_key: str, customer_keys: tuple[str, str]) -> None:
    Case.objects.filter(pk=case.pk).update(subject_key=subject_key)
    Customer.objects.filter(pk=case.customer_id).update(sort_key=customer_keys[0], alt_key=customer_keys[1])


def test_the_migrations_refill_only_the_keys_of_rows_holding_such_a_letter(monkeypatch):
    with_letter = open_email_case("a@example.com", subject="Cœur brisé").case
    Customer.objects.filter(pk=with_letter.customer_id).update(first_name="Bjørn", last_name="Æsir")
    without = open_email_case("b@example.com", subject="Colis").case
    # Keys as the previous folding wrote them, and one stale key without such a letter.
    _stale(with_letter, "cœur brise", ("æsir bjørn", "bjørn æsir"))
    _stale(without, "stale", ("stale", "stale"))
    monkeypatch.setattr("prevenance.core.refill.BATCH", 1)
    editor = SimpleNamespace(connection=connection)
    for _ in range(2):  # re-runnable
        cases_0017.refill(global_apps, editor)
        customers_0009.refill(global_apps, editor)
    assert Case.objects.get(pk=with_letter.pk).subject_key == "coeur brise"
    assert Customer.objects.values_list("sort_key", "alt_key").get(pk=with_letter.customer_id) == ("aesir bjorn", "bjorn aesir")
    assert Case.objects.get(pk=without.pk).subject_key == "stale"  # not read: the command mends those


def test_the_command_mends_every_missing_or_stale_key_in_batches(monkeypatch, capsys):
    cases = [open_email_case(f"c{i}@example.com", subject=f"Échange {i}").case for i in range(5)]
    company = open_email_case("e@example.com", subject="Facture").case.customer
    Customer.objects.filter(pk=company.pk).update(kind="company", company_name="Œnologie SARL")
    for case in cases[1:4]:
        # Opened by a server of the previous release while migration 0016 ran: no key.
        _stale(case, "", ("stale", "stale"))
    monkeypatch.setattr("prevenance.core.refill.BATCH", 2)
    call_command("refresh-search-keys")
    assert [Case.objects.get(pk=case.pk).subject_key for case in cases] == [f"echange {i}" for i in range(5)]
    assert Customer.objects.values_list("sort_key", "alt_key").get(pk=company.pk) == ("oenologie sarl", "oenologie sarl")
    out = capsys.readouterr().out
    assert "3 cases, 4 customers" in out
    call_command("refresh-search-keys")
    assert "0 cases, 0 customers" in capsys.readouterr().out


def test_a_row_changed_after_it_was_read_keeps_the_key_its_writer_gave_it():
    case = open_email_case("f@example.com", subject="Ancien sujet").case
    Case.objects.filter(pk=case.pk).update(subject_key="")

    def key_while_an_agent_renames_the_case(subject: str) -> tuple[str]:
        renamed = Case.objects.get(pk=case.pk)
        renamed.subject = "Nouveau sujet"
        renamed.save()  # writes its own key
        return (search_key(subject),)

    changed = refill_derived_columns(
        Case, sources=("subject",), targets=("subject_key",), compute=key_while_an_agent_renames_the_case
    )
    assert changed == 0
    assert Case.objects.values_list("subject", "subject_key").get(pk=case.pk) == ("Nouveau sujet", "nouveau sujet")
