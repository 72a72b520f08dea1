"""The ApiKey admin: read-only (the digest is never editable), keys revoked through the service."""

import pytest
from django.test import Client

from prevenance.api.models import ApiKey
from prevenance.api.services import create_api_key
from prevenance.core.choices import AuditKind
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client, user


def test_admin_lists_keys_and_cannot_add_or_edit_them(superuser_client, agent):
    client, _user = superuser_client
    key, raw = create_api_key(user=agent, name="shop")
    listing = client.get("/admin/api/apikey/")
    assert listing.status_code == 200
    assert key.prefix in listing.content.decode() and raw not in listing.content.decode()
    assert client.get("/admin/api/apikey/add/").status_code == 403
    detail = client.get(f"/admin/api/apikey/{key.pk}/change/")
    assert detail.status_code == 200
    assert 'name="digest"' not in detail.content.decode()
    before = ApiKey.objects.values().get(pk=key.pk)
    client.post(f"/admin/api/apikey/{key.pk}/change/", {"name": "renamed", "digest": "0" * 64})
    assert ApiKey.objects.values().get(pk=key.pk) == before


def test_admin_action_revokes_through_the_service(superuser_client, agent):
    client, user = superuser_client
    key, _raw = create_api_key(user=agent, name="shop")
    response = client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(kind=AuditKind.API_KEY_REVOKED, actor=user).count() == 1
