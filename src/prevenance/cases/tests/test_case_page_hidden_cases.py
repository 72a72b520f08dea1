"""The case page's "Other open cases" says how many of the customer's other open cases are
another team's, as the 360 page does (hidden_customer_cases, docs/cases.md): an agent must not
read the short list as the whole story. Counts and team names only, nothing of those cases."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.selectors.customer_history import HiddenCases
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.views import case_page as case_page_views

pytestmark = pytest.mark.django_db

HINT = "1 other open case is handled by a team you are not in (Complaints)."


@pytest.fixture
def cases(agent, supervisor):
    """The agent's team's case of a customer, and the same customer's complaint in the complaints team."""
    mine = assign_case(case=open_email_case("lea@example.com", subject="Retard").case, team=TeamFactory(members=[agent]), actor=supervisor)
    complaints = TeamFactory(name="Complaints")
    hidden = assign_case(case=open_email_case("lea@example.com", subject="Meuble rayé").case, team=complaints, actor=supervisor)
    assert hidden.customer_id == mine.customer_id
    return {"mine": mine, "hidden": hidden, "complaints": complaints}


def page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("cases:case", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_the_agent_is_told_an_open_case_is_another_teams_without_its_details(client, agent, cases):
    text = page(client, agent, cases["mine"])

    assert HINT in text
    assert "None." not in text.split("Other open cases", 1)[1].split("</section>", 1)[0]  # not "none", then "1 other"
    for detail in (cases["hidden"].reference, "Meuble rayé"):
        assert detail not in text


def test_only_open_cases_are_counted_beside_the_other_open_cases(client, agent, supervisor, cases):
    Case.objects.filter(pk=cases["hidden"].pk).update(status=CaseStatus.CLOSED)

    text = page(client, agent, cases["mine"])

    assert "a team you are not in" not in text and 'id="hidden-cases"' not in text
    assert "None." in text


def test_a_reader_who_sees_every_case_or_opens_the_hidden_one_gets_no_hint(client, agent, supervisor, cases):
    # The supervisor sees every case; on the complaint's own page it is not counted either.
    assert "a team you are not in" not in page(client, supervisor, cases["mine"])
    Case.objects.filter(pk=cases["hidden"].pk).update(assignee=agent)  # now the agent's to open
    text = page(client, agent, cases["hidden"])
    assert "a team you are not in" not in text
    assert cases["mine"].reference in text  # listed as an open case they may open


def test_the_hint_costs_one_query_however_many_cases_are_hidden(client, agent, supervisor, cases, monkeypatch):
    def queries() -> int:
        client.force_login(agent)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("cases:case", args=[cases["mine"].pk])).status_code == 200
        return len(captured)

    queries()  # the first visit fills caches (session, settings)
    one_hidden = queries()
    for number in range(4):
        assign_case(case=open_email_case("lea@example.com", subject=f"Litige {number}").case, team=TeamFactory(), actor=supervisor)
    queries()  # new teams and cases empty the caches (settings, routing) the next visit fills again
    assert queries() == one_hidden
    monkeypatch.setattr(case_page_views, "hidden_customer_cases", lambda user, customer, other_than: HiddenCases())
    assert queries() == one_hidden - 1
