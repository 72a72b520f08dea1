"""The inbox: each view, filters, ordering, keyset pages, saved views, and who sees what."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prevenance.cases import sla
from prevenance.cases.choices import CaseStatus, CaseType, Priority
from prevenance.cases.models import Case, SavedView, SLAPolicy
from prevenance.cases.selectors.inbox import (
    BUILTIN_LABELS,
    _view_condition,
    inbox,
    inbox_count,
    inbox_views,
    resolve_view,
    sla_times,
)
from prevenance.cases.selectors.visibility import visible_cases
from prevenance.cases.services import assign_case, change_status, delete_view, save_view
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    calendar_spec,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.choices import Channel
from prevenance.core.pagination import InvalidCursor, encode_cursor
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_case(email, *, team=None, assignee=None, actor=None, score=0, **fields) -> Case:
    case = open_email_case(email).case
    if team is not None or assignee is not None:
        case = assign_case(case=case, team=team, assignee=assignee, actor=actor)
    Case.objects.filter(pk=case.pk).update(priority_score=score, **fields)
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def world(agent, supervisor):
    """The agent's team and another team, with cases in each and one in the triage queue."""
    ours, theirs = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    return {
        "ours": ours,
        "theirs": theirs,
        "mine": make_case("a@example.com", team=ours, assignee=agent, actor=supervisor, score=30),
        "team": make_case("b@example.com", team=ours, actor=supervisor, score=50),
        "triage": make_case("c@example.com", score=10),
        "other": make_case("d@example.com", team=theirs, actor=supervisor, score=90),
        "done": make_case("e@example.com", team=ours, assignee=agent, actor=supervisor, score=99, status=CaseStatus.RESOLVED),
    }


def refs(page) -> list[str]:
    return [case.reference for case in page.items]


def test_all_open_is_most_urgent_first_and_hides_other_teams_and_finished_cases(agent, world):
    page = inbox(agent, view="open")
    assert refs(page) == [world[k].reference for k in ("team", "mine", "triage")]
    assert page.next_cursor is None


def test_a_supervisor_sees_every_team_in_all_open(supervisor, world):
    assert refs(inbox(supervisor, view="open")) == [world[k].reference for k in ("other", "team", "mine", "triage")]


def test_mine_my_teams_and_unassigned(agent, world):
    assert refs(inbox(agent, view="mine")) == [world["mine"].reference]
    assert refs(inbox(agent, view="team")) == [world["team"].reference, world["mine"].reference]
    assert refs(inbox(agent, view="unassigned")) == [world["team"].reference, world["triage"].reference]


def test_equal_scores_put_the_oldest_first(agent):
    first, second = make_case("x@example.com", score=5), make_case("y@example.com", score=5)
    assert refs(inbox(agent, view="open")) == [first.reference, second.reference]


def test_breaching_soon_lists_running_clocks_due_within_the_horizon_soonest_first(agent, supervisor, world):
    now = timezone.now()
    late = make_case("late@example.com", resolution_due_at=now - timedelta(hours=1), first_response_at=now)
    soon = make_case("soon@example.com", resolution_due_at=now + timedelta(hours=2), first_response_at=now)
    # Unanswered: the first-response clock is the one due first.
    unanswered = make_case("fr@example.com", first_response_due_at=now + timedelta(minutes=30), resolution_due_at=now + timedelta(days=3))
    make_case("far@example.com", resolution_due_at=now + timedelta(days=2), first_response_at=now)
    make_case("paused@example.com", resolution_due_at=now + timedelta(hours=1), first_response_at=now,
              status=CaseStatus.PENDING_CUSTOMER, sla_paused_at=now)
    # Put to wait for the customer before anyone answered: its first-response clock does not
    # pause (the SLA check escalates it), so it is breaching all the same.
    waiting_unanswered = make_case("wait@example.com", first_response_due_at=now + timedelta(hours=1),
                                   resolution_due_at=now + timedelta(minutes=20), status=CaseStatus.PENDING_CUSTOMER, sla_paused_at=now)
    make_case("resolved@example.com", resolution_due_at=now - timedelta(hours=5), status=CaseStatus.RESOLVED)
    make_case("theirs@example.com", team=world["theirs"], actor=supervisor, resolution_due_at=now)
    page = inbox(agent, view="breaching", now=now)
    assert refs(page) == [late.reference, unanswered.reference, waiting_unanswered.reference, soon.reference]
    assert inbox_count(agent, view=resolve_view(agent, "breaching"), now=now) == 4


def test_breaching_soon_pages_never_repeat_a_case_seen_through_either_clock(agent):
    now = timezone.now()
    made = [
        make_case(f"c{i}@example.com", first_response_due_at=now + timedelta(minutes=10 * i),
                  resolution_due_at=now + timedelta(minutes=15 * i))
        for i in range(6)
    ]
    seen, cursor = [], None
    while True:
        page = inbox(agent, view="breaching", cursor=cursor, limit=2, now=now)
        seen += refs(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(case.reference for case in made)
    assert len(seen) == len(set(seen))


def test_pages_follow_each_other_without_gaps_or_repeats(agent):
    made = [make_case(f"p{i}@example.com", score=i % 3) for i in range(7)]
    expected = [c.reference for c in sorted(made, key=lambda c: (-c.priority_score, c.pk))]
    seen, cursor = [], None
    for _round in range(5):
        page = inbox(agent, view="open", cursor=cursor, limit=3)
        seen += refs(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected


def test_a_case_arriving_between_two_pages_neither_repeats_nor_hides_the_others(agent):
    made = [make_case(f"s{i}@example.com", score=10 - i) for i in range(4)]
    first = inbox(agent, view="open", limit=2)
    make_case("urgent@example.com", score=100)  # lands above the cursor: seen on the next reload
    second = inbox(agent, view="open", cursor=first.next_cursor, limit=2)
    assert refs(first) + refs(second) == [case.reference for case in made]


def test_a_tampered_cursor_is_refused(agent, world):
    for bad in ("nonsense", "WyJ4IiwxXQ", "WzEsMiwzXQ"):
        with pytest.raises(InvalidCursor):
            inbox(agent, view="open", cursor=bad)
    with pytest.raises(InvalidCursor):  # a priority cursor handed to the due-time view
        inbox(agent, view="breaching", cursor=inbox(agent, view="open", limit=1).next_cursor)
    # Well-formed but impossible values: a month 13, an id no database holds
    for view, values in (("breaching", ["2026-13-45T00:00:00+00:00", 1]), ("breaching", ["2026-12-01T00:00:00+00:00", 2**70]),
                         ("open", [2**70, 1])):
        with pytest.raises(InvalidCursor):
            inbox(agent, view=view, cursor=encode_cursor(values))


def test_filters_by_channel_status_priority_type_and_team(agent, supervisor, world):
    phone = make_case("phone@example.com", channel=Channel.PHONE, type=CaseType.COMPLAINT, priority=Priority.URGENT)
    assert refs(inbox(agent, view="open", filters={"channel": "phone"})) == [phone.reference]
    assert refs(inbox(agent, view="open", filters={"type": ["complaint"], "priority": ["urgent"]})) == [phone.reference]
    assert refs(inbox(agent, view="all", filters={"status": ["resolved"]})) == [world["done"].reference]
    assert refs(inbox(agent, view="open", filters={"team": [str(world["ours"].pk)]})) == [world["team"].reference, world["mine"].reference]
    # Filtering on another team shows nothing more than visibility allows.
    assert refs(inbox(agent, view="open", filters={"team": [world["theirs"].pk]})) == []
    assert refs(inbox(agent, view="open", filters={"q": world["mine"].reference.lower()})) == [world["mine"].reference]


def test_bad_filters_name_the_field(agent):
    for filters, field in (({"channel": "pigeon"}, "channel"), ({"colour": "red"}, "colour"), ({"team": "x"}, "team"),
                           ({"team": str(2**63)}, "team"), ({"team": "0"}, "team"), ({"team": "-3"}, "team")):
        with pytest.raises(ValidationError) as caught:
            inbox(agent, view="open", filters=filters)
        assert field in caught.value.message_dict


def test_an_unknown_view_is_a_404(agent):
    with pytest.raises(Http404):
        inbox(agent, view="everything")


def test_counts_are_capped(agent, world):
    for i in range(4):
        make_case(f"n{i}@example.com")
    view = resolve_view(agent, "open")
    assert inbox_count(agent, view=view) == 7
    assert inbox_count(agent, view=view, cap=2) == 3  # "more than 2"


def test_saved_views_own_and_shared(agent, supervisor, world):
    own = save_view(user=agent, name=" Téléphone  urgent ", filters={"channel": ["phone"]}, base="team")
    assert own.name == "Téléphone urgent" and own.filters == {"channel": ["phone"], "base": "team"}
    shared = save_view(user=supervisor, name="Réclamations", filters={"type": "complaint"}, shared=True)
    theirs = save_view(user=supervisor, name="Mes cas", filters={})
    keys = [view.key for view in inbox_views(agent)]
    assert f"saved-{own.pk}" in keys and f"saved-{shared.pk}" in keys and f"saved-{theirs.pk}" not in keys
    with pytest.raises(Http404):
        inbox(agent, view=f"saved-{theirs.pk}")
    phone = make_case("tel@example.com", team=world["ours"], actor=supervisor, channel=Channel.PHONE)
    assert refs(inbox(agent, view=f"saved-{own.pk}")) == [phone.reference]


def test_saving_a_view_refuses_bad_input_and_sharing_by_an_agent(agent):
    with pytest.raises(ValidationError) as caught:
        save_view(user=agent, name="Tout", filters={}, shared=True)
    assert "shared" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        save_view(user=agent, name="  ", filters={})
    assert "name" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        save_view(user=agent, name="x", filters={"status": ["lost"]})
    assert "status" in caught.value.message_dict
    save_view(user=agent, name="Mine", filters={})
    with pytest.raises(ValidationError) as caught:
        save_view(user=agent, name="Mine", filters={})
    assert "name" in caught.value.message_dict
    assert SavedView.objects.count() == 1


def test_deleting_views_owner_only_and_shared_by_supervisors(agent, supervisor):
    shared = save_view(user=supervisor, name="Partagée", filters={}, shared=True)
    theirs = save_view(user=supervisor, name="À moi", filters={})
    own = save_view(user=agent, name="La mienne", filters={})
    with pytest.raises(PermissionDenied):
        delete_view(user=agent, view=shared)
    with pytest.raises(PermissionDenied):
        delete_view(user=agent, view=theirs)
    delete_view(user=agent, view=own)
    delete_view(user=supervisor, view=shared)
    assert list(SavedView.objects.all()) == [theirs]


def test_sla_times_follow_the_running_clock_in_business_time(agent, world):
    now = timezone.now()
    policy = SLAPolicy.objects.create(name="Standard", first_response_target=timedelta(hours=8),
                                      resolution_target=timedelta(days=3), near_breach_percent=80)
    fields = {"sla_policy": policy, "resolution_due_at": now + timedelta(days=1)}
    unanswered = make_case("u@example.com", first_response_due_at=now + timedelta(hours=1), **fields)
    answered = make_case("a2@example.com", first_response_at=now, first_response_due_at=now, **fields)
    late = make_case("l@example.com", first_response_at=now, **{**fields, "resolution_due_at": now - timedelta(minutes=5)})
    paused = make_case("p@example.com", first_response_at=now, sla_paused_at=now - timedelta(hours=2),
                       status=CaseStatus.PENDING_CUSTOMER, **fields)
    times = sla_times(Case.objects.select_related("sla_policy", "team").filter(sla_policy=policy), now)
    assert (times[unanswered.pk].clock, times[unanswered.pk].near) == ("first_response", True)
    assert (times[answered.pk].clock, times[answered.pk].near, times[answered.pk].breached) == ("resolution", False, False)
    assert times[late.pk].breached and times[late.pk].left == timedelta(minutes=-5)
    assert times[paused.pk].paused
    assert world["mine"].pk not in times  # no policy, no clock


def test_a_clock_far_from_its_due_time_is_shown_in_wall_clock_time(agent):
    now = timezone.now()
    office = create_business_calendar(name="Bureau", periods=default_calendar_periods())
    policy = SLAPolicy.objects.create(name="Bureau", first_response_target=timedelta(hours=8),
                                      resolution_target=timedelta(days=3), calendar=office)
    forgotten = make_case("old@example.com", sla_policy=policy, first_response_at=now, resolution_due_at=now - timedelta(days=40))
    soon = make_case("soon2@example.com", sla_policy=policy, first_response_at=now, resolution_due_at=now + timedelta(days=1))
    times = sla_times(Case.objects.select_related("sla_policy", "team").filter(sla_policy=policy), now)
    assert times[forgotten.pk].breached and times[forgotten.pk].left == timedelta(days=-40)
    # Within the window the business calendar counts: a day ahead is at most a day of opening hours.
    assert times[soon.pk].left == sla.sla_time_left(soon, now, calendar_spec(office)).left < timedelta(days=1)


def test_the_inbox_row_shows_the_time_left_in_colour(client, agent, world):
    now = timezone.now()
    policy = SLAPolicy.objects.create(name="Rapide", first_response_target=timedelta(hours=1), resolution_target=timedelta(hours=4))
    Case.objects.filter(pk=world["team"].pk).update(sla_policy=policy, first_response_due_at=now - timedelta(hours=2),
                                                    resolution_due_at=now + timedelta(hours=2))
    client.force_login(agent)
    text = client.get(reverse("cases:inbox")).content.decode()
    assert 'class="sla sla-breached"' in text and " late" in text


# --- the page ----------------------------------------------------------------------------------


def test_the_inbox_page_lists_the_view_with_tabs_and_counts(client, agent, world):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"))
    assert response.status_code == 200
    text = response.content.decode()
    for key in ("mine", "team", "triage"):
        assert world[key].reference in text
    assert world["other"].reference not in text
    assert 'data-view="breaching"' in text and 'class="tab-count"' in text


def test_no_view_or_filter_shows_another_teams_case(client, agent, world):
    client.force_login(agent)
    for query in ("view=mine", "view=team", "view=unassigned", "view=breaching", "view=open",
                  f"team={world['theirs'].pk}", "status=new", "q=C-"):
        assert world["other"].reference not in client.get(reverse("cases:inbox") + "?" + query).content.decode()


def test_htmx_paging_returns_the_next_rows_only(client, agent):
    for i in range(27):
        make_case(f"r{i}@example.com", score=i)
    client.force_login(agent)
    first = client.get(reverse("cases:inbox"))
    assert first.content.decode().count('class="inbox-row"') == 25
    cursor = inbox(agent, view="open").next_cursor
    more = client.get(reverse("cases:inbox"), {"view": "open", "cursor": cursor}, HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    text = more.content.decode()
    assert text.count('class="inbox-row"') == 2 and "<html" not in text and "Load more" not in text


def test_bad_input_on_the_page_is_a_400_with_the_reason(client, agent, world):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"channel": "pigeon"})
    assert response.status_code == 400 and "pigeon" in response.content.decode()
    assert client.get(reverse("cases:inbox"), {"cursor": "garbage"}).status_code == 400
    # A team number no database can hold is a refusal too, not a 500 (nor a broken export)
    assert client.get(reverse("cases:inbox"), {"team": "9" * 20}).status_code == 400
    assert client.get(reverse("cases:export"), {"team": "9" * 20}).status_code == 400


def test_a_saved_view_with_broken_filters_says_why_and_counts_nothing(client, agent, world):
    broken = SavedView.objects.create(name="Cassée", owner=agent, filters={"channel": ["pigeon"]})
    client.force_login(agent)
    page = client.get(reverse("cases:inbox"))
    assert page.status_code == 200
    response = client.get(reverse("cases:inbox"), {"view": f"saved-{broken.pk}"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "pigeon" in text and world["mine"].reference not in text


def test_a_shared_view_saved_with_an_impossible_team_number_is_refused_and_never_breaks_the_inbox(client, agent, supervisor, world):
    client.force_login(supervisor)
    saved = client.post(reverse("cases:saved_view_create"), {"name": "x", "team": "9" * 20, "shared": "on", "base": "open"})
    assert not SavedView.objects.filter(name="x").exists(), saved
    # One stored before the check existed counts nothing and leaves the other tabs working
    SavedView.objects.create(name="Ancienne", owner=None, filters={"team": ["9" * 20]})
    client.force_login(agent)
    assert client.get(reverse("cases:inbox")).status_code == 200


def test_typing_a_reference_opens_the_case(client, agent, world):
    client.force_login(agent)
    response = client.get(reverse("cases:inbox"), {"q": world["triage"].reference})
    assert response.status_code == 302 and response["Location"] == reverse("cases:case", kwargs={"case_id": world["triage"].pk})
    # Another team's reference is not found: the words search the subjects instead.
    assert client.get(reverse("cases:inbox"), {"q": world["other"].reference}).status_code == 200


def test_the_inbox_is_for_agents_only(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("cases:inbox")).status_code == 403
    client.logout()
    assert client.get(reverse("cases:inbox")).status_code == 302


def test_saving_and_deleting_a_view_from_the_page(client, agent, supervisor):
    client.force_login(agent)
    response = client.post(reverse("cases:saved_view_create"), {"name": "Téléphone", "channel": "phone", "base": "mine"})
    saved = SavedView.objects.get()
    assert response.status_code == 302 and f"view=saved-{saved.pk}" in response["Location"]
    assert saved.owner == agent and saved.filters == {"channel": ["phone"], "base": "mine"}
    refused = client.post(reverse("cases:saved_view_create"), {"name": "Tous", "shared": "on"})
    assert refused.status_code == 302 and SavedView.objects.count() == 1
    other = save_view(user=supervisor, name="Sup", filters={})
    assert client.post(reverse("cases:saved_view_delete", kwargs={"view_id": other.pk})).status_code == 404
    assert client.post(reverse("cases:saved_view_delete", kwargs={"view_id": saved.pk})).status_code == 302
    assert list(SavedView.objects.all()) == [other]


def _save_form_fields(html: str) -> list[tuple[str, str]]:
    """The hidden inputs of the "Save these filters as a view" form, as the browser posts them."""
    form = html.split('action="' + reverse("cases:saved_view_create") + '"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)


def test_saving_the_filters_shown_on_a_saved_view_keeps_that_views_own_filters(client, agent, world):
    # given the saved view "Phone" (channel phone, on "mine") with priority high picked on top
    phone = save_view(user=agent, name="Phone", filters={"channel": ["phone"], "q": "colis"}, base="mine")
    client.force_login(agent)
    page = client.get(reverse("cases:inbox"), {"view": f"saved-{phone.pk}", "priority": "high"})
    html = page.content.decode()

    # when the agent saves what is shown as "Phone, high"
    fields = [pair for pair in _save_form_fields(html) if pair[0] != "csrfmiddlewaretoken"]
    posted: dict[str, list[str]] = {"name": ["Phone, high"]}
    for key, value in fields:
        posted.setdefault(key, []).append(value)
    response = client.post(reverse("cases:saved_view_create"), posted)

    # then the new view holds the saved view's filters too (the channel and words were lost)
    assert response.status_code == 302
    assert sorted(fields) == [("base", "mine"), ("channel", "phone"), ("priority", "high"), ("q", "colis")]
    assert SavedView.objects.get(name="Phone, high").filters == {
        "channel": ["phone"], "priority": ["high"], "q": "colis", "base": "mine",
    }
    assert 'name="q" value="colis"' in html  # the search box shows the words the view searches


def test_a_refused_save_comes_back_with_the_name_typed(client, supervisor, world):
    save_view(user=supervisor, name="Urgent", filters={}, shared=True)
    client.force_login(supervisor)

    response = client.post(reverse("cases:saved_view_create"),
                           {"name": "Urgent", "shared": "on", "base": "team", "priority": "high"}, follow=True)

    assert response.status_code == 200 and SavedView.objects.count() == 1
    html = response.content.decode()
    assert "There is already a view named “Urgent”." in html
    assert '<details class="card save-view" open>' in html
    assert 'id="view-name" name="name" maxlength="100" value="Urgent" required' in html
    assert '<input type="checkbox" name="shared" checked>' in html
    assert response.context["view_key"] == "team" and response.context["view_filters"] == {"priority": ["high"]}


def test_no_save_form_while_a_filter_is_refused(client, agent, world):
    broken = SavedView.objects.create(name="Cassée", owner=agent, filters={"channel": ["pigeon"]})
    client.force_login(agent)

    html = client.get(reverse("cases:inbox"), {"view": f"saved-{broken.pk}"}).content.decode()

    assert 'action="' + reverse("cases:saved_view_create") + '"' not in html
    assert 'action="' + reverse("cases:saved_view_delete", kwargs={"view_id": broken.pk}) + '"' in html


def test_the_number_of_queries_does_not_grow_with_the_cases_shown(client, agent, world):
    client.force_login(agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("cases:inbox")).status_code == 200
        return len(captured)

    few = queries()
    for i in range(30):
        make_case(f"q{i}@example.com", score=i)
    assert queries() == few


def test_a_resolved_case_leaves_mine(agent, supervisor, world):
    change_status(case=world["mine"], status=CaseStatus.RESOLVED, actor=agent)
    assert refs(inbox(agent, view="mine")) == []


def test_an_agent_in_no_team_sees_the_triage_queue_only(world):
    newcomer = UserFactory(role="agent")
    assert refs(inbox(newcomer, view="open")) == [world["triage"].reference]
    assert refs(inbox(newcomer, view="team")) == []


# --- an agent's inbox read source by source (each team, the triage queue, their own cases) ---


@pytest.fixture
def spread(agent, supervisor):
    """An agent in two teams, with cases in both, in the triage queue, assigned to them in a
    third team they are not in, and in that third team for someone else (hidden); scores tie
    across sources and statuses so the merge's order on (score, id) is exercised."""
    first, second, third = TeamFactory(members=[agent]), TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    plan = [  # (team, assigned to the agent, score, status)
        (first, False, 40, CaseStatus.NEW), (second, False, 40, CaseStatus.OPEN), (None, False, 40, CaseStatus.NEW),
        (third, True, 40, CaseStatus.OPEN), (first, True, 70, CaseStatus.PENDING_INTERNAL), (second, True, 10, CaseStatus.NEW),
        (None, False, 90, CaseStatus.NEW), (third, True, 5, CaseStatus.PENDING_CUSTOMER), (first, False, 55, CaseStatus.OPEN),
        (second, False, 55, CaseStatus.NEW), (None, False, 0, CaseStatus.NEW), (first, False, 40, CaseStatus.OPEN),
    ]
    visible = [
        in_team(f"spread{i}@example.com", team, agent if assigned else None, supervisor, score=score, status=status)
        for i, (team, assigned, score, status) in enumerate(plan)
    ]
    hidden = [
        make_case("hidden1@example.com", team=third, actor=supervisor, score=60),
        make_case("hidden2@example.com", team=third, assignee=supervisor, actor=supervisor, score=45),
    ]
    # Finished cases, only in "All cases" (the agent's own there are read status by status).
    finished = [
        in_team(f"finished{i}@example.com", team, agent if assigned else None, supervisor, score=score, status=status)
        for i, (team, assigned, score, status) in enumerate([
            (first, True, 80, CaseStatus.RESOLVED), (third, True, 40, CaseStatus.CLOSED), (None, False, 30, CaseStatus.CLOSED),
            (third, False, 50, CaseStatus.RESOLVED),  # another team's, not the agent's: hidden from them
        ])
    ]
    return {"teams": (first, second, third), "visible": visible, "hidden": hidden, "finished": finished}


def in_team(email, team, assignee, actor, **fields) -> Case:
    """A case of `team` assigned to `assignee`, even when the assignee is no longer in the team
    (they moved: their cases stay theirs and stay in their inbox)."""
    if assignee is None or team is None or team.members.filter(pk=assignee.pk).exists():
        return make_case(email, team=team, assignee=assignee, actor=actor, **fields)
    return make_case(email, assignee=assignee, actor=actor, team_id=team.pk, **fields)


def urgency_order(cases) -> list[str]:
    return [case.reference for case in sorted(cases, key=lambda case: (-case.priority_score, case.pk))]


def all_pages(user, *, limit, **kwargs) -> list[str]:
    seen, cursor = [], None
    for _round in range(50):
        page = inbox(user, cursor=cursor, limit=limit, **kwargs)
        assert len(page.items) <= limit
        seen += refs(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 25])
def test_an_agent_in_two_teams_gets_teams_triage_and_own_cases_merged_in_order_page_after_page(agent, spread, limit):
    expected = urgency_order(spread["visible"])
    assert all_pages(agent, view="open", limit=limit) == expected  # in order, nothing missing, nothing twice


def test_each_view_of_an_agent_in_two_teams_merges_its_sources(agent, spread):
    first, second, third = spread["teams"]
    visible = spread["visible"]
    in_teams = [case for case in visible if case.team_id in (first.pk, second.pk)]
    assert all_pages(agent, view="team", limit=2) == urgency_order(in_teams)
    assert all_pages(agent, view="unassigned", limit=2) == urgency_order([case for case in visible if case.assignee_id is None])
    assert all_pages(agent, view="mine", limit=2) == urgency_order([case for case in visible if case.assignee_id == agent.pk])
    # A team filter: that team's cases, and the agent's own cases in a team they are not in.
    assert all_pages(agent, view="open", filters={"team": [second.pk]}, limit=2) == urgency_order(
        [case for case in visible if case.team_id == second.pk])
    assert all_pages(agent, view="open", filters={"team": [third.pk]}, limit=2) == urgency_order(
        [case for case in visible if case.team_id == third.pk])
    assert all_pages(agent, view="open", filters={"team": [first.pk, third.pk]}, limit=3) == urgency_order(
        [case for case in visible if case.team_id in (first.pk, third.pk)])
    # Filters on top of the sources.
    assert all_pages(agent, view="open", filters={"status": ["new"]}, limit=2) == urgency_order(
        [case for case in visible if case.status == CaseStatus.NEW])


def test_a_supervisor_reads_my_teams_and_a_team_filter_team_by_team(supervisor, agent, spread):
    first, second, third = spread["teams"]
    first.members.add(supervisor)
    everything = spread["visible"] + spread["hidden"]
    assert all_pages(supervisor, view="team", limit=2) == urgency_order(
        [case for case in everything if case.team_id in (first.pk, third.pk)])
    assert all_pages(supervisor, view="open", filters={"team": [second.pk, third.pk]}, limit=2) == urgency_order(
        [case for case in everything if case.team_id in (second.pk, third.pk)])
    assert all_pages(supervisor, view="open", limit=4) == urgency_order(everything)


def test_breaching_soon_merges_an_agents_sources_soonest_first_without_repeats(agent, supervisor):
    now = timezone.now()
    first, second, third = TeamFactory(members=[agent]), TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    places = [(first, None), (second, agent), (None, None), (third, agent), (first, agent), (second, None)]
    made = []
    for i in range(12):
        team, assignee = places[i % len(places)]
        # Alternately the first-response clock and the resolution clock is the one due first;
        # two cases share each due time so the id breaks the tie across sources.
        due = now + timedelta(minutes=20 * (i // 2))
        fields = {"first_response_due_at": due, "resolution_due_at": due + timedelta(days=1)} if i % 3 else {
            "resolution_due_at": due, "first_response_at": now}
        made.append(in_team(f"due{i}@example.com", team, assignee, supervisor, **fields))
    make_case("theirs@example.com", team=third, actor=supervisor, resolution_due_at=now)  # not the agent's
    make_case("later@example.com", team=first, actor=supervisor, resolution_due_at=now + timedelta(hours=5), first_response_at=now)

    def due(case):
        return case.first_response_due_at if case.first_response_at is None else case.resolution_due_at

    expected = [case.reference for case in sorted(made, key=lambda case: (due(case), case.pk))]
    for limit in (1, 2, 5, 25):
        assert all_pages(agent, view="breaching", limit=limit, now=now) == expected


@pytest.mark.parametrize("view", ["open", "breaching"])
def test_an_agents_page_reads_each_source_and_status_once(agent, spread, view):
    """Two teams + triage, four active statuses: 12 short reads, and one for the agent's own
    cases (plus the team list, the page's rows and the addresses of its nameless customers),
    whatever the number of cases; "breaching soon" reads each clock where it runs. On
    PostgreSQL the short reads are one statement (a UNION ALL of them), one round trip."""
    Case.objects.update(resolution_due_at=timezone.now() + timedelta(hours=1))  # every case breaching soon
    with CaptureQueriesContext(connection) as captured:
        inbox(agent, view=view)
    statements = [q["sql"] for q in captured if "LIMIT 26" in q["sql"]]
    reads = sum(sql.count("LIMIT 26") for sql in statements)
    # "breaching soon": the resolution clock in 3 statuses, the first-response clock in 4, and
    # the reply clock (few rows) in one read for its 4 statuses.
    assert reads == (3 * 4 + 1 if view == "open" else 3 * (3 + 4 + 1) + 3)
    assert len(statements) == (1 if connection.vendor == "postgresql" else reads)
    assert len(captured) == 1 + len(statements) + 1 + 1


def test_each_source_split_holds_exactly_the_visible_cases(agent, supervisor, spread):
    """An agent's pages are read from all cases, split by team, triage queue and own cases:
    the split must keep to the visibility rule (visible_cases), view by view, filter by filter."""
    first, second, third = spread["teams"]
    hidden_case = spread["hidden"][0]
    newcomer = UserFactory(role="agent")
    now = timezone.now()
    Case.objects.update(resolution_due_at=now + timedelta(hours=1))  # everything "breaching soon"
    for user in (agent, supervisor, newcomer):
        for view in BUILTIN_LABELS:
            for filters in ({}, {"team": [second.pk, third.pk]}, {"team": [third.pk]}, {"status": ["new", "pending_customer"]}):
                statuses = filters.get("status")
                if view == "breaching":
                    # Only the resolution clock is set here, and it does not run while waiting for the customer.
                    statuses = [s for s in statuses or ["new", "open", "pending_internal"] if s != "pending_customer"]
                expected = visible_cases(user).filter(_view_condition(user, view))
                if view != "all" or statuses:  # "All cases" holds every status
                    expected = expected.filter(status__in=statuses or ["new", "open", "pending_customer", "pending_internal"])
                if filters.get("team"):
                    expected = expected.filter(team_id__in=filters["team"])
                seen = all_pages(user, view=view, filters=filters, limit=4, now=now)
                assert sorted(seen) == sorted(expected.values_list("reference", flat=True)), (user, view, filters)
                assert len(seen) == len(set(seen))
                if user == agent:
                    assert hidden_case.reference not in seen


def test_an_empty_search_says_nothing_matches_and_an_empty_view_says_it_is_empty(client, agent, world):
    client.force_login(agent)
    searched = client.get(reverse("cases:inbox"), {"view": "open", "q": "introuvable"}).content.decode()
    assert "No case matches this search." in searched and "No case in this view." not in searched
    filtered = client.get(reverse("cases:inbox"), {"view": "open", "channel": "video"}).content.decode()
    assert "No case matches this search." in filtered
    # The next rows of an empty search, asked by HTMX, say it the same way
    fragment = client.get(reverse("cases:inbox"), {"view": "open", "q": "introuvable"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No case matches this search." in fragment
    client.force_login(UserFactory(username="newcomer", role="agent"))  # nothing is theirs yet
    empty = client.get(reverse("cases:inbox"), {"view": "mine"}).content.decode()
    assert "No case in this view." in empty and "No case matches this search." not in empty
