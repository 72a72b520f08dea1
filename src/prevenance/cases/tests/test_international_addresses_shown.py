"""An international address is stored with its domain in A-labels (clàire@xn--exmple-cua.com,
customers/normalize.py) and read by people in Unicode (clàire@exämple.com) wherever a page
shows it: the case thread, the customer sidebar, the inbox, the customer page, the suspended
queue. What is stored and sent keeps the A-labels."""

import pytest
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.models import Message
from prevenance.cases.services import add_reply, ingest_email
from prevenance.cases.tests.smtp_server import smtp_server
from prevenance.cases.tests.test_international_addresses import BACKEND, raw_email
from prevenance.customers.models import Identity
from prevenance.customers.normalize import display_email

pytestmark = pytest.mark.django_db

STORED = "clàire@xn--exmple-cua.com"
READ = "clàire@exämple.com"


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


@pytest.fixture
def case():
    """A case opened by an email from Clàire, who gave no name: she is known by her address."""
    return ingest_email(raw=raw_email("clàire@exämple.com", subject="Colis", message_id="c1@exämple.com")).case


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_the_case_page_names_the_sender_and_the_customer_in_unicode(client, agent, case):
    html = page(client, agent, reverse("cases:case", kwargs={"case_id": case.pk}))

    thread = html[html.index('id="thread"'):html.index('id="thread-end"')]
    assert f"<strong>{READ}</strong>" in thread
    assert f'">{READ}</a></h2>' in html  # the sidebar's customer, nameless: by her address
    assert "xn--exmple-cua" not in thread
    # Only shown so: the message and the identity keep the A-labels
    assert Message.objects.get(case=case).sender_address == STORED
    assert Identity.objects.get(customer=case.customer).normalized == STORED


def test_a_bounced_address_is_named_in_unicode_in_the_sidebar(client, agent, case):
    Identity.objects.filter(customer=case.customer).update(bounced_at=timezone.now(), bounce_reason="550 No such user")

    html = page(client, agent, reverse("cases:case", kwargs={"case_id": case.pk}))

    assert f"{READ} bounced on" in html


def test_a_copy_not_delivered_names_the_recipient_in_unicode(client, agent, settings, django_capture_on_commit_callbacks):
    case = ingest_email(raw=raw_email("clàire@exämple.com", subject="Colis", message_id="c1@exämple.com", cc="paul@example.com")).case
    with smtp_server(settings, backend=BACKEND):  # no SMTPUTF8: Clàire's copy is refused, Paul's goes
        with django_capture_on_commit_callbacks(execute=True):
            add_reply(case=case, author=agent, body="Nous regardons votre commande.")

    html = page(client, agent, reverse("cases:case", kwargs={"case_id": case.pk}))

    problems = html[html.index('class="msg-problems send-problems"'):]
    assert f"Not delivered to {READ}: 553 5.6.7" in problems
    assert f"it cannot send to {READ}." in problems


def test_the_inbox_names_a_nameless_customer_by_their_address_in_unicode(client, agent, case):
    html = page(client, agent, reverse("cases:inbox"))

    assert READ in html
    assert "xn--exmple-cua" not in html


def test_the_customer_page_shows_the_identity_in_unicode_and_the_stored_form_on_hover(client, agent, case):
    html = page(client, agent, reverse("web:customer", args=[case.customer_id]))

    assert f'<span class="identity-value" title="{STORED}">{READ}</span>' in html


def test_the_suspended_queue_shows_the_sender_as_given_in_unicode(client, supervisor):
    # An unusable address (two dots in a row): kept aside with its From as it was written
    ingest_email(raw=raw_email("Clàire <clàire..d@xn--exmple-cua.com>", subject="Colis", message_id="s1@exämple.com"))

    html = page(client, supervisor, reverse("cases:suspended"))

    assert "Clàire &lt;clàire..d@exämple.com&gt;" in html


@pytest.mark.parametrize(
    ("shown", "read"),
    [
        ("用户@xn--fsqu00a.xn--4rr70v", "用户@例子.广告"),
        ("CLÀIRE@XN--EXMPLE-CUA.COM", "CLÀIRE@exämple.com"),
        ("anne@example.com", "anne@example.com"),
        ("x@xn--zz.com", "x@xn--zz.com"),  # no valid punycode: as it is
        ("@xn--exmple-cua", "@xn--exmple-cua"),  # a social handle, not an address
        ("Camille Durand", "Camille Durand"),
    ],
)
def test_only_a_domain_in_a_labels_that_decodes_is_changed(shown, read):
    assert display_email(shown) == read


@pytest.mark.parametrize(
    ("read", "shown"),  # the address as written, and as a page shows it
    [
        ("claire@exämple.com", "claire@exämple.com"),
        ("用户@例子.广告", "用户@例子.广告"),
        ("anna@пример.рф", "anna@пример.рф"),  # Cyrillic letters under a Cyrillic top-level domain
        ("anna@аррӏе.рф", "anna@аррӏе.рф"),
        ("info@ドメイン名例.jp", "info@ドメイン名例.jp"),  # kanji and katakana: Japanese writes them together
        ("info@ελλάδα.gr", "info@ελλάδα.gr"),
        ("support@аррӏе.com", "support@xn--80ak6aa92e.com"),  # all Cyrillic, each letter a Latin look-alike
        ("support@pаypal.com", "support@xn--pypal-4ve.com"),  # a Cyrillic "а" among Latin letters
        ("support@paypal.xn--pypal-4ve.com", "support@paypal.xn--pypal-4ve.com"),  # in any label
        ("support@οτ.com", "support@xn--0xak.com"),  # Greek omicron and tau
    ],
)
def test_a_domain_that_would_pass_for_another_is_shown_in_a_labels(read, shown):
    local, _at, domain = read.partition("@")
    assert display_email(f"{local}@{domain.encode('idna').decode()}") == shown  # stored in A-labels


def test_the_case_page_shows_a_look_alike_sender_domain_in_a_labels(client, agent):
    case = ingest_email(raw=raw_email("support@pаypal.com", subject="Votre compte", message_id="p1@example.com")).case

    html = page(client, agent, reverse("cases:case", kwargs={"case_id": case.pk}))

    thread = html[html.index('id="thread"'):html.index('id="thread-end"')]
    assert "<strong>support@xn--pypal-4ve.com</strong>" in thread
    assert "pаypal" not in html
