"""The survey page on a phone: one answer per row, the score then its words, the whole width
(a grid of 5 or 7 boxes wrapped into uneven rows at 390 px).

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_survey_phone_browser.py
"""

from chromium import BROWSER_TESTS, chromium_page, screenshot

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import SatisfactionSurvey
from prevenance.cases.services import (
    answer_survey,
    assign_case,
    change_status,
    ensure_default_templates,
    send_survey,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def boxes(page, scale: str) -> list[dict]:
    return page.eval_on_selector_all(f"#{scale} label", "labels => labels.map(l => l.getBoundingClientRect().toJSON())")


def test_on_a_phone_each_answer_of_both_scales_is_a_row_of_the_full_width(live_server, monkeypatch, settings):
    settings.PREVENANCE_BASE_URL = live_server.url
    ensure_default_templates()
    agent = UserFactory(username="hugo", first_name="Hugo", role="agent")
    case = open_email_case("helene@example.fr", subject="Coussin abîmé", hints={"first_name": "Hélène"}).case
    assign_case(case=case, assignee=agent, team=TeamFactory(name="Service client", members=[agent]), actor=agent)
    change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    send_survey(case=case)  # as the outbox sweep does once the survey is due
    survey = SatisfactionSurvey.objects.get(case=case)

    with chromium_page(monkeypatch, width=390, height=844, locale="fr-FR") as page:
        page.goto(f"{live_server.url}/cases/survey/{survey.token}/")
        rating = boxes(page, "csat-scale")
        answer_survey(token=survey.token, csat=4)
        page.reload()
        effort = boxes(page, "ces-scale")
        screenshot(page, "survey-phone.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

    for scale, count in ((rating, 5), (effort, 7)):
        assert len(scale) == count
        assert len({round(box["x"]) for box in scale}) == 1  # one column
        assert len({round(box["width"]) for box in scale}) == 1  # all the same width
        tops = [box["top"] for box in scale]
        assert tops == sorted(tops) and len(set(tops)) == count  # one answer per row, in order
