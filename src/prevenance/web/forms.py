"""Forms only shape input for the pages; the services validate and write (one transaction)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from prevenance.core.choices import Channel
from prevenance.core.forms import ServiceErrorsMixin
from prevenance.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    CustomerKind,
    Language,
    LifecycleState,
)


class CustomerForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, required=False)
    lifecycle_state = forms.ChoiceField(label=_("Lifecycle"), choices=LifecycleState.choices)

    @classmethod
    def initial_for(cls, customer) -> dict:
        return {name: getattr(customer, name) for name in cls.base_fields}


class ConsentForm(ServiceErrorsMixin, forms.Form):
    GRANT, WITHDRAW = "grant", "withdraw"

    action = forms.ChoiceField(
        label=_("Action"), choices=[(GRANT, _("Record a grant")), (WITHDRAW, _("Record a withdrawal"))]
    )
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    method = forms.ChoiceField(
        label=_("How it was given"),
        choices=[(m.value, m.label) for m in (ConsentMethod.VERBAL, ConsentMethod.CHECKBOX, ConsentMethod.PAPER)],
        initial=ConsentMethod.VERBAL,
    )
    source = forms.CharField(label=_("Note (where, who)"), max_length=200, required=False)


class MergeForm(ServiceErrorsMixin, forms.Form):
    survivor = forms.IntegerField(label=_("Record to keep"), widget=forms.RadioSelect)

    def __init__(self, *args, pair: tuple[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.pair = pair
        self.fields["survivor"].widget.choices = [(pk, f"#{pk}") for pk in pair]

    def clean_survivor(self) -> int:
        value = self.cleaned_data["survivor"]
        if value not in self.pair:
            raise ValidationError(_("Choose one of the two records."))
        return value


class EraseForm(forms.Form):
    confirm = forms.CharField(label=_("Type the customer number to confirm"), max_length=20)

    def __init__(self, *args, customer_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer_id = customer_id

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip().lstrip("#")
        if value != str(self.customer_id):
            raise ValidationError(_("This is not the number of this customer (%(id)s).") % {"id": self.customer_id})
        return value


class ApiKeyForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name of the key"), max_length=100, help_text=_("What the key is for, e.g. “e-shop sync”."))
