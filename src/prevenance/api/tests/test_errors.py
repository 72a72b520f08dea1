"""Bad input of every sort gets a 4xx in the one error format, never a 500, and writes nothing."""

import base64
import json

import pytest
from django.utils import translation

from prevenance.api.errors import schema_message
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


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/cases", {"email": "a@example.com", "subject": "x", "customer": {"first_name": "x" * 101}}, ["body", "customer", "first_name"]),
        ("/cases", {"email": "a@example.com", "subject": "x", "customer": {"last_name": "x" * 101}}, ["body", "customer", "last_name"]),
        ("/cases", {"email": "a@example.com", "subject": "x", "customer": {"first_name": 12}}, ["body", "customer", "first_name"]),
        ("/customers/resolve", {"identities": [{"kind": "email", "value": "a@example.com"}], "hints": {"first_name": "x" * 101}},
         ["body", "hints", "first_name"]),
        ("/customers/resolve", {"identities": [{"kind": "email", "value": "a@example.com"}], "hints": {"birth_date": "2990-01-01"}},
         ["body", "hints", "birth_date"]),
        ("/customers", {"first_name": "x" * 101}, ["body", "first_name"]),  # a top-level field stays where it was
    ],
)
def test_a_refused_nested_field_is_reported_where_it_sits_in_the_body(supervisor, api_as, path, body, loc):
    response = api_as(supervisor).post(path, body)

    assert response.status_code == 422, response.content
    assert [item["loc"] for item in response.json()["detail"]] == [loc]
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


@pytest.mark.parametrize("path", ["/nothing-here", "/cases/1/nothing-here", "/customers/", "/"])
def test_unknown_paths_under_the_api_answer_404_in_the_error_format(agent, api_as, path):
    response = api_as(agent).get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": [{"loc": [], "msg": "Not found.", "type": "not_found"}]}


def test_a_method_the_endpoint_does_not_have_answers_405_in_the_error_format(agent, api_as):
    response = api_as(agent).client.put("/api/v1/cases/1", data="{}", content_type="application/json", headers={"Accept-Language": "fr"})

    assert response.status_code == 405
    _assert_error_format(response)
    assert response.json()["detail"][0]["type"] == "method_not_allowed"
    assert response.json()["detail"][0]["msg"] == "Ce chemin n’accepte pas PUT\xa0; il accepte GET, PATCH."
    assert sorted(response["Allow"].replace(" ", "").split(",")) == ["GET", "PATCH"]


def _fail_with_internals(*args, **kwargs):
    raise RuntimeError('relation "cases_case" at /srv/prevenance/db.py: claire@example.com')


def test_an_unhandled_exception_answers_500_in_the_error_format_and_is_logged(agent, api_as, settings, monkeypatch, caplog):
    settings.DEBUG = False
    monkeypatch.setattr("prevenance.cases.api.access_case", _fail_with_internals)
    client = api_as(agent).client
    client.raise_request_exception = False

    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/api/v1/cases/1")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response["Content-Length"] == str(len(response.content))
    assert response.json() == {"detail": [{"loc": [], "msg": "An unexpected error occurred on the server; it has been logged.", "type": "server_error"}]}
    assert b"cases_case" not in response.content and b"claire" not in response.content and b"Traceback" not in response.content
    [record] = [r for r in caplog.records if r.name == "django.request"]  # once, with the traceback
    assert record.levelname == "ERROR" and record.exc_info[0] is RuntimeError


def test_more_query_parameters_than_django_reads_answer_400_in_the_error_format(agent, api_as, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = api_as(agent).client.get("/api/v1/cases?" + "&".join(f"x{i}=1" for i in range(11)))

    assert response.status_code == 400
    assert response.json() == {"detail": [{"loc": [], "msg": "This request is malformed: it was not read.", "type": "bad_request"}]}


@pytest.mark.parametrize("query", ["status=open&status=new", "limit=5&limit=50", "q=a&q=b"])
def test_a_parameter_given_twice_is_refused_not_read_as_its_last_value(agent, api_as, query):
    path = "/customers" if query.startswith("q=") else "/cases"
    response = api_as(agent).client.get(f"/api/v1{path}?{query}")

    assert response.status_code == 422
    key = query.split("=")[0]
    assert response.json() == {"detail": [
        {"loc": ["query", key], "msg": "Give this parameter once: it takes one value.", "type": "repeated_parameter"},
    ]}


def test_a_web_page_that_does_not_exist_is_still_a_page(client):
    response = client.get("/nothing-here/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_request_over_the_size_limit_answers_413_in_the_error_format(supervisor, api_as, settings, idempotency_key):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    headers = {"Accept-Language": "fr", **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}

    response = api_as(supervisor).client.post(
        "/api/v1/customers", data=json.dumps({"first_name": "x" * 1000}), content_type="application/json", headers=headers,
    )

    assert response.status_code == 413
    assert response.json() == {"detail": [{
        "loc": ["body"], "type": "request_too_large",
        "msg": "La requête dépasse 1000\xa0octets, le maximum accepté par ce serveur\xa0: envoyez les fichiers en plusieurs requêtes.",
    }]}
    assert Customer.objects.count() == 0


# pydantic's messages, by error type: English as pydantic says it, French under Accept-Language: fr.
SCHEMA_ERRORS = [
    ("/customers", {"first_name": 123}, "first_name", "string_type", "Input should be a valid string", "La valeur doit être du texte"),
    ("/customers", {"lifecycle_state": "zombie"}, "lifecycle_state", "enum", None, None),
    ("/customers", {"birth_date": "yesterday"}, "birth_date", "date_from_datetime_parsing", None, None),
    ("/cases", {"email": "a@example.com", "subject": "x" * 10_001}, "subject", "string_too_long",
     "String should have at most 10000 characters", "Le texte doit faire au plus 10000 caractères"),
    ("/cases", {"email": "a@example.com", "team_id": 0}, "team_id", "greater_than_equal",
     "Input should be greater than or equal to 1", "La valeur doit être supérieure ou égale à 1"),
    ("/cases", {"email": "a@example.com", "team_id": "two"}, "team_id", "int_parsing", None, None),
    ("/cases", {"email": "a@example.com", "identities": [{"value": "x"}]}, "kind", "missing", "Field required", "Champ obligatoire"),
]


@pytest.mark.parametrize(("path", "body", "field", "kind", "english", "french"), SCHEMA_ERRORS)
def test_schema_errors_speak_the_requests_language(agent, api_as, path, body, field, kind, english, french):
    client = api_as(agent).client

    def msg(language):
        response = client.post("/api/v1" + path, data=json.dumps(body), content_type="application/json", headers={"Accept-Language": language})
        assert response.status_code == 422
        [item] = [item for item in response.json()["detail"] if item["loc"][-1] == field]
        assert item["type"] == kind
        return item["msg"]

    en, fr = msg("en"), msg("fr")
    assert en != fr
    if english is not None:
        assert (en, fr) == (english, french)


def test_an_enumeration_error_lists_the_values_with_the_requests_or(agent, api_as):
    body = json.dumps({"email": "a@example.com", "subject": "x", "type": "rant"})

    en, fr = (
        api_as(agent).client.post("/api/v1/cases", data=body, content_type="application/json", headers={"Accept-Language": language})
        .json()["detail"][0]["msg"]
        for language in ("en", "fr")
    )

    assert en.startswith("Input should be 'question', ") and en.endswith(" or 'incident'"), en
    assert fr.startswith("La valeur doit être 'question', ") and fr.endswith(" ou 'incident'"), fr


@pytest.mark.parametrize(
    ("error", "english"),
    [
        ({"type": "missing", "msg": "Field required"}, "Field required"),
        ({"type": "int_parsing", "msg": "x"}, "Input should be a valid integer, unable to parse string as an integer"),
        ({"type": "less_than_equal", "ctx": {"le": 100}, "msg": "x"}, "Input should be less than or equal to 100"),
        ({"type": "greater_than_equal", "ctx": {"ge": 1}, "msg": "x"}, "Input should be greater than or equal to 1"),
        ({"type": "string_too_long", "ctx": {"max_length": 1}, "msg": "x"}, "String should have at most 1 character"),
        ({"type": "too_long", "ctx": {"max_length": 20, "actual_length": 21}, "msg": "x"}, "List should have at most 20 items after validation, not 21"),
        ({"type": "literal_error", "ctx": {"expected": "'reply', 'note' or 'inbound'"}, "msg": "x"}, "Input should be 'reply', 'note' or 'inbound'"),
        ({"type": "less_than_equal", "ctx": {}, "msg": "pydantic's own"}, "pydantic's own"),  # ctx not as expected
        ({"type": "some_new_type", "msg": "pydantic's own"}, "pydantic's own"),
    ],
)
def test_schema_messages_are_filled_from_the_errors_ctx(error, english):
    with translation.override("en"):
        assert schema_message(error) == english


def test_openapi_schema_lists_the_endpoints_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert {"/api/v1/customers", "/api/v1/customers/{customer_id}/timeline", "/api/v1/customers/resolve"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}


def test_openapi_schema_declares_every_error_an_operation_answers(client):
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}

    operations = [(method, path, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) > 40
    for method, path, operation in operations:
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "422", "500"} | ({"413"} if method in ("post", "patch") else set())
        for status in expected:
            assert responses.get(status, {}).get("content", {}).get("application/json", {}).get("schema") == error_ref, (method, path, status)
        assert "405" not in responses  # a path's answer to a method it lacks, no operation's
    assert "409" in schema["paths"]["/api/v1/customers/resolve"]["post"]["responses"]


def test_docs_page_loads_only_local_assets(client, settings):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert '"validatorUrl": null' in html
