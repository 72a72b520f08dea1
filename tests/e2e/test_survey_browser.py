"""End to end in a real Chromium: a customer follows a link of the satisfaction email, confirms
the rating, answers the effort question with a comment, and changes their rating afterwards.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e/test_survey_browser.py
Save a screenshot of the rating page: add PREVENANCE_SCREENSHOT_DIR=docs (survey.png)
"""

import re

from chromium import BROWSER_TESTS, chromium_page, screenshot

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import SatisfactionSurvey
from prevenance.cases.services import (
    assign_case,
    change_status,
    ensure_default_templates,
    send_survey,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.customers.tests.factories import UserFactory

pytestmark = BROWSER_TESTS


def test_a_customer_answers_the_survey_from_the_email_link(live_server, monkeypatch, settings):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    settings.PREVENANCE_BASE_URL = live_server.url
    ensure_default_templates()
    agent = UserFactory(username="hugo", first_name="Hugo", role="agent")
    case = open_email_case("helene@example.fr", subject="Coussin abîmé", hints={"first_name": "Hélène"}).case
    assign_case(case=case, assignee=agent, team=TeamFactory(name="Service client", members=[agent]), actor=agent)
    case = change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    send_survey(case=case)  # as the outbox sweep does once the survey is due (test_surveys.py)
    survey = SatisfactionSurvey.objects.get(case=case)
    invitation = case.messages.order_by("-id").first().body_text
    link = re.search(rf"{re.escape(live_server.url)}/cases/survey/\S+\?csat=4", invitation).group(0)

    with chromium_page(monkeypatch, width=1024, height=760, locale="fr-FR") as page:
        # The "4" link of the email: shown preselected, not recorded yet
        page.goto(link)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("#csat-scale input[value='4']")).to_be_checked()
        expect(page.locator("#survey")).to_contain_text(case.reference)
        survey.refresh_from_db()
        assert survey.csat is None
        screenshot(page, "survey.png")
        # One click confirms; then the effort question and a comment
        page.locator("#survey button[type=submit]").click()
        expect(page.locator("#survey")).to_have_attribute("data-step", "effort")
        page.locator("#ces-scale label").filter(has=page.locator("input[value='6']")).click()
        page.fill("#id_comment", "Réponse rapide, merci Hugo.")
        page.locator("#survey button[type=submit]").click()
        expect(page.locator("#survey")).to_have_attribute("data-step", "thanks")
        survey.refresh_from_db()
        assert (survey.csat, survey.ces, survey.comment) == (4, 6, "Réponse rapide, merci Hugo.")
        # Changing one's mind: back to the rating, now 5
        page.locator("#survey a").click()
        page.locator("#csat-scale label").filter(has=page.locator("input[value='5']")).click()
        page.locator("#survey button[type=submit]").click()
        expect(page.locator("#survey")).to_have_attribute("data-step", "effort")
        expect(page.locator("#ces-scale input[value='6']")).to_be_checked()
        survey.refresh_from_db()
        assert (survey.csat, survey.ces) == (5, 6)
