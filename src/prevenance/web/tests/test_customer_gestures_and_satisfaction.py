"""The 360 page's "Commercial gestures" and "Satisfaction" sections: what the customer already
got and said, on the cases the reader may see (cases/selectors/customer_history.py)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.models import Gesture
from prevenance.cases.services import assign_case, request_gesture
from prevenance.cases.tests.factories import TeamFactory, answered_survey, open_email_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(agent, supervisor):
    """A customer's case in the agent's team and one in another team."""
    mine = assign_case(case=open_email_case("lea@example.com").case, team=TeamFactory(members=[agent]), actor=supervisor)
    hidden = assign_case(case=open_email_case("lea@example.com", subject="Litige").case, team=TeamFactory(), actor=supervisor)
    return {"mine": mine, "hidden": hidden, "customer": mine.customer}


def page(client, user, customer, language="en") -> str:
    client.force_login(user)
    response = client.get(reverse("web:customer", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def grant(case, actor, amount, **kwargs):
    kwargs.setdefault("type", "refund")
    return request_gesture(case=case, amount=amount, currency="EUR", reason=kwargs.pop("reason", "Colis abîmé"), actor=actor, **kwargs)


def test_the_360_page_shows_the_gestures_and_answers_with_amounts_as_the_language_writes_them(client, agent, supervisor, cases):
    voucher = grant(cases["mine"], agent, "20", type="voucher")
    grant(cases["mine"], agent, "30")
    grant(cases["mine"], agent, "300", reason="Remboursement complet")  # beyond the agent's limit: waits
    answered_survey(cases["mine"], csat=2, ces=3, comment="Trop d’attente au téléphone")

    english = page(client, agent, cases["customer"])
    french = page(client, agent, cases["customer"], "fr")

    assert "Commercial gestures" in english and "Satisfaction" in english
    assert "Gestures granted in the last 12 months: 2 (total 50.00 EUR)" in english
    assert "1 waiting for approval" in english
    assert "No gesture you can see for this customer." not in english
    assert voucher.voucher_code in english and cases["mine"].reference in english
    assert "Remboursement complet" in english and "300.00 EUR" in english
    assert "(total 50,00 EUR)" in french and "300,00 EUR" in french
    assert "⚠ 2/5" in english and "3/7" in english and "Trop d’attente au téléphone" in english


def test_the_360_page_leaves_out_the_gestures_and_answers_of_cases_the_agent_may_not_see(client, agent, supervisor, cases):
    grant(cases["hidden"], supervisor, "500", type="voucher", reason="Geste de l’autre équipe")
    answered_survey(cases["hidden"], csat=1, comment="Commentaire de l’autre équipe")

    for_agent = page(client, agent, cases["customer"])
    for_supervisor = page(client, supervisor, cases["customer"])

    assert "No gesture you can see for this customer." in for_agent
    assert "No gesture granted in the last 12 months." not in for_agent  # one sentence, not two
    assert "No survey answer you can see for this customer." in for_agent
    for words in ("Geste de l’autre équipe", "Commentaire de l’autre équipe", "500.00", "1/5"):
        assert words not in for_agent
        assert words in for_supervisor


def test_the_360_page_shows_the_newest_ten_and_how_many_there_are(client, supervisor, cases):
    now = timezone.now()
    for day in range(12):
        made = grant(cases["mine"], supervisor, "10", reason=f"Geste du jour {day}")
        Gesture.objects.filter(pk=made.pk).update(created_at=now - timedelta(days=day))
        answered_survey(cases["mine"], csat=4, comment=f"Réponse du jour {day}", at=now - timedelta(days=day))

    text = page(client, supervisor, cases["customer"])

    assert "The 10 newest of 12 gestures." in text and "The 10 newest of 12 answers." in text
    assert "Geste du jour 9" in text and "Geste du jour 10" not in text
    assert "Réponse du jour 9" in text and "Réponse du jour 10" not in text
    assert "Gestures granted in the last 12 months: 12 (total 120.00 EUR)" in text


def test_the_360_page_reads_the_same_number_of_queries_however_many_gestures_and_answers(client, agent, supervisor, cases):
    def queries() -> int:
        client.force_login(agent)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("web:customer", args=[cases["customer"].pk])).status_code == 200
        return len(captured)

    grant(cases["mine"], supervisor, "10")
    for score in range(1, 6):
        answered_survey(cases["mine"], csat=score)
    few = queries()
    for _ in range(11):
        grant(cases["mine"], supervisor, "10")
        answered_survey(cases["mine"], csat=3)
    # One more query with more answers than shown: their count.
    assert queries() == few + 1


def test_a_reader_who_sees_no_case_gets_neither_section(client, marketer, agent, cases):
    grant(cases["mine"], agent, "20")
    answered_survey(cases["mine"], csat=5)
    text = page(client, marketer, cases["customer"])
    assert 'id="customer-gestures"' not in text and 'id="customer-satisfaction"' not in text
