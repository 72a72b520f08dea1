"""Webhooks go to public addresses only (no SSRF): refused when saved, and at each call after
resolving the name once, connecting to the address checked, never following a redirect.
Against real HTTP(S) servers on 127.0.0.1; DNS answers from the `dns` fixture (conftest.py)."""

import shutil
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from prevenance.core.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from prevenance.core.tests.receiver import Receiver
from prevenance.core.webhooks import destinations, services

pytestmark = pytest.mark.django_db

ADD = "/admin/core/webhookendpoint/add/"
PUBLIC = "93.184.215.14"


@pytest.fixture
def protected(settings):
    """The default: private addresses refused (set here, whatever the environment says)."""
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_user("webhooks-admin", is_staff=True)
    user.groups.add(Group.objects.get(name="admin"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def stand_in(monkeypatch):
    """A local server standing in for a public one: 127.0.0.1, and only it, counts as public,
    so what the checks do around it can be watched with a real server."""
    real = destinations.address_kind
    monkeypatch.setattr(destinations, "address_kind", lambda address: None if address == "127.0.0.1" else real(address))


def add_endpoint(client: Client, url: str):
    return client.post(ADD, {"name": "CRM", "url": url, "active": "on", "secret": "s" * 30})


def deliver(event: str = "case.created") -> WebhookDelivery:
    """Emit an event and make its first attempt now, as the worker would."""
    with transaction.atomic():
        [delivery_id] = services.emit_event(event, {"object": {"id": 1}})
    services.attempt_delivery(delivery_id=delivery_id)
    return WebhookDelivery.objects.get(pk=delivery_id)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1/hooks", "127.0.0.1 is a loopback address"),
        ("https://10.1.2.3/hooks", "10.1.2.3 is a private network address"),
        ("https://172.16.0.9/hooks", "172.16.0.9 is a private network address"),
        ("https://192.168.1.20/hooks", "192.168.1.20 is a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata among them)"),
        ("http://[::1]:8080/hooks", "::1 is a loopback address"),
        ("http://[fd12:3456::1]/hooks", "fd12:3456::1 is an IPv6 unique local address"),
        ("http://[fe80::1]/hooks", "fe80::1 is a link-local address"),
        ("http://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1 is a loopback address"),
        ("http://0.0.0.0/hooks", "0.0.0.0 is the unspecified address"),
        ("http://224.0.0.1/hooks", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/hooks", "240.0.0.1 is a reserved address, not public"),
        ("https://localhost/hooks", "localhost points at 127.0.0.1, a loopback address"),
        ("https://crm.corp.example/hooks", "crm.corp.example points at 192.168.4.2, a private network address"),
        ("https://metadata.example/hooks", "metadata.example points at 169.254.169.254, a link-local address"),
        # One public address beside a private one: the connection could reach either.
        ("https://both.example/hooks", "both.example points at 10.0.0.7, a private network address"),
    ],
)
def test_the_admin_refuses_a_url_at_an_internal_address(admin_client, protected, dns, url, says):
    dns.answer("crm.corp.example", ["192.168.4.2"])
    dns.answer("metadata.example", ["169.254.169.254"])
    dns.answer("both.example", [PUBLIC, "10.0.0.7"])
    dns.answer("localhost", ["127.0.0.1", "::1"])

    response = add_endpoint(admin_client, url)

    assert response.status_code == 200
    page = response.content.decode()
    assert says in page
    assert "webhooks are only sent to public addresses" in page
    assert "PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES" in page
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://crm.example.com/hooks", "Only http and https URLs can be called."),
        ("https://crm.example.com:70000/hooks", "The URL&#x27;s port must be a number up to 65535."),
    ],
)
def test_the_admin_refuses_a_url_that_cannot_be_called(admin_client, protected, dns, url, says):
    dns.answer("crm.example.com", [PUBLIC])

    response = add_endpoint(admin_client, url)

    assert response.status_code == 200
    assert says in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_accepts_a_public_url_and_one_that_does_not_resolve_yet(admin_client, protected, dns):
    dns.answer("crm.example.com", [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    dns.answer("not-yet.example.com", [])  # checked again at every call

    public = add_endpoint(admin_client, "https://crm.example.com/hooks")
    later = add_endpoint(admin_client, "https://not-yet.example.com/hooks")

    assert (public.status_code, later.status_code) == (302, 302)
    assert sorted(WebhookEndpoint.objects.values_list("url", flat=True)) == [
        "https://crm.example.com/hooks", "https://not-yet.example.com/hooks",
    ]


def test_with_the_setting_on_the_admin_accepts_a_local_receiver(admin_client, settings):
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    response = add_endpoint(admin_client, "http://127.0.0.1:8025/hooks")

    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8025/hooks"


def test_a_name_that_resolves_to_a_private_address_at_send_time_is_refused_and_logged(admin_client, protected, dns):
    receiver = Receiver()  # what the name points at when the call is made
    try:
        url = f"http://hooks.example.com:{receiver.port}/hooks"
        dns.answer("hooks.example.com", [PUBLIC], ["127.0.0.1"])  # public when saved, loopback later (DNS rebinding)
        assert add_endpoint(admin_client, url).status_code == 302

        delivery = deliver()
    finally:
        receiver.close()

    assert receiver.calls == []
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.next_attempt_at) == (
        WebhookDeliveryStatus.FAILED, 1, None, None,
    )
    assert delivery.error.startswith("hooks.example.com points at 127.0.0.1, a loopback address: webhooks are only sent")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata among them)"),
        # 127.0.0.1 written as one number, or in hexadecimal: the form refuses them, the resolver reads them
        ("http://2130706433/hooks", "2130706433 points at 127.0.0.1, a loopback address"),
        ("http://0x7f.1/hooks", "0x7f.1 points at 127.0.0.1, a loopback address"),
    ],
)
def test_an_endpoint_saved_before_the_check_is_refused_at_send_time(protected, url, says):
    # Stored by an older version, or through the ORM: the internal address is never called.
    WebhookEndpoint.objects.create(name="Old", url=url)

    delivery = deliver()

    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.error.startswith(says)


def test_a_url_that_is_not_http_is_never_opened(protected, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    WebhookEndpoint.objects.create(name="File", url=f"file://{secret}")

    delivery = deliver()

    assert (delivery.status, delivery.error) == (WebhookDeliveryStatus.FAILED, "Only http and https URLs can be called.")


def test_the_setting_lets_a_local_receiver_get_its_events(settings):
    receiver = Receiver()
    try:
        WebhookEndpoint.objects.create(name="Internal", url=receiver.url)
        settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
        refused = deliver()
        settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        delivered = deliver()
    finally:
        receiver.close()

    assert (refused.status, delivered.status) == (WebhookDeliveryStatus.FAILED, WebhookDeliveryStatus.SUCCEEDED)
    assert refused.error.startswith("127.0.0.1 is a loopback address")
    assert receiver.events() == ["case.created"]


def test_the_call_goes_to_the_address_checked_with_the_name_in_the_host_header(protected, dns, stand_in):
    receiver = Receiver()
    try:
        # A second lookup would answer another address, where nobody listens (or worse).
        dns.answer("hooks.example.com", ["127.0.0.1"], ["127.0.0.2"])
        WebhookEndpoint.objects.create(name="CRM", url=f"http://hooks.example.com:{receiver.port}/hooks")

        delivery = deliver()
    finally:
        receiver.close()

    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert dns.lookups == ["hooks.example.com"]  # resolved once
    assert receiver.calls[0]["headers"]["Host"] == f"hooks.example.com:{receiver.port}"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for hooks.example.com, trusted for the test (SSL_CERT_FILE)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key), "-out", str(cert),  # noqa: S607
         "-subj", "/CN=hooks.example.com", "-addext", "subjectAltName=DNS:hooks.example.com"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_https_to_the_checked_address_keeps_the_name_for_sni_and_the_certificate(
    protected, dns, stand_in, certificate, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    receiver = Receiver(tls=certificate)
    try:
        dns.answer("hooks.example.com", ["127.0.0.1"])
        WebhookEndpoint.objects.create(name="CRM", url=f"https://hooks.example.com:{receiver.port}/hooks")
        delivered = deliver()
        # The same server under a name its certificate does not hold: refused by TLS.
        dns.answer("other.example.com", ["127.0.0.1"])
        WebhookEndpoint.objects.update(url=f"https://other.example.com:{receiver.port}/hooks")
        mismatched = deliver()
    finally:
        receiver.close()

    assert delivered.status == WebhookDeliveryStatus.SUCCEEDED
    assert receiver.server_names[0] == "hooks.example.com"
    assert len(receiver.calls) == 1
    assert mismatched.status == WebhookDeliveryStatus.PENDING  # a failed attempt, retried
    assert "certificate" in mismatched.error.lower()


def test_a_redirect_is_answered_not_followed(settings):
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # both receivers listen on 127.0.0.1
    first, elsewhere = Receiver(), Receiver()
    try:
        first.statuses, first.location = [307], elsewhere.url
        WebhookEndpoint.objects.create(name="CRM", url=first.url)

        delivery = deliver()
    finally:
        first.close()
        elsewhere.close()

    assert (len(first.calls), elsewhere.calls) == (1, [])
    assert (delivery.status, delivery.response_code) == (WebhookDeliveryStatus.PENDING, 307)


def test_a_redirect_to_cloud_metadata_is_not_followed(protected, dns, stand_in):
    receiver = Receiver()
    try:
        receiver.statuses, receiver.location = [302], "http://169.254.169.254/latest/meta-data/"
        dns.answer("hooks.example.com", ["127.0.0.1"])
        WebhookEndpoint.objects.create(name="CRM", url=f"http://hooks.example.com:{receiver.port}/hooks")

        delivery = deliver()
    finally:
        receiver.close()

    assert (delivery.status, delivery.response_code) == (WebhookDeliveryStatus.PENDING, 302)
    assert delivery.error.startswith("HTTP 302")


@pytest.fixture
def proxy(monkeypatch):
    """An HTTP proxy from the environment: a receiver that records what it is asked to forward."""
    server = Receiver()
    for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.port}")
    yield server
    server.close()


def test_through_a_proxy_a_name_resolving_here_to_a_private_address_is_refused(protected, dns, proxy):
    dns.answer("crm.corp.example", ["10.20.0.4"])
    dns.answer("crm.example.com", [])  # only the proxy resolves outside names
    WebhookEndpoint.objects.create(name="Internal", url="http://crm.corp.example/hooks")
    WebhookEndpoint.objects.create(name="Outside", url="http://crm.example.com/hooks")

    with transaction.atomic():
        delivery_ids = services.emit_event("case.created", {"object": {"id": 1}})
    for delivery_id in delivery_ids:
        services.attempt_delivery(delivery_id=delivery_id)

    by_endpoint = {d.endpoint.name: d for d in WebhookDelivery.objects.select_related("endpoint")}
    assert by_endpoint["Internal"].status == WebhookDeliveryStatus.FAILED
    assert by_endpoint["Internal"].error.startswith("crm.corp.example points at 10.20.0.4, a private network address")
    assert by_endpoint["Outside"].status == WebhookDeliveryStatus.SUCCEEDED
    assert [call["path"] for call in proxy.calls] == ["http://crm.example.com/hooks"]  # the proxy was asked once


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),  # an IPv4 address written in IPv6
        ("64:ff9b::808:808", None),  # NAT64 of a public address (IPv6-only networks)
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("64:ff9b:1:808:8:800::", "private"),  # a local translator's prefix (RFC 8215), even to 8.8.8.8
        ("64:ff9b:1::a00:1", "private"),
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("::ffff:169.254.169.254", "link-local"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("fec0::1", "private"),  # IPv6 site-local
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),  # documentation
        ("2001:db8::1", "reserved"),
    ],
)
def test_the_kinds_of_address(address, kind):
    assert destinations.address_kind(address) == kind


@pytest.mark.parametrize("url", ["no scheme at all", "http://", "https://[::1"])
def test_a_stored_url_that_is_no_url_fails_its_delivery_with_the_reason(protected, url):
    # Written straight into the table (an old import, a hand-made fix): the admin refuses it.
    WebhookEndpoint.objects.create(name="Broken", url="https://hooks.example.com/in")
    WebhookEndpoint.objects.update(url=url)

    delivery = deliver()

    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.error and delivery.attempt_started_at is None


def test_a_name_without_any_address_is_said_in_the_translated_words(monkeypatch):
    # No catalogue line exists yet for a new msgid: a stand-in gettext shows the words go through it.
    monkeypatch.setattr(destinations, "gettext", lambda message: f"«{message}»")
    monkeypatch.setattr(destinations, "checked_addresses", lambda host, port: [])

    with pytest.raises(OSError, match="^«hooks.example.com has no address.»$"):
        destinations._connect(("hooks.example.com", 443))
