"""Bad input of every sort gets a 4xx in the one error format, never a 500, and writes nothing."""

import base64
import json

import pytest

from prevenance.api.tests.helpers import field_errors
from prevenance.customers.models import Customer, Order
from prevenance.customers.tests.factories import CustomerFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def _assert_error_format(response):
    body = response.json()
    assert list(body) == ["detail"]
    assert body["detail"] and all(set(item) == {"loc", "msg", "type"} for item in body["detail"])


def test_malformed_json_answers_400_in_the_error_format(agent, api_as):
    response = api_as(agent).post("/customers", raw='{"first_name": "A",')
    assert response.status_code == 400
    _assert_error_format(response)
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": 123}, "first_name"),
        ({"first_name": ["A"]}, "first_name"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"lifecycle_state": "zombie"}, "lifecycle_state"),
        ({"kind": "robot"}, "kind"),
        ({"language": "de"}, "language"),
        ({"first_name": "x" * 200_000}, "first_name"),
        ({"city": "Ly\x00on"}, "city"),
        ({"city": "\ud800"}, "city"),
    ],
)
def test_wrong_types_unknown_enums_huge_and_unstorable_strings_answer_422(agent, api_as, body, field):
    response = api_as(agent).post("/customers", body)
    assert response.status_code == 422, response.content
    _assert_error_format(response)
    assert field in field_errors(response)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "42", "null"])
def test_a_body_that_is_not_a_json_object_answers_422(agent, api_as, raw):
    response = api_as(agent).post("/customers", raw=raw)
    assert response.status_code == 422
    _assert_error_format(response)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("customer_id", ["abc", "1.5", "0x10", "%00"])
def test_non_numeric_ids_answer_422(agent, api_as, customer_id):
    response = api_as(agent).get(f"/customers/{customer_id}")
    assert response.status_code == 422
    _assert_error_format(response)
    assert response.json()["detail"][0]["loc"] == ["path", "customer_id"]


@pytest.mark.parametrize("customer_id", ["0", "-1", "999999", str(2**63), str(2**64 + 1), "9" * 40])
def test_unknown_and_out_of_range_ids_answer_404(agent, api_as, customer_id):
    CustomerFactory()
    for path in (f"/customers/{customer_id}", f"/customers/{customer_id}/timeline", f"/customers/{customer_id}/orders"):
        response = api_as(agent).get(path)
        assert response.status_code == 404, (path, response.content)
        _assert_error_format(response)


def test_out_of_range_identity_id_answers_404(admin_user, api_as):
    customer = CustomerFactory()
    response = api_as(admin_user).delete(f"/customers/{customer.pk}/identities/{2**70}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64",
        "abc",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["x"]').decode(),
        base64.urlsafe_b64encode(b"[1, 2, 3, 4]").decode(),
        "A" * 400,
    ],
)
@pytest.mark.parametrize("path", ["/customers", "/customers/{id}/timeline", "/customers/{id}/interactions", "/customers/{id}/orders"])
def test_bad_cursors_answer_422(agent, api_as, cursor, path):
    customer = CustomerFactory()
    response = api_as(agent).get(path.format(id=customer.pk), {"cursor": cursor})
    assert response.status_code == 422, response.content
    _assert_error_format(response)
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_cursor_longer_than_allowed_answers_422(agent, api_as):
    response = api_as(agent).get("/customers", {"cursor": "A" * 501})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "many"}, {"lifecycle_state": "zombie"}, {"q": "x" * 201}, {"q": "a\x00b"}])
def test_bad_query_parameters_answer_422(agent, api_as, params):
    response = api_as(agent).get("/customers", params)
    assert response.status_code == 422
    _assert_error_format(response)
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_timeline_with_an_unknown_channel_answers_422(agent, api_as):
    customer = CustomerFactory()
    response = api_as(agent).get(f"/customers/{customer.pk}/timeline", {"channel": "carrier-pigeon"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "channel"]


@pytest.mark.parametrize(
    "order",
    [
        {"reference": "R\x00", "ordered_at": "2026-01-01T00:00:00Z", "amount": 1},
        {"reference": "R1", "ordered_at": "not a date", "amount": 1},
        {"reference": "R1", "ordered_at": "2026-01-01T00:00:00Z", "amount": "1e400"},
        {"reference": "R1", "ordered_at": "2026-01-01T00:00:00Z", "amount": 1, "items_count": 10**30},
        {"reference": "R1", "ordered_at": "2026-01-01T00:00:00Z", "amount": 1, "status": "lost-in-space"},
        {"reference": "x" * 65, "ordered_at": "2026-01-01T00:00:00Z", "amount": 1},
        {"ordered_at": "2026-01-01T00:00:00Z", "amount": 1},
    ],
)
def test_bad_orders_answer_422_and_write_nothing(supervisor, api_as, order):
    customer = CustomerFactory()
    response = api_as(supervisor).post(f"/customers/{customer.pk}/orders", order)
    assert response.status_code == 422, response.content
    _assert_error_format(response)
    assert Order.objects.count() == 0


def test_nan_amount_is_refused(supervisor, api_as):
    customer = CustomerFactory()
    raw = '{"reference": "R1", "ordered_at": "2026-01-01T00:00:00Z", "amount": NaN}'
    response = api_as(supervisor).post(f"/customers/{customer.pk}/orders", raw=raw)
    assert response.status_code == 422
    assert field_errors(response).keys() == {"amount"}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "email", "direction": "sideways", "summary": "x"},
        {"channel": "email", "direction": "inbound", "summary": ""},
        {"channel": "email", "direction": "inbound", "summary": "x" * 300},
        {"channel": "email", "direction": "inbound", "summary": "x", "body": "\x00"},
        {"channel": "email", "direction": "inbound", "summary": "x", "order_id": 2**64},
        {"direction": "inbound", "summary": "x"},
    ],
)
def test_bad_interactions_answer_422_and_write_nothing(agent, api_as, body):
    customer = CustomerFactory()
    response = api_as(agent).post(f"/customers/{customer.pk}/interactions", body)
    assert response.status_code == 422, response.content
    _assert_error_format(response)
    assert Interaction.objects.count() == 0


def test_unknown_paths_under_the_api_are_not_500(agent, api_as):
    assert api_as(agent).get("/nothing-here").status_code == 404


def test_openapi_schema_lists_the_endpoints_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert {"/api/v1/customers", "/api/v1/customers/{customer_id}/timeline", "/api/v1/customers/resolve"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}


def test_docs_page_loads_only_local_assets(client, settings):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert '"validatorUrl": null' in html
