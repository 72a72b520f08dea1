"""The cases API: cases, their threads and gestures, approvals, reply templates, SLA policies.

Thin handlers (parse, access, one service or selector, answer); mounted by prevenance.api at
/api/v1/cases, /gestures, /templates and /sla-policies. Every case is read through
`visible_cases` (directly or via `access_case`), so the API shows what the web UI shows.
`request.auth` is the calling user. See docs/api.md, "Cases".
"""

import base64
import binascii

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from prevenance.cases import downloads, services
from prevenance.cases.choices import CaseStatus, CaseType, Priority, TemplatePurpose
from prevenance.cases.models import Case, Gesture, ReplyTemplate, SLAPolicy, Tag, Team
from prevenance.cases.schemas import (
    CaseIn,
    CaseOut,
    CasePage,
    CaseUpdateIn,
    GestureDecisionIn,
    GestureIn,
    GestureOut,
    GesturePage,
    MergeIn,
    MessageCreatedOut,
    MessageIn,
    MessagePage,
    SLAPolicyIn,
    SLAPolicyOut,
    SLAPolicyPage,
    SLAPolicyPatch,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatch,
)
from prevenance.cases.selectors import (
    access_case,
    case_by_reference,
    case_thread,
    gesture_approval_queue,
    visible_cases,
)
from prevenance.cases.selectors.case_page import access_attachment
from prevenance.cases.selectors.visibility import case_of_stored_message, case_of_written_message
from prevenance.cases.services import sla_policies
from prevenance.cases.services.email_attachments import display_filename
from prevenance.cases.services.updates import update_case
from prevenance.core.choices import Channel
from prevenance.core.models import BusinessCalendar
from prevenance.core.pagination import paginate_by_id
from prevenance.core.schemas import BODY_ERRORS, ERRORS, LIMIT_DEFAULT, LIMIT_MAX
from prevenance.core.validation import MAX_ID, errors_renamed, is_row_id
from prevenance.customers.models import Order
from prevenance.customers.selectors import require_perm
from prevenance.customers.services import IdentityInput

router = Router(tags=["cases"])
gestures_router = Router(tags=["gestures"])
templates_router = Router(tags=["reply templates"])
sla_router = Router(tags=["SLA policies"])

Limit = Query(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
Cursor = Query(None, max_length=500)

# The services' names for what a body sends under another name (an id): their refusals are
# answered on the field the client sent (errors_renamed), `["body", "order_id"]`, not "order".
CASE_FIELDS = {"order": "order_id", "team": "team_id", "assignee": "assignee_id"}
TEMPLATE_FIELDS = {"team": "team_id"}
SLA_POLICY_FIELDS = {"calendar": "calendar_id"}
MERGE_FIELDS = {"loser": "loser_id"}


def _found(model, pk: int | None, field: str, message: str):
    """The row named in a body field, or a 422 on that field (None stays None)."""
    if pk is None:
        return None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise ValidationError({field: [message]})
    return row


def _team(pk):
    return _found(Team, pk, "team_id", _("Unknown team."))


def _sent(payload, *, nullable: tuple[str, ...] = ()) -> dict:
    """The fields a PATCH body sends; `null` only where it clears something (a team), never
    read as "false" or "empty" (`{"active": null}` must not switch a policy off)."""
    sent = payload.dict(exclude_unset=True)
    empty = sorted(field for field, value in sent.items() if value is None and field not in nullable)
    if empty:
        raise ValidationError({field: [_("This field cannot be empty.")] for field in empty})
    return sent


# Cases ---------------------------------------------------------------------------------------


def _identities(payload: CaseIn) -> list[IdentityInput]:
    identities = [IdentityInput(i.kind, i.value, i.network, i.verified) for i in payload.identities]
    if payload.email:
        identities.append(IdentityInput("email", payload.email, input_field="email"))
    if payload.phone:
        identities.append(IdentityInput("phone", payload.phone, input_field="phone"))
    if not identities:
        raise ValidationError({"email": [_("Say who the customer is: an email, a phone or identities.")]})
    return identities


@router.post("", response={200: CaseOut, 201: CaseOut, **BODY_ERRORS},
             summary="Open a case (201), or find the one a message_id already opened (200)")
def create_case(request, payload: CaseIn):
    require_perm(request.auth, "cases.add_case")
    hints = payload.customer.dict(exclude_none=True) if payload.customer else {}
    # The service checks the hints under their own names; the body has them under "customer".
    with errors_renamed({**CASE_FIELDS, **{field: f"customer.{field}" for field in hints}}):
        intake = services.open_case(
            identities=_identities(payload), hints=hints or None,
            channel=payload.channel, subject=payload.subject, body=payload.body, body_html=payload.body_html,
            type=payload.type, priority=payload.priority, team=_team(payload.team_id),
            order=_found(Order, payload.order_id, "order_id", _("Unknown order.")), actor=request.auth,
            sender_address=payload.email or "", sender_name=payload.sender_name, message_id=payload.message_id,
        )
    if not intake.created:
        return Status(200, case_of_stored_message(request.auth, intake.message))
    intake.case.tag_names = []  # just opened: no tags, no query for them
    return Status(201, intake.case)


@router.get("", response={200: CasePage, **ERRORS}, summary="List the cases you can see, newest first")
def list_cases(
    request,
    status: CaseStatus | None = None,
    priority: Priority | None = None,
    type: CaseType | None = None,  # noqa: A002 - the field's name
    channel: Channel | None = None,
    team_id: int | None = Query(None, ge=1, le=MAX_ID),
    assignee_id: int | None = Query(None, ge=1, le=MAX_ID),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    unassigned: bool | None = Query(None, description="true: no assignee; false: someone has it"),
    tag: str | None = Query(None, max_length=50),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    filters = {
        name: value for name, value in (
            ("status", status), ("priority", priority), ("type", type), ("channel", channel), ("team_id", team_id),
            ("assignee_id", assignee_id), ("customer_id", customer_id), ("tags__name", tag),
        ) if value is not None
    }
    if unassigned is not None:
        filters["assignee__isnull"] = unassigned
    cases = visible_cases(request.auth).filter(**filters).prefetch_related("tags")
    return paginate_by_id(cases, cursor=cursor, limit=limit)


@router.get("/by-reference/{reference}", response={200: CaseOut, **ERRORS}, summary="Read a case by its reference (C-2026-000123)")
def get_case_by_reference(request, reference: str):
    if len(reference) > 40:
        raise Http404
    return case_by_reference(request.auth, reference)


@router.get("/{case_id}", response={200: CaseOut, **ERRORS}, summary="Read a case")
def get_case(request, case_id: int):
    return access_case(request.auth, case_id)


@router.patch("/{case_id}", response={200: CaseOut, **BODY_ERRORS}, summary="Change the status, assignee, team, priority, type, language, origin channel, tags or subject")
def patch_case(request, case_id: int, payload: CaseUpdateIn):
    case = access_case(request.auth, case_id, perm="cases.change_case")
    sent = _sent(payload, nullable=("assignee_id", "team_id", "tags"))
    changes = {field: sent[field] for field in ("status", "priority", "type", "language", "channel", "subject") if field in sent}
    if "team_id" in sent:
        changes["team"] = _team(sent["team_id"])
    if "assignee_id" in sent:
        changes["assignee"] = _found(get_user_model(), sent["assignee_id"], "assignee_id", _("Unknown user."))
    if "tags" in sent:
        names = sorted(set(sent["tags"] or []))
        tags = list(Tag.objects.filter(name__in=names))
        unknown = sorted(set(names) - {tag.name for tag in tags})
        if unknown:
            raise ValidationError({"tags": [_("Unknown tags: %(names)s.") % {"names": ", ".join(unknown)[:200]}]})
        changes["tags"] = tags
    with errors_renamed(CASE_FIELDS):
        update_case(case=case, actor=request.auth, **changes)
    # Read again without the visibility filter: a case moved to another team is answered as it
    # now is (the change is made), though the caller will not see it any more.
    return Case.objects.prefetch_related("tags").get(pk=case.pk)


@router.post("/{case_id}/route", response={200: CaseOut, **BODY_ERRORS}, summary="Apply the routing rules again (team, then agent)",
             description="As at opening: the first matching rule's team, then an agent by the team's routing method; "
                         "a case already in that team keeps its assignee. 422 `no_routing_rule` when no rule matches.")
def route_case(request, case_id: int):
    case = access_case(request.auth, case_id, perm="cases.change_case")
    return services.route_again(case=case, actor=request.auth)


@router.post("/{case_id}/merge", response={200: CaseOut, **BODY_ERRORS}, summary="Merge another case (loser_id) into this one")
def merge_case(request, case_id: int, payload: MergeIn):
    survivor = access_case(request.auth, case_id, perm="cases.merge_case")
    loser = access_case(request.auth, payload.loser_id, perm="cases.merge_case")
    with errors_renamed(MERGE_FIELDS):
        return services.merge_cases(survivor=survivor, loser=loser, actor=request.auth)


@router.post("/{case_id}/messages/{message_id}/split", response={201: CaseOut, **BODY_ERRORS},
             summary="Move a customer message out of this case into a new case linked back (split_from_id)")
def split_case_message(request, case_id: int, message_id: int):
    case = access_case(request.auth, case_id, perm="cases.change_case")
    message = case.messages.filter(pk=message_id).first() if is_row_id(message_id) else None
    if message is None:
        raise Http404
    new_case = services.split_message(message=message, actor=request.auth)
    new_case.tag_names = []  # just opened: no tags
    return Status(201, new_case)


# Messages ------------------------------------------------------------------------------------


@router.get("/{case_id}/messages", response={200: MessagePage, **ERRORS}, summary="The case's thread, oldest first (notes included)")
def list_messages(request, case_id: int, cursor: str | None = Cursor, limit: int = Limit):
    require_perm(request.auth, "cases.view_message")
    case = access_case(request.auth, case_id)
    return paginate_by_id(case_thread(case), cursor=cursor, limit=limit, descending=False)


def _decoded_attachments(items) -> list[SimpleUploadedFile]:
    """The files of a message as uploads (the services check them as they check a form's)."""
    files, errors = [], []
    for item in items:
        name = display_filename(item.filename)  # no path, no control character ("/" or ".." would be refused by Django)
        try:
            # Line breaks are allowed: base64 tools wrap at 76 characters.
            content = base64.b64decode("".join(item.content_base64.split()), validate=True)
        except (binascii.Error, ValueError):
            errors.append(_("“%(name)s”: content_base64 is not base64.") % {"name": name[:80]})
            continue
        files.append(SimpleUploadedFile(name if name.strip(".") else "attachment", content))
    if errors:
        raise ValidationError({"attachments": errors})
    return files


@router.get("/{case_id}/attachments/{attachment_id}", response={200: None, **ERRORS},
            summary="Download a file of the thread (as an attachment, application/octet-stream)",
            # `200: None` alone would tell a generated client there is no body to read.
            openapi_extra={"responses": {200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}})
def download_attachment(request, case_id: int, attachment_id: int):
    return downloads.attachment_download(access_attachment(request.auth, case_id, attachment_id))


@router.post("/{case_id}/messages", response={201: MessageCreatedOut, **BODY_ERRORS},
             summary="Add a reply, an internal note or a customer message")
def add_message(request, case_id: int, payload: MessageIn):
    require_perm(request.auth, "cases.add_message")
    case = access_case(request.auth, case_id, perm="cases.change_case")
    opened, written = False, True
    files = _decoded_attachments(payload.attachments)
    if files and payload.kind == "inbound":
        raise ValidationError({"attachments": [_("Files go with a reply or a note; a customer's files come with their email or the contact form.")]})
    if payload.status is not None and payload.kind != "reply":
        raise ValidationError({"status": [_("Only a reply can set the case's status; change it with PATCH /cases/{id}.")]})
    if payload.kind == "reply":
        reply = {"case": case, "author": request.auth, "body": payload.body, "body_html": payload.body_html,
                 "channel": payload.channel, "files": files}
        if payload.status is not None:  # "send and resolve": one transaction, refused as a whole
            message = services.reply_and_set_status(status=payload.status, **reply)
        else:
            message = services.add_reply(**reply)
    elif payload.kind == "note":
        message = services.add_note(case=case, author=request.auth, body=payload.body, files=files)
    else:
        intake = services.add_inbound_message(
            case=case, body=payload.body, body_html=payload.body_html, channel=payload.channel,
            sender_address=payload.sender_address, sender_name=payload.sender_name, message_id=payload.message_id,
            visible_to=request.auth,  # a merged case's survivor only for someone who sees it
        )
        message, opened, written = intake.message, intake.case_opened, intake.created
    # The case the message is on now (a merged case leads to its survivor; a late reply opens
    # one, maybe in a team the caller is not in: answered all the same, the write is made).
    on = case_of_written_message(message) if written else case_of_stored_message(request.auth, message, posted_to=case)
    return Status(201, {"message": message, "case": on, "case_opened": opened})


# Gestures ------------------------------------------------------------------------------------


def _gesture(request, gesture_id: int) -> Gesture:
    require_perm(request.auth, "cases.view_gesture")
    gesture = Gesture.objects.filter(pk=gesture_id, case__in=visible_cases(request.auth).values("pk")).first()
    if gesture is None:
        raise Http404
    return gesture


@router.get("/{case_id}/gestures", response={200: GesturePage, **ERRORS}, summary="The case's commercial gestures, newest first")
def list_case_gestures(request, case_id: int, cursor: str | None = Cursor, limit: int = Limit):
    require_perm(request.auth, "cases.view_gesture")
    case = access_case(request.auth, case_id)
    return paginate_by_id(case.gestures.all(), cursor=cursor, limit=limit)


@router.post("/{case_id}/gestures", response={201: GestureOut, **BODY_ERRORS},
             summary="Request a gesture: granted at once within your limit, else queued")
def request_gesture(request, case_id: int, payload: GestureIn):
    case = access_case(request.auth, case_id)
    gesture = services.request_gesture(
        case=case, type=payload.type, amount=payload.amount, currency=payload.currency, reason=payload.reason, actor=request.auth
    )
    return Status(201, gesture)


@gestures_router.get("/approvals", response={200: GesturePage, **ERRORS}, summary="The gestures waiting for your decision, oldest first")
def approval_queue(request, cursor: str | None = Cursor, limit: int = Limit):
    require_perm(request.auth, "cases.approve_gesture")
    return paginate_by_id(gesture_approval_queue(request.auth), cursor=cursor, limit=limit, descending=False)


@gestures_router.get("/{gesture_id}", response={200: GestureOut, **ERRORS}, summary="Read a gesture")
def get_gesture(request, gesture_id: int):
    return _gesture(request, gesture_id)


@gestures_router.post("/{gesture_id}/approve", response={200: GestureOut, **BODY_ERRORS}, summary="Grant a waiting gesture")
def approve_gesture(request, gesture_id: int, payload: GestureDecisionIn):
    return services.approve_gesture(gesture=_gesture(request, gesture_id), actor=request.auth, reason=payload.reason)


@gestures_router.post("/{gesture_id}/refuse", response={200: GestureOut, **BODY_ERRORS}, summary="Refuse a waiting gesture (reason required)")
def refuse_gesture(request, gesture_id: int, payload: GestureDecisionIn):
    return services.refuse_gesture(gesture=_gesture(request, gesture_id), actor=request.auth, reason=payload.reason)


@gestures_router.post("/{gesture_id}/cancel", response={200: GestureOut, **BODY_ERRORS}, summary="Withdraw your own waiting gesture")
def cancel_gesture(request, gesture_id: int, payload: GestureDecisionIn):
    return services.cancel_gesture(gesture=_gesture(request, gesture_id), actor=request.auth, reason=payload.reason)


# Reply templates -----------------------------------------------------------------------------


def _template(request, template_id: int) -> ReplyTemplate:
    require_perm(request.auth, "cases.view_replytemplate")
    template = ReplyTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404
    return template


@templates_router.get("", response={200: TemplatePage, **ERRORS}, summary="List reply templates")
def list_templates(
    request,
    purpose: TemplatePurpose | None = None,
    language: str | None = Query(None, max_length=10),
    active: bool | None = None,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    require_perm(request.auth, "cases.view_replytemplate")
    filters = {name: value for name, value in (("purpose", purpose), ("language", language), ("active", active)) if value is not None}
    return paginate_by_id(ReplyTemplate.objects.filter(**filters), cursor=cursor, limit=limit)


@templates_router.post("", response={201: TemplateOut, **BODY_ERRORS}, summary="Create a reply template")
def create_template(request, payload: TemplateIn):
    data = payload.dict()
    data["team"] = _team(data.pop("team_id"))
    with errors_renamed(TEMPLATE_FIELDS):
        return Status(201, services.create_reply_template(actor=request.auth, **data))


@templates_router.get("/{template_id}", response={200: TemplateOut, **ERRORS}, summary="Read a reply template")
def get_template(request, template_id: int):
    return _template(request, template_id)


@templates_router.patch("/{template_id}", response={200: TemplateOut, **BODY_ERRORS}, summary="Change some fields of a reply template")
def update_template(request, template_id: int, payload: TemplatePatch):
    template = _template(request, template_id)
    changes = _sent(payload, nullable=("team_id",))
    if "team_id" in changes:
        changes["team"] = _team(changes.pop("team_id"))
    with errors_renamed(TEMPLATE_FIELDS):
        return services.update_reply_template(template=template, actor=request.auth, **changes)


@templates_router.delete("/{template_id}", response={204: None, **ERRORS}, summary="Delete a reply template")
def delete_template(request, template_id: int):
    services.delete_reply_template(template=_template(request, template_id), actor=request.auth)
    return Status(204, None)


# SLA policies --------------------------------------------------------------------------------


def _policy(request, policy_id: int) -> SLAPolicy:
    require_perm(request.auth, "cases.view_slapolicy")
    policy = SLAPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise Http404
    return policy


def _policy_fields(data: dict) -> dict:
    if "calendar_id" in data:
        data["calendar"] = _found(BusinessCalendar, data.pop("calendar_id"), "calendar_id", _("Unknown calendar."))
    return data


@sla_router.get("", response={200: SLAPolicyPage, **ERRORS}, summary="List SLA policies")
def list_policies(request, active: bool | None = None, cursor: str | None = Cursor, limit: int = Limit):
    require_perm(request.auth, "cases.view_slapolicy")
    policies = SLAPolicy.objects.all() if active is None else SLAPolicy.objects.filter(active=active)
    return paginate_by_id(policies, cursor=cursor, limit=limit)


@sla_router.post("", response={201: SLAPolicyOut, **BODY_ERRORS}, summary="Create an SLA policy")
def create_policy(request, payload: SLAPolicyIn):
    with errors_renamed(SLA_POLICY_FIELDS):
        return Status(201, sla_policies.create_sla_policy(actor=request.auth, **_policy_fields(payload.dict())))


@sla_router.get("/{policy_id}", response={200: SLAPolicyOut, **ERRORS}, summary="Read an SLA policy")
def get_policy(request, policy_id: int):
    return _policy(request, policy_id)


@sla_router.patch("/{policy_id}", response={200: SLAPolicyOut, **BODY_ERRORS}, summary="Change some fields of an SLA policy")
def update_policy(request, policy_id: int, payload: SLAPolicyPatch):
    policy = _policy(request, policy_id)
    changes = _policy_fields(_sent(payload, nullable=("calendar_id",)))
    with errors_renamed(SLA_POLICY_FIELDS):
        return sla_policies.update_sla_policy(policy=policy, actor=request.auth, **changes)


@sla_router.delete("/{policy_id}", response={204: None, **ERRORS}, summary="Delete an SLA policy")
def delete_policy(request, policy_id: int):
    sla_policies.delete_sla_policy(policy=_policy(request, policy_id), actor=request.auth)
    return Status(204, None)
