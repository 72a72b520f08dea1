from typing import Any

from prevenance.core.models import AuditEvent


def record_audit(*, kind: str, actor, subject, payload: dict[str, Any] | None = None) -> AuditEvent:
    """Write an audit row; call it inside the service's transaction so both land or neither."""
    return AuditEvent.objects.create(
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        payload=payload or {},
    )
