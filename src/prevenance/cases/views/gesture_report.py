"""The a-posteriori control report of commercial gestures, /cases/gestures/report/, and its CSV."""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from prevenance.cases.selectors import (
    VIEW_GESTURE_REPORT,
    gesture_control_report,
    gesture_report_csv,
)
from prevenance.cases.views.dashboard import LONGEST_PERIOD

DEFAULT_DAYS = 30


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To (included)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end of the period must come after its start."))
        elif data.get("start") and data.get("end") and data["end"] - data["start"] > LONGEST_PERIOD:
            self.add_error("start", _("Choose a period of at most three years."))
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.cleaned_data["start"], time.min, tzinfo=tz)
        end = datetime.combine(self.cleaned_data["end"] + timedelta(days=1), time.min, tzinfo=tz)
        return start, end


@login_required
@require_GET
def gesture_report(request):
    if not request.user.has_perm(VIEW_GESTURE_REPORT):
        raise PermissionDenied
    today = timezone.localdate()
    form = ReportPeriodForm(request.GET or {"start": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": today.isoformat()})
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
        response = HttpResponse(gesture_report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="gestures-{period["start"]}-{period["end"]}.csv"'
        return response
    thresholds = [
        {"currency": currency, "threshold": threshold, "median": report.medians.get(currency)}
        for currency, threshold in report.thresholds.items()
    ]
    context = {"form": form, "report": report, "thresholds": thresholds, "csv_query": urlencode({**period, "format": "csv"})}
    return render(request, "cases/dashboard_gesture_report.html", context)
