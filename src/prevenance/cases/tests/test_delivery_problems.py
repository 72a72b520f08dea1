"""Why an email was not sent reads in the reader's language, whoever's language it was found in."""

import pytest
from django.urls import reverse
from django.utils import translation

from prevenance.cases.delivery_problems import describe, message_send_error, problem
from prevenance.cases.models import Message
from prevenance.cases.services import add_reply
from prevenance.cases.services.outbound import MAX_ATTEMPTS, deliver
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.tests.mail import make_smtp_unreachable


@pytest.mark.parametrize(("stored", "language", "text"), [
    (problem("no_channel", channel="phone"), "en", "No sender for channel Phone: send this reply by that channel yourself."),
    (problem("no_channel", channel="phone"), "fr", "Aucun moyen d’envoi pour le canal Téléphone : envoyez vous-même cette réponse par ce canal."),
    (problem("no_address"), "fr", "Le client n’a pas d’adresse e-mail à laquelle envoyer ce message."),
    (problem("bounced", address="a@example.com", date="2026-11-30T09:00:00+00:00", reason="550 5.1.1 User unknown"), "en",
     "The customer's email address a@example.com bounced on 30/11/2026 (550 5.1.1 User unknown): add another address, "
     "or wait for them to write from one that works."),
    (problem("bounced_without_reason", address="a@example.com", date="2026-11-30T09:00:00+00:00"), "fr",
     "L’adresse e-mail du client a@example.com a été refusée le 30/11/2026 : ajoutez une autre adresse, "
     "ou attendez qu’il écrive depuis une adresse qui fonctionne."),
    ({**problem("send_failed", error="[Errno 111] Connection refused"), "given_up": True}, "fr",
     "Échec de l’envoi : [Errno 111] Connection refused (abandon : plus aucune tentative)"),
])
def test_each_problem_is_said_in_the_readers_language(stored, language, text):
    with translation.override(language):
        assert describe(stored) == text


def test_an_unknown_code_is_refused_when_stored():
    with pytest.raises(ValueError, match="Unknown delivery problem"):
        problem("gremlins")


def test_a_message_from_before_problems_were_stored_shows_its_text():
    assert message_send_error(Message(send_error="Envoi impossible", send_problem={})) == "Envoi impossible"


@pytest.mark.django_db
def test_an_english_agents_failed_reply_reads_in_french_for_a_french_supervisor(client, agent, supervisor):
    case = open_email_case("lea@example.com", channel=Channel.PHONE).case
    with translation.override("en"):
        message = add_reply(case=case, author=agent, body="We are looking into it.", channel=Channel.PHONE)
    message.refresh_from_db()
    assert message.send_error.startswith("No sender for channel Phone")  # the writer's words, kept
    assert message.send_problem == {"code": "no_channel", "params": {"channel": "phone"}}
    client.force_login(supervisor)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
    assert "Aucun moyen d’envoi pour le canal Téléphone" in page
    assert "No sender for channel" not in page


@pytest.mark.django_db
def test_the_workers_failure_is_stored_as_a_problem_and_given_up_after_the_last_attempt(agent, settings, django_capture_on_commit_callbacks):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    case = open_email_case("lea@example.com").case
    with django_capture_on_commit_callbacks(execute=False):
        message = add_reply(case=case, author=agent, body="Nous regardons.")
    Message.objects.filter(pk=message.pk).update(delivery_attempts=MAX_ATTEMPTS - 1)
    make_smtp_unreachable(settings)
    with translation.override("fr"):  # the worker's language
        assert deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.send_problem["code"] == "send_failed" and message.send_problem["given_up"] is True
    assert message.send_error.endswith("(abandon : plus aucune tentative)")
    with translation.override("en"):
        assert message_send_error(message).endswith("(given up: no more attempts)")
    assert message.delivery_due_at is None
