"""The supervisor dashboard, /cases/dashboard/: one GET, a period picker and two filters.

Parse the filters, call the selector, turn its figures into charts; no figure is computed
here (cases/selectors/dashboard.py has the definitions).
"""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from prevenance.cases.models import Team
from prevenance.cases.selectors import (
    VIEW_ALL_CASES,
    VIEW_GESTURE_REPORT,
    Dashboard,
    Period,
    case_dashboard,
)
from prevenance.cases.views.charts import bar_chart, format_duration, format_share
from prevenance.core.choices import Channel
from prevenance.core.currencies import format_money
from prevenance.core.formats import format_percent, rounded

DEFAULT_DAYS = 30
PRESETS = (7, 30, 90, 365)
LONGEST_PERIOD = timedelta(days=3 * 366)


# The dates a period may start or end on. Far beyond any case, yet far enough from the ends of
# the calendar (year 1 and 9999) that midnight in the service's time zone converts to UTC and
# the day after the last one exists: without it those dates crashed the pages with a 500.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def _sane_year(value) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(_("Choose a year between %(first)d and %(last)d.") % {"first": FIRST_YEAR, "last": LAST_YEAR},
                              code="year_out_of_range")


class PeriodForm(forms.Form):
    """Two days, both included, read in the current time zone (the dashboard and the control report)."""

    start = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}), validators=[_sane_year])
    end = forms.DateField(label=gettext_lazy("To (included)"), widget=forms.DateInput(attrs={"type": "date"}), validators=[_sane_year])

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the period must come after its start."))
        elif start and end and end - start > LONGEST_PERIOD:
            self.add_error("start", _("Choose a period of at most three years."))
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        """The chosen days as [first midnight, midnight after the last day) in the current time zone."""
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.cleaned_data["start"], time.min, tzinfo=tz)
        end = datetime.combine(self.cleaned_data["end"] + timedelta(days=1), time.min, tzinfo=tz)
        return start, end


def period_data(params, today) -> dict:
    """The form's data: what the query string gives, the last DEFAULT_DAYS days for the dates it
    leaves out (a link carrying only `satisfaction_by` or `format` still has a period)."""
    return {**_initial(today), **params.dict()}


class DashboardFilterForm(PeriodForm):
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False,
                                  empty_label=gettext_lazy("All teams"))
    channel = forms.ChoiceField(label=gettext_lazy("Origin channel"), required=False)
    satisfaction_by = forms.ChoiceField(
        required=False, widget=forms.HiddenInput,
        choices=[("channel", gettext_lazy("by channel")), ("team", gettext_lazy("by team")), ("agent", gettext_lazy("by agent"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels")), *Channel.choices]

    def period(self) -> Period:
        start, end = self.bounds()
        data = self.cleaned_data
        return Period(start=start, end=end, team=data.get("team"), channel=data.get("channel") or "")


def _initial(today) -> dict:
    return {"start": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": today.isoformat()}


def _preset_links(request, today) -> list[dict]:
    """The quick periods: the same page over the last N days, with the same filters and grouping."""
    kept = {key: request.GET[key] for key in ("team", "channel", "satisfaction_by") if request.GET.get(key)}
    links = []
    for days in PRESETS:
        query = {"start": (today - timedelta(days=days - 1)).isoformat(), "end": today.isoformat(), **kept}
        links.append({"days": days, "query": urlencode(query), "label": _("last %(days)d days") % {"days": days}})
    return links


def _satisfaction_links(form) -> list[dict]:
    """The satisfaction panel's grouping switch: the same page (period and filters as checked,
    defaults included) with another `satisfaction_by`."""
    data = form.cleaned_data
    kept = {"start": data["start"].isoformat(), "end": data["end"].isoformat()}
    if data.get("team"):
        kept["team"] = data["team"].pk
    if data.get("channel"):
        kept["channel"] = data["channel"]
    current = data.get("satisfaction_by") or "channel"
    return [
        {"query": urlencode({**kept, "satisfaction_by": key}), "label": label, "current": key == current}
        for key, label in form.fields["satisfaction_by"].choices
    ]


def _pct(share) -> float:
    return (share.rate or 0) * 100


def _csat_text(line) -> str:
    if line.csat is None:
        return "—"
    n = line.csat_responses
    return ngettext("%(share)s (%(n)d answer)", "%(share)s (%(n)d answers)", n) % {"share": format_percent(line.csat), "n": n}


def _ces_text(line) -> str:
    if line.ces is None:
        return "—"
    n = line.ces_responses
    return ngettext("%(mean)s (%(n)d answer)", "%(mean)s (%(n)d answers)", n) % {"mean": number_format(rounded(line.ces, 2), 2), "n": n}


def _texts(board: Dashboard) -> dict:
    """The durations and shares as the tables print them."""
    res = board.resolution
    return {
        "first_median": format_duration(board.first_response.median),
        "first_p90": format_duration(board.first_response.p90),
        "resolution_median": format_duration(board.resolution_time.median),
        "resolution_p90": format_duration(board.resolution_time.p90),
        "sla_first": format_share(board.sla_first_response.rate),
        "sla_resolution": format_share(board.sla_resolution.rate),
        "once_and_done": format_share(res.once_and_done.rate),
        "reopened": format_share(res.reopened.rate),
        "csat": _csat_text(board.satisfaction.total),
        "ces": _ces_text(board.satisfaction.total),
    }


def _charts(board: Dashboard) -> dict:
    """The figures as bar charts; the template prints the same figures in tables."""
    times = [
        (_("First response: median"), board.first_response.median, ""),
        (_("First response: 90th percentile"), board.first_response.p90, "muted"),
        (_("Resolution: median"), board.resolution_time.median, ""),
        (_("Resolution: 90th percentile"), board.resolution_time.p90, "muted"),
    ]
    res = board.resolution
    charts = {
        "age": bar_chart("chart-age", _("Open cases by age"), [(b.label, b.count, b.count) for b in board.backlog_by_age]),
        "status": bar_chart("chart-status", _("Open cases by status"), [(b.label, b.count, b.count) for b in board.backlog_by_status]),
        # Durations in hours on one axis: the 90th percentile sits next to its median.
        "times": bar_chart("chart-times", _("Response and resolution times"), [
            (label, value.total_seconds() / 3600 if value else 0, format_duration(value), tone) for label, value, tone in times
        ]),
        "sla": bar_chart("chart-sla", _("SLA compliance"), [
            (_("First response on time"), _pct(board.sla_first_response), format_share(board.sla_first_response.rate), "good"),
            (_("Resolution on time"), _pct(board.sla_resolution), format_share(board.sla_resolution.rate), "good"),
        ], scale=100),
        "quality": bar_chart("chart-quality", _("First-contact resolution and reopen rate"), [
            (_("Once and done"), _pct(res.once_and_done), format_share(res.once_and_done.rate), "good"),
            (_("Reopened"), _pct(res.reopened), format_share(res.reopened.rate), "bad"),
        ], scale=100),
        "gestures": bar_chart("chart-gestures", _("Gestures granted by type"), [
            (f"{line.label} ({line.currency})", line.count, line.count) for line in board.gestures.by_type
        ]),
    }
    satisfaction = board.satisfaction.lines
    charts["csat"] = bar_chart("chart-csat", _("CSAT: share of 4 and 5 answers"), [
        (line.label, line.csat or 0, _csat_text(line), "good") for line in satisfaction
    ], scale=100)
    charts["ces"] = bar_chart("chart-ces", _("Customer effort: mean on the 1 to 7 scale"), [
        (line.label, line.ces or 0, _ces_text(line)) for line in satisfaction
    ], scale=7)
    if board.contacts is not None:
        lines = board.contacts.lines
        charts["contacts"] = bar_chart("chart-contacts", _("Inbound contacts by channel"), [
            (line.label, line.contacts, number_format(line.contacts, force_grouping=True)) for line in lines
        ])
        costed = [line for line in lines if line.cost is not None]
        # Bars on one axis only when the costs share a currency; otherwise the table says it all.
        if costed and len({line.currency for line in costed}) == 1:
            charts["cost"] = bar_chart("chart-cost", _("Estimated cost by channel"), [
                (line.label, line.cost, f"{format_money(line.cost, line.currency)} {line.currency}") for line in costed
            ])
    return charts


@login_required
@require_GET
def dashboard(request):
    if not request.user.has_perm(VIEW_ALL_CASES):
        raise PermissionDenied
    today = timezone.localdate()
    form = DashboardFilterForm(period_data(request.GET, today))
    context = {"form": form, "presets": _preset_links(request, today), "can_see_report": request.user.has_perm(VIEW_GESTURE_REPORT)}
    status = 200
    if form.is_valid():
        try:
            board = case_dashboard(request.user, form.period(), satisfaction_by=form.cleaned_data["satisfaction_by"] or "channel")
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 400
        else:
            channel = board.period.channel
            context.update(board=board, charts=_charts(board), texts=_texts(board),
                           channel_label=Channel(channel).label if channel else "",
                           satisfaction_links=_satisfaction_links(form), report_query=urlencode({
                "start": form.cleaned_data["start"].isoformat(), "end": form.cleaned_data["end"].isoformat(),
            }))
    else:
        status = 400
    # A plain GET form, no HTMX swap: a refused filter answers 400 with the form and its
    # errors, which HTMX would not swap in by default, and the whole page reloads fast enough.
    return render(request, "cases/dashboard.html", context, status=status)
