"""Our automatic emails (the acknowledgement of receipt, the satisfaction survey invitation) read
as what they are on the case's thread and the customer's timeline, not as an agent's reply."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from prevenance.cases.choices import AutomaticEmail, CaseStatus, MessageKind
from prevenance.cases.models import Message
from prevenance.cases.services import (
    add_reply,
    assign_case,
    change_status,
    ensure_default_templates,
    send_survey,
)
from prevenance.cases.services.common import localized_case_summary
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(agent, settings):
    """A case acknowledged, answered by the agent, then resolved (so its survey went out)."""
    settings.PREVENANCE_BASE_URL = "https://care.example.com"
    ensure_default_templates()
    case = open_email_case("claire@example.com", subject="Colis abîmé", hints={"first_name": "Claire"}).case
    case = assign_case(case=case, assignee=agent, team=TeamFactory(members=[agent]), actor=agent)
    add_reply(case=case, author=agent, body="Un nouveau colis part demain.")
    case = change_status(case=case, status=CaseStatus.RESOLVED, actor=agent)
    send_survey(case=case)  # as the sweep does once the survey is due
    return case


def outbound(case) -> tuple[Message, Message, Message]:
    acknowledgement, reply, invitation = Message.objects.filter(case=case, kind=MessageKind.OUTBOUND).order_by("created_at", "id")
    return acknowledgement, reply, invitation


def heading(page: str, message: Message) -> str:
    """The kind pill of the message's heading on the case page, as text."""
    item = re.search(rf'<li class="msg [^"]*" id="message-{message.pk}">(.*?)</li>', page, re.DOTALL)[1]
    return re.search(r'<div class="msg-head">.*?<span class="pill[^"]*">(.*?)</span>', item, re.DOTALL)[1]


def test_the_thread_heads_the_acknowledgement_and_the_survey_as_automatic_emails(client, agent, case):
    acknowledgement, reply, invitation = outbound(case)
    assert (acknowledgement.automatic_purpose, reply.automatic_purpose, invitation.automatic_purpose) == (
        AutomaticEmail.ACKNOWLEDGEMENT, "", AutomaticEmail.SURVEY)
    client.force_login(agent)
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert heading(page, acknowledgement) == "Acknowledgement of receipt (automatic)"
    assert heading(page, invitation) == "Satisfaction survey (automatic)"
    assert heading(page, reply) == "Reply to the customer"  # the agent's own answer is still one


def test_in_french_neither_automatic_email_is_headed_as_a_reply_to_the_customer(client, agent, case):
    acknowledgement, reply, invitation = outbound(case)
    client.force_login(agent)
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert heading(page, reply) == "Réponse au client"
    assert heading(page, acknowledgement) != "Réponse au client"
    assert heading(page, invitation) != "Réponse au client"


def test_the_timeline_names_the_automatic_emails_and_reads_them_again_in_the_readers_language(case):
    acknowledgement, reply, invitation = outbound(case)

    def summary(message: Message) -> str:
        return Interaction.objects.get(pk=message.interaction_id).summary

    assert summary(acknowledgement) == f"Automatic acknowledgement of receipt on case {case.reference}: Colis abîmé"
    assert summary(invitation) == f"Automatic satisfaction survey on case {case.reference}: Colis abîmé"
    assert summary(reply) == f"Reply on case {case.reference}: Colis abîmé"
    # Shown again in the reader's language like the other summaries of a case (here, English to English)
    with translation.override("en"):
        assert localized_case_summary(summary(acknowledgement)) == summary(acknowledgement)
        assert localized_case_summary(summary(invitation)) == summary(invitation)


def test_the_thread_masks_the_customers_survey_links(client, agent, case):
    # One click on a link in the thread would preselect an answer in the customer's name.
    _acknowledgement, _reply, invitation = outbound(case)
    assert "https://care.example.com/cases/survey/" in invitation.body_text  # the customer's email has them
    client.force_login(agent)
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    item = re.search(rf'<li class="msg [^"]*" id="message-{invitation.pk}">(.*?)</li>', page, re.DOTALL)[1]
    assert "/cases/survey/" not in page
    assert item.count("[the customer&#x27;s survey link]") == 5  # one per answer, 1 to 5
