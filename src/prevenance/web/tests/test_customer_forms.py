"""Forms: good input calls the service; bad input re-renders with the field error and writes nothing."""

import io
import json
import zipfile

import pytest
from django.core import mail
from django.urls import reverse

from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import ConflictStatus, ConsentAction, ConsentPurpose
from prevenance.customers.models import ConsentEvent, Customer, Identity, IdentityConflict
from prevenance.customers.services import ensure_consent_wording, grant_consent
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory

pytestmark = pytest.mark.django_db

PROFILE = {
    "kind": "person", "first_name": "Camille", "last_name": "Martin", "company_name": "", "language": "en",
    "birth_date": "1985-04-12", "address": "3 rue Neuve", "postal_code": "69002", "city": "Lyon",
    "country": "fr", "lifecycle_state": "active",
}


def _snapshot(customer: Customer) -> dict:
    customer.refresh_from_db()
    return {f: getattr(customer, f) for f in ("first_name", "last_name", "language", "birth_date", "country", "lifecycle_state")}


class TestEditProfile:
    def test_valid_form_updates_and_redirects(self, login, agent, known_customer):
        client = login(agent)

        response = client.post(reverse("web:customer_edit", args=[known_customer.pk]), PROFILE)

        assert response.status_code == 302
        assert response["Location"] == reverse("web:customer", args=[known_customer.pk])
        snap = _snapshot(known_customer)
        assert (snap["last_name"], snap["language"], str(snap["birth_date"]), snap["country"], snap["lifecycle_state"]) == (
            "Martin", "en", "1985-04-12", "FR", "active")

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("birth_date", "1850-01-01", "A birth date must be between 1900 and today."),
            ("birth_date", "not a date", "Enter a valid date."),
            ("country", "FRA", "Ensure this value has at most 2 characters (it has 3)."),
            ("country", "F1", "Use a two-letter ISO country code such as FR or GB."),
            ("lifecycle_state", "vip", "Select a valid choice. vip is not one of the available choices."),
        ],
    )
    def test_bad_input_shows_the_field_error_and_writes_nothing(self, login, agent, known_customer, field, value, message):
        client = login(agent)
        before = _snapshot(known_customer)

        response = client.post(reverse("web:customer_edit", args=[known_customer.pk]), {**PROFILE, field: value})

        assert response.status_code == 400
        assert response.context["form"].errors[field] == [message]
        assert f'id="id_{field}-error"' in response.content.decode()
        assert _snapshot(known_customer) == before

    def test_the_form_is_prefilled(self, login, agent, known_customer):
        client = login(agent)

        response = client.get(reverse("web:customer_edit", args=[known_customer.pk]))

        assert response.context["form"]["last_name"].value() == "Durand"
        assert 'value="Durand"' in response.content.decode()


class TestConsentForm:
    def test_agent_records_a_verbal_sms_grant_with_the_wording_in_force(self, login, agent, known_customer):
        wording = ensure_consent_wording(purpose=ConsentPurpose.MARKETING_SMS, language="fr", text="Offres par SMS, oui.")
        client = login(agent)

        response = client.post(reverse("web:customer_consent", args=[known_customer.pk]),
                               {"action": "grant", "purpose": "marketing_sms", "channel": "phone", "method": "verbal", "source": "call"})

        assert response.status_code == 302
        event = ConsentEvent.objects.get(customer=known_customer)
        assert (event.purpose, event.action, event.method, event.channel, event.wording, event.recorded_by) == (
            "marketing_sms", ConsentAction.GRANTED, "verbal", "phone", wording, agent)

    def test_an_email_grant_asks_for_double_opt_in(self, login, agent, known_customer):
        client = login(agent)

        client.post(reverse("web:customer_consent", args=[known_customer.pk]),
                    {"action": "grant", "purpose": "marketing_email", "channel": "phone", "method": "verbal"})

        event = ConsentEvent.objects.get(customer=known_customer)
        assert event.action == ConsentAction.REQUESTED

    def test_a_withdrawal(self, login, marketer, known_customer):
        client = login(marketer)

        client.post(reverse("web:customer_consent", args=[known_customer.pk]),
                    {"action": "withdraw", "purpose": "surveys", "channel": "email", "method": "checkbox"})

        assert list(ConsentEvent.objects.filter(customer=known_customer).values_list("purpose", "action")) == [
            ("surveys", ConsentAction.WITHDRAWN)]

    def test_an_unknown_purpose_is_refused_and_nothing_is_written(self, login, agent, known_customer):
        client = login(agent)

        response = client.post(reverse("web:customer_consent", args=[known_customer.pk]),
                               {"action": "grant", "purpose": "spam", "channel": "phone", "method": "verbal"})

        assert response.status_code == 400
        assert response.context["consent_form"].errors["purpose"] == ["Select a valid choice. spam is not one of the available choices."]
        assert ConsentEvent.objects.count() == 0


class TestGdpr:
    def test_export_downloads_everything_as_a_zip(self, login, supervisor, known_customer):
        client = login(supervisor)

        response = client.post(reverse("web:customer_export", args=[known_customer.pk]))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == f'attachment; filename="customer-{known_customer.pk}.zip"'
        with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
            assert archive.namelist() == ["customer.json"]  # no file held about this customer
            document = json.loads(archive.read("customer.json"))
        assert document["customer"]["last_name"] == "Durand"
        assert sorted(i["normalized"] for i in document["customers.identity"]) == ["CARD0042", "camille.durand@example.com"]
        assert AuditEvent.objects.filter(kind="customer.exported", actor=supervisor).count() == 1

    def test_export_by_get_is_refused(self, login, supervisor, known_customer):
        client = login(supervisor)

        response = client.get(reverse("web:customer_export", args=[known_customer.pk]))

        assert response.status_code == 405
        assert AuditEvent.objects.count() == 0

    def test_erase_needs_the_customer_number_typed(self, login, admin_user, known_customer):
        client = login(admin_user)

        response = client.post(reverse("web:customer_erase", args=[known_customer.pk]), {"confirm": str(known_customer.pk + 1)})

        assert response.status_code == 400
        assert response.context["form"].errors["confirm"] == [f"This is not the number of this customer ({known_customer.pk})."]
        known_customer.refresh_from_db()
        assert (known_customer.erased_at, known_customer.last_name) == (None, "Durand")
        assert Identity.objects.filter(customer=known_customer).count() == 2

    def test_erase_after_confirmation(self, login, admin_user, known_customer):
        client = login(admin_user)
        confirm_page = client.get(reverse("web:customer_erase", args=[known_customer.pk]))
        assert "This cannot be undone." in confirm_page.content.decode()

        response = client.post(reverse("web:customer_erase", args=[known_customer.pk]), {"confirm": f"#{known_customer.pk}"})

        assert response.status_code == 302
        known_customer.refresh_from_db()
        assert known_customer.erased_at is not None
        assert (known_customer.first_name, known_customer.last_name) == ("", "")
        assert Identity.objects.filter(customer=known_customer).count() == 0
        page = client.get(reverse("web:customer", args=[known_customer.pk])).content.decode()
        assert "Erased (GDPR)" in page
        assert "camille.durand@example.com" not in page


class TestMergeAndConflicts:
    @pytest.fixture
    def conflict(self, db):
        first = CustomerFactory(first_name="Léa", last_name="Petit")
        second = CustomerFactory(first_name="Lea", last_name="Petit", city="")
        IdentityFactory(customer=first, value="lea@example.com")
        IdentityFactory(customer=second, value="lea.petit@example.com")
        OrderFactory(customer=second)
        OrderFactory(customer=second)
        return IdentityConflict.objects.create(customer_a=first, customer_b=second,
                                               identities=[{"kind": "email", "value": "lea@example.com"}], channel="email")

    def test_queue_lists_open_conflicts_with_links(self, login, supervisor, conflict):
        client = login(supervisor)

        body = client.get(reverse("web:conflicts")).content.decode()

        assert reverse("web:customer_merge", args=[conflict.customer_a_id, conflict.customer_b_id]) in body
        assert reverse("web:conflict_dismiss", args=[conflict.pk]) in body
        assert '<span class="identity-kind">Email</span> <span class="identity-value">lea@example.com</span>' in body
        assert "email:" not in body

    def test_queue_names_the_identities_in_the_readers_language_and_phones_as_people_read_them(self, login, supervisor, conflict):
        conflict.identities = [{"kind": "email", "value": "lea@xn--exmple-cua.com"}, {"kind": "phone", "value": "+33199000034"},
                               {"kind": "phone", "value": "+442079460958"}, {"kind": "loyalty_card", "value": "MP00115225"}]
        conflict.save(update_fields=["identities"])
        client = login(supervisor)

        english = client.get(reverse("web:conflicts"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert '<span class="identity-kind">Phone</span> <span class="identity-value">01 99 00 00 34</span>' in english
        assert '<span class="identity-value">+44 20 7946 0958</span>' in english  # another country's: international
        assert '<span class="identity-value">lea@exämple.com</span>' in english
        assert '<span class="identity-kind">Loyalty card</span> <span class="identity-value">MP00115225</span>' in english
        assert "+33199000034" not in english and "phone:" not in english
        french = client.get(reverse("web:conflicts"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert '<span class="identity-kind">Téléphone</span> <span class="identity-value">01 99 00 00 34</span>' in french
        assert '<span class="identity-kind">E-mail</span>' in french

    def test_merge_screen_shows_both_records_side_by_side(self, login, supervisor, conflict):
        client = login(supervisor)

        response = client.get(reverse("web:customer_merge", args=[conflict.customer_a_id, conflict.customer_b_id]))

        sides = response.context["sides"]
        assert [(s.customer.pk, s.orders, s.interactions, [i.normalized for i in s.identities]) for s in sides] == [
            (conflict.customer_a_id, 0, 0, ["lea@example.com"]),
            (conflict.customer_b_id, 2, 0, ["lea.petit@example.com"]),
        ]
        assert response.content.decode().count('name="survivor"') == 2

    def test_merging_keeps_the_chosen_record(self, login, supervisor, conflict):
        client = login(supervisor)

        response = client.post(reverse("web:customer_merge", args=[conflict.customer_a_id, conflict.customer_b_id]),
                               {"survivor": conflict.customer_b_id})

        assert response.status_code == 302
        assert response["Location"] == reverse("web:customer", args=[conflict.customer_b_id])
        loser = Customer.objects.get(pk=conflict.customer_a_id)
        assert loser.merged_into_id == conflict.customer_b_id
        assert Identity.objects.filter(customer_id=conflict.customer_b_id).count() == 2
        conflict.refresh_from_db()
        assert conflict.status == ConflictStatus.MERGED

    def test_a_survivor_outside_the_pair_is_refused(self, login, supervisor, conflict):
        stranger = CustomerFactory()
        client = login(supervisor)

        response = client.post(reverse("web:customer_merge", args=[conflict.customer_a_id, conflict.customer_b_id]),
                               {"survivor": stranger.pk})

        assert response.status_code == 400
        assert response.context["form"].errors["survivor"] == ["Choose one of the two records."]
        assert Customer.objects.filter(merged_into__isnull=False).count() == 0

    def test_merging_a_record_with_itself_shows_the_service_error(self, login, supervisor, conflict):
        client = login(supervisor)
        pk = conflict.customer_a_id

        response = client.post(reverse("web:customer_merge", args=[pk, pk]), {"survivor": pk})

        assert response.status_code == 400
        assert "A customer cannot be merged with itself." in response.content.decode()
        assert Customer.objects.filter(merged_into__isnull=False).count() == 0

    def test_dismiss_closes_the_conflict_without_merging(self, login, supervisor, conflict):
        client = login(supervisor)

        response = client.post(reverse("web:conflict_dismiss", args=[conflict.pk]))

        assert response.status_code == 302
        conflict.refresh_from_db()
        assert (conflict.status, conflict.resolved_by) == (ConflictStatus.DISMISSED, supervisor)
        assert Customer.objects.filter(merged_into__isnull=False).count() == 0
        assert reverse("web:conflict_dismiss", args=[conflict.pk]) not in client.get(reverse("web:conflicts")).content.decode()


class TestConfirmConsentPage:
    def _request_token(self, customer) -> str:
        event = grant_consent(customer=customer, purpose=ConsentPurpose.MARKETING_EMAIL, channel=Channel.WEB)
        return event.confirmation_token

    def test_a_valid_link_confirms_without_login(self, client, known_customer):
        token = self._request_token(known_customer)

        response = client.get(reverse("web:confirm_consent", args=[token]))

        assert response.status_code == 200
        assert response["Content-Language"] == "fr"
        assert '<html lang="fr">' in response.content.decode()
        assert ConsentEvent.objects.filter(customer=known_customer, action=ConsentAction.GRANTED).count() == 1

    def test_an_unknown_link_is_a_400_and_writes_nothing(self, client, known_customer):
        response = client.get(reverse("web:confirm_consent", args=["made-up-token"]))

        assert response.status_code == 400
        assert "This confirmation link is not valid." in response.content.decode()
        assert ConsentEvent.objects.count() == 0
        assert mail.outbox == []
