"""POST /cases/inbound/email/: raw messages from inbound-email relays."""

import base64
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from prevenance.cases.models import Case, Message, SuspendedMessage
from prevenance.cases.tests.factories import TeamFactory

TOKEN = "s3cret-relay-token"
URL = "/cases/inbound/email/"


@pytest.fixture(autouse=True)
def setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PREVENANCE_INBOUND_EMAIL_TOKEN = TOKEN


def eml(message_id: str = "c1@example.com", sender: str = "Claire <claire@example.com>", extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: Colis abîmé\r\nMessage-ID: <{message_id}>\r\n"
        f"{extra}Content-Type: text/plain; charset=utf-8\r\n\r\nMon colis est arrivé abîmé.\r\n"
    ).encode()


def post(client, body: bytes, *, token: str | None = TOKEN, content_type: str = "message/rfc822", path: str = URL, **headers):
    if token is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    return client.generic("POST", path, body, content_type=content_type, **headers)


def test_the_url_is_named():
    assert reverse("cases:inbound_email") == URL


@pytest.mark.django_db
def test_a_raw_message_opens_a_case_and_the_answer_names_it(client):
    response = post(client, eml())
    assert response.status_code == 201
    case = Case.objects.get()
    assert response.json() == {
        "outcome": "created", "case": case.reference, "message_id": "c1@example.com", "stored": True,
        "automatic": "", "refused_reference": None, "problems": [], "suspended": None,
    }
    # The same message posted again (a relay's retry) is stored once
    again = post(client, eml())
    assert (again.status_code, again.json()["outcome"], again.json()["case"]) == (200, "duplicate", case.reference)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_the_envelope_recipient_comes_from_the_query_or_x_original_to(client):
    team = TeamFactory(name="Litiges", email="litiges@boutique-lumiere.fr")
    post(client, eml("a@example.com"), path=URL + "?mailbox=litiges@boutique-lumiere.fr")
    post(client, eml("b@example.com", sender="paul@example.com"), HTTP_X_ORIGINAL_TO="litiges@boutique-lumiere.fr")
    assert list(Case.objects.order_by("pk").values_list("mailbox", "team_id")) == [("litiges@boutique-lumiere.fr", team.pk)] * 2


@pytest.mark.django_db
def test_basic_auth_with_the_token_as_password_is_accepted(client):
    basic = base64.b64encode(f"relay:{TOKEN}".encode()).decode()
    response = post(client, eml(), token=None, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer ", "Basic !!!", "Token " + TOKEN])
def test_a_missing_or_wrong_token_is_refused_and_nothing_is_stored(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = post(client, eml(), token=None, **headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Missing or wrong token."}
    assert response["WWW-Authenticate"] == 'Bearer realm="inbound-email"'
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_without_a_configured_token_everything_is_refused(client, settings):
    settings.PREVENANCE_INBOUND_EMAIL_TOKEN = ""
    response = post(client, eml(), token="")
    assert response.status_code == 503
    assert "PREVENANCE_INBOUND_EMAIL_TOKEN" in response.json()["error"]
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_only_post_is_allowed(client):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.django_db
def test_no_csrf_token_is_needed(settings):
    response = post(Client(enforce_csrf_checks=True), eml())
    assert response.status_code == 201


@pytest.mark.django_db
def test_bad_input_gets_a_4xx_with_the_reason_and_stores_nothing(client, settings):
    settings.PREVENANCE_INBOUND_EMAIL_MAX_BYTES = 2000
    too_big = post(client, eml(extra="X-Padding: " + "x" * 3000 + "\r\n"))
    assert (too_big.status_code, too_big.json()) == (413, {"error": "The message is larger than 2000 bytes."})
    empty = post(client, b"  \r\n")
    assert (empty.status_code, empty.json()) == (400, {"error": "The body is empty: post the raw message."})
    form = post(client, b"a=b", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    bad_mailbox = post(client, eml(), path=URL + "?mailbox=not-an-address")
    assert (bad_mailbox.status_code, bad_mailbox.json()) == (422, {"error": "“not-an-address” is not an email address."})
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_a_message_without_a_sender_is_kept_aside_and_the_relay_told_it_is_stored(client):
    # Answered 2xx: the relay must neither retry it nor bounce it to nobody.
    raw = b"Subject: hello\r\nMessage-ID: <nobody-1@example.com>\r\n\r\nno sender here\r\n"
    first, again = post(client, raw), post(client, raw)
    assert (first.status_code, first.json()["outcome"], first.json()["stored"], first.json()["suspended"]) == (200, "suspended", True, "no_sender")
    assert (again.status_code, again.json()["outcome"]) == (200, "suspended")
    kept = SuspendedMessage.objects.get()
    assert (kept.subject, kept.body.strip(), kept.raw_bytes()) == ("hello", "no sender here", raw)
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_a_body_larger_than_the_form_cap_is_still_accepted(client, settings):
    # Django caps request.body at DATA_UPLOAD_MAX_MEMORY_SIZE; a message has its own limit.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, eml(extra="X-Padding: " + "x" * 3000 + "\r\n"))
    assert response.status_code == 201


@pytest.mark.django_db
def test_the_answer_lists_refused_attachments(client):
    raw = (Path(__file__).parent / "mail_corpus" / "24_executable_attachments.eml").read_bytes()
    response = post(client, raw)
    assert (response.status_code, response.json()["problems"]) == (201, ["attachment_refused", "attachment_refused"])


def test_something_django_refuses_in_a_message_is_a_json_422_the_relay_does_not_retry(client, monkeypatch):
    from django.core.exceptions import SuspiciousFileOperation

    from prevenance.cases.views import inbound_email

    def refuse(**_kwargs):
        raise SuspiciousFileOperation("Storage can not find an available filename")

    monkeypatch.setattr(inbound_email, "ingest_email", refuse)
    response = post(client, eml())
    assert response.status_code == 422
    assert "available filename" in response.json()["error"]


def test_a_value_the_database_refuses_is_a_json_422_and_the_database_down_is_not(client, monkeypatch):
    from django.db import DataError, OperationalError

    from prevenance.cases.views import inbound_email

    def refuse(**_kwargs):
        raise DataError("value too long for type character varying(255)\nCONTEXT: ...")

    monkeypatch.setattr(inbound_email, "ingest_email", refuse)
    response = post(client, eml())
    assert response.status_code == 422
    assert response.json()["error"].endswith("value too long for type character varying(255)")

    def down(**_kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(inbound_email, "ingest_email", down)
    with pytest.raises(OperationalError):  # a 500: the relay keeps the message and retries later
        post(client, eml())
