"""After an agent creates a case: whether they may open it, else the sentence saying where it went.

Routing may give a new case to a team the agent is not in (a complaint to the complaints team);
its page would answer 404 ("the case may have been deleted") under the green "recorded"
message, and the agent would think it lost. The views that create a case send the agent to it
only when `visible_cases`, the one visibility rule, lets them open it; else somewhere they can
be, with this sentence naming the reference, the team and the assignee.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from prevenance.cases.models import Case
from prevenance.cases.selectors.visibility import visible_cases


@dataclass(frozen=True)
class Sentences:
    """What one way of creating a case says when the case is out of sight, whole sentences for
    the translators (gettext_noop): `%(reference)s`, `%(team)s`, `%(assignee)s`."""

    team_and_assignee: str
    team: str
    no_team: str  # only without cases.view_case: a case in no team is everyone's triage queue


RECORDED = Sentences(
    team_and_assignee=gettext_noop(
        "Case %(reference)s recorded and routed to the %(team)s team (assigned to %(assignee)s); "
        "you cannot open it from your teams."),
    team=gettext_noop("Case %(reference)s recorded and routed to the %(team)s team; you cannot open it from your teams."),
    no_team=gettext_noop("Case %(reference)s recorded; you cannot open it."),
)

# A split case keeps the source's team and has nobody assigned: out of sight when the agent saw
# the source only as its assignee (they left its team since).
SPLIT = Sentences(
    team_and_assignee=gettext_noop(
        "Message moved to the new case %(reference)s, in the %(team)s team's cases (assigned to %(assignee)s); "
        "you cannot open it from your teams."),
    team=gettext_noop("Message moved to the new case %(reference)s, in the %(team)s team's cases; you cannot open it from your teams."),
    no_team=gettext_noop("Message moved to the new case %(reference)s; you cannot open it."),
)


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def out_of_sight(user, case: Case, sentences: Sentences) -> str | None:
    """None when `user` may open `case`; else the sentence, in the request's language, saying
    where it went (its team and assignee as they are now)."""
    if visible_cases(user).filter(pk=case.pk).exists():
        return None
    case = Case.objects.select_related("team", "assignee").get(pk=case.pk)
    names = {"reference": case.reference}
    if case.team is None:
        return _(sentences.no_team) % names
    names["team"] = case.team.name
    if case.assignee is None:
        return _(sentences.team) % names
    return _(sentences.team_and_assignee) % {**names, "assignee": _person(case.assignee)}
