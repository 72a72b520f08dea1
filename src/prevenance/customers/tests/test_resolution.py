import pytest
from django.core.exceptions import ValidationError

from prevenance.core.choices import AuditKind, Channel
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.choices import ConflictStatus, IdentityKind
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.customers.services import IdentityInput, merge_customers, resolve_customer
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory

EMAIL = IdentityKind.EMAIL
PHONE = IdentityKind.PHONE


@pytest.mark.django_db
class TestResolveCustomer:
    def test_creates_customer_with_normalised_identities(self):
        result = resolve_customer(
            identities=[IdentityInput(EMAIL, "  Marie.Curie@Example.COM "), IdentityInput(PHONE, "06 12 34 56 78")],
            hints={"first_name": "Marie", "last_name": "Curie", "language": "fr"},
            channel=Channel.EMAIL,
        )
        assert result.created is True
        assert result.customer.first_name == "Marie"
        stored = dict(Identity.objects.filter(customer=result.customer).values_list("kind", "normalized"))
        assert stored == {"email": "marie.curie@example.com", "phone": "+33612345678"}

    def test_finds_existing_customer_and_attaches_new_identity(self):
        first = resolve_customer(identities=[IdentityInput(EMAIL, "jo@example.com")])
        second = resolve_customer(
            identities=[IdentityInput(EMAIL, "JO@example.com"), IdentityInput(PHONE, "+44 20 7946 0958")],
            hints={"first_name": "Jo"},
        )
        assert second.created is False
        assert second.customer.pk == first.customer.pk
        assert [i.normalized for i in second.attached] == ["+442079460958"]
        assert Customer.objects.get(pk=first.customer.pk).first_name == "Jo"  # blank field completed
        assert Customer.objects.count() == 1

    def test_known_fields_are_not_overwritten_by_hints(self):
        first = resolve_customer(identities=[IdentityInput(EMAIL, "a@example.com")], hints={"first_name": "Anne"})
        resolve_customer(identities=[IdentityInput(EMAIL, "a@example.com")], hints={"first_name": "Annie"})
        first.customer.refresh_from_db()
        assert first.customer.first_name == "Anne"

    def test_identities_of_two_customers_open_one_conflict_and_guess_nothing(self):
        a = IdentityFactory(kind=EMAIL, value="a@example.com").customer
        b = IdentityFactory(kind=PHONE, value="+33612345678", normalized="+33612345678").customer
        for _ in range(2):
            result = resolve_customer(identities=[IdentityInput(EMAIL, "a@example.com"), IdentityInput(PHONE, "0612345678")])
            assert result.is_conflict and result.customer is None
        conflict = IdentityConflict.objects.get()
        assert (conflict.customer_a_id, conflict.customer_b_id) == tuple(sorted((a.pk, b.pk)))
        assert Identity.objects.count() == 2  # nothing attached while undecided

    @pytest.mark.parametrize(
        ("kind", "value"),
        [(EMAIL, "not-an-email"), (PHONE, "12"), (PHONE, "06 12"), ("fax", "0102030405"), (EMAIL, "x" * 300 + "@a.fr")],
    )
    def test_bad_identity_is_refused_and_nothing_written(self, kind, value):
        with pytest.raises(ValidationError) as info:
            resolve_customer(identities=[IdentityInput(kind, value)])
        assert "identities" in info.value.message_dict
        assert Customer.objects.count() == 0

    def test_bad_hint_is_refused(self):
        with pytest.raises(ValidationError) as info:
            resolve_customer(identities=[IdentityInput(EMAIL, "ok@example.com")], hints={"language": "klingon", "shoe": 4})
        assert set(info.value.message_dict) == {"language", "__all__"}
        assert Customer.objects.count() == 0

    def test_html_in_names_is_stored_as_text(self):
        result = resolve_customer(identities=[IdentityInput(EMAIL, "x@example.com")], hints={"first_name": "<script>alert(1)</script>"})
        assert result.customer.first_name == "<script>alert(1)</script>"

    def test_social_handle_is_unique_per_network(self):
        a = resolve_customer(identities=[IdentityInput(IdentityKind.SOCIAL, "@Marie", network="twitter")])
        b = resolve_customer(identities=[IdentityInput(IdentityKind.SOCIAL, "marie", network="instagram")])
        c = resolve_customer(identities=[IdentityInput(IdentityKind.SOCIAL, "MARIE", network="twitter")])
        assert a.customer.pk != b.customer.pk
        assert c.customer.pk == a.customer.pk


@pytest.mark.django_db
class TestMerge:
    def test_moves_everything_and_records_who_did_it(self, supervisor):
        survivor = IdentityFactory(value="keep@example.com").customer
        loser = IdentityFactory(value="old@example.com", customer=CustomerFactory(birth_date="1980-02-03")).customer
        order = OrderFactory(customer=loser)
        merge_customers(survivor=survivor, loser=loser, actor=supervisor)
        loser.refresh_from_db()
        survivor.refresh_from_db()
        assert loser.merged_into_id == survivor.pk
        assert set(survivor.identities.values_list("normalized", flat=True)) == {"keep@example.com", "old@example.com"}
        order.refresh_from_db()
        assert order.customer_id == survivor.pk
        assert str(survivor.birth_date) == "1980-02-03"  # a blank field completed from the loser
        audit = AuditEvent.objects.get(kind=AuditKind.CUSTOMER_MERGED)
        assert audit.actor == supervisor and audit.payload["loser"] == loser.pk

    def test_is_idempotent(self):
        survivor, loser = CustomerFactory(), CustomerFactory()
        merge_customers(survivor=survivor, loser=loser)
        merge_customers(survivor=survivor, loser=loser)
        assert AuditEvent.objects.filter(kind=AuditKind.CUSTOMER_MERGED).count() == 1

    def test_refuses_self_and_chained_merges(self):
        a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
        with pytest.raises(ValidationError):
            merge_customers(survivor=a, loser=a)
        merge_customers(survivor=a, loser=b)
        with pytest.raises(ValidationError):
            merge_customers(survivor=c, loser=b)

    def test_settles_the_conflict_between_the_pair(self):
        a = IdentityFactory(kind=EMAIL, value="a@example.com").customer
        b = IdentityFactory(kind=EMAIL, value="b@example.com").customer
        resolve_customer(identities=[IdentityInput(EMAIL, "a@example.com"), IdentityInput(EMAIL, "b@example.com")])
        merge_customers(survivor=a, loser=b)
        assert IdentityConflict.objects.get().status == ConflictStatus.MERGED
        again = resolve_customer(identities=[IdentityInput(EMAIL, "a@example.com"), IdentityInput(EMAIL, "b@example.com")])
        assert again.customer.pk == a.pk


@pytest.mark.django_db(transaction=True)
def test_merge_under_concurrent_intake_loses_nothing():
    """Threads resolve contacts of the loser while it is merged: every identity ends on the survivor."""
    survivor = IdentityFactory(value="survivor@example.com").customer
    loser = IdentityFactory(value="loser@example.com").customer

    def intake(n: int):
        return lambda: [
            resolve_customer(identities=[IdentityInput(EMAIL, "loser@example.com"), IdentityInput(EMAIL, f"new{n}-{i}@example.com")])
            for i in range(10)
        ]

    _results, errors = run_concurrently(*(intake(n) for n in range(4)), lambda: merge_customers(survivor=survivor, loser=loser))
    assert errors == []
    assert Identity.objects.count() == 2 + 40
    assert set(Identity.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_contacts_create_one_customer():
    def first_contact():
        return resolve_customer(identities=[IdentityInput(EMAIL, "same@example.com")]).customer.pk

    ids, errors = run_concurrently(*[first_contact] * 4)
    assert errors == []
    assert len(set(ids)) == 1
    assert Identity.objects.filter(normalized="same@example.com").count() == 1
