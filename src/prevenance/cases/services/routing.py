"""Triage of a new case (language, priority, team, agent) and the agents' routing settings.

`triage` runs inside open_case's transaction on the new, not yet stored case, before its due
times are set, so they follow the final priority and team (docs/routing-and-priority.md).
"""

import copy
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind, RoutingMethod
from prevenance.cases.models import AgentProfile, Case, RoutingRule, Team
from prevenance.cases.priority import straight_apostrophes
from prevenance.cases.selectors.kept_settings import kept_settings
from prevenance.cases.services.common import case_text, lock_case, refuse_closed
from prevenance.cases.services.priority import score_case
from prevenance.cases.workflow import ACTIVE
from prevenance.core.audit import audit_event, record_audit
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.core.text import search_key
from prevenance.core.validation import invalid

# Why a case stayed in the team queue (stored in the routing audit row, shown to supervisors).
NO_TEAM = "no_team"
MANUAL = "manual"
NO_AGENT = "no_eligible_agent"


# Rules -------------------------------------------------------------------------------------


def _language_matches(wanted: str, language: str) -> bool:
    # "fr" matches "fr" and "fr-be"; "fr-be" only "fr-be".
    wanted, language = wanted.strip().lower(), (language or "").lower()
    return not wanted or language == wanted or language.split("-")[0] == wanted


def _criteria_match(rule: RoutingRule, *, channel: str, case_type: str, language: str) -> bool:
    return (
        rule.active and rule.channel in ("", channel) and rule.case_type in ("", case_type)
        and _language_matches(rule.language, language)
    )


def matching_rule(*, channel: str, case_type: str, language: str, text: str) -> RoutingRule | None:
    """The first active rule, in position order, that matches (a copy of the kept row)."""
    kept = kept_settings()
    folded = search_key(text)
    # Typographic apostrophes (’) read as "'", so that "d'adresse" in a rule matches a message
    # typed on a phone; the text as written is tried too, for a keyword written with ’.
    straight = straight_apostrophes(folded)
    for rule in kept.rules:
        if not _criteria_match(rule, channel=channel, case_type=case_type, language=language):
            continue
        pattern = kept.keyword_patterns.get(rule.pk)
        if pattern is None or pattern.search(straight) is not None or (straight != folded and pattern.search(folded) is not None):
            return copy.copy(rule)
    return None


# Agents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    user_id: int
    username: str
    open_cases: int


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _eligible_sql(*, with_skill: bool) -> str:
    # One statement rather than an ORM query with annotations: intake runs it for every case,
    # and building the ORM query cost more than running it. Open cases are counted through
    # the (assignee, status) index. Caps are compared in Python (NULL means no cap).
    user = get_user_model()
    members = Team.members.through
    groups = user.groups.through
    user_perms = user.user_permissions.through
    active = ", ".join(["%s"] * len(ACTIVE))
    permission = (
        f"(SELECT ap.id FROM {_table(Permission)} ap JOIN {_table(ContentType)} ct ON ct.id = ap.content_type_id"
        f" WHERE ap.codename = %s AND ct.app_label = %s)"
    )
    skill = (
        f" AND EXISTS (SELECT 1 FROM {_table(AgentProfile.skills.through)} s WHERE s.agentprofile_id = p.id AND s.skill_id = %s)"
        if with_skill else ""
    )
    return (
        f"SELECT u.id, u.username, p.max_open_cases, p.max_chats,"
        f" (SELECT COUNT(*) FROM {_table(Case)} c WHERE c.assignee_id = u.id AND c.status IN ({active})),"
        f" (SELECT COUNT(*) FROM {_table(Case)} c WHERE c.assignee_id = u.id AND c.status IN ({active}) AND c.channel = %s)"
        f" FROM {_table(user)} u"
        f" JOIN {_table(members)} tm ON tm.user_id = u.id AND tm.team_id = %s"
        f" LEFT JOIN {_table(AgentProfile)} p ON p.user_id = u.id"
        f" WHERE u.is_active = %s AND (p.id IS NULL OR p.available = %s)"
        f" AND (u.is_superuser = %s"
        f" OR EXISTS (SELECT 1 FROM {_table(groups)} ug JOIN {_table(Group.permissions.through)} gp ON gp.group_id = ug.group_id"
        f" WHERE ug.user_id = u.id AND gp.permission_id = {permission})"
        f" OR EXISTS (SELECT 1 FROM {_table(user_perms)} up WHERE up.user_id = u.id AND up.permission_id = {permission}))"
        f"{skill} ORDER BY u.username"
    )


def eligible_agents(team: Team, *, required_skill_id: int | None = None, chat: bool = False) -> list[Candidate]:
    """Members who can take a new case now: active, allowed to handle cases, available (no
    profile means available), below their caps, with the required skill. Username order."""
    change_case = ("change_case", "cases")
    params = [*ACTIVE, *ACTIVE, Channel.CHAT, team.pk, True, True, True, *change_case, *change_case]
    if required_skill_id is not None:
        params.append(required_skill_id)
    with connection.cursor() as cursor:
        cursor.execute(_eligible_sql(with_skill=required_skill_id is not None), params)
        rows = cursor.fetchall()
    candidates = [
        Candidate(user_id, username, open_cases)
        for user_id, username, max_cases, max_chats, open_cases, open_chats in rows
        if (max_cases is None or open_cases < max_cases) and (not chat or max_chats is None or open_chats < max_chats)
    ]
    # Sorted here, as pick_round_robin compares: a database sorting by language rules (a
    # PostgreSQL created with en_US or fr_FR) puts "Zoe" after "bob", Python before "alice",
    # and the turn would skip whoever the two orders disagree on.
    return sorted(candidates, key=lambda candidate: candidate.username)


def pick_round_robin(candidates: list[Candidate], last_username: str | None) -> Candidate:
    """The next candidate after the last one assigned, in username order, wrapping around."""
    if last_username is not None:
        for candidate in candidates:
            if candidate.username > last_username:
                return candidate
    return candidates[0]


def pick_least_load(candidates: list[Candidate]) -> Candidate:
    """Fewest open cases; between equals, username order."""
    return min(candidates, key=lambda c: (c.open_cases, c.username))


def lock_members(team_id: int) -> None:
    """Lock the agent profiles of the team's members, in id order, creating the missing ones.

    A cap is the agent's, across all their teams: the team row's lock does not stop an intake
    for another team of the same agent from counting their load at the same moment. Locked
    before the loads are counted and held to commit, these rows make every intake that could
    give the agent a case wait for the others' assignments. Always in profile id order (and
    after the team row), so two intakes sharing agents cannot deadlock; the agent settings
    services lock one profile and no team. A missing profile (no profile means available, no
    cap) is created first, in user id order, so that it can be locked too."""
    members = Team.members.through.objects.filter(team_id=team_id)
    missing = sorted(members.filter(user__agent_profile__isnull=True).values_list("user_id", flat=True))
    if missing:
        AgentProfile.objects.bulk_create([AgentProfile(user_id=user_id) for user_id in missing], ignore_conflicts=True)
    list(
        AgentProfile.objects.select_for_update().filter(user_id__in=members.values("user_id"))
        .order_by("pk").values_list("pk", flat=True)
    )


def _assign_in_team(case: Case, team_id: int, rule: RoutingRule | None) -> tuple[int | None, str]:
    """Choose the agent under the team row's lock, then the members' profile locks (held to
    commit): two intakes at once see each other's assignments, for the same team (the turn)
    or for two teams sharing an agent (the agent's cap), so neither passes a cap nor breaks
    the turn. Lock order: the team, then the profiles by id (docs/routing-and-priority.md)."""
    locked = Team.objects.select_for_update().only("pk", "routing_method", "last_assigned").get(pk=team_id)
    if locked.routing_method == RoutingMethod.MANUAL:
        return None, MANUAL
    lock_members(locked.pk)
    candidates = eligible_agents(
        locked, required_skill_id=rule.required_skill_id if rule is not None else None, chat=case.channel == Channel.CHAT
    )
    if not candidates:
        return None, NO_AGENT
    if locked.routing_method == RoutingMethod.LEAST_LOAD:
        chosen = pick_least_load(candidates)
    else:
        chosen = pick_round_robin(candidates, _username(locked.last_assigned_id, candidates))
    Team.objects.filter(pk=locked.pk).update(last_assigned=chosen.user_id)
    return chosen.user_id, ""


def _username(user_id: int | None, candidates: list[Candidate]) -> str | None:
    if user_id is None:
        return None
    known = next((c.username for c in candidates if c.user_id == user_id), None)
    return known or get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()


def triage(case: Case, *, text: str, known_order_total: Decimal | None = None) -> dict:
    """Set the language, priority, team and agent of a new case, without saving it; returns
    the routing audit payload (record_routing, once the case has its id).

    The team given by the caller (a mailbox's team, an agent's choice) is kept; otherwise the
    first matching routing rule names it. Then an agent of that team by its routing method;
    nobody eligible leaves the case in the team queue, with the reason in the audit row.
    `known_order_total`: the customer's 12-month order total when the caller knows it (zero
    for a customer the same intake created), saving the query."""
    customer = case.customer if case.customer_id is not None else None
    case.language = (customer.language if customer is not None else "") or ""
    score_case(case, text=text, now=case.created_at, known_order_total=known_order_total)
    rule = None
    if case.team_id is None:
        rule = matching_rule(channel=case.channel, case_type=case.type, language=case.language, text=text)
        if rule is not None:
            case.team, case.routing_rule = kept_settings().team(rule.team_id), rule
            case.team_id = rule.team_id  # even if the team was deleted since the rules were read
    reason = NO_TEAM
    if case.team_id is not None and case.assignee_id is None:
        assignee_id, reason = _assign_in_team(case, case.team_id, rule)
        if assignee_id is not None:
            case.assignee_id = assignee_id
    payload = {
        "rule": rule.pk if rule else None, "team": case.team_id, "assignee": case.assignee_id,
        "unassigned_reason": "" if case.assignee_id else reason, "priority": case.priority, "score": case.priority_score,
    }
    return payload


def routing_audit(case: Case, payload: dict) -> AuditEvent:
    """The routing audit row of a triaged case, once it has its id (the caller stores it)."""
    return audit_event(kind=CaseAuditKind.ROUTED, actor=None, subject=case, payload=payload)


def route_again(*, case: Case, actor) -> Case:
    """Apply the routing rules to an open case again, as at its opening: after someone corrected
    its type, channel or language, the first matching rule names its team, then the team's
    routing method its agent. A case already in that team keeps its assignee. No matching rule
    is refused (ValidationError): the case keeps its team, for someone to choose by hand.
    Audited as a routing (`again`, who asked) and sent as case.updated when something moved."""
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        rule = matching_rule(channel=locked.channel, case_type=locked.type, language=locked.language, text=case_text(locked))
        if rule is None:
            raise invalid(
                "case", _("No routing rule matches this case (its channel, type, language and words): choose its team by hand."),
                "no_routing_rule",
            )
        before = {"assignee": locked.assignee_id, "team": locked.team_id}
        reason = ""
        if rule.team_id != locked.team_id or locked.assignee_id is None:
            locked.assignee_id, reason = _assign_in_team(locked, rule.team_id, rule)
        locked.team_id, locked.routing_rule = rule.team_id, rule
        locked.save(update_fields=["assignee", "team", "routing_rule", "updated_at"])
        record_audit(kind=CaseAuditKind.ROUTED, actor=actor, subject=locked, payload={
            "rule": rule.pk, "team": locked.team_id, "assignee": locked.assignee_id,
            "unassigned_reason": "" if locked.assignee_id else reason, "again": True,
        })
        after = {"assignee": locked.assignee_id, "team": locked.team_id}
        if before != after:
            case_events.case_updated(locked, {k: case_events.change(before[k], after[k]) for k in before if before[k] != after[k]})
    return locked


# Agents' settings --------------------------------------------------------------------------


def _clean_cap(field: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(field, _("A whole number of 0 or more, or empty for no cap."), "invalid_cap")
    return value


def _profile(user) -> AgentProfile:
    if user is None or not user.pk:
        raise invalid("user", _("Choose an agent."), "no_user")
    profile, _created = AgentProfile.objects.select_for_update().get_or_create(user=user)
    return profile


def set_availability(*, user, available: bool, actor=None) -> AgentProfile:
    """Whether routing gives the agent new cases now (their open cases stay theirs)."""
    if not isinstance(available, bool):
        raise invalid("available", _("Yes or no."), "invalid_availability")
    with transaction.atomic():
        profile = _profile(user)
        if profile.available != available:
            profile.available = available
            profile.save(update_fields=["available"])
            record_audit(kind=CaseAuditKind.AGENT_SETTINGS_CHANGED, actor=actor or user, subject=profile, payload={"available": available})
    return profile


def set_agent_settings(*, user, available: bool, max_open_cases: int | None, max_chats: int | None, actor=None) -> AgentProfile:
    """Availability and caps together (the "My availability" page), all or nothing."""
    with transaction.atomic():
        set_availability(user=user, available=available, actor=actor)
        return set_capacity(user=user, max_open_cases=max_open_cases, max_chats=max_chats, actor=actor)


def set_capacity(*, user, max_open_cases: int | None, max_chats: int | None, actor=None) -> AgentProfile:
    """The most open cases (not resolved or closed) and live chats routing gives the agent at once;
    None: no cap. Lowering a cap below the current load takes nothing away, it only stops new cases."""
    caps = {}
    errors = {}
    for field, value in (("max_open_cases", max_open_cases), ("max_chats", max_chats)):
        try:
            caps[field] = _clean_cap(field, value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        profile = _profile(user)
        before = {field: getattr(profile, field) for field in caps}
        if before != caps:
            for field, value in caps.items():
                setattr(profile, field, value)
            profile.save(update_fields=list(caps))
            record_audit(
                kind=CaseAuditKind.AGENT_SETTINGS_CHANGED, actor=actor or user, subject=profile, payload={"from": before, "to": caps},
            )
    return profile

