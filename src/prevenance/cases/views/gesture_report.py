"""The a-posteriori control report of commercial gestures, /cases/gestures/report/, and its CSV."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from prevenance.cases.selectors import (
    VIEW_GESTURE_REPORT,
    gesture_control_report,
    gesture_report_csv,
)
from prevenance.cases.views.dashboard import PeriodForm, period_data


class ReportPeriodForm(PeriodForm):
    """The report's period: the dashboard's rules (both days included, at most three years, sane years)."""


@login_required
@require_GET
def gesture_report(request):
    if not request.user.has_perm(VIEW_GESTURE_REPORT):
        raise PermissionDenied
    today = timezone.localdate()
    form = ReportPeriodForm(period_data(request.GET, today))
    if not form.is_valid():
        return render(request, "cases/dashboard_gesture_report.html", {"form": form}, status=400)
    start, end = form.bounds()
    try:
        report = gesture_control_report(request.user, start=start, end=end)
    except ValidationError as exc:
        form.add_error(None, exc)
        return render(request, "cases/dashboard_gesture_report.html", {"form": form}, status=400)
    period = {"start": form.cleaned_data["start"].isoformat(), "end": form.cleaned_data["end"].isoformat()}
    if request.GET.get("format") == "csv":
        french = (translation.get_language() or "").startswith("fr")
        response = HttpResponse(gesture_report_csv(report, french=french), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="gestures-{period["start"]}-{period["end"]}.csv"'
        return response
    thresholds = [
        {"currency": currency, "threshold": threshold, "median": report.medians.get(currency)}
        for currency, threshold in report.thresholds.items()
    ]
    context = {"form": form, "report": report, "thresholds": thresholds, "csv_query": urlencode({**period, "format": "csv"})}
    return render(request, "cases/dashboard_gesture_report.html", context)
