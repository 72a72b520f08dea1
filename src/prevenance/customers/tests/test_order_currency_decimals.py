"""Order amounts have the decimals of their currency (ISO 4217): none in yen, three in dinars."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from prevenance.core.csvio import RowError, iter_export, run_import
from prevenance.customers.models import Order
from prevenance.customers.services import record_order
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    customer = CustomerFactory()
    IdentityFactory(customer=customer, kind="email", value="gael@exemple.fr")
    return customer


def test_an_order_row_in_yen_with_decimals_is_refused_with_the_row_error(customer):
    report = run_import(kind="orders", data=(
        b"reference,customer_email,date,amount,currency\n"
        b"R-1,gael@exemple.fr,2025-01-01,10.5,JPY\n"
        b"R-2,gael@exemple.fr,2025-01-01,1500,JPY\n"
        b"R-3,gael@exemple.fr,2025-01-01,\"12,345\",TND\n"
        b"R-4,gael@exemple.fr,2025-01-01,10.555,EUR\n"
    ))
    assert report.errors == [
        RowError(2, "amount", "JPY amounts have no decimals: 10.5 JPY."),
        RowError(5, "amount", "At most two decimal places."),  # no longer rounded to 10.56 without a word
    ]
    assert {order.reference: order.amount for order in Order.objects.all()} == {"R-2": Decimal("1500"), "R-3": Decimal("12.345")}
    exported = "".join(iter_export(kind="orders"))
    assert ",1500,JPY," in exported and ",12.345,TND," in exported


def test_record_order_and_the_admin_form_check_the_currency_decimals(customer):
    with pytest.raises(ValidationError) as refused:
        record_order(customer=customer, reference="R-9", ordered_at=timezone.now(), amount="99.99", currency="XOF")
    assert refused.value.message_dict == {"amount": ["XOF amounts have no decimals: 99.99 XOF."]}
    order = Order(customer=customer, reference="R-10", ordered_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                  amount=Decimal("12.5"), currency="CLP")
    with pytest.raises(ValidationError) as refused:
        order.full_clean()
    assert refused.value.message_dict == {"amount": ["CLP amounts have no decimals: 12.5 CLP."]}
