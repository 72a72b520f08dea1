"""Two administrators saving the priority settings at once (PostgreSQL, threads): the second
save waits for the first and its audit row starts from the figure the first one left."""

import pytest
from django.db import connection

from prevenance.cases.models import PrioritySettings
from prevenance.cases.services.case_settings import update_priority_settings
from prevenance.cases.tests.test_case_actions_concurrency import race_behind
from prevenance.core.models import AuditEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and pg_stat_activity are PostgreSQL's"),
]


def test_two_saves_at_once_each_audit_the_figure_the_other_left():
    update_priority_settings(actor=None, vip_points=25)  # the row, after the flush of the transactional test

    results, errors = race_behind(
        lambda: PrioritySettings.objects.select_for_update().get(pk=PrioritySettings.SINGLETON_ID),
        lambda: update_priority_settings(actor=None, vip_points=30),
        lambda: update_priority_settings(actor=None, vip_points=40),
    )

    assert errors == [] and len(results) == 2
    changes = [payload["vip_points"] for payload in
               AuditEvent.objects.filter(kind="priority_settings.changed").order_by("pk").values_list("payload", flat=True)]
    assert changes in ([[25, 30], [30, 40]], [[25, 40], [40, 30]])
    assert PrioritySettings.objects.get().vip_points == changes[-1][1]
