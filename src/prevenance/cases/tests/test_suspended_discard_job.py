"""A "Discard all" of many suspended messages runs as a background job (docs/email-intake.md,
"Suspended messages"): above DISCARD_IN_BACKGROUND_ABOVE the page queues a task and says how
many are left while it runs; the task discards in batches, with the filter and the newest
message the supervisor saw, each message once however often it runs.

The thresholds are lowered here so that a few rows play a flood's part."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prevenance.cases.choices import SuspendedAuditKind
from prevenance.cases.models import SuspendedDiscardJob, SuspendedMessage
from prevenance.cases.services import ingest_email, suspended_discard
from prevenance.cases.services.suspended import recover_suspended
from prevenance.cases.services.suspended_discard import request_discard_all_suspended
from prevenance.cases.tasks import discard_suspended_messages
from prevenance.cases.tests.test_suspended import QUEUE, discard_all, keep_form, nameless
from prevenance.core.models import AuditEvent
from prevenance.core.tests.worker import (
    BROKERS,
    broker_settings,
    running_worker,
    wait_for_jobs_queued_before,
)
from prevenance.customers.tests.factories import UserFactory


@pytest.fixture
def small_flood(monkeypatch):
    """More than 3 matching messages go to the background, in batches of 2."""
    monkeypatch.setattr(suspended_discard, "DISCARD_IN_BACKGROUND_ABOVE", 3)
    monkeypatch.setattr(suspended_discard, "DISCARD_BATCH", 2)


def robots(count: int, start: int = 0) -> list[SuspendedMessage]:
    """Contact forms kept aside for their anti-robot field (web, honeypot)."""
    return [keep_form(f"0b7b0a6e-8f0c-4b1e-9a57-0b7ce0b0c{n:03d}", reason_subject=f"Spam {n}") for n in range(start, start + count)]


def discarded_ids() -> list[int]:
    return sorted(int(subject) for subject in AuditEvent.objects.filter(kind=SuspendedAuditKind.DISCARDED)
                  .values_list("subject_id", flat=True))


def page(client, **filters) -> str:
    return client.get(QUEUE, filters, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
class TestFromThePage:
    def test_up_to_the_threshold_the_page_answers_with_the_result_at_once(self, client, supervisor, small_flood,
                                                                           django_capture_on_commit_callbacks):
        kept = robots(3)
        client.force_login(supervisor)
        with django_capture_on_commit_callbacks(execute=True):
            discard_all(client, reason="honeypot", channel="", up_to=kept[-1].pk, confirm="on")
        assert not SuspendedMessage.objects.exists() and not SuspendedDiscardJob.objects.exists()
        assert "3 messages discarded." in page(client)

    def test_above_it_a_job_is_queued_and_the_page_says_how_many_are_left(self, client, supervisor, small_flood,
                                                                         django_capture_on_commit_callbacks):
        kept = robots(4)
        email = ingest_email(raw=nameless()).suspended
        client.force_login(supervisor)
        with django_capture_on_commit_callbacks() as queued:
            response = discard_all(client, reason="honeypot", channel="", up_to=kept[-1].pk, confirm="on")
        assert response["Location"] == f"{QUEUE}?reason=honeypot"
        assert len(queued) == 1  # the task, sent once the job's row is committed
        job = SuspendedDiscardJob.objects.get()
        assert (job.reason, job.channel, job.up_to_id, job.requested_by, job.matched, job.finished_at) == (
            "honeypot", "", kept[-1].pk, supervisor, 4, None)
        assert SuspendedMessage.objects.count() == 5  # nothing discarded in the request
        filtered = page(client, reason="honeypot")
        assert "4 messages are being discarded in the background." in filtered
        assert "Discarding in the background: 4 messages left." in filtered
        assert "discard-all-form" not in filtered  # no second identical discard offered
        assert "discard-all-form" in page(client)  # another filter is another discard

        # The same request again (a second tab, a double click) queues nothing.
        with django_capture_on_commit_callbacks() as again:
            discard_all(client, reason="honeypot", channel="", up_to=kept[-1].pk, confirm="on")
        assert again == [] and SuspendedDiscardJob.objects.count() == 1
        assert "These messages are already being discarded in the background: 4 left." in page(client)

        queued[0]()  # the worker runs the task (eagerly here)
        assert list(SuspendedMessage.objects.values_list("pk", flat=True)) == [email.pk]
        assert discarded_ids() == [row.pk for row in kept]
        after = page(client)
        assert "Discarding in the background" not in after and "discard-all-form" in after

    def test_a_lost_job_stops_showing_and_a_new_request_takes_over(self, client, supervisor, small_flood,
                                                                   django_capture_on_commit_callbacks):
        kept = robots(4)
        client.force_login(supervisor)
        discard_all(client, reason="", channel="", up_to=kept[-1].pk, confirm="on")  # its task never runs
        lost = SuspendedDiscardJob.objects.get()
        SuspendedDiscardJob.objects.filter(pk=lost.pk).update(progressed_at=timezone.now() - timedelta(minutes=11))
        shown = page(client)
        assert "Discarding in the background" not in shown and "discard-all-form" in shown

        with django_capture_on_commit_callbacks(execute=True):
            discard_all(client, reason="", channel="", up_to=kept[-1].pk, confirm="on")
        lost.refresh_from_db()
        assert lost.finished_at is not None and lost.discarded == 0
        assert SuspendedDiscardJob.objects.exclude(pk=lost.pk).get().discarded == 4
        assert discard_suspended_messages(lost.pk) == 0  # the lost task, delivered late, does nothing
        assert discarded_ids() == [row.pk for row in kept]


@pytest.mark.django_db
class TestTheJob:
    def test_it_discards_what_the_filter_matched_up_to_the_newest_seen(self, supervisor, small_flood):
        kept = robots(5)
        recovered = robots(1, start=10)[0]
        recover_suspended(suspended_id=recovered.pk, actor=supervisor, email="ines.moreau@example.fr")
        email = ingest_email(raw=nameless()).suspended
        outcome = request_discard_all_suspended(actor=supervisor, up_to_id=email.pk, reason="honeypot")
        late = robots(1, start=20)[0]  # came after the page was shown

        assert discard_suspended_messages(outcome.job.pk) == 5
        assert sorted(SuspendedMessage.objects.values_list("pk", flat=True)) == [recovered.pk, email.pk, late.pk]
        assert discarded_ids() == [row.pk for row in kept]
        assert set(AuditEvent.objects.filter(kind=SuspendedAuditKind.DISCARDED).values_list("actor", flat=True)) == {supervisor.pk}
        job = SuspendedDiscardJob.objects.get()
        assert (job.matched, job.discarded) == (5, 5) and job.finished_at is not None

    def test_by_channel(self, supervisor, small_flood):
        robots(2)
        emails = [ingest_email(raw=nameless(f"lost-{n}@example.com")).suspended for n in range(4)]
        outcome = request_discard_all_suspended(actor=supervisor, up_to_id=emails[-1].pk, channel="email")
        assert outcome.job is not None and outcome.count == 4
        assert discard_suspended_messages(outcome.job.pk) == 4
        assert sorted(SuspendedMessage.objects.values_list("channel", flat=True)) == ["web", "web"]

    def test_run_twice_it_discards_nothing_twice(self, supervisor, small_flood):
        kept = robots(4)
        job = request_discard_all_suspended(actor=supervisor, up_to_id=kept[-1].pk).job
        assert discard_suspended_messages(job.pk) == 4
        assert discard_suspended_messages(job.pk) == 0
        assert discarded_ids() == [row.pk for row in kept]
        assert SuspendedDiscardJob.objects.get().discarded == 4

    def test_a_crash_midway_keeps_the_batches_done_and_the_retry_finishes(self, supervisor, small_flood, monkeypatch):
        kept = robots(5)
        job = request_discard_all_suspended(actor=supervisor, up_to_id=kept[-1].pk).job
        real, calls = suspended_discard.discard_suspended, []

        def crashing(**kwargs):
            calls.append(kwargs["suspended_ids"])
            if len(calls) == 2:
                raise ConnectionError("the worker lost its database")
            return real(**kwargs)

        monkeypatch.setattr(suspended_discard, "discard_suspended", crashing)
        with pytest.raises(ConnectionError):
            discard_suspended_messages(job.pk)
        job.refresh_from_db()
        assert (job.discarded, job.finished_at) == (2, None)
        assert discarded_ids() == [row.pk for row in kept[:2]]
        assert SuspendedMessage.objects.count() == 3

        monkeypatch.setattr(suspended_discard, "discard_suspended", real)
        assert discard_suspended_messages(job.pk) == 3  # the retry
        job.refresh_from_db()
        assert job.discarded == 5 and job.finished_at is not None
        assert discarded_ids() == [row.pk for row in kept]


@pytest.fixture(scope="class", params=BROKERS)
def worker(request, tmp_path_factory):
    with running_worker(broker_settings(request.param, tmp_path_factory.mktemp("broker"))) as app:
        yield app


@pytest.mark.django_db(transaction=True)
class TestOnARealWorker:
    def test_the_queued_job_delivered_twice_discards_each_message_once(self, worker, small_flood):
        supervisor = UserFactory(username="chef", role="supervisor")
        kept = robots(5)
        email = ingest_email(raw=nameless()).suspended

        outcome = request_discard_all_suspended(actor=supervisor, up_to_id=email.pk, reason="honeypot")
        discard_suspended_messages.delay(outcome.job.pk)  # a redelivery of the same job
        wait_for_jobs_queued_before(what="the worker to run the discard job twice")

        assert list(SuspendedMessage.objects.values_list("pk", flat=True)) == [email.pk]
        assert discarded_ids() == [row.pk for row in kept]
        job = SuspendedDiscardJob.objects.get()
        assert job.discarded == 5 and job.finished_at is not None
