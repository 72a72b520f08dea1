"""Gestures, limits and reports in currencies without cents (JPY) or with thousandths (TND):
each amount has the decimals ISO 4217 gives its currency, no more, and is shown with them."""

import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from prevenance.cases.choices import GestureStatus, GestureType
from prevenance.cases.models import ChannelCost, DelegationLimit, Gesture, TrustThreshold
from prevenance.cases.services import ensure_default_limits, request_gesture
from prevenance.cases.services.case_settings import set_trust_threshold, update_priority_settings
from prevenance.cases.tests.factories import (
    TeamFactory,
    an_approver_who_leaves,
    limits_in,
    open_email_case,
)
from prevenance.core.choices import Channel

pytestmark = pytest.mark.django_db

QUEUE = reverse("cases:gesture_approvals")


def spaces(text: str) -> str:
    """French groups thousands with a (narrow) no-break space: a plain one, to compare."""
    return re.sub("[\u202f\xa0]", " ", text)


def ask(actor, amount, currency, *, case=None, type=GestureType.REFUND):  # noqa: A002
    case = case or open_email_case().case
    return request_gesture(case=case, type=type, amount=amount, currency=currency, reason="Colis abîmé", actor=actor)


@pytest.fixture
def limits(agent, supervisor):
    """The agent may grant 5,000 JPY and nothing in TND; the supervisor 100 TND and 100,000 JPY."""
    ensure_default_limits()
    TeamFactory(members=[agent, supervisor])
    DelegationLimit.objects.create(user=agent, currency="JPY", max_amount=Decimal("5000"))
    DelegationLimit.objects.create(user=supervisor, currency="TND", max_amount=Decimal("100"))
    DelegationLimit.objects.create(user=supervisor, currency="JPY", max_amount=Decimal("100000"))


@pytest.mark.parametrize("typed", ["10.50", "10,5", "1500.5", Decimal("0.5")])
def test_a_yen_gesture_with_decimals_is_refused_with_the_reason_and_nothing_is_stored(agent, limits, typed):
    with pytest.raises(ValidationError) as refused:
        ask(agent, typed, "JPY")
    [message] = refused.value.message_dict["amount"]
    assert message.startswith("JPY amounts have no decimals: ") and message.endswith(" JPY.")
    assert not Gesture.objects.exists()


def test_the_api_refuses_a_yen_amount_with_decimals_and_stores_nothing(agent, limits):
    client = Client()
    client.force_login(agent)
    case = open_email_case().case
    response = client.post(f"/api/v1/cases/{case.pk}/gestures", content_type="application/json",
                           data=json.dumps({"type": "refund", "amount": "10.50", "currency": "JPY", "reason": "x"}))
    assert response.status_code == 422
    assert any(item["msg"] == "JPY amounts have no decimals: 10.50 JPY." for item in response.json()["detail"])
    assert not Gesture.objects.exists()
    granted = client.post(f"/api/v1/cases/{case.pk}/gestures", content_type="application/json",
                          data=json.dumps({"type": "refund", "amount": "1500", "currency": "JPY", "reason": "x"}))
    assert (granted.status_code, granted.json()["amount"], granted.json()["status"]) == (201, "1500", "granted")


def test_a_dinar_refund_is_stored_to_the_thousandth_and_shown_so(client, agent, supervisor, limits):
    gesture = ask(agent, Decimal("12.345"), "TND")  # no TND limit for the agent: it waits for the supervisor
    gesture.refresh_from_db()
    assert (gesture.amount, gesture.status) == (Decimal("12.345"), GestureStatus.REQUESTED)
    client.force_login(supervisor)
    for language, shown in (("en", "12.345 TND"), ("fr", "12,345 TND")):
        case_page = client.get(f"/cases/{gesture.case_id}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        queue = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert shown in case_page and shown in queue
        assert "12.35" not in case_page and "12,35 " not in case_page and "12,350" not in queue


def test_yen_are_shown_without_decimals(client, agent, supervisor, limits):
    gesture = ask(agent, "1500", "JPY")
    assert gesture.status == GestureStatus.GRANTED
    waiting = ask(agent, "4000", "JPY", case=gesture.case)  # 5,500 on the case: beyond the agent's 5,000
    assert waiting.status == GestureStatus.REQUESTED
    client.force_login(supervisor)
    page = client.get(f"/cases/{gesture.case_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1,500 JPY" in page and "4,000 JPY" in page and "1,500.00" not in page
    queue = spaces(client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="fr").content.decode())
    assert "4 000 JPY" in queue and "1 500 JPY" in queue  # the gesture, and what its case was granted before
    assert "4 000,00" not in queue and "1 500,00" not in queue


def test_in_dinars_a_typed_group_of_three_digits_is_millimes_and_several_groups_stay_ambiguous(agent, limits):
    # Tunisians write 12,345 DT for twelve dinars 345 millimes: in a three-decimal currency the
    # one mark before three digits is the decimal one, while in euros it stays ambiguous.
    limits_in("KWD", "USD")
    assert ask(agent, "12.345", "TND").amount == Decimal("12.345")
    assert ask(agent, "1,5", "TND").amount == Decimal("1.500")
    for typed, currency in (("1.500.000", "TND"), ("1,500,000", "KWD"), ("12.345", "EUR"), ("1,500", "USD")):
        with pytest.raises(ValidationError) as refused:
            ask(agent, typed, currency)
        assert refused.value.error_dict["amount"][0].code == "ambiguous_amount"
    assert sorted(Gesture.objects.values_list("amount", flat=True)) == [Decimal("1.5"), Decimal("12.345")]


def amount_refusal(agent, typed, currency):
    with pytest.raises(ValidationError) as refused:
        ask(agent, typed, currency)
    [error] = refused.value.error_dict["amount"]
    return error.code, error.messages[0]


def test_an_ambiguous_yen_amount_offers_only_the_readings_yen_can_have(agent, limits):
    with translation.override("en"):
        assert amount_refusal(agent, "10.000", "JPY") == (
            "ambiguous_amount", "“10.000” is ambiguous: type 10000 for 10,000 JPY, or 10 for 10 JPY.")
        # 1.5 JPY cannot be: only the thousands reading is offered.
        assert amount_refusal(agent, "1,500", "JPY") == ("ambiguous_amount", "“1,500” is ambiguous: type 1500 for 1,500 JPY.")
    assert not Gesture.objects.exists()


def test_an_ambiguous_dinar_amount_is_read_both_ways_with_millimes(agent, limits):
    with translation.override("en"):
        assert amount_refusal(agent, "1.500.000", "TND") == (
            "ambiguous_amount", "“1.500.000” is ambiguous: type 1500000 for 1,500,000.000 TND.")


def test_a_zero_before_the_mark_is_decimals_in_every_currency(agent, limits):
    limits_in("KWD")
    assert amount_refusal(agent, "0,001", "JPY") == ("currency_decimals", "JPY amounts have no decimals: 0.001 JPY.")
    assert ask(agent, "0,001", "TND").amount == Decimal("0.001")
    assert ask(agent, "0.005", "KWD").amount == Decimal("0.005")


def test_grouped_thousands_with_a_decimal_mark_after_them_are_read_in_every_currency(agent, limits):
    with an_approver_who_leaves("TND"):  # above every limit left: waiting since before the check
        assert ask(agent, "1.000,500", "TND").amount == Decimal("1000.500")
        assert ask(agent, "1,000.125", "TND").amount == Decimal("1000.125")
    assert ask(agent, "1.000,00", "JPY").amount == Decimal("1000")  # trailing zeros are no decimals
    assert amount_refusal(agent, "1.000,50", "JPY") == ("currency_decimals", "JPY amounts have no decimals: 1,000.50 JPY.")


def test_a_limit_of_5000_yen_covers_a_4999_yen_gesture(agent, limits):
    assert ask(agent, "4999", "JPY").status == GestureStatus.GRANTED
    assert ask(agent, "5001", "JPY").status == GestureStatus.REQUESTED


def test_a_refusal_writes_the_limit_with_the_currency_decimals(agent, supervisor, limits):
    from prevenance.cases.services import approve_gesture  # noqa: PLC0415

    with an_approver_who_leaves("JPY"):  # above every limit left: waiting since before the check
        gesture = ask(agent, "200000", "JPY")
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=gesture, actor=supervisor)
    assert "(100,000 JPY)" in str(refused.value.messages[0])


def test_limits_thresholds_costs_and_priority_steps_have_their_currency_decimals(admin_user):
    for row, field in ((DelegationLimit(user=admin_user, currency="JPY", max_amount=Decimal("10.5")), "max_amount"),
                       (TrustThreshold(currency="KWD", max_amount=Decimal("1.2345")), "max_amount"),
                       (ChannelCost(channel=Channel.PHONE, currency="XOF", unit_cost=Decimal("0.5")), "unit_cost")):
        with pytest.raises(ValidationError) as refused:
            row.full_clean()
        assert list(refused.value.message_dict) == [field]
    with pytest.raises(ValidationError) as refused:
        set_trust_threshold(actor=admin_user, currency="JPY", max_amount="99.5")
    assert refused.value.message_dict == {"max_amount": ["JPY amounts have no decimals: 99.5 JPY."]}
    assert str(set_trust_threshold(actor=admin_user, currency="TND", max_amount="20.125").max_amount) == "20.125"
    with pytest.raises(ValidationError) as refused:
        update_priority_settings(actor=admin_user, currency="JPY", value_step1_amount=Decimal("500.5"))
    assert list(refused.value.message_dict) == ["value_step1_amount"]
    assert update_priority_settings(actor=admin_user, currency="JPY").currency == "JPY"  # 500.00 is 500 yen


def test_the_report_and_its_csv_write_amounts_with_their_currency_decimals(client, agent, supervisor, limits):
    DelegationLimit.objects.create(user=agent, currency="TND", max_amount=Decimal("100"))
    for amount in ("1000", "1000", "1001"):
        ask(agent, amount, "JPY")  # an average of 1000.33 yen: 1,000
    ask(agent, Decimal("12.345"), "TND")
    ask(agent, "10", "EUR")
    client.force_login(supervisor)
    csv_text = client.get(reverse("cases:gesture_report"), {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert csv_text.splitlines()[1:] == ["agent,EUR,1,10.00,10.00,0,no", "agent,JPY,3,3001,1000,0,no",
                                         "agent,TND,1,12.345,12.345,0,no"]
    french = client.get(reverse("cases:gesture_report"), {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert french.splitlines()[3] == "agent;TND;1;12,345;12,345;0;non"
    page = client.get(reverse("cases:gesture_report"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3,001" in page and "1,000" in page and "1,000.33" not in page and "12.345" in page


def test_the_admin_lists_amounts_with_their_currencys_decimals(client):
    from prevenance.cases.services import ensure_default_limits  # noqa: PLC0415
    from prevenance.core.roles import assign_role  # noqa: PLC0415
    from prevenance.customers.tests.factories import UserFactory  # noqa: PLC0415

    admin_user = UserFactory(username="anne")
    assign_role(user=admin_user, role="admin")

    ensure_default_limits()
    DelegationLimit.objects.create(group=DelegationLimit.objects.first().group, currency="JPY", max_amount=Decimal("5000"))
    client.force_login(admin_user)
    response = client.get("/admin/cases/delegationlimit/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response
    page = response.content.decode()
    assert ">50.00<" in page and ">5,000<" in page
    assert "50.000" not in page and "5,000.000" not in page
