import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.customers.choices import (
    ConsentAction,
    ConsentMethod,
    ConsentPurpose,
    ConsentState,
    Qualification,
)
from prevenance.customers.models import ConsentEvent
from prevenance.customers.selectors import consent_history, consent_states, qualification
from prevenance.customers.services import (
    confirm_consent,
    ensure_consent_wording,
    grant_consent,
    withdraw_consent,
)
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory

SMS = ConsentPurpose.MARKETING_SMS
EMAIL = ConsentPurpose.MARKETING_EMAIL


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@pytest.mark.django_db
class TestLedger:
    def test_state_is_the_latest_event_per_purpose(self):
        customer = CustomerFactory()
        grant_consent(customer=customer, purpose=SMS, channel=Channel.STORE, method=ConsentMethod.PAPER, occurred_at=days_ago(10))
        withdraw_consent(customer=customer, purpose=SMS, channel=Channel.SMS, method=ConsentMethod.UNSUBSCRIBE_LINK, occurred_at=days_ago(2))
        grant_consent(customer=customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.WEB, occurred_at=days_ago(1))
        states = consent_states(customer)
        assert states[SMS].state == ConsentState.WITHDRAWN
        assert states[ConsentPurpose.SURVEYS].state == ConsentState.GRANTED
        assert states[ConsentPurpose.POSTAL].state == ConsentState.UNKNOWN
        assert [e.action for e in consent_history(customer)] == ["granted", "withdrawn", "granted"]

    def test_backdated_event_does_not_override_a_later_one(self):
        customer = CustomerFactory()
        withdraw_consent(customer=customer, purpose=SMS, channel=Channel.WEB, occurred_at=days_ago(1))
        grant_consent(customer=customer, purpose=SMS, channel=Channel.STORE, method=ConsentMethod.PAPER, occurred_at=days_ago(30))
        assert consent_states(customer)[SMS].state == ConsentState.WITHDRAWN

    def test_ledger_rows_cannot_be_edited(self):
        event = grant_consent(customer=CustomerFactory(), purpose=SMS, channel=Channel.WEB)
        event.source = "tampered"
        with pytest.raises(ValueError, match="append-only"):
            event.save()
        assert ConsentEvent.objects.get().source == ""

    def test_unknown_purpose_channel_or_method_is_refused_and_nothing_written(self):
        customer = CustomerFactory()
        with pytest.raises(ValidationError) as info:
            grant_consent(customer=customer, purpose="spam", channel="pigeon", method="telepathy")
        assert set(info.value.message_dict) == {"purpose", "channel", "method"}
        assert ConsentEvent.objects.count() == 0

    def test_wording_is_versioned(self):
        v1 = ensure_consent_wording(purpose=SMS, language="fr", text="J'accepte les SMS.")
        same = ensure_consent_wording(purpose=SMS, language="fr", text="J'accepte les SMS.")
        v2 = ensure_consent_wording(purpose=SMS, language="fr", text="J'accepte de recevoir des SMS promotionnels.")
        assert (v1.version, same.pk, v2.version) == (1, v1.pk, 2)
        event = grant_consent(customer=CustomerFactory(), purpose=SMS, channel=Channel.WEB, wording=v1)
        assert event.wording.text == "J'accepte les SMS."


@pytest.mark.django_db
class TestDoubleOptIn:
    def test_ticked_box_for_email_marketing_asks_for_confirmation(self, django_capture_on_commit_callbacks):
        customer = IdentityFactory(value="lea@example.com").customer
        with django_capture_on_commit_callbacks(execute=True):
            request = grant_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)
        assert request.action == ConsentAction.REQUESTED
        assert consent_states(customer)[EMAIL].state == ConsentState.PENDING
        assert qualification(customer) == Qualification.IDENTIFIED
        assert mail.outbox[0].to == ["lea@example.com"]
        assert request.confirmation_token in mail.outbox[0].body

        confirm_consent(token=request.confirmation_token)
        confirm_consent(token=request.confirmation_token)  # a second click changes nothing
        assert consent_states(customer)[EMAIL].state == ConsentState.GRANTED
        assert ConsentEvent.objects.filter(action=ConsentAction.GRANTED).count() == 1
        assert qualification(customer) == Qualification.OPTED_IN

    def test_bad_expired_or_superseded_tokens_are_refused(self):
        customer = IdentityFactory(value="x@example.com").customer
        with pytest.raises(ValidationError):
            confirm_consent(token="forged")
        request = grant_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)
        withdraw_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)
        with pytest.raises(ValidationError):
            confirm_consent(token=request.confirmation_token)
        ConsentEvent.objects.filter(pk=request.pk).update(recorded_at=days_ago(31))
        with pytest.raises(ValidationError):
            confirm_consent(token=request.confirmation_token)
        assert consent_states(customer)[EMAIL].state == ConsentState.WITHDRAWN

    def test_imported_proof_needs_no_confirmation(self):
        customer = CustomerFactory()
        event = grant_consent(customer=customer, purpose=EMAIL, channel=Channel.IMPORT, method=ConsentMethod.IMPORT)
        assert event.action == ConsentAction.GRANTED
        assert qualification(customer) == Qualification.OPTED_IN

    def test_pending_request_does_not_cancel_an_earlier_grant(self):
        customer = CustomerFactory()
        grant_consent(customer=customer, purpose=EMAIL, channel=Channel.IMPORT, method=ConsentMethod.IMPORT, occurred_at=days_ago(5))
        grant_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)
        assert consent_states(customer)[EMAIL].state == ConsentState.GRANTED
