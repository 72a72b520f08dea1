"""Each endpoint checks the permission it needs: the role matrix, and nothing changes on a 403."""

import pytest

from prevenance.core.models import AuditEvent
from prevenance.customers.models import ConsentEvent, Customer, Identity, Order
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db

ORDER = {"reference": "R-1", "ordered_at": "2026-01-01T00:00:00Z", "amount": 10}
INTERACTION = {"channel": "email", "direction": "inbound", "summary": "Hello"}
RESOLVE = {"identities": [{"kind": "email", "value": "new@example.com"}]}

# (role fixture, method, path, body, expected status)
MATRIX = [
    ("marketer", "post", "/customers/{a}/merge", {"loser_id": "{b}"}, 403),
    ("agent", "post", "/customers/{a}/merge", {"loser_id": "{b}"}, 403),
    ("supervisor", "post", "/customers/{a}/merge", {"loser_id": "{b}"}, 200),
    ("agent", "post", "/customers/{a}/gdpr-erase", None, 403),
    ("supervisor", "post", "/customers/{a}/gdpr-erase", None, 403),
    ("marketer", "post", "/customers/{a}/gdpr-erase", None, 403),
    ("admin_user", "post", "/customers/{a}/gdpr-erase", None, 200),
    ("agent", "get", "/customers/{a}/gdpr-export", None, 403),
    ("marketer", "get", "/customers/{a}/gdpr-export", None, 403),
    ("supervisor", "get", "/customers/{a}/gdpr-export", None, 200),
    ("marketer", "post", "/customers", {"first_name": "X"}, 403),
    ("agent", "post", "/customers", {"first_name": "X"}, 201),
    ("marketer", "patch", "/customers/{a}", {"city": "Paris"}, 403),
    ("agent", "patch", "/customers/{a}", {"city": "Paris"}, 200),
    ("marketer", "post", "/customers/resolve", RESOLVE, 403),
    ("agent", "post", "/customers/resolve", RESOLVE, 200),
    ("agent", "post", "/customers/{a}/orders", ORDER, 403),
    ("marketer", "post", "/customers/{a}/orders", ORDER, 403),
    ("supervisor", "post", "/customers/{a}/orders", ORDER, 201),
    ("marketer", "post", "/customers/{a}/interactions", INTERACTION, 403),
    ("agent", "post", "/customers/{a}/interactions", INTERACTION, 201),
    ("marketer", "post", "/customers/{a}/identities", {"kind": "email", "value": "m@example.com"}, 403),
    ("agent", "delete", "/customers/{a}/identities/{identity}", None, 403),
    ("supervisor", "delete", "/customers/{a}/identities/{identity}", None, 403),
    ("admin_user", "delete", "/customers/{a}/identities/{identity}", None, 204),
    ("marketer", "post", "/customers/{a}/consents/grant", {"purpose": "surveys", "channel": "web"}, 201),
    ("marketer", "get", "/customers/{a}/timeline", None, 200),
    ("nobody", "get", "/customers", None, 403),
    ("nobody", "get", "/customers/{a}", None, 403),
    ("nobody", "get", "/customers/{a}/timeline", None, 403),
    ("nobody", "get", "/customers/{a}/consents", None, 403),
    ("nobody", "post", "/customers/{a}/consents/grant", {"purpose": "surveys", "channel": "web"}, 403),
    ("nobody", "get", "/customers/{a}/orders", None, 403),
    ("nobody", "get", "/customers/{a}/identities", None, 403),
    ("nobody", "get", "/customers/{a}/interactions", None, 403),
]


def _snapshot() -> dict:
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "identities": list(Identity.objects.order_by("pk").values_list("pk", "customer_id", "normalized")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "customer_id", "reference")),
        "interactions": Interaction.objects.count(),
        "consents": ConsentEvent.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _fill(value, ids: dict):
    if isinstance(value, str):
        formatted = value.format(**ids)
        return int(formatted) if value.startswith("{") and formatted.isdigit() else formatted
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize(("role", "method", "path", "body", "expected"), MATRIX)
def test_role_matrix(request, api_as, role, method, path, body, expected):
    # given two customers, one with an identity and an order
    a, b = CustomerFactory(), CustomerFactory()
    identity = IdentityFactory(customer=a, value="a@example.com")
    OrderFactory(customer=a, reference="R-0")
    ids = {"a": a.pk, "b": b.pk, "identity": identity.pk}
    client = api_as(request.getfixturevalue(role))
    before = _snapshot()
    # when the role calls the endpoint
    call = getattr(client, method)
    response = call(_fill(path, ids), _fill(body, ids)) if body is not None or method in ("post", "patch") else call(_fill(path, ids))
    # then it gets exactly the expected status, and a refusal leaves everything as it was
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["detail"][0]["type"] == "permission_denied"
        assert _snapshot() == before
