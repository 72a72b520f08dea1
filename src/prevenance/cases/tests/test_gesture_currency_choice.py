"""The gesture's currency is picked among those someone has a delegation limit in: a gesture in
a currency nobody can grant or approve is refused (the case page and the API alike) instead of
waiting forever in no one's queue. docs/cases.md, "Which currencies"."""

import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import DelegationLimit, Gesture
from prevenance.cases.services import request_gesture
from prevenance.cases.tests.factories import gesture_waiting_without_limit, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

NOBODY_IN_USD = "Nobody can grant or approve a gesture in USD: set a delegation limit in that currency first."


def currency_options(page: str) -> tuple[list[str], list[str]]:
    """The gesture form's currency options, and those selected."""
    select = re.search(r'<select name="gesture-currency".*?</select>', page, re.S)
    assert select, "no currency picker on the page"
    options = re.findall(r'<option value="([A-Z]{3})"( selected)?>', select[0])
    return [value for value, _selected in options], [value for value, selected in options if selected]


def case_with_order(currency: str):
    """A case about an order in `currency`, as intake links it."""
    customer = open_email_case("paul@example.com", subject="Bonjour").case.customer
    order = OrderFactory(customer=customer, currency=currency, amount=Decimal("80"))
    return open_email_case("paul@example.com", subject="Ma commande", order=order).case


def post_gesture(client, case, currency, amount="10"):
    return client.post(reverse("cases:case_gesture", args=[case.pk]), {
        "gesture-type": "refund", "gesture-amount": amount, "gesture-currency": currency, "gesture-reason": "Retard",
    }, HTTP_ACCEPT_LANGUAGE="en")


def test_the_form_offers_the_currencies_someone_has_a_limit_in_the_default_first(client, agent, supervisor):
    DelegationLimit.objects.create(user=supervisor, currency="GBP", max_amount=Decimal("500"))
    DelegationLimit.objects.create(user=supervisor, currency="CHF", max_amount=Decimal("0"))  # a limit of 0 grants nothing
    client.force_login(agent)
    page = client.get(f"/cases/{open_email_case().case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Not the agent's own only (they have none in GBP: it waits for the supervisor), nor USD or CHF.
    assert currency_options(page) == (["EUR", "GBP"], ["EUR"])


def test_the_form_starts_with_the_currency_of_the_cases_order(client, agent, supervisor):
    DelegationLimit.objects.create(user=supervisor, currency="GBP", max_amount=Decimal("500"))
    client.force_login(agent)
    page = client.get(f"/cases/{case_with_order('GBP').pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert currency_options(page) == (["EUR", "GBP"], ["GBP"])
    assert "a currency in which nobody has a delegation limit" not in page


def test_an_order_in_a_currency_nobody_has_a_limit_in_is_said_and_the_default_offered(client, agent):
    client.force_login(agent)
    page = client.get(f"/cases/{case_with_order('USD').pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert currency_options(page) == (["EUR"], ["EUR"])
    assert ("This case's order is in USD, a currency in which nobody has a delegation limit: a gesture can only be "
            "made in one of the currencies offered.") in page


def test_a_currency_nobody_has_a_limit_in_is_refused_on_its_field_with_nothing_written(client, agent):
    case = open_email_case().case
    client.force_login(agent)
    response = post_gesture(client, case, "USD")  # typed into the page, or a page older than a removed limit
    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="error" id="id_gesture-currency-error">{NOBODY_IN_USD}</p>' in page
    assert not Gesture.objects.exists() and not AuditEvent.objects.filter(kind__startswith="gesture.").exists()
    assert post_gesture(client, case, "EUR").status_code == 302  # the form still works in euros
    assert Gesture.objects.get().status == GestureStatus.GRANTED


def test_the_service_refuses_it_whoever_asks_even_with_a_limit_of_0(agent, supervisor):
    DelegationLimit.objects.create(user=supervisor, currency="USD", max_amount=Decimal("0"))
    with pytest.raises(ValidationError) as refused:
        request_gesture(case=open_email_case().case, type="refund", amount="10", currency="usd", reason="Retard", actor=supervisor)
    assert refused.value.message_dict == {"currency": [NOBODY_IN_USD]}
    assert refused.value.error_dict["currency"][0].code == "no_delegation_limit"
    assert not Gesture.objects.exists()


def test_the_api_refuses_it_as_the_page_does(client, agent):
    case = open_email_case().case
    client.force_login(agent)
    url = f"/api/v1/cases/{case.pk}/gestures"
    response = client.post(url, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en",
                           data=json.dumps({"type": "refund", "amount": "10", "currency": "USD", "reason": "Retard"}))
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "currency"], "msg": NOBODY_IN_USD, "type": "no_delegation_limit"}]
    assert not Gesture.objects.exists()
    DelegationLimit.objects.create(user=agent, currency="USD", max_amount=Decimal("20"))  # now someone has one
    granted = client.post(url, content_type="application/json",
                          data=json.dumps({"type": "refund", "amount": "10", "currency": "USD", "reason": "Retard"}))
    assert (granted.status_code, granted.json()["status"]) == (201, "granted")


def test_a_gesture_already_waiting_in_such_a_currency_stays_on_the_approvals_page(client, agent, supervisor):
    dollars = gesture_waiting_without_limit(actor=agent, amount="70", currency="USD")
    client.force_login(supervisor)
    page = client.get(reverse("cases:gesture_approvals"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="waiting-{dollars.pk}"' in page
    assert "Nobody: no delegation limit in USD. An administrator must set one." in page
    dollars.refresh_from_db()
    assert dollars.status == GestureStatus.REQUESTED


def test_with_no_limit_in_any_currency_the_page_says_so_instead_of_a_form(client, agent):
    DelegationLimit.objects.update(max_amount=Decimal("0"))  # every role's delegation withdrawn
    client.force_login(agent)
    page = client.get(f"/cases/{open_email_case().case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nobody has a delegation limit in any currency: no gesture can be granted or approved." in page
    assert 'name="gesture-currency"' not in page


def test_what_is_left_to_grant_is_shown_per_currency_beside_the_picker(client, agent, supervisor):
    DelegationLimit.objects.create(user=agent, currency="GBP", max_amount=Decimal("20"))
    case = open_email_case().case
    request_gesture(case=case, type="refund", amount="15", currency="GBP", reason="Retard", actor=agent)
    request_gesture(case=case, type="refund", amount="10.50", currency="EUR", reason="Retard", actor=agent)
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    delegation = page.split('id="delegation"')[1].split("</p>")[0]
    assert "<strong>39.50 EUR</strong>, <strong>5.00 GBP</strong>" in delegation
    assert currency_options(page) == (["EUR", "GBP"], ["EUR"])
