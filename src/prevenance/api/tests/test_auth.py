"""API keys (shown once, stored hashed, revocable), Bearer and session authentication."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from prevenance.api.models import ApiKey
from prevenance.api.selectors import active_key_for, forget_api_keys, user_api_keys
from prevenance.api.services import create_api_key, revoke_api_key
from prevenance.api.tests.helpers import ApiClient
from prevenance.core.choices import AuditKind
from prevenance.core.models import AuditEvent
from prevenance.customers.models import Customer
from prevenance.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_create_api_key_returns_the_raw_key_once_and_stores_only_its_digest(agent):
    key, raw = create_api_key(user=agent, name="  CRM   sync ")
    key.refresh_from_db()
    assert key.name == "CRM sync"
    assert raw.startswith("pvn_") and len(raw) >= 40
    assert key.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert key.prefix == raw[:12]
    stored = {field.attname: str(getattr(key, field.attname)) for field in ApiKey._meta.concrete_fields}
    assert raw not in stored.values()
    assert AuditEvent.objects.filter(kind=AuditKind.API_KEY_CREATED, actor=agent, subject_id=str(key.pk)).count() == 1


def test_two_keys_never_collide_and_are_listed_newest_first(agent, supervisor):
    first, raw1 = create_api_key(user=agent, name="one")
    second, raw2 = create_api_key(user=agent, name="two")
    create_api_key(user=supervisor, name="not mine")
    assert raw1 != raw2
    assert list(user_api_keys(agent)) == [second, first]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_api_key_refuses_a_bad_name(agent, name):
    with pytest.raises(ValidationError) as info:
        create_api_key(user=agent, name=name)
    assert list(info.value.message_dict) == ["name"]
    assert ApiKey.objects.count() == 0


def test_a_valid_key_authenticates_and_a_revoked_key_is_refused(agent):
    customer = CustomerFactory()
    key, raw = create_api_key(user=agent, name="tests")
    client = ApiClient(raw)
    assert client.get(f"/customers/{customer.pk}").status_code == 200
    revoked = revoke_api_key(key=key, actor=agent)
    assert revoked.revoked_at is not None
    response = client.get(f"/customers/{customer.pk}")
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(kind=AuditKind.API_KEY_REVOKED, actor=agent).count() == 1


def test_revoking_twice_is_harmless_and_only_the_owner_or_a_key_admin_may(agent, supervisor):
    key, _raw = create_api_key(user=agent, name="tests")
    with pytest.raises(PermissionDenied):
        revoke_api_key(key=key, actor=supervisor)
    key.refresh_from_db()
    assert key.revoked_at is None
    first = revoke_api_key(key=key, actor=agent).revoked_at
    assert revoke_api_key(key=key, actor=agent).revoked_at == first
    assert AuditEvent.objects.filter(kind=AuditKind.API_KEY_REVOKED).count() == 1


@pytest.mark.parametrize(
    "header",
    ["Bearer pvn_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000, "Token abc"],
)
def test_missing_or_wrong_credentials_answer_401(agent, header):
    customer = CustomerFactory()
    response = Client(headers={"authorization": header}).get(f"/api/v1/customers/{customer.pk}")
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "not_authenticated"


def test_no_credentials_at_all_answers_401_even_for_a_write():
    response = Client(enforce_csrf_checks=True).post("/api/v1/customers", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert Customer.objects.count() == 0


def test_a_key_of_an_inactive_user_is_refused(agent):
    customer = CustomerFactory()
    _key, raw = create_api_key(user=agent, name="tests")
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert ApiClient(raw).get(f"/customers/{customer.pk}").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(agent, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    key, raw = create_api_key(user=agent, name="tests")
    client = ApiClient(raw)

    def use():
        # The write happens on commit (never holding the key's row during a request).
        with django_capture_on_commit_callbacks(execute=True):
            client.get(f"/customers/{customer.pk}")
        key.refresh_from_db()

    use()
    first = key.last_used_at
    assert first is not None
    use()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    forget_api_keys()  # as when the per-process key cache expires (selectors.KEY_CACHE_SECONDS)
    use()
    assert key.last_used_at > first - timedelta(minutes=2)
    assert key.last_used_at <= timezone.now()


def test_session_auth_reads_and_needs_csrf_to_write(agent):
    customer = CustomerFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.get(f"/api/v1/customers/{customer.pk}").status_code == 200
    refused = client.post("/api/v1/customers", data='{"first_name": "A"}', content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"][0]["type"] == "csrf_failed"
    assert Customer.objects.count() == 1
    token = "t" * 32  # a CSRF secret: what the browser holds in its cookie and echoes in the header
    client.cookies["csrftoken"] = token
    accepted = client.post(
        "/api/v1/customers", data='{"first_name": "A"}', content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_command_prints_a_working_key(agent):
    customer = CustomerFactory()
    out, err = io.StringIO(), io.StringIO()
    call_command("create-api-key", "agent", "--name", "script", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert ApiKey.objects.get().name == "script"
    assert "script" not in raw and raw.startswith("pvn_")
    assert ApiClient(raw).get(f"/customers/{customer.pk}").status_code == 200


def test_command_refuses_an_unknown_user():
    with pytest.raises(CommandError):
        call_command("create-api-key", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiKey.objects.count() == 0


def test_a_cached_key_is_refused_at_once_when_revoked_or_its_role_is_withdrawn(agent):
    customer = CustomerFactory()
    key, raw = create_api_key(user=agent, name="tests")
    client = ApiClient(raw)
    assert client.get(f"/customers/{customer.pk}").status_code == 200  # now cached in this process

    agent.groups.clear()
    assert client.get(f"/customers/{customer.pk}").status_code == 403
    revoke_api_key(key=key, actor=agent)
    assert client.get(f"/customers/{customer.pk}").status_code == 401


def test_the_key_cache_can_be_turned_off(agent, settings, django_assert_num_queries):
    settings.PREVENANCE_API_KEY_CACHE_SECONDS = 0
    _key, raw = create_api_key(user=agent, name="tests")
    ApiClient(raw).get("/customers")
    forget_api_keys()

    with django_assert_num_queries(3):  # the key, the user's permissions, the groups' permissions
        assert active_key_for(raw) is not None
    with django_assert_num_queries(3):
        assert active_key_for(raw) is not None
