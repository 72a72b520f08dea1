"""An agent's own routing settings and load (the "My availability" page)."""

from dataclasses import dataclass

from django.db.models import Count, Q

from prevenance.cases.models import AgentProfile, Case
from prevenance.cases.workflow import ACTIVE
from prevenance.core.choices import Channel


@dataclass(frozen=True)
class AgentSettings:
    available: bool
    max_open_cases: int | None
    max_chats: int | None
    open_cases: int  # assigned to them and not resolved or closed: what the caps count
    open_chats: int


def agent_settings(user) -> AgentSettings:
    """What routing reads about `user` (no profile yet: available, no cap) and their current load."""
    profile = AgentProfile.objects.filter(user=user).first()
    load = Case.objects.filter(assignee=user, status__in=ACTIVE).aggregate(
        cases=Count("pk"), chats=Count("pk", filter=Q(channel=Channel.CHAT)),
    )
    return AgentSettings(
        available=profile.available if profile else True,
        max_open_cases=profile.max_open_cases if profile else None,
        max_chats=profile.max_chats if profile else None,
        open_cases=load["cases"], open_chats=load["chats"],
    )
