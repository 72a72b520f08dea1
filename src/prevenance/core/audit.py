from collections.abc import Sequence
from typing import Any

from prevenance.core.models import AuditEvent
from prevenance.core.sql import insert_instance, insert_instances


def audit_event(*, kind: str, actor, subject, payload: dict[str, Any] | None = None) -> AuditEvent:
    """An audit row, not stored yet (record_audits writes several in one statement)."""
    return AuditEvent(
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        payload=payload or {},
    )


def record_audit(*, kind: str, actor, subject, payload: dict[str, Any] | None = None) -> AuditEvent:
    """Write an audit row; call it inside the service's transaction so both land or neither.

    Written with core.sql's cached INSERT: intake writes one for every case, and the ORM's
    compilation of this INSERT cost more than the statement itself (docs/benchmarks.md)."""
    event = audit_event(kind=kind, actor=actor, subject=subject, payload=payload)
    insert_instance(event)
    return event


def record_audits(events: Sequence[AuditEvent]) -> None:
    """Write several audit rows (audit_event) in one INSERT, in their order."""
    insert_instances(events)
