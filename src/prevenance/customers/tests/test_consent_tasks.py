"""The double opt-in email as a background task: sent after commit, once per request."""

import pytest
from celery import shared_task
from celery.exceptions import Retry
from django.core import mail

from prevenance.core.choices import Channel
from prevenance.core.models import TaskEffect
from prevenance.core.queue import enqueue_on_commit
from prevenance.core.tests.mail import make_smtp_unreachable
from prevenance.core.tests.worker import (
    BROKERS,
    broker_settings,
    queued_messages,
    running_worker,
    wait_for,
)
from prevenance.customers.choices import ConsentMethod, ConsentPurpose, IdentityKind
from prevenance.customers.services import erase_customer, grant_consent, withdraw_consent
from prevenance.customers.services.consents import send_consent_confirmation as send_service
from prevenance.customers.tasks import send_consent_confirmation
from prevenance.customers.tests.factories import IdentityFactory

EMAIL = ConsentPurpose.MARKETING_EMAIL



def request_confirmation(customer):
    """Given a ticked box on the web form, a confirmation request without running its task."""
    return grant_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)


@pytest.mark.django_db
class TestSendConsentConfirmation:
    def test_request_is_emailed_once_after_commit(self, django_capture_on_commit_callbacks):
        customer = IdentityFactory(value="Lea@Example.com").customer
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            event = request_confirmation(customer)
            assert mail.outbox == []
        assert len(callbacks) == 1
        assert [m.to for m in mail.outbox] == [["lea@example.com"]]
        assert f"/{event.confirmation_token}" in mail.outbox[0].body
        assert TaskEffect.objects.get().key == f"consent-confirmation:{event.pk}"

    def test_running_the_task_again_sends_nothing_more(self, django_capture_on_commit_callbacks):
        customer = IdentityFactory(value="lea@example.com").customer
        with django_capture_on_commit_callbacks(execute=True):
            event = request_confirmation(customer)

        assert send_consent_confirmation.delay(event.pk).get() is False
        assert send_consent_confirmation(event.pk) is False
        assert len(mail.outbox) == 1
        assert TaskEffect.objects.count() == 1

    def test_a_request_superseded_before_the_worker_ran_is_not_emailed(self):
        customer = IdentityFactory(value="lea@example.com").customer
        first, second = request_confirmation(customer), request_confirmation(customer)
        assert send_consent_confirmation(first.pk) is False
        assert send_consent_confirmation(second.pk) is True
        assert len(mail.outbox) == 1
        assert second.confirmation_token in mail.outbox[0].body

    def test_a_request_withdrawn_before_the_worker_ran_is_not_emailed(self):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)
        withdraw_consent(customer=customer, purpose=EMAIL, channel=Channel.WEB)
        assert send_consent_confirmation(event.pk) is False
        assert mail.outbox == []
        assert TaskEffect.objects.count() == 0

    def test_another_purpose_does_not_settle_the_request(self):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)
        withdraw_consent(customer=customer, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.WEB)
        assert send_consent_confirmation(event.pk) is True
        assert len(mail.outbox) == 1

    def test_a_failed_send_is_not_recorded_so_the_retry_sends_it(self, settings):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)
        backend = settings.EMAIL_BACKEND
        make_smtp_unreachable(settings)

        with pytest.raises(OSError):
            send_service(event_id=event.pk)
        assert TaskEffect.objects.count() == 0

        settings.EMAIL_BACKEND = backend
        assert send_consent_confirmation(event.pk) is True
        assert len(mail.outbox) == 1

    def test_an_unreachable_mail_server_makes_the_task_retry_later(self, settings):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)
        make_smtp_unreachable(settings)

        with pytest.raises(Retry) as info:
            send_consent_confirmation.apply(args=[event.pk])
        assert isinstance(info.value.exc, ConnectionRefusedError)
        assert 0 <= info.value.when <= 30  # first backoff step, with random jitter
        assert mail.outbox == []
        assert TaskEffect.objects.count() == 0

    def test_nothing_is_sent_to_an_erased_person(self):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)
        erase_customer(customer=customer)
        assert send_consent_confirmation(event.pk) is False
        assert mail.outbox == []
        assert TaskEffect.objects.count() == 0

    def test_nothing_is_sent_without_an_email_address(self):
        customer = IdentityFactory(kind=IdentityKind.PHONE, value="+33612345678").customer
        event = request_confirmation(customer)
        assert send_consent_confirmation(event.pk) is False
        assert mail.outbox == []

    def test_an_address_flagged_as_undeliverable_is_passed_over_for_the_next(self):
        identity = IdentityFactory(value="lea@exmaple.com")
        customer = identity.customer
        identity.bounced_at = identity.first_seen_at
        identity.save(update_fields=["bounced_at"])
        event = request_confirmation(customer)
        assert send_consent_confirmation(event.pk) is False  # her only address bounces: nothing sent
        assert mail.outbox == []

        IdentityFactory(customer=customer, value="lea@example.com")
        later = request_confirmation(customer)
        assert send_consent_confirmation(later.pk) is True
        assert [sent.recipients() for sent in mail.outbox] == [["lea@example.com"]]

    def test_only_a_pending_request_is_ever_emailed(self):
        customer = IdentityFactory(value="lea@example.com").customer
        grant = grant_consent(customer=customer, purpose=EMAIL, channel=Channel.IMPORT, method=ConsentMethod.IMPORT)
        assert send_consent_confirmation(grant.pk) is False
        assert send_consent_confirmation(grant.pk + 1000) is False
        assert mail.outbox == []
        assert TaskEffect.objects.count() == 0


done: list[str] = []


@shared_task(name="prevenance.customers.tests.record_done")
def record_done(marker: str) -> None:
    """Queued after a message: once it has run, the worker (one, solo) has run that message too."""
    done.append(marker)


@pytest.fixture
def _nothing_done():
    done.clear()


@pytest.fixture(scope="class", params=BROKERS)
def worker(request, tmp_path_factory):
    with running_worker(broker_settings(request.param, tmp_path_factory.mktemp("broker"))) as app:
        yield app


@pytest.mark.usefixtures("_nothing_done")
@pytest.mark.django_db(transaction=True)
class TestWithARealWorker:
    def test_the_email_is_sent_by_the_worker_once(self, worker):
        customer = IdentityFactory(value="lea@example.com").customer
        event = request_confirmation(customer)  # commits: the worker takes it from here
        wait_for(lambda: len(mail.outbox) == 1, what="the confirmation email")
        assert mail.outbox[0].to == ["lea@example.com"]
        assert f"/{event.confirmation_token}" in mail.outbox[0].body
        wait_for(lambda: TaskEffect.objects.filter(done_at__isnull=False).exists(), what="the sending to be recorded")
        assert TaskEffect.objects.get().key == f"consent-confirmation:{event.pk}"

        # A redelivered message (a worker lost its acknowledgement) sends nothing more.
        enqueue_on_commit(send_consent_confirmation, event.pk)
        # One solo worker runs messages one at a time: once this one is taken, a marker sent
        # now runs after it has finished.
        wait_for(lambda: queued_messages(worker) == 0, what="the worker to take the redelivered message")
        enqueue_on_commit(record_done, "redelivered")
        wait_for(lambda: done == ["redelivered"], what="the redelivered message to be processed")
        assert len(mail.outbox) == 1
