"""The 360 page says how many of the customer's cases are another team's (cases/selectors/
customer_history.py, hidden_customer_cases): an agent whose call was routed to the complaints
team must not read the list, nor the timeline, as the whole story (docs/customer-360.md)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.selectors.customer_history import HiddenCases
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.web.views import customers as customer_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(agent, supervisor):
    """A customer's case in the agent's team and a complaint in the complaints team."""
    mine = assign_case(case=open_email_case("lea@example.com", subject="Retard").case, team=TeamFactory(members=[agent]), actor=supervisor)
    complaints = TeamFactory(name="Complaints")
    hidden = assign_case(case=open_email_case("lea@example.com", subject="Meuble rayé").case, team=complaints, actor=supervisor)
    return {"mine": mine, "hidden": hidden, "complaints": complaints, "customer": mine.customer}


def page(client, user, customer) -> str:
    client.force_login(user)
    response = client.get(reverse("web:customer", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_the_agent_is_told_a_case_is_another_teams_without_its_details(client, agent, cases):
    text = page(client, agent, cases["customer"])

    assert cases["mine"].reference in text
    assert "1 other open case is handled by a team you are not in (Complaints)." in text
    assert "The messages of cases you cannot open are not on this timeline." in text
    for detail in (cases["hidden"].reference, "Meuble rayé"):
        assert detail not in text


def test_open_and_finished_cases_are_counted_apart(client, agent, supervisor, cases):
    billing = TeamFactory(name="Billing")
    for subject in ("Facture", "Avoir"):
        closed = assign_case(case=open_email_case("lea@example.com", subject=subject).case, team=billing, actor=supervisor)
        Case.objects.filter(pk=closed.pk).update(status=CaseStatus.CLOSED)
    second = assign_case(case=open_email_case("lea@example.com", subject="Rayure").case, team=cases["complaints"], actor=supervisor)
    assert second.customer_id == cases["customer"].pk

    text = page(client, agent, cases["customer"])

    assert "2 other open cases are handled by teams you are not in (Complaints)." in text
    assert "2 other resolved or closed cases were handled by teams you are not in (Billing)." in text


def test_a_reader_who_sees_every_case_or_all_of_them_gets_no_hint(client, agent, supervisor, cases):
    assert "a team you are not in" not in page(client, supervisor, cases["customer"])
    Case.objects.filter(pk=cases["hidden"].pk).update(team=cases["mine"].team)
    text = page(client, agent, cases["customer"])
    assert "a team you are not in" not in text and 'id="hidden-cases"' not in text
    assert "cases you cannot open" not in text


def test_the_hint_costs_one_query_however_many_cases_are_hidden(client, agent, supervisor, cases, monkeypatch):
    def queries() -> int:
        client.force_login(agent)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("web:customer", args=[cases["customer"].pk])).status_code == 200
        return len(captured)

    one_hidden = queries()
    for number in range(4):
        assign_case(case=open_email_case("lea@example.com", subject=f"Litige {number}").case, team=TeamFactory(), actor=supervisor)
    assert queries() == one_hidden
    monkeypatch.setattr(customer_views, "hidden_customer_cases", lambda user, customer: HiddenCases())
    assert queries() == one_hidden - 1
