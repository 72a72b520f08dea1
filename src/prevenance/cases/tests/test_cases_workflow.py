"""The status workflow table, status changes, notes and assignment."""

import pytest
from django.core.exceptions import ValidationError

from prevenance.cases.choices import CaseStatus
from prevenance.cases.models import Case, Message
from prevenance.cases.services import add_note, add_reply, assign_case, change_status
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.cases.workflow import TRANSITIONS, can_transition, check_transition
from prevenance.core.models import AuditEvent
from prevenance.customers.tests.factories import UserFactory
from prevenance.interactions.models import Interaction

S = CaseStatus
ALLOWED = sorted((current, target) for current, targets in TRANSITIONS.items() for target in targets)
REFUSED = [
    (S.CLOSED, S.OPEN),
    (S.CLOSED, S.NEW),
    (S.RESOLVED, S.PENDING_CUSTOMER),
    (S.RESOLVED, S.NEW),
    (S.OPEN, S.NEW),
    (S.PENDING_CUSTOMER, S.NEW),
]


def test_the_table_has_every_status_and_no_move_back_to_new():
    assert set(TRANSITIONS) == set(S.values)
    assert all(S.NEW not in targets for targets in TRANSITIONS.values())
    assert TRANSITIONS[S.CLOSED] == frozenset()
    assert len(ALLOWED) == 19


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_transition_passes(current, target):
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions_say_why(current, target):
    assert not can_transition(current, target)
    with pytest.raises(ValidationError) as raised:
        check_transition(current, target)
    assert list(raised.value.message_dict) == ["status"]


def test_the_reasons_are_specific():
    with pytest.raises(ValidationError) as closed:
        check_transition(S.CLOSED, S.OPEN)
    with pytest.raises(ValidationError) as same:
        check_transition(S.OPEN, S.OPEN)
    with pytest.raises(ValidationError) as refused:
        check_transition(S.RESOLVED, S.PENDING_INTERNAL)
    with pytest.raises(ValidationError) as unknown:
        check_transition(S.OPEN, "archived")
    assert closed.value.message_dict["status"] == ["A closed case cannot change status; a new message opens a new case instead."]
    assert same.value.message_dict["status"] == ["The case is already “Open”."]
    assert refused.value.message_dict["status"] == ["A case cannot go from “Resolved” to “Waiting for an internal answer”."]
    assert unknown.value.message_dict["status"] == [
        "“archived” is not one of: new, open, pending_customer, pending_internal, resolved, closed."
    ]


@pytest.mark.django_db
def test_change_status_stamps_resolution_closure_and_reopening(agent):
    case = open_email_case().case
    resolved = change_status(case=case, status=S.RESOLVED, actor=agent)
    assert resolved.resolved_at is not None
    reopened = change_status(case=case, status=S.OPEN, actor=agent)
    assert (reopened.resolved_at, reopened.reopen_count) == (None, 1)
    closed = change_status(case=case, status=S.CLOSED, actor=agent)
    assert closed.closed_at is not None
    events = AuditEvent.objects.filter(kind="case.status_changed", subject_id=str(case.pk)).order_by("id")
    assert [(e.payload["from"], e.payload["to"], e.actor_id) for e in events] == [
        ("new", "resolved", agent.pk), ("resolved", "open", agent.pk), ("open", "closed", agent.pk),
    ]


@pytest.mark.django_db
def test_a_refused_change_writes_nothing(agent):
    case = change_status(case=open_email_case().case, status=S.CLOSED, actor=agent)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        change_status(case=case, status=S.OPEN, actor=agent)
    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_closed_case_takes_no_reply_but_takes_a_note(agent):
    case = change_status(case=open_email_case().case, status=S.CLOSED, actor=agent)
    with pytest.raises(ValidationError) as raised:
        add_reply(case=case, author=agent, body="Too late")
    assert raised.value.message_dict == {"case": [f"Case {case.reference} is closed."]}
    note = add_note(case=case, author=agent, body="Customer called, nothing to add.")
    assert (note.kind, note.author, note.interaction) == ("note", agent, None)
    assert Message.objects.filter(case=case).count() == 2
    assert Interaction.objects.count() == 1  # the first inbound message only: notes are internal


@pytest.mark.django_db
def test_an_empty_reply_is_refused(agent):
    case = open_email_case().case
    with pytest.raises(ValidationError) as raised:
        add_reply(case=case, author=agent, body=" ")
    assert raised.value.message_dict == {"body": ["Write something first."]}
    case.refresh_from_db()
    assert (case.status, case.first_response_at, case.messages.count()) == (S.NEW, None, 1)


@pytest.mark.django_db
def test_assign_to_a_team_member(agent, supervisor):
    team = TeamFactory(members=[agent])
    case = assign_case(case=open_email_case().case, assignee=agent, team=team, actor=supervisor)
    assert (case.assignee, case.team) == (agent, team)
    event = AuditEvent.objects.get(kind="case.assigned")
    assert event.payload == {"from": {"assignee": None, "team": None}, "to": {"assignee": agent.pk, "team": team.pk}}


@pytest.mark.django_db
def test_assign_refuses_an_outsider_or_a_user_without_the_role(agent, supervisor, marketer):
    team = TeamFactory(members=[supervisor])
    agent.first_name, agent.last_name = "Sarah", "Petit"
    agent.save(update_fields=["first_name", "last_name"])
    case = open_email_case().case
    with pytest.raises(ValidationError) as outsider:
        assign_case(case=case, assignee=agent, team=team, actor=supervisor)
    with pytest.raises(ValidationError) as no_role:
        assign_case(case=case, assignee=marketer, team=None, actor=supervisor)
    # Named as the assignee picker shows them: the full name, else the login.
    assert outsider.value.message_dict == {"assignee": [f"Sarah Petit is not a member of the team {team.name}."]}
    assert no_role.value.message_dict == {"assignee": ["marketer cannot handle cases."]}
    case.refresh_from_db()
    assert (case.assignee, case.team) == (None, None)
    assert not AuditEvent.objects.filter(kind="case.assigned").exists()


@pytest.mark.django_db
def test_assign_refuses_an_inactive_user_and_a_closed_case(agent, supervisor):
    gone = UserFactory(username="gone", role="agent", is_active=False)
    case = open_email_case().case
    with pytest.raises(ValidationError):
        assign_case(case=case, assignee=gone, actor=supervisor)
    change_status(case=case, status=S.CLOSED, actor=supervisor)
    with pytest.raises(ValidationError):
        assign_case(case=case, assignee=agent, actor=supervisor)
    assert Case.objects.get().assignee is None
