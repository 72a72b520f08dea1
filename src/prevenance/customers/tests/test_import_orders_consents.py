"""CSV import of orders and consents: customers named by external id or email, idempotent re-imports."""

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prevenance.core.choices import Channel
from prevenance.core.csvio import RowError, run_import
from prevenance.customers.choices import ConsentAction, ConsentMethod
from prevenance.customers.models import ConsentEvent, Identity, Order
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory

DATA = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")


def _import(kind: str, name_or_text: str, actor=None):
    data = (DATA / name_or_text).read_bytes() if name_or_text.endswith(".csv") else name_or_text.encode()
    return run_import(kind=kind, data=data, actor=actor)


@pytest.fixture
def customers(db):
    _import("customers", "customers_fr.csv")
    return {ref: Identity.objects.get(normalized=ref).customer for ref in ("C-100", "C-101")}


def test_orders_with_french_amounts_dates_and_values(customers):
    report = _import("orders", "orders_fr.csv")

    assert report.errors == [
        RowError(4, "customer_external_id", "No customer has the identity “C-999”."),
        RowError(5, "amount", "“dix euros” is not a number."),
        RowError(5, "channel", "Unknown channel “fax”."),
        RowError(5, "status", "Unknown status “lost”."),
        RowError(5, "items_count", "The number of items must be a whole number, 0 or more."),
    ]
    assert report.summary() == {"kind": "orders", "rows": 4, "created": 2, "updated": 0, "unchanged": 0, "refused": 2}
    first = Order.objects.get(reference="CMD-1")
    assert (first.customer, first.ordered_at, first.amount, first.currency, first.channel, first.store,
            first.items_count, first.status) == (
        customers["C-100"], dt.datetime(2025, 3, 3, 14, 30, tzinfo=PARIS), Decimal("1234.56"), "EUR", Channel.STORE,
        "Lyon Part-Dieu", 3, "delivered")
    second = Order.objects.get(reference="CMD-2")
    assert (second.amount, second.ordered_at, second.status) == (
        Decimal("12.50"), dt.datetime(2025, 3, 4, tzinfo=PARIS), "paid")
    assert not Order.objects.filter(reference__in=["CMD-3", "CMD-4"]).exists()


def test_an_order_row_lists_every_fault_of_the_service(customers):
    report = _import("orders", "reference,customer_email,date,amount,currency,channel,items_count,status\n"
                               "R-1,gael@exemple.fr,2025-01-01,10,EURO,fax,2,lost\n")

    assert report.errors == [
        RowError(2, "currency", "Use a three-letter ISO currency code such as EUR."),
        RowError(2, "channel", "Unknown channel “fax”."),
        RowError(2, "status", "Unknown status “lost”."),
    ]
    assert not Order.objects.exists()


def test_reimporting_orders_is_idempotent_and_changes_are_updates(customers):
    _import("orders", "orders_fr.csv")

    again = _import("orders", "orders_fr.csv")
    changed = _import("orders", "reference;customer_external_id;date;amount\nCMD-2;C-100;2025-03-04;13,00\n")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert Order.objects.count() == 2
    assert Order.objects.get(reference="CMD-2").amount == Decimal("13.00")


def test_an_order_of_another_customer_is_not_taken_over(customers):
    other = CustomerFactory()
    OrderFactory(customer=other, reference="TAKEN-1", amount=Decimal("5.00"))

    report = _import("orders", "reference,customer_external_id,date,amount\nTAKEN-1,C-100,2025-01-01,99\n")

    assert report.errors == [RowError(2, "reference", "Order TAKEN-1 belongs to another customer.")]
    taken = Order.objects.get(reference="TAKEN-1")
    assert (taken.customer, taken.amount) == (other, Decimal("5.00"))


def test_external_id_and_email_of_two_customers_are_refused(customers):
    report = _import("orders", "reference,customer_external_id,customer_email,date,amount\n"
                               "X-1,C-100,gael@exemple.fr,2025-01-01,1\n")

    assert report.errors == [RowError(2, "customer_email", "The external id and the email name two different customers.")]


def test_consents_go_through_the_ledger_services(customers, supervisor):
    report = _import("consents", "consents.csv", actor=supervisor)

    assert report.errors == [
        RowError(5, "purpose", "Unknown purpose “horoscope”; use one of: marketing_email, marketing_sms, "
                               "marketing_phone, postal, profiling, surveys."),
        RowError(6, "action", "“maybe” is not one of: granted, withdrawn."),
    ]
    assert report.summary()["created"] == 3
    events = list(ConsentEvent.objects.order_by("occurred_at").values_list(
        "customer__identities__normalized", "purpose", "action", "method", "channel", "source", "recorded_by"))
    assert [(e[1], e[2], e[3], e[4], e[5], e[6]) for e in events if e[0] in ("C-100", "C-101")] == [
        ("marketing_email", ConsentAction.GRANTED, ConsentMethod.IMPORT, "web", "old CRM", supervisor.pk),
        ("marketing_sms", ConsentAction.GRANTED, ConsentMethod.VERBAL, "phone", "call centre", supervisor.pk),
        ("marketing_email", ConsentAction.WITHDRAWN, ConsentMethod.UNSUBSCRIBE_LINK, "email", "", supervisor.pk),
    ]
    sms = ConsentEvent.objects.get(purpose="marketing_sms")
    assert sms.occurred_at == dt.datetime(2025, 1, 10, 9, 5, tzinfo=PARIS)


def test_reimporting_consents_appends_nothing(customers):
    _import("consents", "consents.csv")

    again = _import("consents", "consents.csv")

    assert (again.created, again.unchanged, again.refused) == (0, 3, 2)
    assert ConsentEvent.objects.count() == 3


def test_a_checkbox_email_grant_still_needs_double_opt_in(customers, mailoutbox):
    report = _import("consents", "customer_email,purpose,action,date,method\n"
                                 "eloise@exemple.fr,marketing_email,granted,2025-05-01,checkbox\n")
    again = _import("consents", "customer_email,purpose,action,date,method\n"
                                "eloise@exemple.fr,marketing_email,granted,2025-05-01,checkbox\n")

    assert (report.created, again.unchanged) == (1, 1)
    assert list(ConsentEvent.objects.values_list("action", flat=True)) == [ConsentAction.REQUESTED]


def test_consents_need_a_date(customers):
    IdentityFactory(customer=customers["C-100"], value="second@exemple.fr")

    report = _import("consents", "customer_email,purpose,action,date\nsecond@exemple.fr,surveys,granted,\n")

    assert report.errors == [RowError(2, "date", "This column is required.")]
    assert not ConsentEvent.objects.exists()
