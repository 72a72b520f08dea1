"""Cases as CSV: the inbox's view and filters, through the same visibility rule as every list."""

import io
from collections.abc import Iterator

from django.utils.translation import gettext as _

from prevenance.cases.models import Case
from prevenance.cases.selectors.inbox import view_queryset
from prevenance.core.csvio import SpreadsheetDialect, spreadsheet_safe
from prevenance.core.csvio.reading import format_datetime

EXPORT_LIMIT = 100_000
BATCH = 2_000


def export_header() -> list[str]:
    return [
        _("reference"), _("opened at"), _("status"), _("type"), _("origin channel"), _("priority"), _("priority score"),
        _("subject"), _("customer id"), _("customer"), _("team"), _("assignee"), _("first response due at"),
        _("first response at"), _("next reply due at"), _("resolution due at"), _("resolved at"), _("times reopened"),
    ]


def _row(case: Case) -> list[str]:
    customer = case.customer
    name = (f"{customer.first_name} {customer.last_name}".strip() or customer.company_name) if customer else ""
    assignee = case.assignee.get_full_name() or case.assignee.get_username() if case.assignee else ""
    return [spreadsheet_safe(value) for value in (
        case.reference, format_datetime(case.created_at), case.get_status_display(), case.get_type_display(), case.get_channel_display(),
        case.get_priority_display(), case.priority_score, case.subject, case.customer_id or "", name,
        case.team.name if case.team else "", assignee, format_datetime(case.first_response_due_at), format_datetime(case.first_response_at),
        format_datetime(case.next_reply_due_at), format_datetime(case.resolution_due_at), format_datetime(case.resolved_at), case.reopen_count,
    )]


def export_cases_csv(user, *, view: str | None, filters: dict | None, dialect: SpreadsheetDialect | None = None) -> Iterator[str]:
    """The cases of an inbox view with its filters, newest first, as CSV lines in the reader's
    spreadsheet dialect (core.csvio.spreadsheet_dialect: UTF-8 with a byte order mark; comma,
    or semicolon for a French reader), at most EXPORT_LIMIT rows; only what
    `visible_cases(user)` allows. Raises ValidationError on bad filters and Http404 on a saved
    view that is not the user's, before the first line."""
    dialect = dialect or SpreadsheetDialect()
    rows = (
        view_queryset(user, view=view, filters=filters).select_related("customer", "team", "assignee")
        .order_by("-created_at", "-id")[:EXPORT_LIMIT]
    )

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = dialect.writer(out)
        writer.writerow(export_header())
        for case in rows.iterator(chunk_size=BATCH):
            writer.writerow(_row(case))
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return lines()
