"""Who a case can be given to: the Assignee picker of the case page, grouped by team.

assign_case takes a member of the team the case is given to, or anyone who may handle cases
when it is given to no team. The picker says so: one group per team, the case's own first, and
the agents in no team last. Two queries, whatever the number of teams and agents.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from prevenance.cases.models import Team
from prevenance.cases.selectors.root_causes import reading_order


def agents():
    """Active users who may handle cases (the assign_case service checks it again)."""
    return get_user_model().objects.with_perm("cases.change_case").order_by("username")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def assignee_choices(current_team_id: int | None) -> list[tuple[str, list[tuple[int, str]]]]:
    """(group label, [(user id, name), ...]) for a <select>: the team `current_team_id` first,
    then the other teams in reading order, then "No team"; an agent in several teams is under
    each. Names in reading order; a team without an agent in it is left out."""
    by_id = {user.pk: _name(user) for user in agents().only("pk", "username", "first_name", "last_name")}
    memberships = (Team.members.through.objects.filter(user__in=agents().values("pk"))
                   .values_list("team_id", "team__name", "user_id"))
    teams: dict[int, tuple[str, list[int]]] = {}
    for team_id, team_name, user_id in memberships:
        teams.setdefault(team_id, (team_name, []))[1].append(user_id)

    def group(label: str, user_ids) -> tuple[str, list[tuple[int, str]]]:
        # `pk in by_id`: an agent who became one between the two queries waits for the next page.
        return label, sorted(((pk, by_id[pk]) for pk in user_ids if pk in by_id), key=lambda choice: reading_order(choice[1]))

    ordered = sorted(teams.items(), key=lambda item: (item[0] != current_team_id, reading_order(item[1][0]), item[0]))
    in_a_team = {pk for _label, members in teams.values() for pk in members}
    groups = [*(group(name, members) for _team_id, (name, members) in ordered),
              group(_("No team"), [pk for pk in by_id if pk not in in_a_team])]
    return [(label, choices) for label, choices in groups if choices]
