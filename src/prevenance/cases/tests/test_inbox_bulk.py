"""The inbox's bulk bar: one change on the ticked cases, each on its own; refusals said per
case, cases the user cannot see never changed nor named, bad input refused with nothing changed."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from prevenance.cases.choices import CaseStatus, Priority
from prevenance.cases.models import Case, Tag
from prevenance.cases.selectors.inbox import PAGE_SIZE
from prevenance.cases.services import assign_case, bulk, merge_cases
from prevenance.cases.services.bulk import MAX_BULK_CASES
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.audit import AuditEvent
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BULK = reverse("cases:inbox_bulk")
CLOSED_REASON = "A closed case cannot change status; a new message opens a new case instead."


def make_case(email, *, team=None, assignee=None, actor=None, **fields) -> Case:
    case = open_email_case(email).case
    if team is not None or assignee is not None:
        case = assign_case(case=case, team=team, assignee=assignee, actor=actor)
    Case.objects.filter(pk=case.pk).update(**fields)
    return Case.objects.get(pk=case.pk)


def box(case: Case) -> str:
    """A row's box as the inbox renders it: the case and the assignee it shows."""
    return f"{case.pk}:{case.assignee_id or ''}"


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def snapshot(*cases: Case) -> list[tuple]:
    return [tuple(Case.objects.filter(pk=case.pk).values_list("status", "priority", "assignee_id", "team_id").get())
            + (sorted(Case.objects.get(pk=case.pk).tags.values_list("name", flat=True)),) for case in cases]


@pytest.fixture
def world(agent, supervisor):
    colleague = UserFactory(username="hugo", first_name="Hugo", last_name="Roux", role="agent")
    ours = TeamFactory(name="Livraisons", members=[agent, colleague])
    theirs = TeamFactory(name="Facturation", members=[supervisor])
    return {
        "colleague": colleague, "ours": ours, "theirs": theirs,
        "a": make_case("a@example.com", team=ours, actor=supervisor),
        "b": make_case("b@example.com", team=ours, actor=supervisor),
        "closed": make_case("c@example.com", team=ours, actor=supervisor, status=CaseStatus.CLOSED),
        "other": make_case("d@example.com", team=theirs, actor=supervisor),
    }


def post(client, user, cases, **data):
    client.force_login(user)
    values = [box(case) if isinstance(case, Case) else case for case in cases]
    return client.post(BULK, {"case": values, "back": "view=open&priority=high", **data})


# Each change


def test_assign_to_me_takes_each_case_and_comes_back_to_the_same_view_and_filters(client, agent, world):
    response = post(client, agent, [world["a"], world["b"]], action="assign", assign_to="me")

    assert response.status_code == 302
    assert response["Location"] == "/cases/?view=open&priority=high"
    assert said(response) == ["2 cases updated."]
    assert {case.assignee_id for case in Case.objects.filter(pk__in=[world["a"].pk, world["b"].pk])} == {agent.pk}
    assert AuditEvent.objects.filter(kind="case.assigned", actor=agent).count() == 2


def test_assign_to_me_refuses_a_case_a_colleague_took_since_the_inbox_showed_it(client, agent, world, supervisor):
    shown_unassigned = box(world["a"])
    assign_case(case=world["a"], team=world["ours"], assignee=world["colleague"], actor=supervisor)

    response = post(client, agent, [shown_unassigned, world["b"]], action="assign", assign_to="me")

    assert said(response) == [
        "1 case updated.",
        f"{world['a'].reference} was not changed: This case was assigned to Hugo Roux meanwhile. "
        "Click “Assign to me” again to take it over.",
    ]
    assert Case.objects.get(pk=world["a"].pk).assignee_id == world["colleague"].pk
    assert Case.objects.get(pk=world["b"].pk).assignee_id == agent.pk


def test_assign_to_an_agent_keeps_each_case_in_its_team_and_refuses_one_outside_it(client, supervisor, world):
    colleague = world["colleague"]
    response = post(client, supervisor, [world["a"], world["other"]], action="assign", assign_to=f"user-{colleague.pk}")

    assert said(response) == [
        "1 case updated.",
        f"{world['other'].reference} was not changed: Hugo Roux is not a member of the team Facturation.",
    ]
    assert snapshot(world["a"])[0][2:4] == (colleague.pk, world["ours"].pk)
    assert snapshot(world["other"])[0][2:4] == (None, world["theirs"].pk)


def test_assign_to_a_team_keeps_an_assignee_who_is_a_member_and_clears_one_who_is_not(client, supervisor, agent, world):
    assign_case(case=world["a"], team=world["ours"], assignee=agent, actor=supervisor)
    assign_case(case=world["b"], team=world["ours"], assignee=world["colleague"], actor=supervisor)
    billing = world["theirs"]
    billing.members.add(agent)

    response = post(client, supervisor, [world["a"].pk, world["b"].pk], action="assign", assign_to=f"team-{billing.pk}")

    assert said(response) == ["2 cases updated."]
    assert snapshot(world["a"])[0][2:4] == (agent.pk, billing.pk)
    assert snapshot(world["b"])[0][2:4] == (None, billing.pk)


def test_status_moves_the_cases_the_workflow_allows_and_says_why_the_others_stay(client, agent, world):
    Case.objects.filter(pk=world["b"].pk).update(status=CaseStatus.RESOLVED)

    response = post(client, agent, [world["a"], world["b"], world["closed"]], action="status", status=CaseStatus.PENDING_CUSTOMER)

    assert said(response) == [
        "1 case updated.",
        f"{world['b'].reference} was not changed: A case cannot go from “Resolved” to “Waiting for the customer”.",
        f"{world['closed'].reference} was not changed: {CLOSED_REASON}",
    ]
    assert [row[0] for row in snapshot(world["a"], world["b"], world["closed"])] == [
        CaseStatus.PENDING_CUSTOMER, CaseStatus.RESOLVED, CaseStatus.CLOSED]


def test_add_tag_keeps_the_other_tags_and_tags_a_closed_case_too(client, agent, world):
    kept, added = Tag.objects.create(name="livraison"), Tag.objects.create(name="urgent")
    world["a"].tags.add(kept)

    response = post(client, agent, [world["a"], world["closed"]], action="tag", tag=added.pk)

    assert said(response) == ["2 cases updated."]
    assert [row[4] for row in snapshot(world["a"], world["closed"])] == [["livraison", "urgent"], ["urgent"]]


def test_priority_is_set_on_each_open_case_and_refused_on_a_merged_one(client, agent, supervisor, world):
    twin = assign_case(case=open_email_case("a@example.com", subject="Toujours rien reçu").case, team=world["ours"], actor=supervisor)
    merge_cases(survivor=world["a"], loser=twin, actor=agent)

    response = post(client, agent, [world["a"], twin], action="priority", priority=Priority.HIGH)

    assert said(response) == ["1 case updated.", f"{twin.reference} was not changed: Case {twin.reference} is closed."]
    assert [row[1] for row in snapshot(world["a"], twin)] == [Priority.HIGH, twin.priority]


def test_a_database_error_on_one_case_is_reported_and_the_others_are_changed(client, agent, world, monkeypatch):
    # Given the database refusing the change of one case (a lock wait cut short, a deadlock)
    real = bulk.change_priority

    def refusing(*, case, **kwargs):
        if case.pk == world["a"].pk:
            raise OperationalError("canceling statement due to lock timeout")
        return real(case=case, **kwargs)

    monkeypatch.setattr(bulk, "change_priority", refusing)
    # When the agent sets the priority of both cases
    response = post(client, agent, [world["a"], world["b"]], action="priority", priority=Priority.HIGH)
    # Then the other case is changed and the refused one is named with the reason, nothing half-done
    assert response.status_code == 302
    assert said(response) == ["1 case updated.",
                              f"{world['a'].reference} was not changed: The database could not change it just now: try again."]
    assert [row[1] for row in snapshot(world["a"], world["b"])] == [world["a"].priority, Priority.HIGH]


# Cases the user cannot see


def test_a_case_the_agent_cannot_see_is_counted_as_not_found_like_a_missing_one(client, agent, world):
    before = snapshot(world["other"])

    hidden = post(client, agent, [world["a"], world["other"]], action="priority", priority=Priority.URGENT)
    missing = post(Client(), agent, [world["b"], "999999"], action="priority", priority=Priority.URGENT)

    not_found = "1 selected case was not found among the cases you can see: it was not changed."
    assert said(hidden) == ["1 case updated.", not_found]
    assert said(missing) == ["1 case updated.", not_found]  # the same words: ids cannot be probed
    assert snapshot(world["other"]) == before
    assert world["other"].reference not in " ".join(said(hidden))


# Bad input: refused, nothing changed


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "assign", "assign_to": ""}, "Pick who to assign the selected cases to."),
    ({"action": "assign", "assign_to": "user-999999"}, "There is no such agent or team: pick one from the list."),
    ({"action": "assign", "assign_to": "team-abc"}, "There is no such agent or team: pick one from the list."),
    ({"action": "status", "status": ""}, "Pick the status to move the selected cases to."),
    ({"action": "status", "status": "archived"}, "Pick a status from the list."),
    ({"action": "status", "status": "new"}, "Pick a status from the list."),
    ({"action": "tag", "tag": "999999"}, "There is no such tag: pick one from the list."),
    ({"action": "priority", "priority": "extreme"}, "Pick a priority from the list."),
    ({"action": "delete"}, "Pick a change for the selected cases."),
    ({}, "Pick a change for the selected cases."),
])
def test_a_bad_value_is_refused_with_its_reason_and_nothing_changes(client, agent, world, data, message):
    before = snapshot(world["a"], world["b"])

    response = post(client, agent, [world["a"], world["b"]], **data)

    assert response.status_code == 302
    assert response["Location"] == "/cases/?view=open&priority=high"
    assert said(response) == [message]
    assert snapshot(world["a"], world["b"]) == before


@pytest.mark.parametrize(("cases", "message"), [
    ([], "Select at least one case first."),
    (["12abc"], "The selection is not valid: reload the page and select the cases again."),
    (["1:x"], "The selection is not valid: reload the page and select the cases again."),
    ([str(n) for n in range(1, MAX_BULK_CASES + 2)],
     "You can change at most 100 cases at once: 101 are selected. Select fewer cases."),
])
def test_an_empty_malformed_or_too_long_selection_is_refused(client, agent, world, cases, message):
    before = snapshot(world["a"])

    response = post(client, agent, cases, action="priority", priority=Priority.HIGH)

    assert said(response) == [message]
    assert snapshot(world["a"]) == before


def test_a_hundred_cases_are_allowed(client, agent, world):
    ids = [world["a"].pk, *range(10**9, 10**9 + MAX_BULK_CASES - 1)]

    response = post(client, agent, ids, action="priority", priority=Priority.HIGH)

    assert said(response) == ["1 case updated.",
                              "99 selected cases were not found among the cases you can see: they were not changed."]


def test_the_way_back_keeps_only_the_inboxs_own_keys(client, agent, world):
    client.force_login(agent)
    response = client.post(BULK, {"case": [box(world["a"])], "action": "priority", "priority": Priority.LOW,
                                  "back": "view=all&cursor=abc&channel=phone&channel=email&next=https://evil.example\r\n"})

    assert response["Location"] == "/cases/?view=all&cursor=abc&channel=phone&channel=email"


# Who may


def test_someone_who_may_only_read_cases_is_refused(client, world):
    reader = UserFactory(username="lecteur")
    reader.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="cases"))
    client.force_login(reader)

    response = client.post(BULK, {"case": [box(world["a"])], "action": "priority", "priority": Priority.HIGH})

    assert response.status_code == 403
    assert snapshot(world["a"])[0][1] == world["a"].priority


def test_the_form_needs_its_csrf_token_and_a_post(agent, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.post(BULK, {"case": [box(world["a"])], "action": "priority", "priority": Priority.HIGH}).status_code == 403
    assert client.get(BULK).status_code == 405
    assert snapshot(world["a"])[0][1] == world["a"].priority


# The page


def test_the_inbox_renders_a_box_per_row_and_the_bar_in_a_form(client, agent, world):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"view": "open", "priority": "normal"})
    html = response.content.decode()

    assert f'name="case" value="{world["a"].pk}:"' in html
    assert 'data-bulk-all' in html and 'id="bulk-bar"' in html
    assert f'action="{BULK}"' in html and "csrfmiddlewaretoken" in html
    assert 'name="back" value="view=open&amp;priority=normal"' in html
    assert '<option value="me">Me</option>' in html
    # The statuses some case may move to: "New" is none of them.
    assert '<option value="new">' not in html.split('id="bulk-status"')[1].split("</select>")[0]


def test_the_rows_load_more_adds_have_their_boxes_too(client, agent):
    for number in range(PAGE_SIZE + 1):
        open_email_case(f"client{number}@example.com")
    client.force_login(agent)
    first = client.get(reverse("cases:inbox"), {"view": "open"})
    cursor = re.search(r"cursor=([^\"&]+)", first.content.decode()).group(1)

    more = client.get(reverse("cases:inbox") + f"?view=open&cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()

    assert first.content.decode().count("data-bulk-case") == PAGE_SIZE
    assert more.count("data-bulk-case") == 1 and "<form" not in more


def test_a_reader_who_may_not_change_cases_gets_neither_boxes_nor_bar(client, world):
    triage = open_email_case("e@example.com").case  # no team yet: everyone who reads cases sees it
    reader = UserFactory(username="lecteur")
    reader.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="cases"))
    client.force_login(reader)

    html = client.get(reverse("cases:inbox"), {"view": "open"}).content.decode()

    assert triage.reference in html
    assert "data-bulk-case" not in html and 'id="bulk-bar"' not in html and "data-bulk-all" not in html
