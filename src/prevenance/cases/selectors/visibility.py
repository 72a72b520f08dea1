"""Reads about cases; every list and every fetch goes through the one visibility rule below."""


from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from django.utils.translation import gettext as _

from prevenance.cases.choices import MessageKind
from prevenance.cases.models import Case, Message, Team
from prevenance.core.validation import invalid

VIEW_CASE = "cases.view_case"
VIEW_ALL_CASES = "cases.view_all_cases"


def visible_cases(user) -> QuerySet[Case]:
    """The cases a user may see: all of them with cases.view_all_cases; otherwise those of
    the user's teams, those assigned to them, and those no team has taken yet (the shared
    triage queue an agent picks work from). Nothing without cases.view_case.

    Lists, search, API and exports all start from this queryset (issue 3, "Visibility").
    """
    if not getattr(user, "is_authenticated", False) or not user.has_perm(VIEW_CASE):
        return Case.objects.none()
    if user.has_perm(VIEW_ALL_CASES):
        return Case.objects.all()
    # A subquery rather than a join on the members: no duplicate rows, so no DISTINCT.
    teams = Team.objects.filter(members=user).values("pk")
    return Case.objects.filter(Q(team__in=teams) | Q(team__isnull=True) | Q(assignee=user))


def visible_case_refs(user, *, customer_ids: list[int] | None = None, ref_ids: list[str] | None = None) -> QuerySet | None:
    """The ids, as timeline entries name them (ref_id), of the cases `user` may see among these
    customers' cases, or among these ids; None when they see every case
    (interactions/visibility.py). Always restricted: never a list of every case they see."""
    if getattr(user, "is_authenticated", False) and user.has_perm(VIEW_CASE) and user.has_perm(VIEW_ALL_CASES):
        return None
    cases = visible_cases(user)
    if customer_ids is not None:
        cases = cases.filter(customer_id__in=customer_ids)
    if ref_ids is not None:
        cases = cases.filter(pk__in=[int(ref) for ref in ref_ids if ref.isdigit() and len(ref) < 19])
    if customer_ids is None and ref_ids is None:
        raise ValueError("visible_case_refs needs customer_ids or ref_ids")
    return cases.annotate(ref=Cast("pk", CharField())).values("ref")


def access_case(user, case_id, *, perm: str = VIEW_CASE) -> Case:
    """The case if the user may act on it (`perm`, and the case is visible to them).

    A user without `perm` gets PermissionDenied; a missing case and a case of another team
    get the same 404, so ids cannot be probed.
    """
    if not getattr(user, "is_authenticated", False) or not user.has_perm(perm):
        raise PermissionDenied
    try:
        pk = int(case_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc
    if not 0 < pk < 2**63:
        raise Http404
    case = visible_cases(user).select_related("customer", "assignee", "team").filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


def case_thread(case: Case, *, include_notes: bool = True) -> QuerySet[Message]:
    """The case's messages in the order they were written, with their attachments and authors."""
    messages = case.messages.select_related("author").prefetch_related("attachments")
    return messages if include_notes else messages.exclude(kind=MessageKind.NOTE)


def case_by_reference(user, reference: str) -> Case:
    """A case by its human reference (C-YYYY-NNNNNN), under the same rule as access_case."""
    case = visible_cases(user).filter(reference=str(reference).strip().upper()).first()
    if case is None:
        raise Http404
    return case


def case_of_written_message(message: Message) -> Case:
    """The case a message the caller just wrote landed on, with its tags, read without the
    visibility filter: a customer message on a closed case opens a follow-up case in the
    case's team, which its poster may not be in (PATCH answers a case moved out of the caller's
    teams the same way). The write is made; answering it lets a retry replay it."""
    return Case.objects.prefetch_related("tags").get(pk=message.case_id)


def case_of_stored_message(user, message: Message, *, posted_to: Case | None = None) -> Case:
    """The case of a message found again by its `message_id` (a retried intake), for `user`.

    Answered when the user wrote it (the case they opened: the retry gets what the first answer
    gave, wherever the case went since), when they see that case, or, for a customer message
    posted on `posted_to`, when it is on that case, the case it was merged into, or a follow-up
    case opened from either. Otherwise the id is someone else's, on a case the user may not
    see: a 422 `message_id_taken` that names no case.
    """
    case = Case.objects.prefetch_related("tags").get(pk=message.case_id)
    if message.author_id is not None and message.author_id == getattr(user, "pk", None):
        return case
    reached = {posted_to.pk, posted_to.merged_into_id} - {None} if posted_to is not None else set()
    if case.pk in reached or case.reopened_from_id in reached or visible_cases(user).filter(pk=case.pk).exists():
        return case
    raise invalid(
        "message_id", _("This message_id is already stored on a case you cannot see: send this message with an id of its own."),
        "message_id_taken",
    )
