"""Admin pages for reply templates, signatures and satisfaction surveys (imported by admin.py).

Templates and signatures are written through their services (placeholder validation, audit
rows); surveys are only shown: the answers are the customer's own words.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from prevenance.cases.models import ReplyTemplate, SatisfactionSurvey, Signature
from prevenance.cases.services.templates import (
    SIGNATURE_FIELDS,
    TEMPLATE_FIELDS,
    clean_signature_fields,
    clean_template_fields,
    create_reply_template,
    create_signature,
    delete_reply_template,
    delete_signature,
    update_reply_template,
    update_signature,
)


def _add_errors(form: forms.ModelForm, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["name", "purpose", "language", "channel", "team", "subject", "body", "active"]

    def clean(self):
        data = super().clean()
        try:
            clean_template_fields(**{field: data.get(field) for field in TEMPLATE_FIELDS})
        except ValidationError as exc:
            _add_errors(self, exc)
        return data


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """Placeholders: {customer_first_name} {customer_last_name} {case_reference} {case_subject}
    {order_reference} {agent_first_name} {agent_name} {team_name} {due_date}; survey invitations
    also {survey_url} {survey_links}. An unknown one is refused with its name."""

    form = ReplyTemplateForm
    list_display = ("name", "purpose", "language", "channel", "team", "active")
    list_filter = ("purpose", "language", "channel", "active", "team")
    search_fields = ("name", "subject", "body")

    def save_model(self, request, obj, form, change):
        fields = {field: form.cleaned_data.get(field) for field in (*TEMPLATE_FIELDS, "active")}
        if change:
            saved = update_reply_template(template=ReplyTemplate.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            saved = create_reply_template(actor=request.user, **fields)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        delete_reply_template(template=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for template in queryset:
            delete_reply_template(template=template, actor=request.user)


class SignatureForm(forms.ModelForm):
    class Meta:
        model = Signature
        fields = ["name", "team", "language", "tone_guidance", "sign_off", "active"]

    def clean(self):
        data = super().clean()
        try:
            clean_signature_fields(**{field: data.get(field) for field in SIGNATURE_FIELDS})
        except ValidationError as exc:
            _add_errors(self, exc)
        return data


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    """One active signature per team and language, and one brand-wide per language; a team's
    wins over the brand's for that team's cases."""

    form = SignatureForm
    list_display = ("name", "team", "language", "active")
    list_filter = ("language", "active", "team")
    search_fields = ("name", "sign_off")

    def save_model(self, request, obj, form, change):
        fields = {field: form.cleaned_data.get(field) for field in (*SIGNATURE_FIELDS, "active")}
        if change:
            saved = update_signature(signature=Signature.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            saved = create_signature(actor=request.user, **fields)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        delete_signature(signature=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for signature in queryset:
            delete_signature(signature=signature, actor=request.user)


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(admin.ModelAdmin):
    list_display = ("case", "channel", "team", "agent", "language", "sent_at", "answered_at", "csat", "ces")
    list_filter = ("channel", "language", "csat", "ces")
    search_fields = ("case__reference",)
    raw_id_fields = ("case", "customer", "agent")
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
