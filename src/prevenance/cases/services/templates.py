"""Reply templates (macros), the relational signature, and their placeholders (docs/templates-and-surveys.md).

Templates are written by people in the admin or through the API, so their text is never run
through a template engine: placeholders are `{name}` fields from a fixed list, filled by a
formatter that only looks names up in a dict of strings. `{{` and `}}` write literal braces.
"""

import copy
import re
import string
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from prevenance.cases import sla
from prevenance.cases.choices import TemplateAuditKind, TemplatePurpose
from prevenance.cases.closings import Ending, how_it_ends, without_closing
from prevenance.cases.models import Case, ReplyTemplate, Signature, Team
from prevenance.cases.selectors.kept_settings import forget_kept_settings, kept_settings
from prevenance.core.audit import record_audit
from prevenance.core.choices import CHANNELS
from prevenance.core.formats import date_as_written
from prevenance.core.validation import invalid

# The placeholders every template may use; survey invitations also get the links to answer.
PLACEHOLDERS = frozenset({
    "customer_first_name", "customer_last_name", "case_reference", "case_subject", "order_reference",
    "agent_first_name", "agent_name", "team_name", "due_date",
})
SURVEY_PLACEHOLDERS = frozenset({"survey_url", "survey_links"})
MAX_BODY = 20_000
MAX_SIGN_OFF = 2_000
_FORMATTER = string.Formatter()


def allowed_placeholders(purpose: str) -> frozenset[str]:
    return PLACEHOLDERS | SURVEY_PLACEHOLDERS if purpose == TemplatePurpose.SURVEY else PLACEHOLDERS


def check_placeholders(text: str, *, field: str, allowed: Iterable[str] = PLACEHOLDERS) -> None:
    """Refuse a text whose placeholders are not all known, naming the first bad one.

    Only plain `{name}` is accepted: no attribute or index access (`{case.customer}`), no
    conversion or format spec, so nothing but a lookup in a dict of strings ever happens.
    """
    allowed = frozenset(allowed)
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError:
        raise invalid(field, _("Unbalanced brace: write {{ or }} for a literal brace, {name} for a placeholder."), "bad_brace") from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise invalid(
                field, _("Unknown placeholder %(placeholder)s. Allowed: %(allowed)s.")
                         % {"placeholder": shown, "allowed": ", ".join("{" + p + "}" for p in sorted(allowed))},
                "unknown_placeholder",
            )


_LABEL_END = re.compile(r"[:：]\s*$")
_PUNCTUATION = re.compile(r"^[,.;:!?)]")


def _fill_line(parts: list[tuple], values: dict[str, str], *, leave_out: bool = True) -> str | None:
    """One line filled; None for a "Label: {placeholder}" line with nothing to say (no team
    chosen yet, no due time): the customer reads no label followed by nothing. An empty value
    before punctuation takes its space with it ("Bonjour {customer_first_name}," → "Bonjour,"),
    and between two spaces leaves one."""
    names = [name for _literal, name, _spec, _conv in parts if name is not None]
    if leave_out and names and not any(values.get(name, "") for name in names) and _LABEL_END.search(parts[0][0]) \
            and not any(literal.strip() for literal, *_rest in parts[1:]):
        return None
    line, after_empty = "", False
    for literal, name, _spec, _conv in parts:
        if after_empty and _PUNCTUATION.match(literal):
            line = line.rstrip(" ")
        elif after_empty and literal.startswith(" ") and line.endswith(" "):
            literal = literal[1:]  # "your order {order_reference} is late" without one: one space, not two
        line += literal
        value = values.get(name, "") if name is not None else None
        line += value or ""
        after_empty = value == ""
    return line


def fill(text: str, values: dict[str, str], *, leave_out_empty_labels: bool = True) -> str:
    """Replace the placeholders; a missing or unknown one becomes empty text, and a line that
    only labels an empty value is left out (_fill_line; not in a subject, which is one line that
    must stay). Never raises."""
    try:
        lines = [list(_FORMATTER.parse(line)) for line in text.split("\n")]
    except ValueError:
        return text  # unbalanced braces slipped past validation (raw SQL, old rows): show it as written
    filled = [_fill_line(parts, values, leave_out=leave_out_empty_labels) for parts in lines]
    kept = "\n".join(line for line in filled if line is not None)
    # A left-out line between two paragraphs must not leave two blank lines behind.
    return re.sub(r"\n{3,}", "\n\n", kept) if None in filled else kept


# --- values ------------------------------------------------------------------------------------

def case_language(case: Case) -> str:
    """The language to write to the customer in: the case's, else the customer's, else the site's."""
    return case.language or (case.customer.language if case.customer_id is not None else "") or settings.LANGUAGE_CODE


def case_time_zone(case: Case) -> ZoneInfo:
    """The time zone of the calendar the case's due times are counted on (the SLA policy's,
    else the team's: sla.calendar_for, as sla.spec_for), else the site's."""
    calendar = sla.calendar_for(case, case.sla_policy if case.sla_policy_id is not None else None)
    return ZoneInfo(calendar.time_zone if calendar is not None else settings.TIME_ZONE)


def business_due(when: datetime | None, *, language: str, tz: ZoneInfo, now: datetime | None = None) -> str:
    """A due time as people say it: "today before 14:00", "tomorrow before 10:00",
    "Tuesday 3 December before 14:00" (in `language`, local time of `tz`); "" when unknown."""
    if when is None:
        return ""
    local = timezone.localtime(when, tz)
    today = timezone.localtime(now or timezone.now(), tz).date()
    with translation.override(language):
        hour = formats.time_format(local, "H:i")
        if local.date() == today:
            return _("today before %(time)s") % {"time": hour}
        if local.date() == today + timedelta(days=1):
            return _("tomorrow before %(time)s") % {"time": hour}
        day = date_as_written(local, "l j F" if local.year == today.year else "l j F Y")
        return _("%(day)s before %(time)s") % {"day": day, "time": hour}


def placeholder_values(case: Case, agent=None, *, language: str | None = None) -> dict[str, str]:
    """What each placeholder stands for on this case; anything unknown is empty text."""
    customer = case.customer if case.customer_id is not None else None
    team = case.team if case.team_id is not None else None
    order = case.order if case.order_id is not None else None
    return {
        "customer_first_name": customer.first_name if customer else "",
        "customer_last_name": customer.last_name if customer else "",
        "case_reference": case.reference or "",
        "case_subject": case.subject or "",
        "order_reference": order.reference if order else "",
        "agent_first_name": (getattr(agent, "first_name", "") or "") if agent is not None else "",
        "agent_name": (agent.get_full_name() or "") if agent is not None and hasattr(agent, "get_full_name") else "",
        "team_name": team.name if team else "",
        "due_date": business_due(answer_due_at(case), language=language or case_language(case), tz=case_time_zone(case)),
    }


def answer_due_at(case: Case):
    """When the customer is to be answered: the next reply's due time while a reopened case
    awaits one (services/sla.py), else the first response's (what the acknowledgement says)."""
    if case.first_response_at is not None and case.next_reply_due_at is not None:
        return case.next_reply_due_at
    return case.first_response_due_at


def render_template(*, template: ReplyTemplate, case: Case, agent=None, extra: dict[str, str] | None = None) -> tuple[str, str]:
    """(subject, body) of `template` filled for `case` and the answering `agent` (may be None).

    `extra` adds purpose-specific values (the survey links). Missing values render as "".
    """
    values = {**placeholder_values(case, agent, language=template.language), **(extra or {})}
    return fill(template.subject, values, leave_out_empty_labels=False), fill(template.body, values)


# --- choosing a template and a signature --------------------------------------------------------

def _language_rank(language: str, wanted: str) -> int:
    if language == wanted:
        return 0
    return 1 if language == settings.LANGUAGE_CODE else 2


# The active templates and signatures are kept per process (selectors/kept_settings.py):
# every change is seen at once, in this process or another.
def _active_rows() -> tuple[tuple[ReplyTemplate, ...], tuple[Signature, ...]]:
    kept = kept_settings()
    return kept.templates, kept.signatures


forget_templates = forget_kept_settings


def select_template(*, purpose: str, case: Case, name: str | None = None) -> ReplyTemplate | None:
    """The best active template of `purpose` for this case: in the case's language (else the
    site's, else any), for its channel rather than any channel, for its team rather than every team."""
    wanted = case_language(case)
    candidates = [
        t for t in _active_rows()[0]
        if t.purpose == purpose and t.channel in (case.channel, "") and t.team_id in (None, case.team_id)
        and (name is None or t.name == name)
    ]
    ranked = sorted(
        candidates, key=lambda t: (_language_rank(t.language, wanted), t.channel != case.channel, t.team_id is None, t.pk)
    )
    return copy.copy(ranked[0]) if ranked else None  # a copy: the kept rows are shared by every caller


def signature_for(case: Case, agent=None, *, language: str | None = None) -> Signature | None:
    """The team's active signature in the language, else the brand-wide one; None when neither
    exists (a sign-off in another language than the message would read worse than none)."""
    language = language or case_language(case)
    rows = [s for s in _active_rows()[1] if s.language == language and s.team_id in (None, case.team_id)]
    chosen = min(rows, key=lambda s: (s.team_id is None, s.pk), default=None)
    return copy.copy(chosen) if chosen is not None else None


def sign_off_for(case: Case, agent=None, *, signature: Signature | None = None, language: str | None = None) -> str:
    """The signature's sign-off filled for this case and agent (in `language`, else the case's);
    "" when there is no signature."""
    signature = signature or signature_for(case, agent, language=language)
    if signature is None:
        return ""
    values = placeholder_values(case, agent, language=signature.language)
    # A line made only of placeholders with no value (the agent's name on an automatic
    # message) is left out rather than kept as a blank line.
    lines = [(line, fill(line, values)) for line in signature.sign_off.splitlines()]
    return "\n".join(filled for line, filled in lines if filled.strip() or not line.strip()).strip()


def _ends_with(body: str, sign_off: str) -> bool:
    """Whether the body already ends with the sign-off, whatever spaces and line breaks the agent's
    text box put between its words (a sign-off typed or pasted by hand is not added twice)."""
    return " ".join(body.split()).endswith(" ".join(sign_off.split()))


def _sign_off_to_add(body: str, sign_off: str, agent=None) -> tuple[str, bool]:
    """(what goes under the body, whether it goes right under the body's own closing): the whole
    sign-off; nothing when the body already ends with it, or with a closing and a name of its
    own ("Cordialement,\nSarah"); only the sign-off's lines after its closing when the body's
    last line is a valediction ("Cordialement,": the agent's closing takes the signature's
    place, the name and team still follow). The same rule for an agent's reply and a template's
    body: whoever wrote the closing meant it (closings.py)."""
    if not sign_off or _ends_with(body, sign_off):
        return "", False
    # The agent's own name as the last line signs the reply too ("Merci et bonne journée !\nCamille").
    names = (getattr(agent, "first_name", ""), agent.get_full_name()) if agent is not None and hasattr(agent, "get_full_name") else ()
    ending = how_it_ends(body, names=names)
    if ending is Ending.SIGNED:
        return "", False
    if ending is Ending.CLOSING:
        return without_closing(sign_off), True
    return sign_off, False


def _signed(body: str, addition: str, *, under_closing: bool) -> str:
    # Under the agent's own closing the name follows on the next line, as in a letter.
    return f"{body.rstrip()}{chr(10) if under_closing else chr(10) * 2}{addition}"


def apply_signature(body: str, *, case: Case, agent=None, signature: Signature | None = None, language: str | None = None) -> str:
    """The body with the sign-off under it, in `language` (the body's: a template that fell
    back to another language is signed in that one); unchanged when there is no signature or
    the body already ends with it or with a closing of its own (_sign_off_to_add)."""
    sign_off = sign_off_for(case, agent, signature=signature, language=language)
    addition, under_closing = _sign_off_to_add(body, sign_off, agent)
    if not addition:
        return body
    return _signed(body, addition, under_closing=under_closing)


def sign_reply(text: str, html: str, *, case: Case, agent=None, language: str | None = None) -> tuple[str, str]:
    """(text, html) of a reply with the sign-off added to both (the HTML one escaped), in
    `language` (the reply's, e.g. the template's it was written from), else the case's; what is
    added follows the text's own ending (_sign_off_to_add: the text is what the agent typed, the
    HTML its formatted twin)."""
    sign_off = sign_off_for(case, agent, language=language)
    addition, under_closing = _sign_off_to_add(text, sign_off, agent)
    if not addition:
        return text, html
    if html:
        html = f"{html}<p>{escape(addition).replace(chr(10), '<br>')}</p>"
    return _signed(text, addition, under_closing=under_closing), html


# --- writing templates and signatures -----------------------------------------------------------

def _require(actor, perm: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.has_perm(perm):
        raise PermissionDenied


def _language(value) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    if value not in codes:
        raise ValidationError({"language": [_("Unknown language “%(value)s”; one of: %(codes)s.")
                                            % {"value": str(value)[:10], "codes": ", ".join(sorted(codes))}]})
    return value


def _text(field: str, value, *, limit: int, required: bool) -> str:
    text = ("" if value is None else str(value)).replace("\x00", "")
    if required and not text.strip():
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError({field: [_("At most %(limit)d characters (got %(length)d).") % {"limit": limit, "length": len(text)}]})
    return text


def _collect(checks) -> None:
    """Run every check and raise one ValidationError with all the fields that failed."""
    errors: dict[str, list] = {}
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def clean_template_fields(*, name, purpose, language, channel, team, subject, body) -> dict:
    """Validated fields of a reply template (also used by the admin form)."""
    cleaned: dict = {"team": team}

    def put(field, value):
        cleaned[field] = value

    def check_purpose():
        if purpose not in TemplatePurpose.values:
            raise ValidationError({"purpose": [_("“%(value)s” is not one of: %(choices)s.")
                                               % {"value": str(purpose)[:40], "choices": ", ".join(TemplatePurpose.values)}]})
        put("purpose", purpose)

    def check_channel():
        if channel and channel not in CHANNELS:
            raise ValidationError({"channel": [_("Unknown channel “%(value)s”.") % {"value": str(channel)[:40]}]})
        put("channel", channel or "")

    def check_team():
        if team is not None and not isinstance(team, Team):
            raise ValidationError({"team": [_("Unknown team.")]})

    _collect([
        lambda: put("name", " ".join(_text("name", name, limit=100, required=True).split())),
        check_purpose,
        lambda: put("language", _language(language)),
        check_channel,
        check_team,
        lambda: put("subject", " ".join(_text("subject", subject, limit=255, required=False).split())),
        lambda: put("body", _text("body", body, limit=MAX_BODY, required=True)),
    ])
    allowed = allowed_placeholders(cleaned["purpose"])
    _collect([
        lambda: check_placeholders(cleaned["subject"], field="subject", allowed=allowed),
        lambda: check_placeholders(cleaned["body"], field="body", allowed=allowed),
    ])
    return cleaned


def _save_unique(row, *, field: str, message: str) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise invalid(field, message, "duplicate") from None


def create_reply_template(
    *, actor, name: str, body: str, language: str, purpose: str = TemplatePurpose.REPLY, channel: str = "",
    team: Team | None = None, subject: str = "", active: bool = True,
) -> ReplyTemplate:
    """A new template; unknown placeholders, languages or channels are refused with the field."""
    _require(actor, "cases.add_replytemplate")
    _refuse_not_bool(active)
    fields = clean_template_fields(name=name, purpose=purpose, language=language, channel=channel, team=team, subject=subject, body=body)
    with transaction.atomic():
        template = ReplyTemplate(active=active, **fields)
        _save_unique(template, field="name", message=_("A template with this name already exists for this language and channel."))
        record_audit(kind=TemplateAuditKind.TEMPLATE_CREATED, actor=actor, subject=template, payload={"name": template.name})
    return template


def _refuse_not_bool(active) -> None:
    if not isinstance(active, bool):  # bool(None) would switch the template off
        raise invalid("active", _("Say true or false."), "bool_type")


TEMPLATE_FIELDS = ("name", "purpose", "language", "channel", "team", "subject", "body")


def update_reply_template(*, template: ReplyTemplate, actor, **changes) -> ReplyTemplate:
    """Change some fields (any of name, purpose, language, channel, team, subject, body, active)."""
    _require(actor, "cases.change_replytemplate")
    unknown = set(changes) - {*TEMPLATE_FIELDS, "active"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("This field cannot be changed.")]})
    _refuse_not_bool(changes.get("active", True))
    with transaction.atomic():
        # Merged with the locked row, not the caller's copy: a field nobody asked to change
        # keeps what a concurrent edit saved.
        locked = ReplyTemplate.objects.select_for_update().filter(pk=template.pk).first()
        if locked is None:
            raise invalid("template", _("This template was deleted meanwhile."), "deleted")
        fields = clean_template_fields(**{field: changes.get(field, getattr(locked, field)) for field in TEMPLATE_FIELDS})
        for field, value in fields.items():
            setattr(locked, field, value)
        if "active" in changes:
            locked.active = changes["active"]
        _save_unique(locked, field="name", message=_("A template with this name already exists for this language and channel."))
        record_audit(kind=TemplateAuditKind.TEMPLATE_CHANGED, actor=actor, subject=locked, payload={"fields": sorted(changes)})
    return locked


def delete_reply_template(*, template: ReplyTemplate, actor) -> None:
    _require(actor, "cases.delete_replytemplate")
    with transaction.atomic():
        record_audit(kind=TemplateAuditKind.TEMPLATE_DELETED, actor=actor, subject=template, payload={"name": template.name})
        ReplyTemplate.objects.filter(pk=template.pk).delete()


def clean_signature_fields(*, name, team, language, tone_guidance, sign_off) -> dict:
    cleaned: dict = {"team": team}

    def put(field, value):
        cleaned[field] = value

    _collect([
        lambda: put("name", " ".join(_text("name", name, limit=100, required=True).split())),
        lambda: put("language", _language(language)),
        lambda: put("tone_guidance", _text("tone_guidance", tone_guidance, limit=MAX_SIGN_OFF, required=False)),
        lambda: put("sign_off", _text("sign_off", sign_off, limit=MAX_SIGN_OFF, required=True)),
    ])
    check_placeholders(cleaned["sign_off"], field="sign_off")
    return cleaned


def _signature_clash(team) -> str:
    if team is None:
        return _("There is already an active brand-wide signature in this language.")
    return _("This team already has an active signature in this language.")


def create_signature(
    *, actor, name: str, language: str, sign_off: str, team: Team | None = None, tone_guidance: str = "", active: bool = True,
) -> Signature:
    """A team's (or, without team, the brand-wide) signature; one active per team and language."""
    _require(actor, "cases.add_signature")
    fields = clean_signature_fields(name=name, team=team, language=language, tone_guidance=tone_guidance, sign_off=sign_off)
    with transaction.atomic():
        signature = Signature(active=bool(active), **fields)
        _save_unique(signature, field="language", message=_signature_clash(team))
        record_audit(kind=TemplateAuditKind.SIGNATURE_CREATED, actor=actor, subject=signature, payload={"name": signature.name})
    return signature


SIGNATURE_FIELDS = ("name", "team", "language", "tone_guidance", "sign_off")


def update_signature(*, signature: Signature, actor, **changes) -> Signature:
    _require(actor, "cases.change_signature")
    unknown = set(changes) - {*SIGNATURE_FIELDS, "active"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("This field cannot be changed.")]})
    with transaction.atomic():
        locked = Signature.objects.select_for_update().filter(pk=signature.pk).first()
        if locked is None:
            raise invalid("signature", _("This signature was deleted meanwhile."), "deleted")
        fields = clean_signature_fields(**{field: changes.get(field, getattr(locked, field)) for field in SIGNATURE_FIELDS})
        for field, value in fields.items():
            setattr(locked, field, value)
        if "active" in changes:
            locked.active = changes["active"]
        _save_unique(locked, field="language", message=_signature_clash(locked.team))
        record_audit(kind=TemplateAuditKind.SIGNATURE_CHANGED, actor=actor, subject=locked, payload={"fields": sorted(changes)})
    return locked


def delete_signature(*, signature: Signature, actor) -> None:
    _require(actor, "cases.delete_signature")
    with transaction.atomic():
        record_audit(kind=TemplateAuditKind.SIGNATURE_DELETED, actor=actor, subject=signature, payload={"name": signature.name})
        Signature.objects.filter(pk=signature.pk).delete()
