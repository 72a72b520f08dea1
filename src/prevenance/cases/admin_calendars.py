"""The business calendars' admin page (core/admin.py), with what the cases app adds to it: the
due times of the open cases whose SLA clocks run on a calendar recalculated after its holidays
or opening hours changed (a strike entered afterwards), as an action on the list and as a
page the prompt shown after saving such a change links to. Imported by admin.py."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from prevenance.cases.services import sla as sla_services
from prevenance.core.admin import BusinessCalendarAdmin
from prevenance.core.models import BusinessCalendar


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

    def opening_hours_changed(self, request, calendar: BusinessCalendar) -> None:
        count = sla_services.cases_on_calendar(calendar).count()
        if not count or not self.has_change_permission(request, calendar):
            return
        text = ngettext(
            "%(count)d open case runs its SLA clocks on this calendar: its due times do not move by themselves.",
            "%(count)d open cases run their SLA clocks on this calendar: their due times do not move by themselves.",
            count) % {"count": count}
        url = reverse("admin:core_businesscalendar_recalculate", args=[calendar.pk])
        self.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, _("Recalculate the due times")),
                          messages.WARNING)


admin.site.unregister(BusinessCalendar)
admin.site.register(BusinessCalendar, CalendarAdmin)
