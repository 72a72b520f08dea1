"""Satisfaction at closing: a CSAT (1-5) and effort (CES 2.0, 1-7) survey sent when a case is
resolved, answered on a one-click page without login (issue 3, item 9; docs/templates-and-surveys.md).
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

from prevenance.cases.choices import AutomaticEmail, MessageKind, TemplateAuditKind, TemplatePurpose
from prevenance.cases.models import Case, SatisfactionSurvey
from prevenance.cases.services.common import add_thread_entry
from prevenance.cases.services.outbound import queue_delivery, unreachable
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


def closes_at(survey: SatisfactionSurvey) -> datetime:
    return survey.sent_at + ANSWER_WINDOW


def is_open(survey: SatisfactionSurvey, now: datetime | None = None) -> bool:
    return survey.customer_id is not None and (now or timezone.now()) < closes_at(survey)


def send_survey(*, case: Case, now: datetime | None = None) -> SatisfactionSurvey | None:
    """Create the survey of a case just resolved and email the invitation; None when none is sent.

    Call it inside the transaction that resolves the (locked) case: handling.change_status does.
    None, and nothing written, when the case had a survey in the last 30 days (one survey per
    case, a reopening does not ask again) or when no survey template is active; None with an
    audit row saying why when the customer was erased, withdrew their consent to surveys
    (the consent ledger's "surveys" purpose; never asked is not a refusal), or has no email
    address that works (none, or all bounced).
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):  # joins change_status's transaction
        if case.customer_id is None:
            record_audit(kind=TemplateAuditKind.SURVEY_SKIPPED, actor=None, subject=case, payload={"reason": SkipReason.ERASED})
            return None
        if SatisfactionSurvey.objects.filter(case=case, sent_at__gt=now - QUIET_PERIOD).exists():
            return None
        if consent_states(case.customer)[ConsentPurpose.SURVEYS].state == ConsentState.WITHDRAWN:
            record_audit(kind=TemplateAuditKind.SURVEY_SKIPPED, actor=None, subject=case, payload={"reason": SkipReason.DECLINED})
            return None
        template = select_template(purpose=TemplatePurpose.SURVEY, case=case)
        if template is None:
            logger.info("No active survey template: no satisfaction survey for case %s", case.reference)
            return None
        if (why := unreachable(case)) is not None:
            reason = SkipReason.BOUNCED if why.code == "bounced" else SkipReason.NO_ADDRESS
            record_audit(kind=TemplateAuditKind.SURVEY_SKIPPED, actor=None, subject=case, payload={"reason": reason})
            return None
        survey = SatisfactionSurvey.objects.create(
            case=case, customer_id=case.customer_id, token=secrets.token_urlsafe(32), agent_id=case.assignee_id,
            team_id=case.team_id, channel=case.channel, language=template.language, sent_at=now,
        )
        links = {"survey_url": survey_url(survey.token), "survey_links": survey_links(survey.token, template.language)}
        agent = case.assignee if case.assignee_id is not None else None
        subject, body = render_template(template=template, case=case, agent=agent, extra=links)
        invitation = add_thread_entry(
            case, kind=MessageKind.OUTBOUND, channel=Channel.EMAIL, body_text=apply_signature(body, case=case, agent=agent, language=template.language),
            created_at=now, automatic_purpose=AutomaticEmail.SURVEY,
        )
        queue_delivery(invitation, subject=subject, copy_people=False)  # its links answer for the customer
    return survey


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
