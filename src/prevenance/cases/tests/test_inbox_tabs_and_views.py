"""The inbox's tabs and filters agree (a tab is the base set, the filters narrow it; the tabs
count each view's own cases), and saved views can be edited by whoever may delete them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import SavedView
from prevenance.cases.selectors.inbox import (
    inbox,
    inbox_count,
    inbox_counts,
    inbox_views,
    resolve_view,
)
from prevenance.cases.services import save_view, update_view
from prevenance.cases.tests.factories import TeamFactory
from prevenance.cases.tests.test_inbox import make_case, refs
from prevenance.core.choices import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(agent, supervisor):
    """The agent's team with active and finished cases."""
    ours = TeamFactory(members=[agent])
    return {
        "ours": ours,
        "new": make_case("new@example.com", team=ours, actor=supervisor, score=50),
        "phone": make_case("phone@example.com", team=ours, actor=supervisor, score=40, channel=Channel.PHONE),
        "mine": make_case("mine@example.com", team=ours, assignee=agent, actor=supervisor, score=30),
        "resolved": make_case("resolved@example.com", team=ours, assignee=agent, actor=supervisor, score=90,
                              status=CaseStatus.RESOLVED),
        "closed": make_case("closed@example.com", team=ours, actor=supervisor, score=80, status=CaseStatus.CLOSED),
    }


def _status_options(html: str) -> list[str]:
    select = html.split('id="f-status"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select.split('<option value="')[1:]]


# --- a tab is the base set, the filters narrow it ------------------------------------------------


def test_all_open_never_lists_a_finished_case_and_all_cases_lists_every_status(agent, desk):
    assert refs(inbox(agent, view="open")) == [desk[k].reference for k in ("new", "phone", "mine")]
    assert refs(inbox(agent, view="all")) == [desk[k].reference for k in ("resolved", "closed", "new", "phone", "mine")]
    assert refs(inbox(agent, view="all", filters={"status": ["resolved", "closed"]})) == [
        desk["resolved"].reference, desk["closed"].reference]
    # A status the tab does not hold is refused with the reason, not shown as the tab's cases.
    for view in ("open", "mine", "team", "unassigned", "breaching"):
        with pytest.raises(ValidationError) as caught:
            inbox(agent, view=view, filters={"status": ["resolved"]})
        assert caught.value.message_dict["status"] == ["“Resolved” is not in this view: resolved and closed cases are under “All cases”."]


def test_all_cases_reads_each_finished_status_on_its_own(agent, desk):
    """An agent in one team: the team and the triage queue read status by status (6 + 6), their
    own cases in one read for the active statuses and one per finished status (they pile up)."""
    with CaptureQueriesContext(connection) as captured:
        page = inbox(agent, view="all")
    # One statement per read on SQLite, one UNION ALL of them on PostgreSQL (inbox._first_rows).
    reads = sum(q["sql"].count("LIMIT 26") for q in captured)
    assert reads == 6 + 6 + 1 + 2
    assert len(page.items) == 5


def test_the_status_list_offers_the_tabs_own_statuses(client, agent, desk):
    client.force_login(agent)
    open_html = client.get(reverse("cases:inbox"), {"view": "open"}).content.decode()
    assert _status_options(open_html) == ["", "new", "open", "pending_customer", "pending_internal"]
    all_html = client.get(reverse("cases:inbox"), {"view": "all"}).content.decode()
    assert _status_options(all_html) == ["", "new", "open", "pending_customer", "pending_internal", "resolved", "closed"]
    assert '<option value="">Any</option>' in all_html.split('id="f-status"', 1)[1]
    assert 'data-view="all"' in open_html  # the tab is there for everyone who has the inbox


def test_all_open_asked_for_resolved_cases_goes_to_all_cases_with_the_same_filters(client, agent, desk):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"view": "open", "status": "resolved", "channel": "email"})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:inbox") + "?view=all&channel=email&status=resolved"
    page = client.get(response["Location"]).content.decode()
    assert desk["resolved"].reference in page and desk["new"].reference not in page
    # "Assigned to me" likewise, as "All cases" with the assignee filter on the agent.
    mine = client.get(reverse("cases:inbox"), {"view": "mine", "status": "resolved"})
    assert mine["Location"] == reverse("cases:inbox") + "?view=all&status=resolved&assignee=me"
    # Another tab has no "All cases" equivalent: the page says why and lists nothing.
    refused = client.get(reverse("cases:inbox"), {"view": "team", "status": "resolved"})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "is not in this view: resolved and closed cases are under" in text and desk["resolved"].reference not in text


def test_tab_counts_are_each_views_own_totals_whatever_the_filters(client, agent, desk):
    client.force_login(agent)
    plain = client.get(reverse("cases:inbox"), {"view": "open"})
    filtered = client.get(reverse("cases:inbox"), {"view": "open", "channel": "phone"})
    assert plain.context["counts"] == filtered.context["counts"]
    assert plain.context["counts"]["open"] == 3 and plain.context["counts"]["all"] == 5
    assert plain.context["counts"]["mine"] == 1  # the resolved case assigned to them is not in "Assigned to me"
    # ...and the page says so when filters are picked
    note = "The numbers on the tabs count each view’s cases without the filters picked below"
    assert note in filtered.content.decode() and note not in plain.content.decode()
    assert refs(filtered.context["page"]) == [desk["phone"].reference]


def test_the_all_cases_count_is_capped_like_the_others(agent, desk, supervisor):
    for i in range(3):
        make_case(f"done{i}@example.com", team=desk["ours"], actor=supervisor, status=CaseStatus.CLOSED)
    view = resolve_view(agent, "all")
    assert inbox_count(agent, view=view) == 8
    assert inbox_count(agent, view=view, cap=6) == 7  # "more than 6": counting stopped there


def test_a_view_saved_on_all_open_with_a_finished_status_still_lists_those_cases(agent, desk):
    # Stored before "All cases" existed, when a status filter replaced the open statuses.
    old = SavedView.objects.create(name="Mes résolus", owner=agent, filters={"base": "open", "status": ["resolved"]})
    assert refs(inbox(agent, view=f"saved-{old.pk}")) == [desk["resolved"].reference]
    assert inbox_counts(agent, [v for v in inbox_views(agent) if v.saved])[f"saved-{old.pk}"] == 1
    # A new one cannot be saved that way: the status must be one its base view holds.
    with pytest.raises(ValidationError) as caught:
        save_view(user=agent, name="Résolus", filters={"status": ["resolved"]}, base="mine")
    assert "status" in caught.value.message_dict
    assert save_view(user=agent, name="Résolus", filters={"status": ["resolved"]}, base="all").filters == {
        "status": ["resolved"], "base": "all"}


def test_any_picked_in_a_list_drops_the_saved_views_own_filter(client, agent, desk):
    phone = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"]}, base="team")
    client.force_login(agent)
    own = client.get(reverse("cases:inbox"), {"view": f"saved-{phone.pk}"})
    assert refs(own.context["page"]) == [desk["phone"].reference]
    # The filter form posts every list; "Any" (an empty value) means any channel, not the view's.
    cleared = client.get(reverse("cases:inbox") + f"?view=saved-{phone.pk}&channel=&status=")
    assert refs(cleared.context["page"]) == [desk[k].reference for k in ("new", "phone", "mine")]
    assert cleared.context["query"] == f"view=saved-{phone.pk}&channel=&status="  # "Load more" and the export keep it


# --- editing saved views --------------------------------------------------------------------------


def test_the_owner_renames_their_view_and_replaces_its_filters(agent):
    view = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"], "priority": ["high"]}, base="team")
    updated = update_view(user=agent, view=view, name="  Téléphone   urgent ")
    assert (updated.name, updated.filters) == ("Téléphone urgent", {"channel": ["phone"], "priority": ["high"], "base": "team"})
    updated = update_view(user=agent, view=view, filters={"priority": ["urgent"]}, base="mine")
    view.refresh_from_db()
    assert (view.name, view.filters, view.owner) == ("Téléphone urgent", {"priority": ["urgent"], "base": "mine"}, agent)


def test_a_refused_edit_changes_nothing(agent, supervisor):
    view = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"]})
    save_view(user=agent, name="Courriels", filters={"channel": ["email"]})
    for changes, field in (({"name": "Courriels"}, "name"), ({"name": " "}, "name"),
                           ({"name": "x", "filters": {"channel": ["pigeon"]}, "base": "open"}, "channel"),
                           ({"filters": {"status": ["closed"]}, "base": "open"}, "status"),
                           ({"shared": True, "name": "Tous"}, "shared")):
        with pytest.raises(ValidationError) as caught:
            update_view(user=agent, view=view, **changes)
        assert field in caught.value.message_dict, changes
    view.refresh_from_db()
    assert (view.name, view.filters, view.owner) == ("Téléphone", {"channel": ["phone"], "base": "open"}, agent)
    # The same name is free in another owner's list: a shared view may be named like an agent's own
    shared = save_view(user=supervisor, name="Réclamations", filters={}, shared=True)
    assert update_view(user=supervisor, view=shared, name="Téléphone").name == "Téléphone"


def test_who_may_edit_a_view_follows_who_may_delete_it(agent, supervisor):
    shared = save_view(user=supervisor, name="Partagée", filters={}, shared=True)
    theirs = save_view(user=supervisor, name="À moi", filters={})
    for view in (shared, theirs):
        with pytest.raises(PermissionDenied):
            update_view(user=agent, view=view, name="Prise")
    assert sorted(SavedView.objects.values_list("name", flat=True)) == ["Partagée", "À moi"]
    # A supervisor edits the shared view, takes it back (it becomes theirs), shares their own.
    assert update_view(user=supervisor, view=shared, name="Partagée 2").owner_id is None
    assert update_view(user=supervisor, view=shared, shared=False).owner == supervisor
    assert update_view(user=supervisor, view=theirs, shared=True).owner_id is None


def test_editing_a_view_from_the_page(client, agent, supervisor, desk):
    view = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"]}, base="team")
    url = reverse("cases:saved_view_update", kwargs={"view_id": view.pk})
    client.force_login(agent)
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{view.pk}", "priority": "normal"}).content.decode()
    assert 'action="' + url + '"' in html and "Update view with current filters" in html
    assert 'name="sharing_shown"' not in html  # an agent shares nothing

    # "Update view with current filters": the filters shown (its own and those picked on top)
    response = client.post(url, {"name": "Téléphone normal", "base": "team", "channel": "phone", "priority": "normal",
                                 "action": "filters"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:inbox") + f"?view=saved-{view.pk}"
    view.refresh_from_db()
    assert (view.name, view.filters) == ("Téléphone normal", {"channel": ["phone"], "priority": ["normal"], "base": "team"})

    # Renaming only keeps the filters stored, and the ones picked on the page stay picked
    response = client.post(url, {"name": "Tél.", "base": "team", "priority": "high", "action": "rename"})
    view.refresh_from_db()
    assert (view.name, view.filters["priority"]) == ("Tél.", ["normal"])
    assert response["Location"] == reverse("cases:inbox") + f"?view=saved-{view.pk}&priority=high"

    # A refused edit comes back to the view with the name as typed, the form open
    save_view(user=agent, name="Autre", filters={})
    refused = client.post(url, {"name": "Autre", "action": "rename", "base": "team"}, follow=True)
    text = refused.content.decode()
    assert "There is already a view named “Autre”." in text
    assert '<details class="card save-view edit-view" open>' in text and 'value="Autre" required' in text
    view.refresh_from_db()
    assert view.name == "Tél."

    # Someone else's own view is not found; a shared one is refused to an agent; neither changes
    shared = save_view(user=supervisor, name="Partagée", filters={}, shared=True)
    theirs = save_view(user=supervisor, name="À moi", filters={})
    assert client.post(reverse("cases:saved_view_update", kwargs={"view_id": theirs.pk}), {"name": "x"}).status_code == 404
    assert client.post(reverse("cases:saved_view_update", kwargs={"view_id": shared.pk}), {"name": "x"}).status_code == 403
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{shared.pk}"}).content.decode()
    assert "saved_view_update" not in html and reverse("cases:saved_view_update", kwargs={"view_id": shared.pk}) not in html
    assert sorted(SavedView.objects.values_list("name", flat=True)) == ["Autre", "Partagée", "Tél.", "À moi"]


def test_a_supervisor_takes_back_a_shared_view_from_the_page(client, supervisor):
    shared = save_view(user=supervisor, name="Partagée", filters={}, shared=True)
    url = reverse("cases:saved_view_update", kwargs={"view_id": shared.pk})
    client.force_login(supervisor)
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{shared.pk}"}).content.decode()
    assert 'action="' + url + '"' in html and '<input type="checkbox" name="shared" checked>' in html
    # The box left unticked: the view becomes the supervisor's own
    client.post(url, {"name": "Partagée", "sharing_shown": "1", "action": "rename", "base": "open"})
    shared.refresh_from_db()
    assert shared.owner == supervisor
    # Without the box on the form (sharing_shown absent), sharing is left as it is
    client.post(url, {"name": "Renommée", "action": "rename", "base": "open"})
    shared.refresh_from_db()
    assert (shared.name, shared.owner) == ("Renommée", supervisor)


def _panel(html: str, css_class: str) -> str:
    start = html.index(f'<details class="{css_class}')
    return html[start:html.index("</details>", start)]


def test_deleting_a_view_is_in_its_edit_panel_and_asks_first(client, agent, supervisor, desk):
    own = save_view(user=agent, name="Téléphone", filters={"channel": ["phone"]}, base="team")
    shared = save_view(user=supervisor, name="Équipe", filters={}, base="team", shared=True)
    delete_own = reverse("cases:saved_view_delete", kwargs={"view_id": own.pk})
    client.force_login(agent)
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{own.pk}"}).content.decode()
    assert delete_own not in _panel(html, "card save-view\"") and delete_own in _panel(html, "card save-view edit-view")
    assert 'data-confirm="Delete the view “Téléphone”?"' in html
    # A shared view goes for everyone: the question says so (to whoever may delete it).
    client.force_login(supervisor)
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{shared.pk}"}).content.decode()
    assert 'data-confirm="Delete the view “Équipe”? Everyone it is shared with loses it too."' in html
    # An agent may neither edit nor delete a shared view: no button at all.
    client.force_login(agent)
    html = client.get(reverse("cases:inbox"), {"view": f"saved-{shared.pk}"}).content.decode()
    assert reverse("cases:saved_view_delete", kwargs={"view_id": shared.pk}) not in html
