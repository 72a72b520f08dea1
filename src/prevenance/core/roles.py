"""The four roles and what each may do, as Django groups of permissions.

Import this module only once apps are ready (it imports auth models).
"""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

AGENT, SUPERVISOR, MARKETING, ADMIN = "agent", "supervisor", "marketing", "admin"

ROLE_LABELS = {
    AGENT: _("Agent"),
    SUPERVISOR: _("Supervisor"),
    MARKETING: _("Marketing"),
    ADMIN: _("Administrator"),
}

_AGENT = {
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "customers.view_identity",
    "customers.add_identity",
    "customers.view_consentevent",
    "customers.add_consentevent",
    "customers.view_order",
    "interactions.view_interaction",
    "interactions.add_interaction",
    # Cases of their own teams (cases/selectors/visibility.py: visible_cases).
    "cases.view_case",
    "cases.add_case",
    "cases.change_case",
    "cases.view_message",
    "cases.add_message",
    "cases.view_attachment",
    # Commercial gestures: granted at once within the delegation limit (cases.DelegationLimit).
    "cases.view_gesture",
    "cases.add_gesture",
    # Reply templates to answer from; SLA policies to read (the API's /templates, /sla-policies).
    "cases.view_replytemplate",
    "cases.view_slapolicy",
}
_SUPERVISOR = _AGENT | {
    "cases.view_all_cases",
    "cases.merge_case",
    "cases.view_team",
    "cases.change_team",
    "cases.approve_gesture",
    "cases.view_gesture_report",
    "cases.view_delegationlimit",
    # The reopen window and the amounts granted without proof, read (changed by administrators).
    "cases.view_casesettings",
    "cases.view_trustthreshold",
    # The figures of the priority score, read (changed by administrators).
    "cases.view_prioritysettings",
    # Inbox views shared with everyone (cases/services/saved_views.py).
    "cases.add_savedview",
    "cases.change_savedview",
    "cases.delete_savedview",
    "customers.merge_customer",
    "customers.export_customer_data",
    "customers.import_data",
    "customers.export_data",
    "customers.add_order",
    "customers.change_order",
    "customers.view_identityconflict",
    # Team opening hours and holidays, for SLA targets in business time.
    "core.view_businesscalendar",
    "core.add_businesscalendar",
    "core.change_businesscalendar",
    *(f"core.{action}_{model}" for action in ("view", "add", "change", "delete") for model in ("openingperiod", "holiday")),
    # The brand's reply templates and the SLA targets of their teams.
    *(f"cases.{action}_{model}" for action in ("add", "change", "delete") for model in ("replytemplate", "slapolicy")),
    # Which team a new case goes to (the admin's Routing rules).
    *(f"cases.{action}_routingrule" for action in ("view", "add", "change", "delete")),
    # Signatures (the brand's voice) and the satisfaction answers.
    "cases.view_signature",
    *(f"cases.{action}_signature" for action in ("add", "change", "delete")),
    "cases.view_satisfactionsurvey",
    # Inbound messages kept aside (no usable sender, anti-robot field): recovered into a case or discarded.
    *(f"cases.{action}_suspendedmessage" for action in ("view", "change", "delete")),
    # Senders blocked as spam (an agent blocks one by "Mark as spam"): seen and unblocked in the admin.
    "cases.view_blockedsender",
    "cases.delete_blockedsender",
}
_MARKETING = {
    "customers.view_customer",
    "customers.view_identity",
    "customers.view_consentevent",
    "customers.add_consentevent",
    "customers.view_order",
    "customers.import_data",
    "customers.export_data",
    "interactions.view_interaction",
}
_ADMIN = _SUPERVISOR | _MARKETING | {
    "customers.erase_customer",
    "customers.delete_identity",
    "customers.change_identity",
    "customers.change_identityconflict",
    *(
        f"cases.{action}_{model}"
        for action in ("view", "add", "change", "delete")
        for model in (
            "case", "message", "attachment", "team", "tag", "rootcause", "casecounter", "delegationlimit",
            # Routing settings (skills, agents' profiles) and the dashboard's cost per contact.
            "skill", "agentprofile", "channelcost",
            # The reopen window (one row: never added or deleted) and the trust-without-proof thresholds.
            "casesettings", "trustthreshold",
            # The figures of the priority score (one row: never added or deleted).
            "prioritysettings",
        )
    ),
    # Deleting a business calendar (refused while a team or an SLA policy uses it, core/admin.py);
    # supervisors add and change calendars only.
    "core.delete_businesscalendar",
    # Webhook endpoints (their secrets) and the delivery log: administrators only.
    *(f"core.{action}_webhookendpoint" for action in ("view", "add", "change", "delete")),
    "core.view_webhookdelivery",
}

# Roles that configure in the admin site (/admin/: SLA policies, templates, routing...): their
# users are staff. Staff status opens the admin site only; what it shows is the role's permissions.
STAFF_ROLES = frozenset({SUPERVISOR, ADMIN})

ROLE_PERMISSIONS: dict[str, set[str]] = {
    AGENT: _AGENT,
    SUPERVISOR: _SUPERVISOR,
    MARKETING: _MARKETING,
    ADMIN: _ADMIN,
}


def ensure_roles() -> None:
    """Create or refresh the role groups; run after every migrate (idempotent)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in sorted(perms):
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


def assign_role(*, user, role: str) -> None:
    """Put `user` in the role's group; supervisors and administrators also become staff, so
    that they reach the admin site where their permissions let them configure (STAFF_ROLES).
    Giving a role by hand on the admin's user page: tick "Staff status" for those two too."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role in STAFF_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
