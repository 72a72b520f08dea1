"""Forms of the case pages: they shape and pre-check input; the services validate and write."""

import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from prevenance.cases.choices import CaseType
from prevenance.cases.services.agent_entry import AGENT_CHANNELS
from prevenance.cases.services.attachments import accepted_extensions
from prevenance.cases.services.web_form import FORM_TYPES
from prevenance.core.choices import Channel
from prevenance.core.formats import format_file_size
from prevenance.core.forms import ServiceErrorsMixin
from prevenance.customers.choices import IdentityKind
from prevenance.customers.normalize import normalize_email, normalize_identity

MAX_MESSAGE = 20_000


class AccessibleFormMixin(ServiceErrorsMixin):
    """Service errors on the fields they name; each field in error points to its message
    (aria-describedby), so a screen reader reads the reason with the field."""

    def full_clean(self) -> None:
        super().full_clean()
        self.describe_errors()

    def describe_errors(self) -> None:
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                ids = [f"{bound.auto_id}_helptext"] if self.fields[name].help_text else []
                self.fields[name].widget.attrs["aria-describedby"] = " ".join([*ids, f"{bound.auto_id}-error"])

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        self.describe_errors()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the pattern Django's documentation gives)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class SubmittedOnceForm(forms.Form):
    """A hidden submission id, a fresh UUID each time the form is rendered: the service stores
    it with what the form wrote, so the same POST sent twice (a double click, a browser or proxy
    retry) writes once and answers as the first did (cases/services/submissions.py). A bound
    form keeps the id posted: a form shown again with its errors is still that submission.
    Not required: a page rendered before the field existed still posts (unprotected)."""

    submission_id = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("submission_id", uuid.uuid4().hex)

    def clean_submission_id(self) -> str:
        value = self.cleaned_data["submission_id"].strip()
        if not value:
            return ""
        try:
            return uuid.UUID(value).hex
        except ValueError as exc:
            raise ValidationError(_("This form has expired; please reload the page.")) from exc


def clean_phone_field(value: str) -> str:
    value = value.strip()
    if value:
        normalize_identity(IdentityKind.PHONE, value)  # raises with the reason
    return value


def _attachment_help() -> str:
    return _("Up to %(count)d files of %(size)s each: %(types)s.") % {
        "count": settings.PREVENANCE_CONTACT_FORM_MAX_FILES,
        "size": format_file_size(settings.PREVENANCE_ATTACHMENT_MAX_BYTES),
        "types": accepted_extensions(),
    }


class ContactForm(AccessibleFormMixin, forms.Form):
    """The public contact form. `website` is the honeypot: hidden from people and screen
    readers, so only a robot fills it in (the view pretends success and stores nothing)."""

    first_name = forms.CharField(label=_("First name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    # Not an EmailField: its validator and the browser's type="email" refuse a non-ASCII local
    # part (RFC 6531, clàire@exämple.com); the normaliser is the rule. inputmode keeps the email keyboard.
    email = forms.CharField(label=_("Email address"), required=False, max_length=254, validators=[normalize_email],
                            error_messages={"invalid_email": EmailValidator.message},  # EmailField's words
                            widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email", "spellcheck": "false"}))
    phone = forms.CharField(label=_("Phone number"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    type = forms.ChoiceField(label=_("Your message is"), choices=[(t.value, t.label) for t in FORM_TYPES], initial=CaseType.QUESTION)
    order = forms.CharField(label=_("Order number (optional)"), max_length=64, required=False,
                            help_text=_("As written on your order confirmation or invoice."))
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(label=_("Your message"), max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(label=_("Attachments (optional)"), required=False)
    website = forms.CharField(label=_("Leave this field empty"), required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
    submission_id = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("submission_id", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _attachment_help()

    @property
    def is_robot(self) -> bool:
        return bool(self.data.get("website", "").strip())

    def clean_phone(self) -> str:
        return clean_phone_field(self.cleaned_data["phone"])

    def clean_submission_id(self) -> str:
        try:
            return uuid.UUID(self.cleaned_data["submission_id"]).hex
        except ValueError as exc:
            raise ValidationError(_("This form has expired; please reload the page.")) from exc

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("email") and not cleaned.get("phone") and "email" not in self.errors and "phone" not in self.errors:
            self.add_error("email", _("Give an email address or a phone number, so that we can answer you."))
        return cleaned


class AgentEntryForm(AccessibleFormMixin, SubmittedOnceForm):
    """What an agent types while the customer is on the phone, at the counter or at home."""

    channel = forms.ChoiceField(label=_("Contact by"), choices=[(c, Channel(c).label) for c in AGENT_CHANNELS],
                                initial=Channel.PHONE, widget=forms.RadioSelect)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    email = forms.CharField(label=_("Email address"), required=False, max_length=254, validators=[normalize_email],
                            error_messages={"invalid_email": EmailValidator.message},  # as ContactForm.email
                            widget=forms.TextInput(attrs={"inputmode": "email", "spellcheck": "false"}))
    phone = forms.CharField(label=_("Phone number"), max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices, initial=CaseType.QUESTION)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(label=_("What the customer said"), max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 6}))
    order = forms.CharField(label=_("Order reference (optional)"), max_length=64, required=False)
    note = forms.CharField(label=_("What you answered or did (internal note, optional)"), max_length=MAX_MESSAGE, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    resolved = forms.BooleanField(label=_("Resolved on first contact"), required=False,
                                  help_text=_("The customer's request was settled during this contact: the case is resolved at once."))

    def clean_phone(self) -> str:
        return clean_phone_field(self.cleaned_data["phone"])

    def clean(self):
        # Said with the other missing fields, not on the next submit once they are filled in
        # (record_agent_contact says it too, for the API and the other callers).
        cleaned = super().clean()
        typed = cleaned.get("email") or cleaned.get("phone") or "email" in self.errors or "phone" in self.errors
        if cleaned.get("customer") is None and "customer" not in self.errors and not typed:
            self.add_error("customer", _("Pick the customer, or type their email address or phone number."))
        return cleaned
