"""Who a case can be given to: the Assignee picker of the case page, grouped by team.

assign_case takes a member of the team the case is given to, or anyone who may handle cases
when it is given to no team. The picker says so: one group per team, the case's own first, and
the agents in no team last. Two queries, whatever the number of teams and agents.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils.translation import gettext as _

from prevenance.cases.models import Team
from prevenance.cases.selectors.root_causes import reading_order
from prevenance.cases.selectors.visibility import VIEW_ALL_CASES


def agents():
    """Active users who may handle cases (the assign_case service checks it again): superusers
    and those given `cases.change_case` through a group or themselves, as ModelBackend's
    `with_perm` (the only authentication backend here) says. Written as two uncorrelated
    subqueries: `with_perm`'s correlated EXISTS ran once per user on PostgreSQL (10 ms for 234
    users, on every inbox page, for its bulk bar and its Assignee filter)."""
    user_model = get_user_model()
    permission = Permission.objects.filter(content_type__app_label="cases", codename="change_case")
    through_a_group = user_model.groups.through.objects.filter(group__permissions__in=permission).values("user_id")
    given = user_model.user_permissions.through.objects.filter(permission__in=permission).values("user_id")
    return user_model.objects.filter(
        Q(is_superuser=True) | Q(pk__in=through_a_group) | Q(pk__in=given), is_active=True,
    ).order_by("username")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def assignee_choices(current_team_id: int | None, *, of_teams: list[int] | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """(group label, [(user id, name), ...]) for a <select>: the team `current_team_id` first,
    then the other teams in reading order, then "No team"; an agent in several teams is under
    each. Names in reading order; a team without an agent in it is left out. `of_teams`: only
    the groups of these teams (no "No team"), as the inbox's Assignee filter offers an agent."""
    by_id = {user.pk: _name(user) for user in agents().only("pk", "username", "first_name", "last_name")}
    memberships = (Team.members.through.objects.filter(user_id__in=list(by_id))
                   .values_list("team_id", "team__name", "user_id"))
    if of_teams is not None:
        memberships = memberships.filter(team_id__in=of_teams)
    teams: dict[int, tuple[str, list[int]]] = {}
    for team_id, team_name, user_id in memberships:
        teams.setdefault(team_id, (team_name, []))[1].append(user_id)

    def group(label: str, user_ids) -> tuple[str, list[tuple[int, str]]]:
        # `pk in by_id`: an agent who became one between the two queries waits for the next page.
        return label, sorted(((pk, by_id[pk]) for pk in user_ids if pk in by_id), key=lambda choice: reading_order(choice[1]))

    ordered = sorted(teams.items(), key=lambda item: (item[0] != current_team_id, reading_order(item[1][0]), item[0]))
    in_a_team = {pk for _label, members in teams.values() for pk in members}
    groups = [group(name, members) for _team_id, (name, members) in ordered]
    if of_teams is None:
        groups.append(group(_("No team"), [pk for pk in by_id if pk not in in_a_team]))
    return [(label, choices) for label, choices in groups if choices]


def assignee_filter_choices(user, selected: list[str] = ()) -> list[tuple[str, list[tuple[str, str]]]]:
    """The agents the inbox's Assignee filter offers `user` (after Any, Me and Unassigned),
    grouped as on the case page: every agent for a supervisor, who sees every case; for an
    agent, those of their own teams, whose cases they see. A person picked in `selected` (a
    saved view, a link) who is not among them is listed too, under "Other agents", so the list
    shows what the cases are filtered on; what they hold is still only what the reader sees."""
    of_teams = None if user.has_perm(VIEW_ALL_CASES) else list(Team.objects.filter(members=user).values_list("pk", flat=True))
    groups = [(label, [(str(pk), name) for pk, name in choices]) for label, choices in assignee_choices(None, of_teams=of_teams)]
    offered = {value for _label, choices in groups for value, _name_shown in choices}
    missing = [int(value) for value in selected if value.isdigit() and value not in offered]
    others = get_user_model().objects.filter(pk__in=missing).only("pk", "username", "first_name", "last_name") if missing else []
    if others:
        groups.append((_("Other agents"), sorted(((str(other.pk), _name(other)) for other in others), key=lambda c: reading_order(c[1]))))
    return groups
