"""core.sql's INSERT helpers write what the ORM would write, in order, under the parameter limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prevenance.core.models import AuditEvent
from prevenance.core.sql import insert_instance, insert_instances

pytestmark = pytest.mark.django_db


def _event(number: int, when) -> AuditEvent:
    return AuditEvent(kind="case.routed", subject_type="cases.case", subject_id=str(number),
                      payload={"n": number, "nested": {"é": [number, None]}}, occurred_at=when + timedelta(seconds=number))


def test_many_rows_go_in_several_statements_each_prepared_as_the_orm_would():
    # More rows than one statement may bind on either database (SQLite: 999 parameters, so
    # 166 audit rows; PostgreSQL: 500 rows), with a JSON field the driver cannot take raw.
    now = timezone.now()
    events = [_event(number, now) for number in range(1100)]
    insert_instances(events)
    assert all(not event._state.adding for event in events)
    ids = [event.pk for event in events]
    assert ids == sorted(ids) and len(set(ids)) == 1100
    stored = {event.pk: event for event in AuditEvent.objects.filter(pk__in=ids)}
    assert len(stored) == 1100
    for event in events[::97]:
        row = stored[event.pk]
        assert (row.subject_id, row.payload, row.occurred_at) == (event.subject_id, event.payload, event.occurred_at)


def test_one_row_and_none():
    insert_instances([])
    event = _event(7, timezone.now())
    insert_instances([event])
    assert AuditEvent.objects.get(pk=event.pk).payload == {"n": 7, "nested": {"é": [7, None]}}
    other = _event(8, timezone.now())
    insert_instance(other)
    assert other.pk > event.pk
