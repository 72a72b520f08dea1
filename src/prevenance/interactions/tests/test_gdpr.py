import pytest
from django.core.exceptions import ValidationError

from prevenance.core.choices import AuditKind, Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import ConsentPurpose
from prevenance.customers.models import ConsentEvent, Customer, Identity, Order
from prevenance.customers.services import (
    IdentityInput,
    erase_customer,
    export_customer_data,
    grant_consent,
    merge_customers,
    resolve_customer,
)
from prevenance.customers.tests.factories import CustomerFactory, OrderFactory
from prevenance.interactions.choices import Direction
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import record_interaction


def rich_customer():
    customer = resolve_customer(
        identities=[IdentityInput("email", "jeanne.martin@example.fr"), IdentityInput("phone", "0611223344")],
        hints={"first_name": "Jeanne", "last_name": "Martin", "birth_date": "1975-04-12", "address": "3 rue des Lilas",
               "postal_code": "69003", "city": "Lyon", "country": "FR"},
        channel=Channel.STORE,
    ).customer
    grant_consent(customer=customer, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.STORE, method="paper")
    order = OrderFactory(customer=customer)
    record_interaction(customer=customer, channel=Channel.PHONE, direction=Direction.INBOUND,
                       summary="Jeanne asks about her sofa delivery", body="Call me on 06 11 22 33 44", order=order)
    return customer


@pytest.mark.django_db
def test_export_holds_everything_about_the_person(supervisor):
    customer = rich_customer()
    twin = CustomerFactory(first_name="J.", last_name="Martin")
    merge_customers(survivor=customer, loser=twin)
    document = export_customer_data(customer=customer, actor=supervisor)
    assert document["customer"]["first_name"] == "Jeanne"
    assert document["merged_records"][0]["first_name"] == "J."
    assert {i["normalized"] for i in document["customers.identity"]} == {"jeanne.martin@example.fr", "+33611223344"}
    assert document["customers.consentevent"][0]["purpose"] == "marketing_sms"
    assert document["customers.order"][0]["amount"] == "49.90"
    assert document["interactions.interaction"][0]["summary"] == "Jeanne asks about her sofa delivery"
    assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_EXPORTED, actor=supervisor).count() == 1


@pytest.mark.django_db
def test_erase_leaves_no_personal_field_behind(admin_user):
    customer = rich_customer()
    twin = CustomerFactory(first_name="Jeanne", last_name="Martin", city="Lyon")
    merge_customers(survivor=customer, loser=twin)
    erase_customer(customer=customer, actor=admin_user)

    for record in Customer.objects.filter(pk__in=[customer.pk, twin.pk]):
        assert record.erased_at is not None
        for field in Customer.PERSONAL_FIELDS:
            assert getattr(record, field) in ("", None), field
        assert record.sort_key == "" and record.alt_key == ""
    assert Identity.objects.count() == 0
    interaction = Interaction.objects.get()
    assert (interaction.customer_id, interaction.summary, interaction.body) == (None, "", "")
    assert interaction.channel == Channel.PHONE  # aggregates still count it
    assert Order.objects.get().customer_id is None
    proof = ConsentEvent.objects.get()
    assert proof.customer_id is None and len(proof.subject_digest) == 64
    audit = AuditEvent.objects.get(kind=AuditKind.CUSTOMER_ERASED)
    assert audit.actor == admin_user
    assert "Jeanne" not in str(audit.payload) and "Martin" not in str(audit.payload)
    # Nothing of hers is findable any more.
    everything = " ".join(str(v) for v in Customer.objects.values().get(pk=customer.pk).values())
    assert "Jeanne" not in everything and "Lyon" not in everything


@pytest.mark.django_db
def test_erased_customer_is_frozen():
    customer = rich_customer()
    erase_customer(customer=customer)
    with pytest.raises(ValidationError):
        grant_consent(customer=customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.WEB)
    with pytest.raises(ValidationError):
        merge_customers(survivor=CustomerFactory(), loser=customer)
    # The same contact coming back later is a new, unrelated record.
    again = resolve_customer(identities=[IdentityInput("email", "jeanne.martin@example.fr")])
    assert again.created and again.customer.pk != customer.pk
