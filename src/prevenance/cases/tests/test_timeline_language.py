"""A case message's timeline entry reads in the reader's language, whoever wrote it (issue 3, item 2)."""

import pytest
from django.urls import reverse
from django.utils import translation

from prevenance.cases.services import add_reply
from prevenance.cases.services.common import localized_case_summary
from prevenance.cases.tests.factories import open_email_case
from prevenance.interactions.models import Interaction


@pytest.mark.parametrize(("stored", "language", "shown"), [
    ("Message on case C-2026-000123: Colis abîmé", "fr", "Message sur le dossier C-2026-000123\u00a0: Colis abîmé"),
    ("Réponse au dossier C-2026-000123: Re: remboursement", "en", "Reply on case C-2026-000123: Re: remboursement"),
    ("Message sur le dossier C-2026-000123", "fr", "Message sur le dossier C-2026-000123"),
    ("Message on case C-2026-1234567: Sujet\nsur deux lignes", "fr", "Message sur le dossier C-2026-1234567\u00a0: Sujet\nsur deux lignes"),
    ("Delivery failure: Undelivered Mail Returned to Sender", "fr", "Échec de remise\u00a0: Undelivered Mail Returned to Sender"),
    ("Réponse automatique", "en", "Automatic reply"),
    ("Delivery failure on case C-2026-000123: Colis abîmé", "fr", "Échec de remise sur le dossier C-2026-000123\u00a0: Colis abîmé"),
    # Written in French with its no-break space, or before it had one: read again in English.
    ("Réponse au dossier C-2026-000123\u00a0: Re: remboursement", "en", "Reply on case C-2026-000123: Re: remboursement"),
    ("Échec de remise\u00a0: Votre commande", "en", "Delivery failure: Votre commande"),
    ("Réponse au dossier C-2026-000123\u00a0: Re: remboursement", "fr", "Réponse au dossier C-2026-000123\u00a0: Re: remboursement"),
    ("Réponse automatique sur le dossier C-2026-000123", "en", "Automatic reply on case C-2026-000123"),
])
def test_a_case_summary_is_written_again_in_the_readers_language(stored, language, shown):
    with translation.override(language):
        assert localized_case_summary(stored) == shown


@pytest.mark.parametrize("stored", ["Asked about delivery delay", "Message on case 123", "Say: Message on case C-2026-000001"])
def test_any_other_summary_is_left_to_the_next_localizer(stored):
    with translation.override("fr"):
        assert localized_case_summary(stored) is None


@pytest.mark.django_db
def test_the_360_page_shows_the_timeline_of_a_case_in_french_when_a_worker_wrote_it_in_english(client, agent):
    with translation.override("en"):  # the email intake's worker
        case = open_email_case("camille@example.com", subject="Colis abîmé").case
        add_reply(case=case, author=agent, body="Nous regardons.")
    assert Interaction.objects.filter(summary=f"Message on case {case.reference}: Colis abîmé").exists()
    client.force_login(agent)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(reverse("web:customer", args=[case.customer_id])).content.decode()
    assert f"Message sur le dossier {case.reference}\u00a0: Colis abîmé" in page
    assert f"Réponse au dossier {case.reference}\u00a0: Colis abîmé" in page
    assert "Message on case" not in page and "Reply on case" not in page


@pytest.mark.django_db
def test_a_french_agents_reply_is_written_with_the_french_colon_and_read_in_english(agent):
    case = open_email_case("camille@example.com", subject="Colis abîmé").case
    with translation.override("fr"):
        add_reply(case=case, author=agent, body="Nous regardons.")
    summary = Interaction.objects.filter(summary__startswith="Réponse au dossier").get().summary
    # Stored with its spaces made plain (the timeline's rule), shown with the no-break space
    assert summary == f"Réponse au dossier {case.reference} : Colis abîmé"
    with translation.override("fr"):
        assert localized_case_summary(summary) == f"Réponse au dossier {case.reference}\u00a0: Colis abîmé"
    with translation.override("en"):
        assert localized_case_summary(summary) == f"Reply on case {case.reference}: Colis abîmé"
