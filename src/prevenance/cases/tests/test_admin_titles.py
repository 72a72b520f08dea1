"""What the admin's titles and breadcrumbs call a delegation limit, a channel cost or a
gesture: amounts as the reader's language writes them, a role by its label."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import translation

from prevenance.cases.models import ChannelCost, DelegationLimit, Gesture
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.roles import AGENT
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NBSP = "\xa0"


@pytest.fixture
def agents_limit():
    limit, _created = DelegationLimit.objects.update_or_create(
        group=Group.objects.get_or_create(name=AGENT)[0], currency="EUR", defaults={"max_amount": Decimal("50.00")},
    )
    return limit


def test_a_roles_limit_is_named_by_the_role_with_a_localised_amount(agents_limit):
    with translation.override("en"):
        assert str(agents_limit) == "Agent: 50.00 EUR"
    with translation.override("fr"):
        assert str(agents_limit) == f"Conseiller{NBSP}: 50,00 EUR"


def test_a_users_or_own_groups_limit_keeps_their_name_and_groups_thousands():
    seniors = DelegationLimit.objects.create(group=Group.objects.create(name="Senior agents"), currency="EUR", max_amount=Decimal("1500"))
    user = DelegationLimit.objects.create(user=UserFactory(username="claire"), currency="JPY", max_amount=Decimal("20000"))
    with translation.override("en"):
        assert (str(seniors), str(user)) == ("Senior agents: 1,500.00 EUR", "claire: 20,000 JPY")
    with translation.override("fr"):
        assert (str(seniors), str(user)) == (f"Senior agents{NBSP}: 1{NBSP}500,00 EUR", f"claire{NBSP}: 20{NBSP}000 JPY")


def test_the_french_admin_titles_a_limit_as_french_writes_it(agents_limit):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/cases/delegationlimit/{agents_limit.pk}/change/").content.decode()

    assert page.count(f"Conseiller{NBSP}: 50,00 EUR") >= 2  # the title and the breadcrumb
    assert "agent: 50.00 EUR" not in page


def test_a_channel_cost_and_a_gesture_write_their_amounts_in_the_readers_language():
    cost = ChannelCost.objects.create(channel="phone", unit_cost=Decimal("4.5"), currency="EUR")
    case = open_email_case().case
    gesture = Gesture(case=case, customer_id=case.customer_id, type="refund", amount=Decimal("1250"), currency="EUR")
    with translation.override("en"):
        assert (str(cost), str(gesture)) == ("Phone: 4.50 EUR", "Refund 1,250.00 EUR")
    with translation.override("fr"):
        assert (str(cost), str(gesture)) == (f"Téléphone{NBSP}: 4,50 EUR", f"Remboursement 1{NBSP}250,00 EUR")


def test_the_limits_list_and_the_group_picker_name_the_roles(agents_limit):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(UserFactory(username="root2", is_staff=True, is_superuser=True))

    listing = client.get("/admin/cases/delegationlimit/").content.decode()
    assert ">Conseiller<" in listing and ">agent<" not in listing
    assert listing.index("50,00") < listing.index(">EUR<")  # the amount, then its currency, as the app writes it
    form = client.get(f"/admin/cases/delegationlimit/{agents_limit.pk}/change/").content.decode()
    assert ">Conseiller</option>" in form and ">agent</option>" not in form
