"""Writing SLA policies (the API's CRUD; the admin edits them too). Due times already stored on
cases are not moved by a change (docs/cases.md); `sla.recalculate_due_times` does that on demand."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from prevenance.cases import sla, sla_targets
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import CaseAuditKind, CaseType, Priority
from prevenance.cases.models import Case, SLAPolicy
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import record_audit
from prevenance.core.calendars import require_opening_hours
from prevenance.core.models import BusinessCalendar
from prevenance.core.queue import enqueue_on_commit
from prevenance.core.validation import invalid

FIELDS = ("name", "active", "case_type", "priority", "customer_tier", "first_response_target", "resolution_target", "calendar",
          "near_breach_percent")
# Business time: people type and read targets in business hours and minutes (cases/sla_targets.py).
MAX_TARGET, MIN_TARGET = sla_targets.MAX_TARGET, sla_targets.MIN_TARGET


def _require(actor, perm: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(perm):
        raise PermissionDenied


def policy_errors(values: dict) -> dict[str, list]:
    """What is wrong with a policy's fields, by field: the API's services and the admin's form
    both refuse with these (a target past MAX_TARGET, a calendar never open...)."""
    errors: dict[str, list] = {}
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("At most %(limit)d characters.") % {"limit": 100}]
    for field, choices in (("case_type", CaseType), ("priority", Priority)):
        if values.get(field) and values[field] not in choices.values:
            errors[field] = [
                _("“%(value)s” is not one of: %(choices)s.") % {"value": str(values[field])[:40], "choices": ", ".join(choices.values)}
            ]
    if len(str(values.get("customer_tier") or "")) > 50:
        errors["customer_tier"] = [_("At most %(limit)d characters.") % {"limit": 50}]
    for field in ("first_response_target", "resolution_target"):
        target = values.get(field)
        # Bounded so that due times stay computable: millions of days of business time fall
        # after the year 9999, and every intake on the policy would then fail.
        if not isinstance(target, timedelta) or target < MIN_TARGET or target > MAX_TARGET:
            errors[field] = [sla_targets.range_message()]
    first, resolution = values.get("first_response_target"), values.get("resolution_target")
    if not errors.keys() & {"first_response_target", "resolution_target"} and isinstance(first, timedelta) \
            and isinstance(resolution, timedelta) and resolution < first:
        # Every case would breach its resolution target before its first reply was even due.
        errors["resolution_target"] = [_("The resolution target cannot be shorter than the first-response target.")]
    if not isinstance(values.get("active", True), bool):
        errors["active"] = [_("Say true or false.")]  # None is not "off"
    percent = values.get("near_breach_percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        errors["near_breach_percent"] = [_("The near-breach threshold is between 1 and 99 %.")]
    if values.get("calendar") is not None and not isinstance(values["calendar"], BusinessCalendar):
        errors["calendar"] = [_("Unknown calendar.")]
    elif values.get("calendar") is not None and values.get("active", True):
        # Active only: a policy on a calendar emptied since can still be switched off.
        try:
            require_opening_hours(values["calendar"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    return errors


def _clean(values: dict) -> dict:
    if errors := policy_errors(values):
        raise ValidationError(errors)
    name = " ".join(str(values.get("name") or "").split())
    return {**values, "name": name, "case_type": values.get("case_type") or "", "priority": values.get("priority") or "",
            "customer_tier": str(values.get("customer_tier") or "").strip(), "active": bool(values.get("active", True))}


def same_scope(policy_or_values, *, exclude_pk: int | None = None) -> SLAPolicy | None:
    """The active policy, other than `exclude_pk`, that has the same type, priority and customer
    tier (compared as matching compares it): beside it, one of the two would never apply. None
    when there is none, or when the policy given is not active."""
    scope = ("active", "case_type", "priority", "customer_tier")
    values = policy_or_values if isinstance(policy_or_values, dict) else {f: getattr(policy_or_values, f) for f in scope}
    if not values.get("active", True):
        return None
    others = SLAPolicy.objects.filter(active=True, case_type=values.get("case_type") or "", priority=values.get("priority") or "")
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    tier = sla.tier_key(values.get("customer_tier"))
    return next((other for other in others.order_by("pk") if sla.tier_key(other.customer_tier) == tier), None)


def scope_taken_message(holder: SLAPolicy) -> str:
    return _("The active SLA policy “%(name)s” already applies to the same cases (same type, priority and customer tier): "
             "change one of them, or deactivate “%(name)s” first.") % {"name": holder.name}


def _refuse_same_scope(policy: SLAPolicy) -> None:
    if (holder := same_scope(policy, exclude_pk=policy.pk)) is not None:
        raise invalid("active", scope_taken_message(holder), "scope_taken")


def _save(policy: SLAPolicy) -> None:
    """Save, a lost race on a unique constraint (the name, or the active scope: two people
    saving at once) told as the check before would have told it."""
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        if SLAPolicy.objects.filter(name=policy.name).exclude(pk=policy.pk).exists():
            raise invalid("name", _("An SLA policy with this name already exists."), "duplicate") from None
        _refuse_same_scope(policy)  # the row that won is committed now, hence seen
        raise


def create_sla_policy(*, actor, **values) -> SLAPolicy:
    _require(actor, "cases.add_slapolicy")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("Unknown field.")]})
    cleaned = _clean({"near_breach_percent": 80, "active": True, **values})
    with transaction.atomic():
        policy = SLAPolicy(**cleaned)
        _refuse_same_scope(policy)
        _save(policy)
        record_audit(kind=CaseAuditKind.SLA_POLICY_CHANGED, actor=actor, subject=policy, payload={"created": policy.name})
    return policy


def update_sla_policy(*, policy: SLAPolicy, actor, **changes) -> SLAPolicy:
    """Change some fields; the others keep their value. New targets or a new calendar queue the
    recalculation of the open cases' due times (those not yet breached), after commit."""
    _require(actor, "cases.change_slapolicy")
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("Unknown field.")]})
    with transaction.atomic():
        locked = SLAPolicy.objects.select_for_update().get(pk=policy.pk)
        timing_before = _timing(locked)
        cleaned = _clean({field: changes.get(field, getattr(locked, field)) for field in FIELDS})
        for field, value in cleaned.items():
            setattr(locked, field, value)
        _refuse_same_scope(locked)
        _save(locked)
        record_audit(kind=CaseAuditKind.SLA_POLICY_CHANGED, actor=actor, subject=locked, payload={"fields": sorted(changes)})
        if _timing(locked) != timing_before:
            # The API and the admin (which saves through here): the open cases not yet breached follow the new targets.
            enqueue_on_commit(case_tasks.recalculate_due_times, locked.pk)
    return locked


# The fields a case's due times are computed from.
TIMING_FIELDS = ("first_response_target", "resolution_target", "calendar_id")


def _timing(policy: SLAPolicy) -> tuple:
    return tuple(getattr(policy, name) for name in TIMING_FIELDS)


def active_cases_on(policy: SLAPolicy) -> int:
    """How many active cases run their clocks on `policy` (deleting it would take them out of the SLA check)."""
    return Case.objects.filter(sla_policy=policy, status__in=ACTIVE).count()


def in_use_message(policy: SLAPolicy, count: int) -> str:
    return ngettext(
        "The SLA policy “%(name)s” is used by %(count)d active case: deleting it would stop that case's "
        "escalation. Deactivate it instead.",
        "The SLA policy “%(name)s” is used by %(count)d active cases: deleting it would stop their "
        "escalation. Deactivate it instead.",
        count,
    ) % {"name": policy.name, "count": count}


def delete_sla_policy(*, policy: SLAPolicy, actor) -> None:
    """Refused while active cases use the policy: the SLA check reads only the cases with a
    policy, so theirs would stop escalating; deactivate it instead (new cases no longer get it,
    those on it keep their clocks). Closed and resolved cases keep their due times (their
    `sla_policy` becomes empty)."""
    _require(actor, "cases.delete_slapolicy")
    with transaction.atomic():
        locked = SLAPolicy.objects.select_for_update().get(pk=policy.pk)
        if count := active_cases_on(locked):
            raise invalid("sla_policy", in_use_message(locked, count), "in_use")
        record_audit(kind=CaseAuditKind.SLA_POLICY_CHANGED, actor=actor, subject=policy, payload={"deleted": policy.name})
        SLAPolicy.objects.filter(pk=policy.pk).delete()
