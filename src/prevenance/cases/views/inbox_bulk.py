"""The inbox's bulk bar: one change (assign, status, tag, priority) on the cases ticked in the
list, then back to the same view, filters and page with what was changed and what was refused
(docs/inbox.md, "Changing several cases"). Works without JavaScript: the table is in the form."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from prevenance.cases.choices import CaseStatus, Priority
from prevenance.cases.models import Tag, Team
from prevenance.cases.selectors.assignees import agents, assignee_choices
from prevenance.cases.selectors.inbox import FILTER_KEYS
from prevenance.cases.selectors.visibility import VIEW_CASE, visible_cases
from prevenance.cases.services.bulk import (
    MAX_BULK_CASES,
    BulkOutcome,
    bulk_add_tag,
    bulk_assign_to_agent,
    bulk_assign_to_team,
    bulk_change_priority,
    bulk_change_status,
    bulk_take_cases,
)
from prevenance.cases.workflow import TARGETS
from prevenance.core.validation import is_row_id

CHANGE_CASE = "cases.change_case"
# The "Assign to" list's values besides "me": an agent, a team.
AGENT_PREFIX, TEAM_PREFIX = "user-", "team-"
# The inbox's own query keys, kept when coming back to it.
BACK_KEYS = ("view", "cursor", *FILTER_KEYS)


def may_change_in_bulk(user) -> bool:
    return user.has_perm(VIEW_CASE) and user.has_perm(CHANGE_CASE)


def status_choices() -> list[tuple[str, str]]:
    """The statuses the workflow lets some case move to; each case is checked on its own."""
    return [(value, label) for value, label in CaseStatus.choices if value in TARGETS]


def bulk_choices() -> dict:
    """What the bar offers: the case page's assignee picker (agents grouped by team) and teams,
    the reachable statuses, the tags and the priority levels."""
    return {
        "agents": [(_("Agents — %(group)s") % {"group": label}, [(f"{AGENT_PREFIX}{pk}", name) for pk, name in people])
                   for label, people in assignee_choices(None)],
        "teams": [(f"{TEAM_PREFIX}{pk}", name) for pk, name in Team.objects.order_by("name").values_list("pk", "name")],
        "status": status_choices(),
        "tags": list(Tag.objects.order_by("name").values_list("pk", "name")),
        "priority": Priority.choices,
        "max": MAX_BULK_CASES,
    }


class BulkActionForm(forms.Form):
    """The change picked in the bar: the button clicked (`action`) and its list's value."""

    action = forms.ChoiceField(choices=[("assign", "assign"), ("status", "status"), ("tag", "tag"), ("priority", "priority")],
                               error_messages={"required": gettext_lazy("Pick a change for the selected cases."),
                                               "invalid_choice": gettext_lazy("Pick a change for the selected cases.")})
    assign_to = forms.CharField(required=False, max_length=30)
    # The statuses the bar offers; "new" is no status a case moves to.
    status = forms.ChoiceField(required=False, choices=[("", ""), *status_choices()],
                               error_messages={"invalid_choice": gettext_lazy("Pick a status from the list.")})
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False,
                                 error_messages={"invalid_choice": gettext_lazy("There is no such tag: pick one from the list.")})
    priority = forms.ChoiceField(required=False, choices=[("", ""), *Priority.choices],
                                 error_messages={"invalid_choice": gettext_lazy("Pick a priority from the list.")})

    MISSING = {
        "assign": gettext_lazy("Pick who to assign the selected cases to."),
        "status": gettext_lazy("Pick the status to move the selected cases to."),
        "tag": gettext_lazy("Pick the tag to add to the selected cases."),
        "priority": gettext_lazy("Pick the priority to give the selected cases."),
    }

    def clean(self):
        data = super().clean()
        action = data.get("action")
        field = {"assign": "assign_to"}.get(action, action)
        if action and not self.errors and not data.get(field):
            raise ValidationError(self.MISSING[action])
        if action == "assign":
            data["assign_to"] = self._assignee_or_team(data["assign_to"])
        return data

    @staticmethod
    def _assignee_or_team(value: str):
        """"me", an agent (user-<id>) or a team (team-<id>): the user or team picked."""
        if value == "me":
            return "me"
        for prefix, rows in ((AGENT_PREFIX, agents()), (TEAM_PREFIX, Team.objects.all())):
            number = value.removeprefix(prefix)
            if value.startswith(prefix) and _is_id(number):
                found = rows.filter(pk=int(number)).first()
                if found is not None:
                    return found
        raise ValidationError(_("There is no such agent or team: pick one from the list."))


def parse_selection(values: list[str]) -> tuple[list[int], dict[int, int | None]]:
    """The ticked rows: the case ids, and the assignee each row showed (None: unassigned), for
    "Assign to me" (take_case). A row's box is "<case id>:<assignee id or nothing>"; a bare case
    id is accepted too (its assignee is then the one read when it is changed). Refused when
    empty, above MAX_BULK_CASES, or malformed (a tampered form: nothing is changed)."""
    ids: dict[int, None] = {}  # in the order ticked, each once
    seen: dict[int, int | None] = {}
    for value in values:
        case_id, colon, assignee = value.strip().partition(":")
        if not _is_id(case_id) or (assignee and not _is_id(assignee)):
            raise ValidationError(_("The selection is not valid: reload the page and select the cases again."))
        ids[int(case_id)] = None
        if colon:
            seen[int(case_id)] = int(assignee) if assignee else None
    if not ids:
        raise ValidationError(_("Select at least one case first."))
    if len(ids) > MAX_BULK_CASES:
        raise ValidationError(_("You can change at most %(max)d cases at once: %(count)d are selected. Select fewer cases.")
                              % {"max": MAX_BULK_CASES, "count": len(ids)})
    return list(ids), seen


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 19 and is_row_id(int(text))


def back_to_inbox(posted: str) -> str:
    """The inbox view, filters and page the form was sent from (its query string, posted),
    rebuilt from the inbox's own keys only: never a redirect elsewhere."""
    query = QueryDict(posted[:4000])
    pairs = [(key, value) for key in BACK_KEYS for value in query.getlist(key)]
    return reverse("cases:inbox") + (f"?{urlencode(pairs)}" if pairs else "")


def _apply(form: BulkActionForm, cases, actor, seen: dict[int, int | None]) -> BulkOutcome:
    data = form.cleaned_data
    action = data["action"]
    if action == "assign":
        target = data["assign_to"]
        if target == "me":
            return bulk_take_cases(cases=cases, actor=actor, seen_assignees=seen)
        if isinstance(target, Team):
            return bulk_assign_to_team(cases=cases, actor=actor, team=target)
        return bulk_assign_to_agent(cases=cases, actor=actor, assignee=target)
    if action == "status":
        return bulk_change_status(cases=cases, actor=actor, status=data["status"])
    if action == "tag":
        return bulk_add_tag(cases=cases, actor=actor, tag=data["tag"])
    return bulk_change_priority(cases=cases, actor=actor, priority=data["priority"])


def _report(request, outcome: BulkOutcome, not_found: int) -> None:
    """How many were changed, then each refused case and why, then the ids not found (deleted,
    or not among the user's cases: one message for both, so ids cannot be probed)."""
    if outcome.changed:
        count = len(outcome.changed)
        messages.success(request, ngettext("%(count)d case updated.", "%(count)d cases updated.", count) % {"count": count})
    for case, reason in outcome.refused:
        messages.warning(request, _("%(reference)s was not changed: %(reason)s") % {"reference": case.reference, "reason": reason})
    if not_found:
        messages.warning(request, ngettext(
            "%(count)d selected case was not found among the cases you can see: it was not changed.",
            "%(count)d selected cases were not found among the cases you can see: they were not changed.", not_found,
        ) % {"count": not_found})


@login_required
@require_POST
def inbox_bulk(request):
    """Apply the bar's change to the ticked cases the user can see, each on its own."""
    user = request.user
    if not may_change_in_bulk(user):
        raise PermissionDenied
    back = back_to_inbox(request.POST.get("back", ""))
    form = BulkActionForm(request.POST)
    try:
        ids, seen = parse_selection(request.POST.getlist("case"))
        if not form.is_valid():
            raise ValidationError([error for errors in form.errors.values() for error in errors])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back)
    # Only the cases the user can see; the others are counted with the missing ones (_report).
    cases = list(visible_cases(user).filter(pk__in=ids).select_related("assignee", "team"))
    outcome = _apply(form, cases, user, seen)
    _report(request, outcome, not_found=len(ids) - len(cases) + outcome.vanished)
    return redirect(back)
