"""Satisfaction at closing: a CSAT (1-5) and effort (CES 2.0, 1-7) survey sent after a case is
resolved, answered on a one-click page without login (issue 3, item 9; docs/templates-and-surveys.md).

The resolution only schedules the survey (`schedule_survey`: a row with `due_at`, the resolution
plus PREVENANCE_SURVEY_DELAY_MINUTES); the outbox's periodic sweep (tasks.send_due_emails) sends
it once due (`send_due_surveys`), and only after every earlier email of the case has been handed
to the email backend, so the invitation never overtakes the reply that resolved the case. A case
reopened (or merged) before then gets no survey: the row is dropped, and the next resolution
schedules one again.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.cases.choices import (
    AutomaticEmail,
    CaseStatus,
    MessageKind,
    TemplateAuditKind,
    TemplatePurpose,
)
from prevenance.cases.models import Case, Message, ReplyTemplate, SatisfactionSurvey

# The module, not its functions: tasks.py imports this module, and outbound imports tasks
# (docs/background-jobs.md, "import cycles").
from prevenance.cases.services import outbound
from prevenance.cases.services.common import add_thread_entry, lock_case
from prevenance.cases.services.templates import apply_signature, render_template, select_template
from prevenance.core.audit import record_audit
from prevenance.core.choices import Channel
from prevenance.core.validation import invalid
from prevenance.customers.choices import ConsentPurpose, ConsentState
from prevenance.customers.selectors import consent_states

logger = logging.getLogger(__name__)

# Answers can be given or changed this long after the survey was sent; then the link says it is closed.
ANSWER_WINDOW = timedelta(days=7)
# A case resolved again (after a reopening) within this time of its last survey gets no second one.
QUIET_PERIOD = timedelta(days=30)
MAX_COMMENT = 2_000
# Due surveys sent by one sweep (the next sweep takes the rest); a survey whose sending failed
# (an error logged) is tried again this long after.
SWEEP_BATCH = 200
RETRY_AFTER = timedelta(minutes=10)

CSAT_LABELS = {
    1: gettext_lazy("Very dissatisfied"),
    2: gettext_lazy("Dissatisfied"),
    3: gettext_lazy("Neither satisfied nor dissatisfied"),
    4: gettext_lazy("Satisfied"),
    5: gettext_lazy("Very satisfied"),
}
# CES 2.0: agreement with "The company made it easy for me to handle my issue".
CES_LABELS = {
    1: gettext_lazy("Strongly disagree"),
    2: gettext_lazy("Disagree"),
    3: gettext_lazy("Somewhat disagree"),
    4: gettext_lazy("Neither agree nor disagree"),
    5: gettext_lazy("Somewhat agree"),
    6: gettext_lazy("Agree"),
    7: gettext_lazy("Strongly agree"),
}


class SkipReason:
    NO_ADDRESS = "no_address"
    BOUNCED = "bounced"  # the customer's email addresses all bounced for good
    ERASED = "erased"
    DECLINED = "declined"  # the customer withdrew their consent to surveys (consent ledger)
    # Before the survey was due: the case was reopened (sent at its next resolution instead), or
    # merged into another case.
    REOPENED = "reopened"
    MERGED = "merged"


def survey_url(token: str, *, csat: int | None = None) -> str:
    url = settings.PREVENANCE_BASE_URL.rstrip("/") + reverse("cases:survey", kwargs={"token": token})
    return f"{url}?csat={csat}" if csat is not None else url


def survey_links(token: str, language: str) -> str:
    """One line per answer, each a link that opens the page with it preselected.

    1 to 5, in the order the page lists them (views/survey.py), so the scale reads the same way twice.
    """
    colon = "\u00a0:" if language == "fr" else ":"  # French typography: a (no-break) space before the colon
    with translation.override(language):
        return "\n".join(
            f"{score} – {CSAT_LABELS[score]}{colon} {survey_url(token, csat=score)}" for score in sorted(CSAT_LABELS)
        )


def survey_delay() -> timedelta:
    """How long after the resolution the survey is sent (PREVENANCE_SURVEY_DELAY_MINUTES)."""
    return timedelta(minutes=settings.PREVENANCE_SURVEY_DELAY_MINUTES)


def closes_at(survey: SatisfactionSurvey) -> datetime | None:
    """When answers stop being taken; None for a survey not sent yet."""
    return survey.sent_at + ANSWER_WINDOW if survey.sent_at is not None else None


def is_open(survey: SatisfactionSurvey, now: datetime | None = None) -> bool:
    return survey.customer_id is not None and survey.sent_at is not None and (now or timezone.now()) < closes_at(survey)


def _prepare(case: Case, now: datetime) -> tuple[SatisfactionSurvey, ReplyTemplate] | None:
    """The case's survey waiting to be sent (created if none), with the template it goes with;
    None, the waiting one dropped, when the case gets no survey (the rules of schedule_survey)."""
    pending = SatisfactionSurvey.objects.filter(case=case, sent_at__isnull=True).first()
    if pending is None and SatisfactionSurvey.objects.filter(case=case, sent_at__gt=now - QUIET_PERIOD).exists():
        return None
    reason, template = None, None
    if case.customer_id is None:
        reason = SkipReason.ERASED
    elif consent_states(case.customer)[ConsentPurpose.SURVEYS].state == ConsentState.WITHDRAWN:
        reason = SkipReason.DECLINED
    elif (template := select_template(purpose=TemplatePurpose.SURVEY, case=case)) is None:
        logger.info("No active survey template: no satisfaction survey for case %s", case.reference)
    elif (why := outbound.unreachable(case)) is not None:
        reason = SkipReason.BOUNCED if why.code == "bounced" else SkipReason.NO_ADDRESS
    if reason is not None or template is None:
        if reason is not None:
            record_audit(kind=TemplateAuditKind.SURVEY_SKIPPED, actor=None, subject=case, payload={"reason": reason})
        if pending is not None:
            pending.delete()
        return None
    if pending is None:
        pending = SatisfactionSurvey.objects.create(
            case=case, customer_id=case.customer_id, token=secrets.token_urlsafe(32), agent_id=case.assignee_id,
            team_id=case.team_id, channel=case.channel, language=template.language, sent_at=None, due_at=now,
        )
    return pending, template


def schedule_survey(*, case: Case, now: datetime | None = None) -> SatisfactionSurvey | None:
    """Schedule the survey of a case just resolved: due PREVENANCE_SURVEY_DELAY_MINUTES after
    `now` (send_due_surveys sends it then); None when none will be sent.

    Call it inside the transaction that resolves the (locked) case: handling.change_status does.
    A survey still waiting (the case was reopened and is resolved again before it was due) is
    the one scheduled again, from this resolution, with who handles the case now. None, and
    nothing written, when the case had a survey sent in the last 30 days (one survey per case,
    a reopening does not ask again) or when no survey template is active; None with an audit
    row saying why when the customer was erased, withdrew their consent to surveys (the consent
    ledger's "surveys" purpose; never asked is not a refusal), or has no email address that
    works (none, or all bounced). The same rules are checked again when it is sent.
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):  # joins change_status's transaction
        prepared = _prepare(case, now)
        if prepared is None:
            return None
        survey, template = prepared
        survey.agent_id, survey.team_id, survey.channel = case.assignee_id, case.team_id, case.channel
        survey.customer_id, survey.language, survey.due_at = case.customer_id, template.language, now + survey_delay()
        survey.save(update_fields=["agent", "team", "channel", "customer", "language", "due_at"])
    return survey


def send_survey(*, case: Case, now: datetime | None = None) -> SatisfactionSurvey | None:
    """Email the case's survey invitation now: the survey waiting to be sent, else a new one
    (schedule_survey's rules, checked again: the customer may have withdrawn their consent or been
    erased meanwhile); None when none is sent.

    Call it inside a transaction holding the case's lock (send_due_surveys does, once the survey
    is due and the case's earlier emails have gone). The agent, team and channel stay those copied
    at the resolution.
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        prepared = _prepare(case, now)
        if prepared is None:
            return None
        survey, template = prepared
        survey.sent_at, survey.due_at, survey.language = now, None, template.language
        survey.save(update_fields=["sent_at", "due_at", "language"])
        links = {"survey_url": survey_url(survey.token), "survey_links": survey_links(survey.token, template.language)}
        agent = case.assignee if case.assignee_id is not None else None
        subject, body = render_template(template=template, case=case, agent=agent, extra=links)
        invitation = add_thread_entry(
            case, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text=apply_signature(body, case=case, agent=agent, language=template.language),
            created_at=now, automatic_purpose=AutomaticEmail.SURVEY,
        )
        outbound.queue_delivery(invitation, subject=subject, copy_people=False)  # its links answer for the customer
    return survey


def _not_resolved_any_more(case: Case) -> str | None:
    """Why a resolved case's survey must not go now that it is due: merged into another case, or
    reopened (not resolved, nor closed after its resolution: change_status clears `resolved_at`
    when a resolved case is reopened). None: it goes."""
    if case.merged_into_id is not None:
        return SkipReason.MERGED
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.resolved_at is None:
        return SkipReason.REOPENED
    return None


def _email_waiting(case: Case) -> bool:
    """Whether an email of the case (the reply that resolved it, an acknowledgement) is still in
    the outbox, not handed to the email backend yet: waiting for its task, being sent, or due
    again after a failed attempt. One given up (no longer due) does not hold the survey back."""
    return Message.objects.filter(
        case_id=case.pk, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, sent_at__isnull=True, delivery_due_at__isnull=False,
    ).exists()


def _send_due(survey_id: int, case_id: int, now: datetime) -> bool:
    with transaction.atomic():
        case = lock_case(case_id)  # a reopening, a new resolution or another sweep waits for this one
        survey = SatisfactionSurvey.objects.filter(pk=survey_id, sent_at__isnull=True, due_at__lte=now).first()
        if survey is None:
            return False  # sent by another sweep, dropped or scheduled again meanwhile
        if (reason := _not_resolved_any_more(case)) is not None:
            survey.delete()
            record_audit(kind=TemplateAuditKind.SURVEY_SKIPPED, actor=None, subject=case, payload={"reason": reason})
            return False
        if _email_waiting(case):
            return False  # after that email: the next sweep looks again
        return send_survey(case=case, now=now) is not None


def send_due_surveys(*, now: datetime | None = None) -> int:
    """Send the surveys that are due (the outbox's periodic sweep, tasks.send_due_emails): each in
    its own transaction, its case locked; returns how many were sent.

    A survey whose case is no longer resolved is dropped (audit row `case.survey_skipped`,
    "reopened" or "merged"); one whose case still has an email in the outbox waits for the next
    sweep. Two sweeps at once send each survey once (the case's lock, then the survey read again).
    """
    now = now or timezone.now()
    due = list(
        SatisfactionSurvey.objects.filter(due_at__lte=now, sent_at__isnull=True).order_by("due_at", "id").values_list("pk", "case_id")[:SWEEP_BATCH]
    )
    sent = 0
    for survey_id, case_id in due:
        try:
            sent += _send_due(survey_id, case_id, now)
        except Exception:
            # One survey that cannot be sent (its template broken, its case locked too long) must
            # not hold back the others, nor the outbox sweep that follows.
            logger.exception("Could not send the satisfaction survey %s of case %s", survey_id, case_id)
            SatisfactionSurvey.objects.filter(pk=survey_id, sent_at__isnull=True).update(due_at=now + RETRY_AFTER)
    return sent


def _score(field: str, value, top: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= top:
        raise invalid(field, _("Choose a whole number from 1 to %(top)d.") % {"top": top}, "out_of_range")
    return score


def answer_survey(*, token: str, csat=None, ces=None, comment: str | None = None, now: datetime | None = None) -> SatisfactionSurvey:
    """Record (or change) the customer's answers; a None argument leaves that answer as it is.

    Refused with a ValidationError: an unknown token (`token`), a closed survey (7 days after
    sending, or the customer erased: `survey`), a score out of range (`csat` 1-5, `ces` 1-7),
    a comment over 2,000 characters (a line break counts one, as the page's textarea counts it,
    and is stored as "\n"). `answered_at` is the first answer's time: changing an answer does
    not move it to another reporting period.
    """
    now = now or timezone.now()
    errors: dict[str, list] = {}
    scores = {}
    for field, value, top in (("csat", csat, 5), ("ces", ces, 7)):
        try:
            scores[field] = _score(field, value, top)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if comment is not None:
        # Line breaks as "\n": a browser posts each one as CRLF but counts it as one character
        # against the textarea's maxlength, so a comment the page accepted must fit here too.
        comment = normalize_newlines(str(comment).replace("\x00", "")).strip()
        if len(comment) > MAX_COMMENT:
            errors["comment"] = [_("At most %(limit)d characters (got %(length)d).") % {"limit": MAX_COMMENT, "length": len(comment)}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        survey = SatisfactionSurvey.objects.select_for_update().filter(token=str(token)[:64]).first()
        if survey is None:
            raise invalid("token", _("This survey link is not valid."), "unknown_survey")
        if not is_open(survey, now):
            raise invalid("survey", _("This survey is closed."), "survey_closed")
        changed = []
        for field, score in scores.items():
            if score is not None:
                setattr(survey, field, score)
                changed.append(field)
        if comment is not None:
            survey.comment = comment
            changed.append("comment")
        if changed and survey.answered_at is None:
            survey.answered_at = now
            changed.append("answered_at")
        if changed:
            survey.save(update_fields=changed)
    return survey
