"""Several changes to a case at once (the API's PATCH), all or nothing; the priority by hand; the subject, type, language and origin channel."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases import priority as priority_rules
from prevenance.cases.choices import CaseAuditKind, CaseType, MessageKind, Priority
from prevenance.cases.models import Case, Message, Tag
from prevenance.cases.selectors.kept_settings import priority_config
from prevenance.cases.services.common import (
    case_text,
    clean_channel,
    clean_choice,
    lock_case,
    refuse_closed,
)
from prevenance.cases.services.handling import assign_case, change_status
from prevenance.cases.services.labels import set_case_labels
from prevenance.cases.services.priority import score_case
from prevenance.cases.services.sla import follow_policy_of_type
from prevenance.cases.services.templates import case_language
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.core.validation import invalid
from prevenance.customers.choices import Language
from prevenance.interactions.models import Interaction

UNSET: Any = object()
SUBJECT_MAX_LENGTH = Case._meta.get_field("subject").max_length


def change_priority(*, case: Case, priority: str, actor) -> Case:
    """Set the priority level by hand. The rules' points and reasons stay, for the record; the
    score is topped up to the level's threshold when they count less (priority.with_level_floor),
    so the inbox lists the case where its level says. The SLA policy the new priority selects
    applies, counted from the case's creation, as on reclassifying (sla.follow_policy_of_type):
    a case raised to urgent gets the urgent targets."""
    clean_choice("priority", priority, Priority)
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        previous = locked.priority
        if previous == priority:
            return locked
        previous_policy = locked.sla_policy_id
        locked.priority = priority
        locked.priority_score, locked.priority_reasons = priority_rules.with_level_floor(locked.priority_reasons or [], priority, priority_config())
        locked.save(update_fields=["priority", "priority_score", "priority_reasons", "updated_at", *follow_policy_of_type(locked)])
        payload = {"from": previous, "to": priority}
        if locked.sla_policy_id != previous_policy:
            payload["sla_policy"] = [previous_policy, locked.sla_policy_id]
        record_audit(kind=CaseAuditKind.PRIORITY_CHANGED, actor=actor, subject=locked, payload=payload)
        case_events.case_updated(locked, {"priority": case_events.change(previous, priority)})
    return locked


def change_case_type(*, case: Case, type: str, actor) -> Case:  # noqa: A002 - the business word
    """Reclassify a case (a question that is in fact a complaint): its priority is scored again
    for the new type (never lowered: a level already reached stays a floor), and the SLA policy
    the new type selects applies, counted from the case's creation (sla.follow_policy_of_type).
    The team stays: route_again applies the routing rules when the type should change who
    handles it. Audited (case.type_changed) and sent as case.updated."""
    clean_choice("type", type, CaseType)
    with transaction.atomic():
        locked = lock_case(case.pk)
        previous = locked.type
        if previous == type:
            return locked  # the classification form on a closed case still saves its root cause
        refuse_closed(locked)
        _change_scored_field(locked, "type", type, actor=actor, audit=CaseAuditKind.TYPE_CHANGED)
    return locked


def _change_scored_field(case: Case, name: str, value: str, *, actor, audit: str, then=None) -> None:
    """Set a field the priority score reads (type, channel) on a locked case: score it again,
    follow the SLA policy it then selects, save, run `then(previous)` (what else follows the
    field), audit (from, to, the new score, and the priority and policy when they moved) and
    send case.updated."""
    previous = getattr(case, name)
    before = {"priority": case.priority, "sla_policy": case.sla_policy_id}
    setattr(case, name, value)
    score_case(case, text=case_text(case))
    case.save(update_fields=[name, "priority", "priority_score", "priority_reasons", "updated_at", *follow_policy_of_type(case)])
    if then is not None:
        then(previous)
    after = {"priority": case.priority, "sla_policy": case.sla_policy_id}
    record_audit(kind=audit, actor=actor, subject=case, payload={
        "from": previous, "to": value, "score": case.priority_score,
        **{key: [before[key], after[key]] for key in before if before[key] != after[key]},
    })
    changes = {name: case_events.change(previous, value)}
    if before["priority"] != after["priority"]:
        changes["priority"] = case_events.change(before["priority"], after["priority"])
    case_events.case_updated(case, changes)


def change_case_language(*, case: Case, language: str, actor) -> Case:
    """Correct the language the customer is written to in (their profile said French, they
    write in English): replies' templates and the routing rules' language follow it. Audited
    (case.language_changed) and sent as case.updated; the customer's profile is left as it is."""
    clean_choice("language", language, Language)
    with transaction.atomic():
        locked = lock_case(case.pk)
        previous = locked.language
        if language == (previous or case_language(locked)):
            return locked  # what it is written in already (an empty language follows the customer's)
        refuse_closed(locked)
        locked.language = language
        locked.save(update_fields=["language", "updated_at"])
        record_audit(kind=CaseAuditKind.LANGUAGE_CHANGED, actor=actor, subject=locked, payload={"from": previous, "to": language})
        case_events.case_updated(locked, {"language": case_events.change(previous, language)})
    return locked


def change_case_channel(*, case: Case, channel: str, actor) -> Case:
    """Correct the channel a case came through (a phone call recorded as a store visit, an
    integration that said "api" for its chat): the case, its opening message and that
    message's timeline entry (the contacts and their cost by channel count it) take the right
    one, and the priority is scored again (a public channel weighs more; never lowered, as on
    reclassifying), with the SLA policy it selects. Email is a fact, not a declaration: a case
    that came by email keeps it (its thread, mailbox and replies are email), and no case
    becomes an email case. Audited (case.channel_changed) and sent as case.updated."""
    channel = clean_channel(channel)
    with transaction.atomic():
        locked = lock_case(case.pk)
        previous = locked.channel
        if previous == channel:
            return locked
        refuse_closed(locked)
        if Channel.EMAIL in (previous, channel):
            raise invalid(
                "channel", _(
                "A case that came by email keeps that channel, and no other case can be moved to it: its messages did not come by email."
            ),
                "channel_email",
            )
        _change_scored_field(locked, "channel", channel, actor=actor, audit=CaseAuditKind.CHANNEL_CHANGED,
                             then=lambda previous: _correct_opening_contact(locked, previous))
    return locked


def _correct_opening_contact(case: Case, previous: str) -> None:
    """The case's first message from the customer, recorded on the wrong channel, and its timeline entry."""
    opening = (Message.objects.filter(case=case, kind=MessageKind.INBOUND, channel=previous)
               .order_by("created_at", "id").values_list("pk", "interaction_id").first())
    if opening is None:
        return
    message_id, interaction_id = opening
    Message.objects.filter(pk=message_id).update(channel=case.channel)
    if interaction_id is not None:
        Interaction.objects.filter(pk=interaction_id, channel=previous).update(channel=case.channel)


def change_case_subject(*, case: Case, subject: str, actor) -> Case:
    """Rename a case whose subject says nothing useful ("Re: your message", "(no subject)", a
    split case that kept its source's): the inbox, its search box and the page show the new one.
    Spaces are squeezed (a line break would break the inbox's row); an empty subject is refused
    (a case nobody can name), and one longer than the column. The priority is not scored again:
    the agent names the matter, the customer's words stay what they were. Refused on a closed
    case. Audited (case.subject_changed) and sent as case.updated."""
    subject = " ".join(str(subject).split())
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise invalid(
            "subject", _("A subject is at most %(max)d characters long (this one has %(length)d).")
            % {"max": SUBJECT_MAX_LENGTH, "length": len(subject)}, "subject_too_long",
        )
    with transaction.atomic():
        locked = lock_case(case.pk)
        previous = locked.subject
        if subject == previous:
            return locked  # the classification form sends the subject with every change
        if not subject:
            raise invalid("subject", _("A case needs a subject: type a few words that name the matter."), "subject_empty")
        refuse_closed(locked)
        locked.subject = subject
        locked.save(update_fields=["subject", "updated_at"])  # Case.save() folds it for the search box too
        record_audit(kind=CaseAuditKind.SUBJECT_CHANGED, actor=actor, subject=locked, payload={"from": previous, "to": subject})
        case_events.case_updated(locked, {"subject": case_events.change(previous, subject)})
    return locked


def classify_case(
    *, case: Case, type: str, language: str, tags: list[Tag], root_cause, actor, channel: str = "",  # noqa: A002
    subject: str | None = None,
) -> Case:
    """The case page's classification form: subject (None: unchanged), type, language, origin
    channel (empty: unchanged), tags and root cause, all or nothing."""
    with transaction.atomic():
        if subject is not None:
            change_case_subject(case=case, subject=subject, actor=actor)
        change_case_type(case=case, type=type, actor=actor)
        change_case_language(case=case, language=language, actor=actor)
        if channel:
            change_case_channel(case=case, channel=channel, actor=actor)
        return set_case_labels(case=case, tags=tags, root_cause=root_cause, actor=actor)


def update_case(
    *, case: Case, actor, status: str = UNSET, assignee=UNSET, team=UNSET, priority: str = UNSET, tags: list[Tag] = UNSET,
    type: str = UNSET, language: str = UNSET, channel: str = UNSET,  # noqa: A002 - the business word
    subject: str = UNSET,
) -> Case:
    """Apply each given change through its own service, in one transaction: if one is refused,
    none is kept. Assignment is one change (assignee and team together; the one not given stays)."""
    with transaction.atomic():
        current = lock_case(case.pk)
        if assignee is not UNSET or team is not UNSET:
            current = assign_case(
                case=current, actor=actor,
                assignee=current.assignee if assignee is UNSET else assignee,
                team=current.team if team is UNSET else team,
            )
        if subject is not UNSET:
            current = change_case_subject(case=current, subject=subject, actor=actor)
        if type is not UNSET:
            current = change_case_type(case=current, type=type, actor=actor)
        if language is not UNSET:
            current = change_case_language(case=current, language=language, actor=actor)
        if channel is not UNSET:
            current = change_case_channel(case=current, channel=channel, actor=actor)
        # After the type and the channel: a level set by hand is not raised again by the new type's score.
        if priority is not UNSET:
            current = change_priority(case=current, priority=priority, actor=actor)
        if tags is not UNSET:
            current = set_case_labels(case=current, tags=tags, root_cause=current.root_cause, actor=actor)
        # Last: a move to closed would refuse the changes above.
        if status is not UNSET and status != current.status:
            current = change_status(case=current, status=status, actor=actor)
    return current
