"""The business calendars' admin page (core/admin.py), with what the cases app adds to it: the
due times of the open cases whose SLA clocks run on a calendar recalculated after its holidays
or opening hours changed (a strike entered afterwards), as an action on the list and as a
page the prompt shown after saving such a change links to. Imported by admin.py."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from prevenance.cases.services import sla as sla_services
from prevenance.core.admin import BusinessCalendarAdmin
from prevenance.core.models import BusinessCalendar


def cases_a_change_reaches(calendar: BusinessCalendar, days: tuple[dt.date, dt.date] | None):
    """The open cases on `calendar` (sla.cases_on_calendar) whose due times a change to its open
    time on the local `days` (the first and the last; None: every day) can move: those whose
    clocks were started by the end of the last day (at the case's creation: a recalculation counts
    from there) and have a due time still running (the first response not given yet, the reply
    awaited by a reopened case, the resolution) on or after the start of the first. Any other case's clocks ran and run on days
    the change left alone."""
    cases = sla_services.cases_on_calendar(calendar)
    if days is None:
        return cases
    zone = ZoneInfo(calendar.time_zone)
    start, end = (dt.datetime.combine(day, dt.time.min, tzinfo=zone) for day in (days[0], days[1] + dt.timedelta(days=1)))
    return cases.filter(Q(created_at__lt=end) & (
        Q(first_response_at__isnull=True, first_response_due_at__gte=start) | Q(next_reply_due_at__gte=start)
        | Q(resolution_due_at__gte=start)))


class CalendarAdmin(BusinessCalendarAdmin):
    actions = ["recalculate_due_times"]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_recalculate"
        # Before the admin's own: its "<object_id>/" catch-all would take the address.
        return [path("<path:object_id>/recalculate/", self.admin_site.admin_view(self.recalculate_view), name=name),
                *super().get_urls()]

    def _recalculate(self, request, calendar: BusinessCalendar) -> None:
        count = sla_services.request_calendar_recalculation(calendar=calendar, actor=request.user)
        if count:
            text = ngettext(
                "The due times of the %(count)d open case on “%(name)s” are being recalculated with the calendar as "
                "it is now, breached ones included.",
                "The due times of the %(count)d open cases on “%(name)s” are being recalculated with the calendar as "
                "it is now, breached ones included.", count) % {"count": count, "name": calendar.name}
        else:
            text = _("No open case runs its SLA clocks on “%(name)s”: there is nothing to recalculate.") % {
                "name": calendar.name}
        self.message_user(request, text, messages.SUCCESS if count else messages.INFO)

    @admin.action(description=gettext_lazy("Recalculate the due times of the open cases on these calendars"),
                  permissions=["change"])
    def recalculate_due_times(self, request, queryset) -> None:
        for calendar in queryset.order_by("name", "pk"):
            self._recalculate(request, calendar)

    def recalculate_view(self, request, object_id):
        """GET: what would be recalculated, and a button; POST: recalculate, back to the calendar."""
        calendar = self.get_object(request, unquote(object_id))
        if calendar is None:
            raise Http404(_("There is no such business calendar."))
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        if request.method == "POST":
            self._recalculate(request, calendar)
            return HttpResponseRedirect(reverse("admin:core_businesscalendar_change", args=[calendar.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "calendar": calendar, "count": sla_services.cases_on_calendar(calendar).count(),
            "title": _("Recalculate the due times of the open cases on “%(name)s”") % {"name": calendar.name},
        }
        return TemplateResponse(request, "admin/cases/recalculate_calendar.html", context)

    def opening_hours_changed(self, request, calendar: BusinessCalendar, *,
                              days: tuple[dt.date, dt.date] | None) -> None:
        if not self.has_change_permission(request, calendar):
            return
        count = cases_a_change_reaches(calendar, days).count()
        if not count:
            return
        if days is None:
            text = ngettext(
                "%(count)d open case runs its SLA clocks on this calendar: its due times do not move by themselves.",
                "%(count)d open cases run their SLA clocks on this calendar: their due times do not move by themselves.",
                count) % {"count": count}
        else:
            text = ngettext(
                "%(count)d open case runs its SLA clocks on this calendar over the days this change touches: its "
                "due times do not move by themselves.",
                "%(count)d open cases run their SLA clocks on this calendar over the days this change touches: their "
                "due times do not move by themselves.",
                count) % {"count": count}
        url = reverse("admin:core_businesscalendar_recalculate", args=[calendar.pk])
        self.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, _("Recalculate the due times")),
                          messages.WARNING)


admin.site.unregister(BusinessCalendar)
admin.site.register(BusinessCalendar, CalendarAdmin)
