"""Who can decide on a gesture waiting for someone else: the approvals page names them, so a
supervisor knows whom to ask."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import translation

from prevenance.cases.models import DelegationLimit
from prevenance.cases.selectors import gestures_beyond_my_limit
from prevenance.cases.services import approve_gesture, request_gesture
from prevenance.cases.tests.factories import (
    an_approver_who_leaves,
    gesture_waiting_without_limit,
    open_email_case,
)
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/cases/gestures/approvals/"


def ask(actor, amount, *, case=None, currency="EUR"):
    case = case or open_email_case().case
    return request_gesture(case=case, type="refund", amount=amount, currency=currency, reason="Colis abîmé", actor=actor)


def approver(username, first_name="", last_name="", *, limit=None, currency="EUR", role=None, **kwargs):
    """A user who may approve gestures: through the supervisor role, or a permission of their own."""
    user = UserFactory(username=username, first_name=first_name, last_name=last_name, role=role, **kwargs)
    if role != "supervisor":
        user.user_permissions.add(Permission.objects.get(codename="approve_gesture"))
    if limit is not None:
        DelegationLimit.objects.create(user=user, currency=currency, max_amount=Decimal(limit))
    return user


@pytest.fixture
def junior(db):
    """The viewer: an approver whose 100 EUR limit covers none of the gestures below."""
    return approver("jules", "Jules", "Petit", role="agent", limit="100")


def deciders(viewer):
    return {item.gesture: item.deciders for item in gestures_beyond_my_limit(viewer)}


def test_the_approvers_whose_limit_covers_the_cases_total_are_named_in_reading_order(agent, junior):
    sophie = approver("sophie", "Sophie", "Bernard", role="supervisor")  # 2,000 EUR from the role
    approver("marc", "Marc", "Dubois", role="agent", limit="500")  # an agent who may approve too
    approver("elise", "Élise", "Roux", limit="300")
    approver("paul", "Paul", "Martin", limit="140")  # below 150
    approver("ines", "Inès", "Morel", limit="5000", is_active=False)
    approver("gabriel", "Gabriel", "Leroy", limit="5000", currency="GBP")
    approver("nadia", limit="1000")  # no full name: her username

    alone = ask(agent, "150")
    # 400 already granted on this case: 150 more makes 550, above Marc's and Élise's limits.
    case = open_email_case("autre@example.com").case
    approve_gesture(gesture=ask(agent, "400", case=case), actor=sophie)
    on_granted_case = ask(agent, "150", case=case)
    # Hugo's own request, his limit raised since: he may decide on the others, not on his own.
    hugo = approver("hugo", "Hugo", "Faure", role="agent", limit="100")
    his_own = ask(hugo, "600")
    DelegationLimit.objects.filter(user=hugo).update(max_amount=Decimal("1000"))

    assert deciders(junior) == {
        # As a reader looks for them: "Élise" before "Hugo", not after "Sophie" as byte order puts it.
        alone: ("Élise Roux", "Hugo Faure", "Marc Dubois", "nadia", "Sophie Bernard"),
        on_granted_case: ("Hugo Faure", "nadia", "Sophie Bernard"),
        his_own: ("nadia", "Sophie Bernard"),
    }
    assert all(item.decider_exists for item in gestures_beyond_my_limit(junior))


def test_nobody_is_named_when_no_other_approvers_limit_covers_it(agent, junior):
    approver("sophie", "Sophie", "Bernard", role="supervisor")
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        big = ask(agent, "2500")
    pounds = gesture_waiting_without_limit(actor=agent, amount="60", currency="GBP")
    waiting = {item.gesture: (item.deciders, item.decider_exists) for item in gestures_beyond_my_limit(junior)}
    assert waiting == {big: ((), False), pounds: ((), False)}


def test_the_page_names_who_can_decide_three_at_most_then_how_many_more(client, agent, junior):
    approver("sophie", "Sophie", "Bernard", role="supervisor")
    approver("marc", "Marc", "Dubois", limit="500")
    few = ask(agent, "150")
    client.force_login(junior)
    row = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode().split(f'id="waiting-{few.pk}"')[1].split("</tr>")[0]
    assert '<span class="deciders">Marc Dubois, Sophie Bernard</span>' in row
    assert "more" not in row

    for username, first, last in [("alain", "Alain", "Zeller"), ("bea", "Béatrice", "Adam"), ("chloe", "Chloé", "Nguyen")]:
        approver(username, first, last, limit="500")
    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page.split(f'id="waiting-{few.pk}"')[1].split("</tr>")[0]
    assert '<span class="deciders">Alain Zeller, Béatrice Adam, Chloé Nguyen</span>' in row
    assert "<summary>and 2 more</summary> Marc Dubois, Sophie Bernard</details>" in row
    with translation.override("fr"):
        page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<summary>et 2 autres</summary>" in page


def test_the_names_take_the_same_queries_however_many_gestures_and_approvers(agent, junior, django_assert_num_queries):
    approver("sophie", "Sophie", "Bernard", role="supervisor")
    ask(agent, "150")
    assert junior.has_perm("cases.approve_gesture")  # the permissions read once, as a request does
    # The viewer's limits (for their queue), the gestures waiting, the approvers, the approvers'
    # limits, the viewer's limits again (for refusing).
    with django_assert_num_queries(5):
        assert len(gestures_beyond_my_limit(junior)) == 1

    team_leads = Group.objects.create(name="team leads")
    team_leads.permissions.add(Permission.objects.get(codename="approve_gesture"))
    DelegationLimit.objects.create(group=team_leads, currency="EUR", max_amount=Decimal("800"))
    DelegationLimit.objects.create(group=team_leads, currency="GBP", max_amount=Decimal("800"))
    for number in range(6):
        lead = UserFactory(username=f"lead{number}")
        lead.groups.add(team_leads)
        DelegationLimit.objects.create(user=lead, currency="EUR", max_amount=Decimal("1500"))
        approver(f"other{number}", limit="300")
    with an_approver_who_leaves("EUR", "GBP"):  # the 2,500 above every limit left: waiting since before the check
        for amount in ["200", "900", "1600", "2500"]:
            ask(agent, amount)
            ask(agent, amount, currency="GBP")
    with django_assert_num_queries(5):
        waiting = gestures_beyond_my_limit(junior)
    assert len(waiting) == 9
    assert {item.gesture.amount: len(item.deciders) for item in waiting if item.gesture.currency == "EUR"} == {
        Decimal("150.00"): 13, Decimal("200.00"): 13, Decimal("900.00"): 7, Decimal("1600.00"): 1, Decimal("2500.00"): 0}
