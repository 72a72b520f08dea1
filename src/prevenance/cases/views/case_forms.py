"""The forms of the case page: they parse what the agent typed; the services decide."""

import re

from django import forms
from django.contrib.auth import get_user_model
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import gettext_lazy as _

from prevenance.cases.choices import CaseStatus, CaseType, GestureType
from prevenance.cases.forms import MultipleFileField, SubmittedOnceForm
from prevenance.cases.models import ReplyTemplate, RootCause, Tag, Team
from prevenance.cases.selectors.assignees import agents, assignee_choices
from prevenance.cases.selectors.gestures import gesture_currencies, preselected_gesture_currency
from prevenance.cases.selectors.root_causes import root_cause_choices
from prevenance.cases.services.common import MAX_ADDRESSES
from prevenance.cases.services.updates import SUBJECT_MAX_LENGTH
from prevenance.core.choices import Channel
from prevenance.core.forms import ServiceErrorsMixin
from prevenance.customers.choices import Language
from prevenance.customers.normalize import MAX_IDENTITY_LENGTH

# How people paste several addresses: "a@x.fr, b@y.fr; c@z.fr" or one a line.
_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


class ReplyForm(ServiceErrorsMixin, SubmittedOnceForm):
    template = forms.ModelChoiceField(label=_("Template"), queryset=ReplyTemplate.objects.none(), required=False)
    body = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    attachments = MultipleFileField(label=_("Attach files (optional)"), required=False)
    # The "Send and …" button clicked (its value), empty for "Send reply": the status the case is
    # moved to with the reply (reply_and_set_status decides whether the workflow allows it).
    then_status = forms.ChoiceField(choices=[("", ""), *CaseStatus.choices], required=False)

    def __init__(self, *args, templates=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates if templates is not None else ReplyTemplate.objects.none()


class NoteForm(ServiceErrorsMixin, SubmittedOnceForm):
    prefix = "note"  # the reply box beside it has a "body" too
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3, "data-shortcut-note": ""}), required=False)
    attachments = MultipleFileField(label=_("Attach files (optional)"), required=False)


class AssignForm(ServiceErrorsMixin, forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("No team"))
    # Any agent is parsed (assign_case decides who fits the team); the page offers them by team
    # (AssigneeChoices), so the members of the case's team come first.
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=get_user_model().objects.none(), required=False,
                                      empty_label=_("Nobody"))

    def __init__(self, *args, current_team_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = agents()
        field.widget.choices = AssigneeChoices(field.empty_label, current_team_id)


class AssigneeChoices(BaseChoiceIterator):
    """The assignee picker's options, one group per team (selectors.assignees), read in two
    queries and only if the form is rendered."""

    def __init__(self, empty_label, current_team_id: int | None):
        self.empty_label, self.current_team_id, self._choices = empty_label, current_team_id, None

    def __iter__(self):
        if self._choices is None:
            self._choices = [("", self.empty_label), *assignee_choices(self.current_team_id)]
        yield from self._choices


class LabelsForm(ServiceErrorsMixin, forms.Form):
    # Not required here: a case that came without one keeps saving its tags; change_case_subject
    # refuses emptying a subject, and one longer than the column.
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH, required=False, strip=True)
    type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    language = forms.ChoiceField(label=_("Language to write in"), choices=Language.choices)
    # Not shown for an email case, which keeps its channel (change_case_channel); empty: unchanged.
    channel = forms.ChoiceField(label=_("Came through"), required=False,
                                choices=[(value, label) for value, label in Channel.choices if value != Channel.EMAIL])
    tags = forms.ModelMultipleChoiceField(label=_("Tags"), queryset=Tag.objects.all(), required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 4}))
    # Any existing root cause is parsed: the service refuses a retired one, but the case's own,
    # with its reason. The page offers the active ones only (RootCauseChoices).
    root_cause = forms.ModelChoiceField(
        label=_("Root cause"), queryset=RootCause.objects.all(), required=False, empty_label=_("Not known yet"),
        error_messages={"invalid_choice": _("There is no such root cause: pick one from the list.")},
    )

    def __init__(self, *args, current_root_cause_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["root_cause"]
        field.widget.choices = RootCauseChoices(field.empty_label, current_root_cause_id)


class RootCauseChoices(BaseChoiceIterator):
    """The root-cause picker's options, grouped (selectors.root_causes), read in one query and
    only if the form is rendered."""

    def __init__(self, empty_label, current_id: int | None):
        self.empty_label, self.current_id, self._choices = empty_label, current_id, None

    def __iter__(self):
        if self._choices is None:
            self._choices = [("", self.empty_label), *root_cause_choices(self.current_id)]
        yield from self._choices


class MergeForm(ServiceErrorsMixin, forms.Form):
    loser = forms.CharField(label=_("Reference of the case to merge into this one"), max_length=20,
                            # The customer's other cases to pick from (the page's <datalist>), or any typed.
                            widget=forms.TextInput(attrs={"placeholder": "C-2026-000123 · 123", "list": "merge-candidates",
                                                          "autocomplete": "off"}))


class GestureForm(ServiceErrorsMixin, SubmittedOnceForm):
    # Its fields' ids apart from the classification's "type" and the reply's submission id on
    # the same page: a "Gesture" label pointing at the case's type picker otherwise.
    prefix = "gesture"
    type = forms.ChoiceField(label=_("Gesture"), choices=GestureType.choices)
    # Text, not a number field: the service reads "12,50" as French people type it.
    amount = forms.CharField(label=_("Amount"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    # Any code is parsed: request_gesture refuses one in which nobody has a delegation limit,
    # with its reason (a page loaded before a limit was removed). The page offers only the
    # currencies someone has a limit in (GestureCurrencyChoices), the case's order's first.
    currency = forms.CharField(label=_("Currency"), max_length=3, widget=forms.Select)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._case, self._currencies = case, None
        field = self.fields["currency"]
        field.widget.choices = GestureCurrencyChoices(self)
        field.initial = self.preselected_currency  # called only if the form is rendered

    @property
    def currencies(self) -> list[str]:
        """The currencies a gesture can be asked for in (selectors.gesture_currencies), read once."""
        if self._currencies is None:
            self._currencies = gesture_currencies()
        return self._currencies

    def preselected_currency(self) -> str | None:
        return preselected_gesture_currency(self._case, self.currencies) if self._case is not None else None

    def order_currency_without_limit(self) -> str | None:
        """The currency of the case's order when no gesture can be made in it (nobody has a
        limit there): the page says so rather than let EUR be picked without a word."""
        order = self._case.order if self._case is not None and self._case.order_id is not None else None
        return order.currency if order is not None and order.currency not in self.currencies else None


class GestureCurrencyChoices(BaseChoiceIterator):
    """The currency picker's options, read in one query and only if the form is rendered."""

    def __init__(self, form: GestureForm):
        self.form = form

    def __iter__(self):
        yield from ((currency, currency) for currency in self.form.currencies)


class CopiesForm(ServiceErrorsMixin, forms.Form):
    """Addresses to put in copy of the replies (`add`, typed) or one to take out (`remove`, the
    button beside it): change_case_copies checks each."""

    prefix = "copies"
    add = forms.CharField(label=_("Add people in copy"), required=False, max_length=MAX_ADDRESSES * (MAX_IDENTITY_LENGTH + 2),
                          help_text=_("Email addresses, separated by commas or spaces."))
    remove = forms.CharField(required=False, max_length=MAX_IDENTITY_LENGTH, widget=forms.HiddenInput)

    def clean_add(self) -> list[str]:
        return [address for address in _ADDRESS_SEPARATORS.split(self.cleaned_data["add"]) if address]
