"""Export writes exactly what import reads: export everything, empty the database, import it back."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from prevenance.core.choices import Channel
from prevenance.core.csvio import run_export, run_import
from prevenance.customers.choices import ConsentMethod, IdentityKind
from prevenance.customers.models import ConsentEvent, Customer, Identity, Order
from prevenance.customers.services import (
    add_identity,
    grant_consent,
    record_order,
    resolve_customer,
    withdraw_consent,
)
from prevenance.customers.services.identities import IdentityInput
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import record_interaction

KINDS = ("customers", "orders", "consents", "interactions")


def _given_a_populated_database():
    when = dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC)
    anne = resolve_customer(
        identities=[IdentityInput(IdentityKind.EXTERNAL_ID, "A-1"), IdentityInput(IdentityKind.EMAIL, "anne@example.com"),
                    IdentityInput(IdentityKind.PHONE, "06 12 34 56 78"), IdentityInput(IdentityKind.LOYALTY_CARD, "9999 0001")],
        hints={"first_name": "Anne", "last_name": "D'Arc, \"la Pucelle\"", "birth_date": dt.date(1990, 1, 31),
               "address": "1 rue de la Paix; 2e étage", "postal_code": "75002", "city": "Paris", "country": "FR",
               "lifecycle_state": "active"},
    ).customer
    add_identity(customer=anne, kind=IdentityKind.EMAIL, value="anne.pro@example.com")
    acme = resolve_customer(identities=[IdentityInput(IdentityKind.EMAIL, "contact@acme.example")],
                            hints={"kind": "company", "company_name": "ACME <SA>", "language": "en", "country": "GB"}).customer
    order, _created = record_order(customer=anne, reference="O-1", ordered_at=when, amount=Decimal("1234.50"),
                                   channel=Channel.STORE, store="Paris 2", items_count=3, status="delivered")
    record_order(customer=acme, reference="O-2", ordered_at=when + dt.timedelta(days=1), amount="9.99")
    grant_consent(customer=anne, purpose="marketing_sms", channel=Channel.PHONE, method=ConsentMethod.VERBAL,
                  source="call", occurred_at=when)
    withdraw_consent(customer=anne, purpose="marketing_sms", channel=Channel.SMS, method=ConsentMethod.UNSUBSCRIBE_LINK,
                     occurred_at=when + dt.timedelta(hours=2))
    grant_consent(customer=acme, purpose="marketing_email", channel=Channel.WEB, method=ConsentMethod.DOUBLE_OPT_IN,
                  occurred_at=when)
    record_interaction(customer=anne, channel=Channel.PHONE, direction="inbound", nature="transactional",
                       summary="Où est ma commande ?", body="Ligne 1\nLigne 2, avec ; et \"guillemets\"",
                       order=order, occurred_at=when, external_id="I-1")
    record_interaction(customer=acme, channel=Channel.EMAIL, direction="outbound", summary="Newsletter",
                       phase="before", occurred_at=when, external_id="I-2")


def _snapshot():
    def key(customer_id):
        return sorted(Identity.objects.filter(customer_id=customer_id).values_list("kind", "normalized"))

    customers = sorted(
        (key(c.pk), c.kind, c.first_name, c.last_name, c.company_name, c.language, c.birth_date, c.address,
         c.postal_code, c.city, c.country, c.lifecycle_state, c.sort_key)
        for c in Customer.objects.all()
    )
    orders = sorted((key(o.customer_id), o.reference, o.ordered_at, o.amount, o.currency, o.channel, o.store,
                     o.items_count, o.status) for o in Order.objects.all())
    consents = sorted((key(e.customer_id), e.purpose, e.action, e.method, e.channel, e.source, e.occurred_at)
                      for e in ConsentEvent.objects.all())
    interactions = sorted((key(i.customer_id), i.channel, i.direction, i.nature, i.phase, i.occurred_at, i.summary,
                           i.body, i.order.reference if i.order else "", i.external_id) for i in Interaction.objects.all())
    return customers, orders, consents, interactions


@pytest.mark.django_db
def test_export_then_import_into_an_empty_database_gives_the_same_data():
    _given_a_populated_database()
    before = _snapshot()
    files = {}
    for kind in KINDS:
        stream = io.StringIO()
        run_export(kind=kind, stream=stream)
        files[kind] = stream.getvalue()
    for model in (Interaction, ConsentEvent, Order, Identity, Customer):
        model.objects.all().delete()

    reports = {kind: run_import(kind=kind, data=files[kind].encode()) for kind in KINDS}

    assert {kind: (r.errors, r.refused) for kind, r in reports.items()} == {kind: ([], 0) for kind in KINDS}
    assert _snapshot() == before
    assert before[0][0][0] == [("email", "anne.pro@example.com"), ("email", "anne@example.com"),
                               ("external_id", "A-1"), ("loyalty_card", "99990001"), ("phone", "+33612345678")]
    assert "anne@example.com | anne.pro@example.com" in files["customers"]


@pytest.mark.django_db
def test_the_export_command_writes_what_the_import_command_reads(tmp_path):
    _given_a_populated_database()
    before = _snapshot()
    for kind in KINDS:
        call_command("export", kind, str(tmp_path / f"{kind}.csv"), stdout=io.StringIO())
    for model in (Interaction, ConsentEvent, Order, Identity, Customer):
        model.objects.all().delete()

    for kind in KINDS:
        call_command("import", kind, str(tmp_path / f"{kind}.csv"), stdout=io.StringIO(), stderr=io.StringIO())

    assert _snapshot() == before
