"""Reads for the case page: the templates an agent may pick, the customer's other cases, gestures,
the customer's addresses a thread needs."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from prevenance.cases.choices import CaseAuditKind, CaseStatus, MessageKind, TemplatePurpose
from prevenance.cases.models import Attachment, Case, Gesture, Message, ReplyTemplate
from prevenance.cases.selectors.visibility import access_case, visible_cases
from prevenance.cases.workflow import ACTIVE
from prevenance.core.models import AuditEvent
from prevenance.core.validation import is_row_id
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Identity

OTHER_CASES_SHOWN = 10
MERGE_CANDIDATES_SHOWN = 20


def reply_templates_for(case: Case) -> QuerySet[ReplyTemplate]:
    """Active reply macros usable on this case: for its channel or any, its team or every team."""
    templates = ReplyTemplate.objects.filter(purpose=TemplatePurpose.REPLY, active=True, channel__in=[case.channel, ""])
    if case.team_id is None:
        templates = templates.filter(team__isnull=True)
    else:
        # Not team_id__in=[id, None]: SQL's IN never matches NULL.
        templates = templates.filter(Q(team_id=case.team_id) | Q(team__isnull=True))
    return templates.order_by("name", "language", "id")


def customer_open_cases(user, case: Case) -> list[Case]:
    """The customer's other active cases this user may see, newest first."""
    if case.customer_id is None:
        return []
    others = visible_cases(user).filter(customer_id=case.customer_id, status__in=ACTIVE).exclude(pk=case.pk)
    return list(others.order_by("-created_at", "-id")[:OTHER_CASES_SHOWN])


def merge_candidates(user, case: Case) -> list[Case]:
    """The customer's other cases this user may see and could merge into this one, newest
    first, for the merge box to offer: not closed (merge_cases refuses a closed case, and a
    merged case is closed). One query; none for a case without a customer."""
    if case.customer_id is None:
        return []
    others = (visible_cases(user).filter(customer_id=case.customer_id).exclude(status=CaseStatus.CLOSED).exclude(pk=case.pk)
              .only("pk", "reference", "subject", "status", "created_at"))
    return list(others.order_by("-created_at", "-id")[:MERGE_CANDIDATES_SHOWN])


def merge_record(case: Case) -> AuditEvent | None:
    """The audit row of the merge that closed `case` (who, when), with its actor; None for a
    case not merged. One query, only on a merged case's page."""
    if case.merged_into_id is None:
        return None
    return (AuditEvent.objects.filter(kind=CaseAuditKind.MERGED, subject_type=Case._meta.label_lower,
                                      subject_id=str(case.merged_into_id), payload__loser=case.pk)
            .select_related("actor").order_by("-occurred_at", "-id").first())


def customer_sender_addresses(case: Case, thread: Iterable[Message]) -> frozenset[str]:
    """The case customer's email addresses, lowercase, for the thread to show a nameless email
    from one of them under the customer's name, and to tell an email from someone in copy
    from the customer's own (case_tags.inbound_sender). One query for the page, none when no
    inbound email lacks a name (or the customer has no name to show) and none comes from an
    address in copy."""
    customer = case.customer
    if customer is None:
        return frozenset()
    copies = {address.lower() for address in case.cc_addresses}
    inbound = [message for message in thread if message.kind == MessageKind.INBOUND and message.sender_address]
    nameless = customer.display_name and any(not message.sender_name for message in inbound)
    if not nameless and not any(message.sender_address.lower() in copies for message in inbound):
        return frozenset()
    addresses = Identity.objects.filter(customer_id=customer.pk, kind=IdentityKind.EMAIL).values_list("normalized", flat=True)
    return frozenset(address.lower() for address in addresses)


def customer_cases(user, customer, *, limit: int = 20) -> list[Case]:
    """The customer's cases this user may see, whatever their status, newest first (the 360 page)."""
    return list(visible_cases(user).filter(customer=customer).select_related("team").order_by("-created_at", "-id")[:limit])


def case_gestures(case: Case) -> list[Gesture]:
    return list(case.gestures.select_related("requested_by", "decided_by").order_by("-created_at", "-id"))


def access_attachment(user, case_id, attachment_id) -> Attachment:
    """An attachment of a case the user may see, with cases.view_attachment; 404 for anything else."""
    case = access_case(user, case_id, perm="cases.view_attachment")
    if not is_row_id(int(attachment_id)):
        raise Http404
    attachment = Attachment.objects.filter(pk=attachment_id, message__case=case).first()
    if attachment is None:
        raise Http404
    return attachment
