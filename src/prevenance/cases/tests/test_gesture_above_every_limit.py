"""A gesture nobody could grant is refused when it is asked for, not left waiting where nobody
can decide on it: above every delegation limit, together with what its case was already
granted in its currency (docs/cases.md, "Above every limit"). The limit is per case, and the
admin says so."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from prevenance.cases.choices import GestureStatus
from prevenance.cases.models import DelegationLimit, Gesture
from prevenance.cases.services import approve_gesture, ensure_default_limits, request_gesture
from prevenance.cases.tests.factories import TeamFactory, an_approver_who_leaves, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
ABOVE_2500 = ("No one can grant 2,500.00 EUR on this case: the highest delegation limit is 2,000.00 EUR. "
              "Ask for 2,000.00 EUR at most, or ask an administrator to raise a limit.")


@pytest.fixture
def team(agent, supervisor):
    """The defaults: the agent may grant 50 EUR on a case, the supervisor 2,000 EUR."""
    ensure_default_limits()
    TeamFactory(members=[agent, supervisor])


def ask(actor, amount, *, case=None, currency="EUR"):
    return request_gesture(case=case or open_email_case().case, type="refund", amount=amount, currency=currency,
                           reason="Cuisine abîmée", actor=actor)


def refusal(actor, amount, **kwargs) -> tuple[str, str]:
    with pytest.raises(ValidationError) as refused:
        ask(actor, amount, **kwargs)
    [error] = refused.value.error_dict["amount"]
    return error.code, error.messages[0]


def nothing_written() -> bool:
    return not Gesture.objects.exists() and not AuditEvent.objects.filter(kind__startswith="gesture.").exists()


def test_a_gesture_above_the_highest_limit_is_refused_with_nothing_written(agent, team):
    with translation.override("en"):
        assert refusal(agent, "2500") == ("above_every_limit", ABOVE_2500)
        assert refusal(agent, "2000.01")[0] == "above_every_limit"
    assert nothing_written()
    # At the highest limit it waits for the supervisor, as before.
    assert ask(agent, "2000").status == GestureStatus.REQUESTED


def test_what_the_case_was_already_granted_counts_and_the_message_says_what_is_left(agent, supervisor, team):
    case = open_email_case().case
    approve_gesture(gesture=ask(agent, "1500", case=case), actor=supervisor)
    with translation.override("en"):
        assert refusal(agent, "600", case=case) == ("above_every_limit", (
            "No one can grant 600.00 EUR on this case: with the 1,500.00 EUR already granted on it, that is above "
            "the highest delegation limit, 2,000.00 EUR for the whole case. Ask for 500.00 EUR at most, "
            "or ask an administrator to raise a limit."))
    assert ask(agent, "600").status == GestureStatus.REQUESTED  # on another case it fits
    assert ask(agent, "500", case=case).status == GestureStatus.REQUESTED  # what the message said
    approve_gesture(gesture=Gesture.objects.get(case=case, amount=Decimal("500")), actor=supervisor)
    with translation.override("en"):
        assert refusal(agent, "10", case=case) == ("above_every_limit", (
            "No one can grant 10.00 EUR on this case: the 2,000.00 EUR already granted on it use up the highest "
            "delegation limit, 2,000.00 EUR for the whole case. Only an administrator raising a limit would allow more."))
    assert Gesture.objects.filter(case=case).count() == 2  # nothing more written


def test_the_message_writes_amounts_as_the_readers_language_does(agent, team):
    with translation.override("fr"):
        _code, message = refusal(agent, "2500")
    assert f"2{NBSP}500,00 EUR" in message and f"2{NBSP}000,00 EUR" in message
    assert "2,500.00" not in message


def test_the_requesters_own_limit_counts_and_only_active_approvers(supervisor, team):
    # The supervisor grants up to 2,000 EUR themselves; nobody else may approve more than that.
    junior = UserFactory(username="jules", role="agent")
    junior.user_permissions.add(Permission.objects.get(codename="approve_gesture"))
    DelegationLimit.objects.create(user=junior, currency="EUR", max_amount="100")
    case = open_email_case().case
    assert ask(supervisor, "1500", case=case).status == GestureStatus.GRANTED
    with translation.override("en"):
        code, message = refusal(supervisor, "600", case=case)
    assert code == "above_every_limit" and "the highest delegation limit, 2,000.00 EUR" in message
    # A director who left does not count; once active again, they may approve it, so it waits for them.
    director = UserFactory(username="diane", role="supervisor", is_active=False)
    DelegationLimit.objects.create(user=director, currency="EUR", max_amount="5000")
    assert refusal(supervisor, "600", case=case)[0] == "above_every_limit"
    director.is_active = True
    director.save(update_fields=["is_active"])
    assert ask(supervisor, "600", case=case).status == GestureStatus.REQUESTED


def test_with_no_other_approver_holding_a_limit_in_the_currency_it_still_waits(agent):
    # Nobody else may approve it at all: the approvals page asks an administrator to give
    # someone a limit ("Nobody else may approve it"), who may then decide on it.
    ensure_default_limits()
    assert ask(agent, "2500").status == GestureStatus.REQUESTED


def test_the_rule_is_the_approvals_pages(client, agent, supervisor, team):
    # A gesture the page shows as above the highest limit (asked for before this check, or
    # before the approver who could grant it left) is one the service now refuses.
    with an_approver_who_leaves():
        waiting = ask(agent, "2500")
    client.force_login(supervisor)
    page = client.get(reverse("cases:gesture_approvals"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page.split(f'id="waiting-{waiting.pk}"')[1].split("</tr>")[0]
    assert "Nobody: above the highest limit (2,000.00 EUR). An administrator must raise one." in row
    assert refusal(agent, "2500")[0] == "above_every_limit"


def test_the_case_page_says_it_under_the_amount_with_nothing_written(client, agent, team):
    case = open_email_case().case
    client.force_login(agent)
    response = client.post(reverse("cases:case_gesture", args=[case.pk]), {
        "gesture-type": "refund", "gesture-amount": "2500", "gesture-currency": "EUR", "gesture-reason": "Cuisine",
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert f'<p class="error" id="id_gesture-amount-error">{ABOVE_2500}</p>' in response.content.decode()
    assert nothing_written()


def test_the_api_refuses_it_as_a_422_of_its_own_type(client, agent, team):
    case = open_email_case().case
    client.force_login(agent)
    url = f"/api/v1/cases/{case.pk}/gestures"
    body = {"type": "refund", "amount": "2500", "currency": "EUR", "reason": "Cuisine"}
    response = client.post(url, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", data=json.dumps(body))
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "amount"], "msg": ABOVE_2500, "type": "above_every_limit"}]
    assert nothing_written()
    waiting = client.post(url, content_type="application/json", data=json.dumps({**body, "amount": "2000"}))
    assert (waiting.status_code, waiting.json()["status"]) == (201, "requested")


def test_the_admin_says_a_limit_is_a_total_per_case(team):
    limit = DelegationLimit.objects.get(group__name="agent", currency="EUR")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    listing = client.get("/admin/cases/delegationlimit/").content.decode()
    assert "Limit per case" in listing and "largest gesture" not in listing.lower()
    form = client.get(f"/admin/cases/delegationlimit/{limit.pk}/change/").content.decode()
    assert "Limit per case:</label>" in form
    assert "The most that the gestures granted on one case may add up to" in form
