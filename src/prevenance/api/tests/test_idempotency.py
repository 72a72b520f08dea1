"""Idempotency-Key on POST: a retry gets the first answer and never creates a second case."""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from prevenance.api.models import IdempotencyKey
from prevenance.api.services import IDEMPOTENCY_TTL, create_api_key, prune_idempotency_keys
from prevenance.api.tests.helpers import API
from prevenance.cases import services as services_module
from prevenance.cases.models import Attachment, Case, Message
from prevenance.cases.services import assign_case, change_status
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.testing import run_concurrently
from prevenance.customers.models import IdentityConflict
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CASE = {"email": "claire@example.com", "subject": "Colis abîmé", "body": "Mon colis est arrivé abîmé."}


def post(raw_key: str, body: dict, key: str | None, path: str = "/cases"):
    headers = {"authorization": f"Bearer {raw_key}"}
    if key is not None:
        headers["idempotency-key"] = key
    return Client(headers=headers).post(API + path, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def raw_key(agent):
    return create_api_key(user=agent, name="shop")[1]


def test_a_retry_gets_the_first_answer_and_opens_no_second_case(raw_key):
    first = post(raw_key, CASE, "order-4512-complaint")
    again = post(raw_key, CASE, "order-4512-complaint")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Case.objects.count() == 1


def test_without_a_key_each_post_opens_a_case(raw_key):
    post(raw_key, CASE, None)
    post(raw_key, CASE, None)

    assert Case.objects.count() == 2


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(raw_key):
    post(raw_key, CASE, "k-1")

    other = post(raw_key, {**CASE, "subject": "Another matter"}, "k-1")

    assert other.status_code == 422
    assert other.json()["detail"][0]["type"] == "idempotency_key_reused"
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert Case.objects.count() == 1


def test_the_same_key_on_another_path_is_another_request(raw_key, agent):
    case_id = post(raw_key, CASE, "k-2").json()["id"]

    note = post(raw_key, {"kind": "note", "body": "Rappeler demain."}, "k-2", path=f"/cases/{case_id}/messages")

    assert note.status_code == 422
    assert note.json()["detail"][0]["type"] == "idempotency_key_reused"


def test_keys_are_per_api_key_not_shared_between_clients(raw_key, agent):
    other_key = create_api_key(user=agent, name="crm")[1]

    post(raw_key, CASE, "shared-name")
    post(other_key, CASE, "shared-name")

    assert Case.objects.count() == 2


def test_a_refused_request_is_not_kept_so_the_corrected_one_runs(raw_key):
    refused = post(raw_key, {**CASE, "type": "nonsense"}, "k-3")
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.exists()

    fixed = post(raw_key, {**CASE, "type": "complaint"}, "k-3")

    assert fixed.status_code == 201
    assert Case.objects.get().type == "complaint"


def test_a_refusal_keeps_what_it_records_on_purpose(raw_key):
    # Two customers each own one of the identities: /customers/resolve answers 409 and opens the
    # conflict for a person to settle; under an Idempotency-Key the conflict must stay too.
    for email, phone in (("ana@example.com", "+33611111111"), ("bob@example.com", "+33622222222")):
        assert post(raw_key, {"identities": [{"kind": "email", "value": email}, {"kind": "phone", "value": phone}]},
                    None, path="/customers/resolve").status_code == 200
    both = {"identities": [{"kind": "email", "value": "ana@example.com"}, {"kind": "phone", "value": "+33622222222"}]}
    refused = post(raw_key, both, "k-409", path="/customers/resolve")
    assert refused.status_code == 409
    assert IdentityConflict.objects.filter(pk=refused.json()["conflict"]["id"]).exists()
    assert not IdempotencyKey.objects.filter(key="k-409").exists()  # the claim is released: a retry runs again


def test_a_customer_message_that_opens_a_case_out_of_sight_is_replayed_not_run_again(raw_key, agent, supervisor):
    # The agent sees a closed case only through its assignment (they left its team): the
    # message opens a follow-up case in that team. Answered 201, so kept: the retry replays.
    team = TeamFactory(members=[supervisor, agent])
    case = assign_case(case=open_email_case(team=team).case, assignee=agent, team=team, actor=supervisor)
    team.members.remove(agent)
    change_status(case=change_status(case=case, status="resolved", actor=supervisor), status="closed", actor=supervisor)
    message = {"kind": "inbound", "body": "Toujours rien reçu."}

    first = post(raw_key, message, "chat-retry-1", path=f"/cases/{case.pk}/messages")
    again = post(raw_key, message, "chat-retry-1", path=f"/cases/{case.pk}/messages")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert Case.objects.filter(reopened_from=case).count() == 1
    assert Message.objects.filter(body_text="Toujours rien reçu.").count() == 1


def test_a_request_over_the_size_limit_claims_no_key(raw_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post(raw_key, {**CASE, "body": "x" * 1000}, "too-big-1")

    assert response.status_code == 413
    assert response.json()["detail"][0]["type"] == "request_too_large"
    assert not IdempotencyKey.objects.exists()
    assert post(raw_key, CASE, "too-big-1").status_code == 201  # the key is free for the smaller request


def test_a_server_error_after_a_reply_with_files_keeps_neither_the_reply_nor_its_files(raw_key, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    case_id = post(raw_key, CASE, None).json()["id"]

    def fail(*args, **kwargs):
        raise RuntimeError("the answer could not be built")

    # The reply and its file are stored, then building the answer fails: a 500, so the
    # middleware rolls the request's transaction back, and the file must go with it.
    monkeypatch.setattr("prevenance.cases.api.case_of_written_message", fail)
    reply = {"kind": "reply", "body": "Voici l'étiquette.",
             "attachments": [{"filename": "label.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 label").decode()}]}
    client = Client(headers={"authorization": f"Bearer {raw_key}", "idempotency-key": "k-500"}, raise_request_exception=False)
    response = client.post(API + f"/cases/{case_id}/messages", data=json.dumps(reply), content_type="application/json")

    assert response.status_code == 500
    assert not Message.objects.filter(body_text="Voici l'étiquette.").exists()
    assert not Attachment.objects.exists()
    assert not list(tmp_path.rglob("*label.pdf"))
    assert not IdempotencyKey.objects.filter(key="k-500").exists()


def test_a_server_error_answers_the_error_format_and_keeps_neither_the_case_nor_the_key(raw_key, settings, monkeypatch):
    settings.DEBUG = False
    open_case = services_module.open_case

    def open_then_fail(**kwargs):
        open_case(**kwargs)
        raise RuntimeError("after the case was written")

    monkeypatch.setattr(services_module, "open_case", open_then_fail)
    client = Client(headers={"authorization": f"Bearer {raw_key}", "idempotency-key": "k-crash"}, raise_request_exception=False)
    response = client.post(API + "/cases", data=json.dumps(CASE), content_type="application/json")

    assert response.status_code == 500
    assert response.json()["detail"][0]["type"] == "server_error"
    assert not Case.objects.exists()
    assert not IdempotencyKey.objects.exists()
    monkeypatch.setattr(services_module, "open_case", open_case)
    assert post(raw_key, CASE, "k-crash").status_code == 201  # the key is free: the retry runs


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "clé-accentuée", "two\twords"])
def test_a_malformed_key_is_refused(raw_key, key):
    response = post(raw_key, CASE, key)

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "idempotency_key_invalid"
    assert not Case.objects.exists()


def test_a_wrong_api_key_still_gets_401_with_an_idempotency_key():
    response = post("pvn_not-a-key", CASE, "k-4")

    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_get_requests_ignore_the_header(raw_key):
    response = Client(headers={"authorization": f"Bearer {raw_key}", "idempotency-key": "k-5"}).get(API + "/cases")

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_a_key_expires_after_24_hours(raw_key):
    post(raw_key, CASE, "k-6")
    IdempotencyKey.objects.update(created_at=timezone.now() - IDEMPOTENCY_TTL - timedelta(seconds=1))

    again = post(raw_key, CASE, "k-6")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Case.objects.count() == 2


def test_pruning_forgets_only_expired_answers(raw_key):
    post(raw_key, CASE, "old")
    post(raw_key, {**CASE, "subject": "Nouveau"}, "new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - IDEMPOTENCY_TTL - timedelta(minutes=1))

    assert prune_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_the_web_session_has_its_own_scope(agent):
    client = Client(enforce_csrf_checks=False)
    client.force_login(agent)

    def send():
        return client.post(API + "/cases", data=json.dumps(CASE), content_type="application/json", headers={"idempotency-key": "s-1"})

    assert send().status_code == 201
    assert send()["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_the_same_key_open_one_case():
    agent = UserFactory(username="racer", role="agent")
    raw = create_api_key(user=agent, name="racer")[1]

    results, errors = run_concurrently(*(lambda: post(raw, CASE, "race-1") for _ in range(4)))

    assert errors == []
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in results) == 3
    assert Case.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_different_keys_each_open_a_case():
    agent = UserFactory(username="racer", role="agent")
    raw = create_api_key(user=agent, name="racer")[1]

    results, errors = run_concurrently(*(lambda n=n: post(raw, CASE, f"race-{n}") for n in range(4)))

    assert errors == []
    assert sorted(r.status_code for r in results) == [201] * 4
    assert Case.objects.count() == 4
    assert len(set(Case.objects.values_list("reference", flat=True))) == 4
