"""What a case is filed under: its tags and its root cause (for continuous improvement)."""

from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind
from prevenance.cases.models import Case, RootCause, Tag
from prevenance.cases.services.common import lock_case
from prevenance.core.audit import record_audit
from prevenance.core.validation import invalid


def set_case_labels(*, case: Case, tags: list[Tag], root_cause: RootCause | None, actor) -> Case:
    """Replace the case's tags and root cause (None: not known yet); an audit row when anything changed.

    Allowed on a closed case too: root causes are often only known after the fact. A retired
    root cause is refused, unless the case has it already: it keeps it while its tags change.
    """
    with transaction.atomic():
        locked = lock_case(case.pk)
        if root_cause is not None and not root_cause.active and root_cause.pk != locked.root_cause_id:
            raise invalid("root_cause", _("This root cause is no longer in use."), "inactive_root_cause")
        names_before = sorted(locked.tags.values_list("name", flat=True))
        before = {"tags": sorted(locked.tags.values_list("pk", flat=True)), "root_cause": locked.root_cause_id}
        after = {"tags": sorted({tag.pk for tag in tags}), "root_cause": root_cause.pk if root_cause else None}
        if before == after:
            return locked
        locked.tags.set(after["tags"])
        locked.root_cause = root_cause
        locked.save(update_fields=["root_cause", "updated_at"])
        record_audit(kind=CaseAuditKind.LABELS_CHANGED, actor=actor, subject=locked, payload={"from": before, "to": after})
        names_after = sorted({tag.name for tag in tags})
        if names_after != names_before:  # webhooks carry the tags (a root cause is internal filing)
            case_events.case_updated(locked, {"tags": case_events.change(names_before, names_after)})
    return locked
