"""At most one active SLA policy per scope (case type, priority, customer tier): beside an older
one of the same scope, a newer one never applied (sla.select_policy takes the oldest of equally
specific policies), so the admin refuses it now, and the database too (two people saving at once).

Active duplicates saved before are deactivated here, the oldest of each scope kept: the policy
new cases got is the one they still get, and the cases on a deactivated one keep their clocks
(docs/cases.md). Each gets an audit row naming the policy kept. Policies are few: no batches;
running it again finds nothing to do."""

import django.db.models.functions.text
from django.db import migrations, models
from django.utils import timezone


def deactivate_shadowed_duplicates(apps, schema_editor):
    SLAPolicy = apps.get_model("cases", "SLAPolicy")
    AuditEvent = apps.get_model("core", "AuditEvent")
    kept = {}
    now = timezone.now()
    for policy in SLAPolicy.objects.filter(active=True).order_by("pk"):
        # The tier compared as sla.tier_key compares it when matching.
        scope = (policy.case_type, policy.priority, (policy.customer_tier or "").strip().casefold())
        if scope not in kept:
            kept[scope] = policy
            continue
        SLAPolicy.objects.filter(pk=policy.pk).update(active=False, updated_at=now)
        AuditEvent.objects.create(
            kind="sla_policy.changed", actor=None, subject_type="cases.slapolicy", subject_id=str(policy.pk),
            payload={"fields": ["active"], "deactivated": policy.name, "same_scope_as": kept[scope].name}, occurred_at=now,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0021_case_settings"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(deactivate_shadowed_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="slapolicy",
            constraint=models.UniqueConstraint(
                models.F("case_type"), models.F("priority"), django.db.models.functions.text.Lower("customer_tier"),
                condition=models.Q(("active", True)), name="sla_policy_unique_active_scope",
                violation_error_message="Another active SLA policy already has this type, priority and customer tier.",
            ),
        ),
    ]
