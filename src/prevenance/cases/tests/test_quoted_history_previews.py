"""A customer's reply quotes the history under it (the thread folds it: mail/quotes.py). Outside
the thread, no page shows a message's words: the 360 timeline and the case page's sidebar show
each email's summary (its label and subject), the inbox its subject. So the quoted history
shows nowhere else; a preview added later should show `quotes.reply_text`, the new text."""

import pytest
from django.urls import reverse

from prevenance.cases.services import ingest_email

pytestmark = pytest.mark.django_db

REPLY = (
    "From: Claire Martin <claire.martin@example.com>\r\nTo: service-client@example.com\r\n"
    "Subject: Re: Colis abime\r\nMessage-ID: <reply-1@example.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Toujours rien recu ce matin.\r\n\r\n"
    "Le lun. 30 nov. 2026 a 10:02, Service client <service-client@example.com> a \u00e9crit :\r\n"
    "> Votre colis partira demain depuis notre entrepot de Lyon.\r\n"
).encode()
QUOTED = "notre entrepot de Lyon"


def test_the_quoted_history_of_a_reply_shows_only_in_the_thread(client, supervisor):
    case = ingest_email(raw=REPLY).case
    client.force_login(supervisor)

    customer_page = client.get(reverse("web:customer", args=[case.customer_id]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    inbox = client.get(reverse("cases:inbox") + "?view=all", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    case_page = client.get(reverse("cases:case", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert case.reference in customer_page and case.reference in inbox
    assert QUOTED not in customer_page and QUOTED not in inbox
    sidebar = case_page.split('class="card side-profile"', 1)[1]
    assert "Recent timeline" in sidebar and QUOTED not in sidebar
    assert "Show quoted text" in case_page and QUOTED in case_page  # in the thread, folded
