"""The SLA job (issue item 6, "the first Celery job") through a real Celery worker: on the
embedded broker, always, and on Redis when CELERY_TEST_REDIS_URL is set (.ci/run sets it).

Beat only publishes the task by name every 5 minutes; here it is published twice, as two
beat ticks (or a redelivery) would, and a worker thread consumes both.
"""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from prevenance.cases.choices import Priority
from prevenance.cases.models import Case, SLAEvent, SLAPolicy
from prevenance.cases.tasks import check_sla_breaches
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.tests.worker import (
    BROKERS,
    broker_settings,
    running_worker,
    wait_for_jobs_queued_before,
)
from prevenance.customers.tests.factories import UserFactory


@pytest.fixture(scope="class", params=BROKERS)
def worker(request, tmp_path_factory):
    with running_worker(broker_settings(request.param, tmp_path_factory.mktemp("broker"))) as app:
        yield app


@pytest.mark.django_db(transaction=True)
class TestTheSlaJobOnARealWorker:
    def test_two_runs_escalate_each_breach_once_and_tell_the_supervisor_once(self, worker):
        supervisor = UserFactory(username="chef", role="supervisor", email="chef@staff.example")
        team = TeamFactory(members=[supervisor], routing_method="manual")
        SLAPolicy.objects.create(name="Standard", first_response_target=dt.timedelta(hours=2),
                                 resolution_target=dt.timedelta(hours=8))
        case = open_email_case(received_at=timezone.now() - dt.timedelta(days=10), team=team,
                               body="Bonjour, une question sur ma commande.").case
        assert case.priority == Priority.NORMAL

        check_sla_breaches.delay()
        check_sla_breaches.delay()
        wait_for_jobs_queued_before(what="the worker to run both SLA jobs")

        events = list(SLAEvent.objects.filter(case=case).values_list("kind", "notified_at"))
        assert {kind for kind, _ in events} >= {"first_response_breached", "resolution_breached"}
        assert all(notified is not None for _, notified in events)
        assert len(mail.outbox) == len(events)  # one notice per event, though the job ran twice
        assert {tuple(message.to) for message in mail.outbox} == {("chef@staff.example",)}
        assert Case.objects.get(pk=case.pk).priority in (Priority.HIGH, Priority.URGENT)
