"""Case pages under /cases/ (the inbox, case pages, forms) and the public pages customers reach."""

from django.urls import path  # noqa: F401 - each screen's module adds its paths below

from prevenance.cases.views import (
    agent_entry,
    availability,
    case_actions,
    case_export,
    case_page,
    dashboard,
    gesture_approvals,
    gesture_report,
    inbox,
    inbox_bulk,
    suspended,
    web_form,
)
from prevenance.cases.views.inbound_email import inbound_email
from prevenance.cases.views.survey import survey_page

app_name = "cases"

urlpatterns: list = []

# The supervisor dashboard and the gestures' control report (docs/dashboard.md).
urlpatterns += [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("gestures/report/", gesture_report.gesture_report, name="gesture_report"),
    path("gestures/approvals/", gesture_approvals.approval_queue, name="gesture_approvals"),
    path("gestures/<int:gesture_id>/decide/", gesture_approvals.decide, name="gesture_decide"),
]

# The agent's inbox and the case page (docs/inbox.md).
urlpatterns += [
    path("", inbox.inbox_page, name="inbox"),
    path("me/availability/", availability.my_availability, name="my_availability"),
    path("export.csv", case_export.export_csv, name="export"),
    path("bulk/", inbox_bulk.inbox_bulk, name="inbox_bulk"),
    path("views/", inbox.saved_view_create, name="saved_view_create"),
    path("views/<int:view_id>/edit/", inbox.saved_view_update, name="saved_view_update"),
    path("views/<int:view_id>/delete/", inbox.saved_view_delete, name="saved_view_delete"),
    path("<int:case_id>/", case_page.case_page, name="case"),
    path("<int:case_id>/template/", case_page.reply_template, name="case_template"),
    path("<int:case_id>/attachments/<int:attachment_id>/", case_page.attachment_download, name="case_attachment"),
    path("<int:case_id>/reply/", case_actions.case_reply, name="case_reply"),
    path("<int:case_id>/note/", case_actions.case_note, name="case_note"),
    path("<int:case_id>/status/", case_actions.case_status, name="case_status"),
    path("<int:case_id>/assign/", case_actions.case_assign, name="case_assign"),
    path("<int:case_id>/route/", case_actions.case_route, name="case_route"),
    path("<int:case_id>/take/", case_actions.case_take, name="case_take"),
    path("<int:case_id>/spam/", case_actions.case_spam, name="case_spam"),
    path("<int:case_id>/not-spam/", case_actions.case_not_spam, name="case_not_spam"),
    path("<int:case_id>/labels/", case_actions.case_labels, name="case_labels"),
    path("<int:case_id>/copies/", case_actions.case_copies, name="case_copies"),
    path("<int:case_id>/merge/", case_actions.case_merge, name="case_merge"),
    path("<int:case_id>/messages/<int:message_id>/split/", case_actions.case_split, name="case_split"),
    path("<int:case_id>/gestures/", case_actions.case_gesture, name="case_gesture"),
]

# Inbound messages kept aside for review: recover into a case or discard (docs/email-intake.md).
urlpatterns += [
    path("suspended/", suspended.suspended_queue, name="suspended"),
    path("suspended/discard/", suspended.suspended_discard, name="suspended_discard"),
    path("suspended/discard-all/", suspended.suspended_discard_all, name="suspended_discard_all"),
    path("suspended/<int:suspended_id>/files/<int:index>/", suspended.suspended_file, name="suspended_file"),
    path("suspended/<int:suspended_id>/recover/", suspended.suspended_recover, name="suspended_recover"),
    path("suspended/<int:suspended_id>/original.eml", suspended.suspended_download, name="suspended_download"),
]

# The public contact form and the agent's entry of a phone, store or field-visit contact (docs/contact-form.md).
urlpatterns += [
    path("contact/", web_form.contact, name="contact"),
    path("contact/thanks/", web_form.contact_thanks, name="contact_thanks"),
    path("new/", agent_entry.agent_entry, name="new"),
    path("new/customers/", agent_entry.agent_entry_customers, name="new_customers"),
]

# The public satisfaction survey page, reached from the invitation email (docs/templates-and-surveys.md).
urlpatterns += [
    path("survey/<str:token>/", survey_page, name="survey"),
]

# Inbound email relays post raw RFC 822 messages here (docs/email-intake.md).
urlpatterns += [
    path("inbound/email/", inbound_email, name="inbound_email"),
]
