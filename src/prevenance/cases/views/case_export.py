"""/cases/export.csv: the inbox's current view and filters as a CSV download."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from prevenance.cases.selectors import VIEW_CASE
from prevenance.cases.selectors.exports import export_cases_csv
from prevenance.cases.views.inbox import filters_from_query
from prevenance.core.csvio import spreadsheet_dialect


@login_required
@require_GET
def export_csv(request):
    if not request.user.has_perm(VIEW_CASE):
        raise PermissionDenied
    try:
        lines = export_cases_csv(request.user, view=request.GET.get("view"), filters=filters_from_query(request.GET),
                                 dialect=spreadsheet_dialect(translation.get_language()))
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages) or _("These filters are not valid."))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{timezone.localdate().isoformat()}.csv"'
    return response
