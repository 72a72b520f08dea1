"""Customers over the API: create, read, update, list/search, resolve, merge, GDPR."""

import datetime as dt
import io
import json
import zipfile

import pytest

from prevenance.api.tests.helpers import field_errors
from prevenance.core.choices import AuditKind
from prevenance.core.models import AuditEvent
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def test_create_customer_answers_201_with_the_cleaned_record(agent, api_as):
    # given an agent's key
    client = api_as(agent)
    # when they create a customer
    response = client.post("/customers", {"first_name": "  Élodie ", "last_name": "Martin", "country": "fr", "language": "en"})
    # then the record is stored cleaned and returned
    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert (customer.first_name, customer.last_name, customer.country, customer.language) == ("Élodie", "Martin", "FR", "en")
    assert body["display_name"] == "Élodie Martin"
    assert body["lifecycle_state"] == "prospect"


def test_create_customer_with_bad_fields_answers_422_per_field_and_writes_nothing(agent, api_as):
    client = api_as(agent)
    response = client.post("/customers", {"first_name": "x" * 101, "country": "France", "birth_date": "1850-01-01"})
    assert response.status_code == 422
    errors = field_errors(response)
    assert set(errors) == {"first_name", "country", "birth_date"}
    assert all(item["loc"][0] == "body" for item in response.json()["detail"])
    assert Customer.objects.count() == 0


def test_read_customer_follows_a_merged_id_to_its_survivor(agent, api_as):
    survivor = CustomerFactory(first_name="Anne")
    loser = CustomerFactory(merged_into=survivor)
    response = api_as(agent).get(f"/customers/{loser.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == survivor.pk
    assert response.json()["first_name"] == "Anne"


def test_patch_changes_only_the_fields_sent(agent, api_as):
    customer = CustomerFactory(first_name="Jean", last_name="Dupont", city="Lyon")
    response = api_as(agent).patch(f"/customers/{customer.pk}", {"city": "Nantes", "lifecycle_state": "active"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.city, customer.lifecycle_state) == ("Jean", "Dupont", "Nantes", "active")


def test_patch_refused_changes_nothing(agent, api_as):
    customer = CustomerFactory(city="Lyon", country="FR")
    response = api_as(agent).patch(f"/customers/{customer.pk}", {"city": "Nantes", "country": "123"})
    assert response.status_code == 422
    assert set(field_errors(response)) == {"country"}
    customer.refresh_from_db()
    assert (customer.city, customer.country) == ("Lyon", "FR")


def test_list_pages_through_every_customer_with_a_cursor(agent, api_as):
    # given 5 customers and one merged tombstone (never listed)
    customers = CustomerFactory.create_batch(5)
    CustomerFactory(merged_into=customers[0])
    client = api_as(agent)
    # when listing 2 at a time
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/customers", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # then every live customer comes once, newest first
    assert seen == sorted((c.pk for c in customers), reverse=True)
    assert pages == 3


def test_list_filters_by_lifecycle_language_country_and_kind(agent, api_as):
    match = CustomerFactory(lifecycle_state="active", language="en", country="GB", kind="person")
    CustomerFactory(lifecycle_state="active", language="fr", country="GB")
    CustomerFactory(lifecycle_state="lost", language="en", country="GB")
    CustomerFactory(lifecycle_state="active", language="en", country="FR")
    response = api_as(agent).get("/customers", {"lifecycle_state": "active", "language": "en", "country": "gb", "kind": "person"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [match.pk]


def test_search_finds_by_exact_email_and_by_name_prefix(agent, api_as):
    anne = CustomerFactory(first_name="Anne", last_name="Lemaire")
    IdentityFactory(customer=anne, value="anne.lemaire@example.com")
    CustomerFactory(first_name="Paul", last_name="Lemoine")
    client = api_as(agent)
    by_email = client.get("/customers", {"q": "Anne.Lemaire@Example.com"})
    by_prefix = client.get("/customers", {"q": "lemai"})
    assert [c["id"] for c in by_email.json()["items"]] == [anne.pk]
    assert [c["id"] for c in by_prefix.json()["items"]] == [anne.pk]
    assert by_prefix.json()["next_cursor"] is None


def test_resolve_creates_then_finds_the_same_customer(agent, api_as):
    client = api_as(agent)
    payload = {"identities": [{"kind": "email", "value": "Lea@Example.com"}], "hints": {"first_name": "Léa"}}
    first = client.post("/customers/resolve", payload)
    again = client.post("/customers/resolve", {"identities": [{"kind": "email", "value": "lea@example.com"}, {"kind": "phone", "value": "06 12 34 56 78"}]})
    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["created"] is True and again.json()["created"] is False
    assert first.json()["customer"]["id"] == again.json()["customer"]["id"]
    assert [i["normalized"] for i in again.json()["attached"]] == ["+33612345678"]
    assert Customer.objects.get().first_name == "Léa"


def test_resolve_identities_of_two_customers_answers_409_with_the_conflict(agent, api_as):
    one, two = CustomerFactory(), CustomerFactory()
    IdentityFactory(customer=one, value="a@example.com")
    IdentityFactory(customer=two, value="b@example.com")
    response = api_as(agent).post(
        "/customers/resolve", {"identities": [{"kind": "email", "value": "a@example.com"}, {"kind": "email", "value": "b@example.com"}]}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["detail"][0]["type"] == "identity_conflict"
    conflict = IdentityConflict.objects.get()
    assert body["conflict"]["id"] == conflict.pk
    assert {body["conflict"]["customer_a_id"], body["conflict"]["customer_b_id"]} == {one.pk, two.pk}
    assert Identity.objects.count() == 2


def test_resolve_with_an_invalid_identity_answers_422_and_creates_nothing(agent, api_as):
    response = api_as(agent).post("/customers/resolve", {"identities": [{"kind": "email", "value": "not-an-email"}]})
    assert response.status_code == 422
    assert "identities" in field_errors(response)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ({"kind": "email", "value": "not-an-email"}, (["body", "value"], "invalid_email")),
        ({"kind": "social", "value": "@lea", "network": "myspace"}, (["body", "network"], "invalid_network")),
    ],
)
def test_an_identity_refused_when_added_is_answered_on_its_field(agent, api_as, body, refusal):
    customer = CustomerFactory()

    response = api_as(agent).post(f"/customers/{customer.pk}/identities", body)

    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in response.json()["detail"]] == [refusal]
    assert not customer.identities.exists()


def test_merge_via_api_moves_everything_and_returns_the_survivor(supervisor, api_as):
    survivor, loser = CustomerFactory(birth_date=None), CustomerFactory(birth_date=dt.date(1980, 5, 1))
    IdentityFactory(customer=loser, value="loser@example.com")
    OrderFactory(customer=loser)
    response = api_as(supervisor).post(f"/customers/{survivor.pk}/merge", {"loser_id": loser.pk})
    assert response.status_code == 200
    assert response.json()["id"] == survivor.pk
    assert response.json()["birth_date"] == "1980-05-01"
    loser.refresh_from_db()
    assert loser.merged_into_id == survivor.pk
    assert list(survivor.identities.values_list("normalized", flat=True)) == ["loser@example.com"]
    assert survivor.orders.count() == 1
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_MERGED, actor=supervisor).count() == 1
    # merging the same pair again changes nothing and answers the survivor
    again = api_as(supervisor).post(f"/customers/{survivor.pk}/merge", {"loser_id": loser.pk})
    assert again.status_code == 200 and again.json()["id"] == survivor.pk
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_MERGED).count() == 1


def test_merge_with_itself_or_unknown_loser_is_refused(supervisor, api_as):
    customer = CustomerFactory()
    client = api_as(supervisor)
    assert client.post(f"/customers/{customer.pk}/merge", {"loser_id": customer.pk}).status_code == 422
    assert client.post(f"/customers/{customer.pk}/merge", {"loser_id": customer.pk + 1000}).status_code == 404
    assert client.post(f"/customers/{customer.pk}/merge", {"loser_id": 2**63}).status_code == 422
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.parametrize("case", ["itself", "already_merged", "erased"])
def test_a_refused_merge_points_at_loser_id_with_its_reason(supervisor, api_as, case):
    survivor = CustomerFactory()
    loser = {
        "itself": lambda: survivor,
        "already_merged": lambda: CustomerFactory(merged_into=CustomerFactory()),
        "erased": lambda: CustomerFactory(erased_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    }[case]()

    response = api_as(supervisor).post(f"/customers/{survivor.pk}/merge", {"loser_id": loser.pk})

    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in response.json()["detail"]] == [
        (["body", "loser_id"], {"itself": "merge_itself", "already_merged": "already_merged", "erased": "customer_erased"}[case]),
    ]


def test_gdpr_export_returns_everything_held_as_json(supervisor, api_as):
    customer = CustomerFactory(first_name="Inès")
    IdentityFactory(customer=customer, value="ines@example.com")
    response = api_as(supervisor).get(f"/customers/{customer.pk}/gdpr-export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["customer"]["first_name"] == "Inès"
    assert [row["normalized"] for row in body["customers.identity"]] == ["ines@example.com"]
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_EXPORTED, actor=supervisor, subject_id=str(customer.pk)).count() == 1


def test_gdpr_export_archive_is_a_zip_with_the_json(supervisor, api_as):
    customer = CustomerFactory(first_name="Inès")
    IdentityFactory(customer=customer, value="ines@example.com")
    response = api_as(supervisor).get(f"/customers/{customer.pk}/gdpr-export/archive")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        document = json.loads(archive.read("customer.json"))
    assert document["customer"]["first_name"] == "Inès"
    assert document["files"] == []
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_EXPORTED, actor=supervisor).count() == 1


def test_gdpr_export_archive_needs_the_export_permission(agent, api_as):
    customer = CustomerFactory()
    response = api_as(agent).get(f"/customers/{customer.pk}/gdpr-export/archive")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_EXPORTED).count() == 0


def test_gdpr_erase_leaves_no_personal_field(admin_user, api_as):
    customer = CustomerFactory(
        first_name="Inès", last_name="Roux", company_name="Roux SA", birth_date=dt.date(1990, 1, 2),
        address="3 rue des Lilas", postal_code="69001", city="Lyon",
    )
    IdentityFactory(customer=customer, value="ines@example.com")
    Interaction.objects.create(customer=customer, channel="email", direction="inbound", summary="Mon colis", body="secret")
    response = api_as(admin_user).post(f"/customers/{customer.pk}/gdpr-erase")
    assert response.status_code == 200
    body = response.json()
    assert body["erased_at"] is not None
    customer.refresh_from_db()
    assert [getattr(customer, f) for f in Customer.PERSONAL_FIELDS] == ["", "", "", None, "", "", ""]
    assert Identity.objects.count() == 0
    assert list(Interaction.objects.values_list("customer_id", "summary", "body")) == [(None, "", "")]
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_ERASED, actor=admin_user).count() == 1


def test_gdpr_erase_of_a_merged_id_is_refused_and_erases_nothing(admin_user, api_as):
    survivor = CustomerFactory(first_name="Kept")
    loser = CustomerFactory(merged_into=survivor)
    response = api_as(admin_user).post(f"/customers/{loser.pk}/gdpr-erase")
    assert response.status_code == 422
    survivor.refresh_from_db()
    assert survivor.first_name == "Kept" and survivor.erased_at is None
