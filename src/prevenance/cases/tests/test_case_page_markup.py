"""What the case page's markup promises the people using it: every form's field has an id of its
own (a label focuses its own field), the status buttons say what they do, and the SLA block
says when a case was resolved."""

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from prevenance.cases.choices import CaseStatus, TemplatePurpose
from prevenance.cases.models import Case, ReplyTemplate, SLAPolicy
from prevenance.cases.services import assign_case, change_status, ensure_default_limits
from prevenance.cases.tests.factories import TeamFactory, open_email_case

pytestmark = pytest.mark.django_db


class PageMarkup(HTMLParser):
    """The ids of a page, its labels (with the form each sits in), its fields by id, and the
    status buttons."""

    def __init__(self, html: str):
        super().__init__()
        self.ids, self.labels, self.fields, self.status_buttons = [], [], {}, []
        self._form = self._label = self._button = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "form":
            self._form = attrs.get("action", "")
        elif tag == "label" and "for" in attrs:
            self._label = {"for": attrs["for"], "form": self._form, "text": ""}
        elif tag in ("input", "select", "textarea") and "id" in attrs:
            self.fields[attrs["id"]] = {"name": attrs.get("name"), "form": self._form}
        elif tag == "button" and self._form and self._form.endswith("/status/"):
            self._button = {"text": "", "resolve_key": "data-shortcut-resolve" in attrs}

    def handle_data(self, data):
        for open_tag in (self._label, self._button):
            if open_tag is not None:
                open_tag["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "label" and self._label is not None:
            self.labels.append({**self._label, "text": self._label["text"].strip()})
            self._label = None
        elif tag == "button" and self._button is not None:
            self.status_buttons.append({**self._button, "text": self._button["text"].strip()})
            self._button = None


def case_page(client, user, case) -> PageMarkup:
    client.force_login(user)
    response = client.get(reverse("cases:case", kwargs={"case_id": case.pk}))
    assert response.status_code == 200
    return PageMarkup(response.content.decode())


@pytest.fixture
def email_case(agent, supervisor):
    """An email case of the agent's team, with a reply template: every form of the page shows."""
    ensure_default_limits()  # the agent has a delegation: the gesture form shows
    ReplyTemplate.objects.create(name="Excuses", purpose=TemplatePurpose.REPLY, language="fr", body="Bonjour.")
    team = TeamFactory(members=[agent, supervisor])
    return assign_case(case=open_email_case("camille@example.com").case, team=team, actor=supervisor)


@pytest.mark.parametrize("role", ["agent", "supervisor"])  # the supervisor also has the merge form
def test_every_id_on_the_case_page_is_unique_and_each_label_names_a_field_of_its_own_form(request, client, role, email_case):
    page = case_page(client, request.getfixturevalue(role), email_case)
    assert {"reply-form", "note-form", "id_template"} <= set(page.ids)
    assert page.fields["id_gesture-type"]["name"] == "gesture-type"  # the gesture form is there
    assert [name for name, count in Counter(page.ids).items() if count > 1] == []
    for label in page.labels:
        field = page.fields.get(label["for"])
        assert field is not None and field["form"] == label["form"], label
    # Clicking "Gesture" picks the gesture's type, not the case's.
    [gesture_label] = [label for label in page.labels if label["text"] == "Gesture"]
    assert page.fields[gesture_label["for"]]["form"] == reverse("cases:case_gesture", kwargs={"case_id": email_case.pk})
    [type_label] = [label for label in page.labels if label["text"] == "Type"]
    assert page.fields[type_label["for"]] == {"name": "type", "form": reverse("cases:case_labels", kwargs={"case_id": email_case.pk})}


def test_the_status_buttons_say_what_they_do_and_a_resolved_case_is_reopened(client, agent, email_case):
    buttons = case_page(client, agent, email_case).status_buttons
    assert [button["text"] for button in buttons] == [
        "Mark as open", "Mark as waiting for the customer", "Mark as waiting for an internal answer", "Resolve", "Close"]
    assert [button["text"] for button in buttons if button["resolve_key"]] == ["Resolve"]  # the "e" shortcut

    change_status(case=email_case, status=CaseStatus.RESOLVED, actor=agent)
    page = case_page(client, agent, email_case)
    assert [button["text"] for button in page.status_buttons] == ["Reopen", "Close"]


def short(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def test_the_sla_block_says_when_the_case_was_resolved_and_whether_within_the_target(client, agent, supervisor):
    SLAPolicy.objects.create(name="Standard", first_response_target=timedelta(hours=2), resolution_target=timedelta(days=3))
    team = TeamFactory(members=[agent])
    on_time = assign_case(case=open_email_case("camille@example.com").case, team=team, actor=supervisor)
    late = assign_case(case=open_email_case("leo@example.com").case, team=team, actor=supervisor)
    assert on_time.resolution_due_at is not None
    client.force_login(agent)
    assert 'id="sla-resolved"' not in client.get(reverse("cases:case", kwargs={"case_id": on_time.pk})).content.decode()

    change_status(case=on_time, status=CaseStatus.RESOLVED, actor=agent)
    Case.objects.filter(pk=late.pk).update(resolution_due_at=timezone.now() - timedelta(hours=1))
    change_status(case=late, status=CaseStatus.RESOLVED, actor=agent)
    for case, verdict in ((on_time, "within the target"), (late, "past the target")):
        case.refresh_from_db()
        html = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
        resolved = html.split('id="sla-resolved">')[1].split("</span>")[0]
        assert resolved == f"· resolved {short(case.resolved_at)}, {verdict}"
        assert 'id="sla-left"' not in html  # no clock runs on a resolved case

    change_status(case=on_time, status=CaseStatus.OPEN, actor=agent)  # reopened: resolved no more
    assert 'id="sla-resolved"' not in client.get(reverse("cases:case", kwargs={"case_id": on_time.pk})).content.decode()
