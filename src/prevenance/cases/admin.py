from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from prevenance.cases import (
    admin_blocked_senders,  # noqa: F401 - registers the senders blocked as spam
    admin_calendars,  # noqa: F401 - adds the recalculation of the open cases' due times to the calendars' page
    admin_settings,  # noqa: F401 - registers the case settings and trust thresholds
    admin_templates,  # noqa: F401 - registers templates, signatures, surveys
    sla_targets,
)
from prevenance.cases import tasks as case_tasks
from prevenance.cases.models import (
    AgentProfile,
    Attachment,
    Case,
    CaseCounter,
    ChannelCost,
    DelegationLimit,
    Gesture,
    Message,
    RootCause,
    RoutingRule,
    Skill,
    SLAEvent,
    SLAPolicy,
    Tag,
    Team,
)
from prevenance.cases.services import sla_policies
from prevenance.cases.sla import crossing
from prevenance.cases.workflow import ACTIVE
from prevenance.core.admin import RefuseDeletionMixin
from prevenance.core.calendars import require_opening_hours
from prevenance.core.currencies import money_column
from prevenance.core.queue import enqueue_on_commit
from prevenance.core.roles import ROLE_LABELS


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services (threads, counters): shown, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TeamForm(forms.ModelForm):
    def clean_calendar(self):
        calendar = self.cleaned_data.get("calendar")
        if calendar is not None:
            try:
                require_opening_hours(calendar)  # as an SLA policy's (services/sla_policies.py)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["calendar"]) from exc
        return calendar


@admin.register(Team)
class TeamAdmin(RefuseDeletionMixin, admin.ModelAdmin):
    """A team its active cases still need cannot be deleted: they would fall back to triage
    unnoticed (Case.team is emptied) while its routing rules, templates and signatures go."""

    form = TeamForm
    list_display = ("name", "calendar")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    def deletion_refusal(self, team: Team) -> str | None:
        count = Case.objects.filter(team=team, status__in=ACTIVE).count()
        if not count:
            return None
        return ngettext(
            "The team “%(name)s” still has %(count)d active case: move it to another team first.",
            "The team “%(name)s” still has %(count)d active cases: move them to another team first.",
            count,
        ) % {"name": team.name, "count": count}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class TopLevelRootCauseFilter(admin.SimpleListFilter):
    """The categories (top-level causes) only: the list of every parent would be as long as the tree."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in RootCause.objects.filter(parent__isnull=True).values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        return queryset.filter(pk__in=self._tree_under(int(self.value())))

    @staticmethod
    def _tree_under(category: int) -> set[int]:
        """The category and every cause below it, at any depth (one query: the tree is small)."""
        children: dict[int | None, list[int]] = {}
        for pk, parent_id in RootCause.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, waiting = set(), [category]
        while waiting:
            pk = waiting.pop()
            if pk not in found:  # a cycle written by hand into the table stops here
                found.add(pk)
                waiting.extend(children.get(pk, ()))
        return found


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    """Hundreds of causes: searched by their name or their parent's, filtered by category, and
    the parent picked by typing (autocomplete) rather than from a list of every cause."""

    list_display = ("name", "parent", "active")
    list_filter = (TopLevelRootCauseFilter, "active")
    search_fields = ("name", "parent__name")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    ordering = ("parent__name", "name")


@admin.register(CaseCounter)
class CaseCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last")


CLASSIFICATION_HELP = _("Type and priority are changed on the case page (Classification), which picks the SLA "
                        "policy again, updates the score and records the change.")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "kind", "channel", "author", "sender_address", "body_text")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Labels (subject, tags, root cause) are edited here. Type and priority change on the case
    page (change_case_type / change_priority: SLA policy picked again, score, audit, webhook);
    the workflow, assignment, merge and thread only through the services, which check them."""

    list_display = ("reference", "subject", "customer", "type", "status", "priority", "team", "assignee", "created_at")
    list_filter = ("status", "type", "priority", "channel", "team")
    search_fields = ("reference", "subject")
    show_full_result_count = False
    fields = (
        "reference", "case_page", "customer", "subject", "type", "priority", "tags", "root_cause", "channel", "status", "team",
        "assignee", "order", "merged_into", "reopened_from", "split_from", "reopen_count", "created_at",
        "first_response_at", "last_customer_message_at", "resolved_at", "closed_at",
    )
    readonly_fields = tuple(f for f in fields if f not in ("subject", "tags", "root_cause"))
    autocomplete_fields = ("tags",)
    raw_id_fields = ("root_cause",)
    inlines = [MessageInline]

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": self.fields, "description": CLASSIFICATION_HELP})]

    @admin.display(description=_("case page"))
    def case_page(self, case: Case) -> str:
        return format_html('<a href="{}">{}</a>', reverse("cases:case", args=[case.pk]), _("Open the case page"))

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "channel", "author", "sender_address")
    list_filter = ("kind", "channel")
    search_fields = ("case__reference", "message_id")
    raw_id_fields = ("case",)
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("filename", "content_type", "size", "message")
    search_fields = ("filename",)


class RoleGroupFilter(admin.RelatedFieldListFilter):
    """The groups by the label a person reads ("Conseiller"), not the role's key ("agent")."""

    def field_choices(self, field, request, model_admin):
        return [(pk, ROLE_LABELS.get(name, name)) for pk, name in super().field_choices(field, request, model_admin)]


# What a delegation limit is, as request_gesture and approve_gesture apply it and the case page
# says it ("your limit per case, less the gestures already granted on it"): a total per case,
# not the size of one gesture. The model's own label ("largest gesture") is left for a release
# that can carry its migration.
LIMIT_LABEL = _("limit per case")
LIMIT_HELP = _("The most that the gestures granted on one case may add up to, in this currency, for this role "
               "or user to grant a gesture on their own: a gesture that keeps the case's total within it is "
               "granted at once; above it, it waits for someone whose limit covers the new total. "
               "0: every gesture waits for approval.")


@admin.register(DelegationLimit)
class DelegationLimitAdmin(admin.ModelAdmin):
    """Per group (a role, or e.g. a "senior agent" group) or per user; a user's limit is the
    highest that applies to them. Set 0 rather than deleting a default: missing defaults are
    created again after the next migrate."""

    list_display = ("who", money_column("max_amount", LIMIT_LABEL), "currency")
    list_filter = ("currency", ("group", RoleGroupFilter))
    raw_id_fields = ("user",)

    @admin.display(description=_("group or user"), ordering="group__name")
    def who(self, limit: DelegationLimit) -> str:
        # A role's group under its label ("Conseiller"), as the page's title names it.
        return str(limit.user) if limit.group_id is None else ROLE_LABELS.get(limit.group.name, limit.group.name)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group", "user")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "group":
            field.label_from_instance = lambda group: ROLE_LABELS.get(group.name, group.name)
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "max_amount":
            kwargs.update(label=capfirst(LIMIT_LABEL), help_text=LIMIT_HELP)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Gesture)
class GestureAdmin(ReadOnlyAdmin):
    """Gestures are decided through the services (limits, four eyes, audit), never edited here."""

    list_display = ("created_at", "case", "type", money_column("amount", _("amount")), "currency", "status", "without_proof", "requested_by", "decided_by")
    list_filter = ("status", "type", "currency", "without_proof")
    search_fields = ("case__reference", "voucher_code")
    raw_id_fields = ("case", "customer")
    show_full_result_count = False


TARGET_HELP = _("In business hours and minutes: “8 h”, “24 h”, “1 h 30 min”, “90 min”. Only the opening hours "
                "of the calendar count (the policy’s, else the team’s): on a calendar open 8 hours a day, “24 h” is "
                "three working days. Days are not accepted.")


class BusinessTargetField(forms.Field):
    """A target typed and shown in business hours and minutes (sla_targets.parse_target), never
    in days; stored as the duration it always was."""

    widget = forms.TextInput(attrs={"size": 12, "inputmode": "text", "autocomplete": "off"})

    def prepare_value(self, value):
        return sla_targets.format_target(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return value if isinstance(value, timedelta) else sla_targets.parse_target(value)

    def has_changed(self, initial, data) -> bool:
        # Shown to the minute: a stored target with seconds (from the API) saved unchanged stays as it is.
        if isinstance(initial, timedelta):
            initial = timedelta(minutes=int(initial.total_seconds() // 60))
        return super().has_changed(initial, data)


class SLAPolicyForm(forms.ModelForm):
    """The API's rules (targets from one minute to MAX_TARGET, a calendar with opening hours...), not a copy.

    Once valid, the form saves through the services itself (SLAPolicyAdmin.get_form names the
    actor), inside the admin page's transaction: a refusal the checks could not foresee (someone
    saved the same name or scope meanwhile, which the database's constraints stop) is then shown
    on the form, nothing written, where raised from save_model it was a server error."""

    actor = None  # who saves: the request's user, set by SLAPolicyAdmin.get_form
    saved = None  # the policy as the services saved it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in ("first_response_target", "resolution_target"):
            if field in self.fields:
                model_field = self.fields[field]
                self.fields[field] = BusinessTargetField(label=model_field.label, required=True, help_text=TARGET_HELP)

    def clean(self):
        cleaned = super().clean()
        for field, errors in sla_policies.policy_errors(cleaned).items():
            if field in cleaned:  # a field that failed its own validation already shows why
                self.add_error(field, errors)
        scope = ("active", "case_type", "priority", "customer_tier")
        if all(field in cleaned for field in scope) and (
                holder := sla_policies.same_scope(cleaned, exclude_pk=self.instance.pk)) is not None:
            # On "active", as the services say it (and the database constraint's generic message,
            # which cannot name the policy, is then not shown beside it).
            self.add_error("active", sla_policies.scope_taken_message(holder))
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.actor is None or self.errors:
            return
        try:
            if self.instance.pk is not None:
                changes = {field: self.cleaned_data[field] for field in self.changed_data if field in sla_policies.FIELDS}
                self.saved = sla_policies.update_sla_policy(policy=self.instance, actor=self.actor, **changes)
            else:
                fields = {field: self.cleaned_data[field] for field in sla_policies.FIELDS if field in self.cleaned_data}
                self.saved = sla_policies.create_sla_policy(actor=self.actor, **fields)
        except ValidationError as refused:  # the services' own transaction rolled back: nothing written
            errors = refused.error_dict if hasattr(refused, "error_dict") else {None: refused.error_list}
            for field, field_errors in errors.items():
                self.add_error(field if field in self.fields else None, field_errors)


@admin.register(SLAPolicy)
class SLAPolicyAdmin(RefuseDeletionMixin, admin.ModelAdmin):
    """The most specific active policy applies to a new case (docs/cases.md); a second active
    policy of the same scope is refused, naming the first. Saved through the
    services (audit row): new targets or a new calendar recalculate the due times of its open
    cases not yet breached, after commit; the action also moves those already breached. A
    policy active cases use cannot be deleted (their escalation would stop): deactivate it."""

    form = SLAPolicyForm

    list_display = ("name", "active", "case_type", "priority", "customer_tier", "first_response", "resolution", "calendar")
    list_filter = ("active", "case_type", "priority")
    search_fields = ("name",)
    actions = ["recalculate_due_times"]

    @admin.display(description=_("first response target"), ordering="first_response_target")
    def first_response(self, policy: SLAPolicy) -> str:
        return sla_targets.target_label(policy.first_response_target)

    @admin.display(description=_("resolution target"), ordering="resolution_target")
    def resolution(self, policy: SLAPolicy) -> str:
        return sla_targets.target_label(policy.resolution_target)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change) -> None:
        saved = form.saved  # through the services, as the form was validated (SLAPolicyForm._post_clean)
        obj.pk = saved.pk
        if saved.active:
            for other in crossing(saved, SLAPolicy.objects.filter(active=True).order_by("pk")):
                older = min(saved, other, key=lambda policy: policy.pk)
                self.message_user(request, _(
                    "Some cases match both “%(policy)s” and “%(other)s”, which are equally specific: they get "
                    "“%(older)s”, the older one. To choose otherwise, make one of them more specific."
                ) % {"policy": saved.name, "other": other.name, "older": older.name}, messages.WARNING)

    def deletion_refusal(self, policy: SLAPolicy) -> str | None:
        count = sla_policies.active_cases_on(policy)
        return sla_policies.in_use_message(policy, count) if count else None

    def delete_model(self, request, obj) -> None:
        sla_policies.delete_sla_policy(policy=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for policy in queryset:
            sla_policies.delete_sla_policy(policy=policy, actor=request.user)

    @admin.action(description=_("Recalculate the due times of open cases (breached ones included)"), permissions=["change"])
    def recalculate_due_times(self, request, queryset) -> None:
        for policy in queryset:
            enqueue_on_commit(case_tasks.recalculate_due_times, policy.pk, True)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "The due times of %(count)d policy's open cases are being recalculated.",
                "The due times of %(count)d policies' open cases are being recalculated.", count,
            ) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(SLAEvent)
class SLAEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "due_at", "notified_at")
    list_filter = ("kind",)
    search_fields = ("case__reference",)
    raw_id_fields = ("case",)
    show_full_result_count = False


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Skills, availability and caps that routing reads (docs/routing-and-priority.md)."""

    list_display = ("user", "available", "max_open_cases", "max_chats")
    list_filter = ("available", "skills")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    filter_horizontal = ("skills",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The first active rule in position order that matches a new case names its team."""

    list_display = ("position", "name", "active", "channel", "case_type", "language", "team", "required_skill")
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("active", "channel", "case_type", "team")
    search_fields = ("name", "keywords")
    ordering = ("position", "id")


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ("channel", money_column("unit_cost", _("cost per contact")), "currency")
