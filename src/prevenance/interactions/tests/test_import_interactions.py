"""CSV import of interactions through record_interaction: external_id makes re-imports idempotent."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prevenance.core.csvio import RowError, run_import
from prevenance.customers.models import Identity, Order
from prevenance.interactions.models import Interaction

DATA = Path(__file__).parents[2] / "customers" / "tests" / "data"


def _import(kind, name):
    return run_import(kind=kind, data=(DATA / name).read_bytes())


@pytest.fixture
def known(db):
    _import("customers", "customers_fr.csv")
    _import("orders", "orders_fr.csv")
    return {ref: Identity.objects.get(normalized=ref).customer for ref in ("C-100", "C-101")}


def test_interactions_are_imported_with_french_values_and_bad_rows_reported(known):
    report = _import("interactions", "interactions.csv")

    assert report.errors == [
        RowError(4, "direction", "“sideways” is not one of: inbound, outbound."),
        RowError(5, "order_reference", "This order belongs to another customer."),
        RowError(6, "summary", "A summary is required."),
    ]
    assert report.summary() == {"kind": "interactions", "rows": 5, "created": 2, "updated": 0, "unchanged": 0, "refused": 3}
    call = Interaction.objects.get(external_id="CALL-1")
    assert (call.customer, call.channel, call.direction, call.nature, call.phase, call.summary, call.body, call.order,
            call.occurred_at) == (
        known["C-100"], "phone", "inbound", "transactional", "after", "Où est ma commande ?", "Appel au sujet de CMD-1",
        Order.objects.get(reference="CMD-1"), dt.datetime(2025, 3, 5, 10, tzinfo=ZoneInfo("Europe/Paris")))
    mail = Interaction.objects.get(external_id="MAIL-1")
    assert (mail.direction, mail.nature, mail.phase, mail.order) == ("outbound", "informative", "before", None)
    assert not Interaction.objects.filter(external_id__in=["CALL-2", "CALL-3", "CALL-4"]).exists()


def test_reimporting_interactions_creates_nothing_twice(known):
    _import("interactions", "interactions.csv")

    again = _import("interactions", "interactions.csv")

    assert (again.created, again.unchanged, again.refused) == (0, 2, 3)
    assert Interaction.objects.count() == 2


def test_an_unknown_order_reference_is_reported(known):
    report = run_import(kind="interactions", data=(
        "customer_email;canal;sens;résumé;commande\n"
        "eloise@exemple.fr;courriel;entrant;Relance;CMD-404\n").encode())

    assert report.errors == [RowError(2, "order_reference", "No order has the reference “CMD-404”.")]
    assert not Interaction.objects.exists()


def test_an_import_cannot_claim_the_platforms_ids_or_another_customers(known):
    other = known["C-101"]
    Interaction.objects.create(customer=other, channel="phone", direction="inbound", summary="Private", external_id="CALL-9")
    report = run_import(kind="interactions", data=(
        "customer_external_id;canal;sens;résumé;id externe\n"
        "C-100;téléphone;entrant;Appel;cases.message:1\n"
        "C-100;téléphone;entrant;Appel;CALL-9\n").encode())

    assert report.errors == [
        RowError(2, "external_id", "This external id is reserved for the platform's own entries."),
        RowError(3, "external_id", "This external id is already used on another customer's timeline."),
    ]
    assert not Interaction.objects.filter(customer=known["C-100"]).exists()
