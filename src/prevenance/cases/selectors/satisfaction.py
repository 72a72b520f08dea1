"""Satisfaction reporting (CSAT, CES) over the surveys sent when cases are resolved, and the
survey lookup of the public answer page (docs/templates-and-surveys.md)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from prevenance.cases.models import SatisfactionSurvey
from prevenance.cases.selectors.visibility import VIEW_ALL_CASES, VIEW_CASE, visible_cases
from prevenance.core.choices import Channel

GROUPS = ("channel", "team", "agent")
SATISFIED = 4  # CSAT counts the 4 and 5 answers as satisfied (the standard "top-two box")


@dataclass(frozen=True)
class SatisfactionLine:
    """One line of the report. `csat` is the share of 4-5 answers in percent, over the CSAT
    answers only; `ces` the mean effort score (1-7) over the CES answers only; None when there
    is no answer (a survey nobody answered never enters a denominator)."""

    key: str | int | None
    label: str
    csat_responses: int
    csat_satisfied: int
    ces_responses: int
    ces_total: int

    @property
    def csat(self) -> Decimal | None:
        if not self.csat_responses:
            return None
        return (Decimal(100) * self.csat_satisfied / self.csat_responses).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def ces(self) -> Decimal | None:
        if not self.ces_responses:
            return None
        return (Decimal(self.ces_total) / self.ces_responses).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class SatisfactionSummary:
    total: SatisfactionLine
    lines: list[SatisfactionLine]  # one per group (empty without group_by), sorted by label


def survey_by_token(token: str) -> SatisfactionSurvey | None:
    """The survey behind a public link (no login: the random token is the credential); one not
    sent yet (waiting for the survey delay) has no link out there, and is not found."""
    token = str(token or "")
    if not token or len(token) > 64:
        return None
    return SatisfactionSurvey.objects.filter(token=token, sent_at__isnull=False).first()


def answered_surveys(user, *, start: datetime, end: datetime) -> QuerySet[SatisfactionSurvey]:
    """Surveys answered in [start, end) about cases the user may see (visible_cases)."""
    if start >= end:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    surveys = SatisfactionSurvey.objects.filter(answered_at__gte=start, answered_at__lt=end)
    if getattr(user, "is_authenticated", False) and user.has_perm(VIEW_CASE) and user.has_perm(VIEW_ALL_CASES):
        return surveys
    return surveys.filter(case__in=visible_cases(user).values("pk"))


_AGGREGATES = {
    "csat_responses": Count("id", filter=Q(csat__isnull=False)),
    "csat_satisfied": Count("id", filter=Q(csat__gte=SATISFIED)),
    "ces_responses": Count("id", filter=Q(ces__isnull=False)),
    "ces_total": Sum("ces"),
}


def _line(key, label: str, row: dict) -> SatisfactionLine:
    return SatisfactionLine(
        key=key, label=label, csat_responses=row["csat_responses"], csat_satisfied=row["csat_satisfied"],
        ces_responses=row["ces_responses"], ces_total=row["ces_total"] or 0,
    )


def _agent_label(row: dict) -> str:
    name = " ".join(part for part in (row["agent__first_name"], row["agent__last_name"]) if part)
    return name or row["agent__username"] or _("No agent")


def _grouped(surveys: QuerySet, group_by: str) -> list[SatisfactionLine]:
    if group_by == "channel":
        labels = dict(Channel.choices)
        rows = surveys.values("channel").annotate(**_AGGREGATES)
        lines = [_line(row["channel"], str(labels.get(row["channel"], row["channel"])), row) for row in rows]
    elif group_by == "team":
        rows = surveys.values("team_id", "team__name").annotate(**_AGGREGATES)
        lines = [_line(row["team_id"], row["team__name"] or _("No team"), row) for row in rows]
    else:
        rows = surveys.values("agent_id", "agent__first_name", "agent__last_name", "agent__username").annotate(**_AGGREGATES)
        lines = [_line(row["agent_id"], _agent_label(row) if row["agent_id"] else _("No agent"), row) for row in rows]
    return sorted(lines, key=lambda line: line.label.casefold())


def satisfaction_summary(
    user, *, start: datetime, end: datetime, group_by: str | None = None, team_id: int | None = None, channel: str = "",
) -> SatisfactionSummary:
    """CSAT (share of 4-5, with its response count) and CES (mean, with its count) of the
    surveys answered in [start, end), overall and, with `group_by` ("channel", "team" or
    "agent": as copied on the survey when it was sent), per group; restricted to one team
    and/or channel (as on the survey) when given. Only cases the user may see."""
    if group_by is not None and group_by not in GROUPS:
        raise ValidationError({"group_by": [_("Group by one of: %(groups)s.") % {"groups": ", ".join(GROUPS)}]})
    surveys = answered_surveys(user, start=start, end=end)
    if team_id is not None:
        surveys = surveys.filter(team_id=team_id)
    if channel:
        surveys = surveys.filter(channel=channel)
    total = _line(None, _("All"), surveys.aggregate(**_AGGREGATES))
    return SatisfactionSummary(total=total, lines=_grouped(surveys, group_by) if group_by else [])
