"""Opening cases and taking customer replies: resolution, references, exactly-once, reopen window."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, CaseType, MessageKind
from prevenance.cases.models import Case, CaseCounter, Message
from prevenance.cases.services import add_inbound_message, add_reply, change_status, open_case
from prevenance.cases.tests.factories import open_email_case, reopen_within
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.choices import ConflictStatus, IdentityKind
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import IdentityFactory, OrderFactory
from prevenance.interactions.choices import Direction
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db
EMAIL = IdentityKind.EMAIL


def test_open_case_from_a_new_contact_creates_the_customer_case_message_and_interaction():
    # given nobody is known, when an email arrives
    intake = open_email_case("new@example.com", subject="Where is my order?", body="Hello, still nothing.", message_id="<a1@mail>")
    # then a customer, a new case, its first inbound message and one timeline entry exist
    customer = Identity.objects.get(normalized="new@example.com").customer
    case = Case.objects.get()
    assert intake.created is True and intake.case_opened is True and intake.case == case
    assert case.customer == customer
    assert case.status == CaseStatus.NEW
    assert case.type == CaseType.QUESTION
    assert case.channel == Channel.EMAIL
    assert case.subject == "Where is my order?"
    assert case.last_customer_message_at == intake.message.created_at
    message = Message.objects.get()
    assert (message.kind, message.body_text, message.message_id, message.customer_id) == (
        MessageKind.INBOUND, "Hello, still nothing.", "<a1@mail>", customer.pk,
    )
    interaction = Interaction.objects.get()
    assert message.interaction == interaction
    assert (interaction.customer_id, interaction.direction, interaction.channel) == (customer.pk, Direction.INBOUND, Channel.EMAIL)
    assert (interaction.ref_type, interaction.ref_id) == ("cases.case", str(case.pk))
    assert interaction.summary == f"Message on case {case.reference}: Where is my order?"
    assert interaction.body == "Hello, still nothing."


def test_open_case_for_a_known_customer_uses_that_customer():
    known = IdentityFactory(value="known@example.com").customer
    intake = open_email_case("Known@Example.com", type=CaseType.COMPLAINT)
    assert intake.case.customer_id == known.pk
    assert intake.case.type == CaseType.COMPLAINT
    assert Customer.objects.count() == 1


def test_identities_of_two_customers_open_the_case_on_the_older_one_and_leave_the_conflict_open():
    older = IdentityFactory(value="a@example.com").customer
    IdentityFactory(value="b@example.com")
    intake = open_case(
        identities=[IdentityInput(EMAIL, "b@example.com"), IdentityInput(EMAIL, "a@example.com")],
        channel=Channel.EMAIL, subject="Deux comptes", body="Bonjour",
    )
    assert intake.case.customer_id == older.pk
    assert intake.conflict == IdentityConflict.objects.get()
    assert intake.conflict.status == ConflictStatus.OPEN
    assert intake.message.body_text == "Bonjour"


def test_default_numbering_is_the_counter_on_sqlite_and_a_sequence_on_postgresql(settings):
    from django.db import connection

    from prevenance.cases.services import numbering

    settings.PREVENANCE_CASE_NUMBERS = "auto"
    expected = numbering.SEQUENCE if connection.vendor == "postgresql" else numbering.COUNTER
    assert numbering.numbering() == expected


def test_reference_is_year_and_six_digits_numbered_per_year(settings):
    settings.PREVENANCE_CASE_NUMBERS = "counter"  # gap-free on every database (a sequence never rolls back)
    first = open_email_case("one@example.com", received_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)).case
    second = open_email_case("two@example.com", received_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)).case
    next_year = open_email_case("three@example.com", received_at=dt.datetime(2027, 1, 5, 12, tzinfo=dt.UTC)).case
    assert (first.reference, second.reference, next_year.reference) == ("C-2026-000001", "C-2026-000002", "C-2027-000001")
    assert re.fullmatch(r"C-\d{4}-\d{6}", first.reference)
    assert dict(CaseCounter.objects.values_list("year", "last")) == {2026: 2, 2027: 1}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"type": "rant"}, "type"),
        ({"priority": "asap"}, "priority"),
        ({"subject": "", "body": "   "}, "body"),
        ({"body": "x" * 1_000_001}, "body"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(kwargs, field):
    with pytest.raises(ValidationError) as raised:
        open_email_case("bad@example.com", **kwargs)
    assert field in raised.value.message_dict
    assert (Customer.objects.count(), Case.objects.count(), Message.objects.count(), Interaction.objects.count()) == (0, 0, 0, 0)


def test_an_unusable_identity_is_refused_and_nothing_is_written():
    with pytest.raises(ValidationError) as raised:
        open_case(identities=[IdentityInput(EMAIL, "not an email")], channel=Channel.EMAIL, subject="Hi", body="Hi")
    assert "identities" in raised.value.message_dict
    assert (Customer.objects.count(), Case.objects.count(), CaseCounter.objects.count()) == (0, 0, 0)


def test_an_order_of_another_customer_rolls_everything_back():
    foreign_order = OrderFactory()
    with pytest.raises(ValidationError) as raised:
        open_email_case("someone@example.com", order=foreign_order)
    assert raised.value.message_dict == {"order": ["This order belongs to another customer."]}
    assert (Case.objects.count(), Message.objects.count(), Identity.objects.filter(normalized="someone@example.com").count()) == (0, 0, 0)


def test_nul_characters_are_dropped_so_postgresql_accepts_the_text():
    intake = open_email_case("nul@example.com", subject="A\x00B", body="line\x00end")
    intake.message.refresh_from_db()
    assert (intake.case.subject, intake.message.body_text) == ("AB", "lineend")


def test_an_agent_opening_a_case_is_audited(agent):
    intake = open_email_case("phone@example.com", channel=Channel.PHONE, actor=agent)
    event = AuditEvent.objects.get(kind="case.opened")
    assert (event.actor, event.subject_id) == (agent, str(intake.case.pk))
    assert intake.message.author == agent


def test_an_opened_case_has_its_routing_then_its_opening_in_the_audit_log(agent):
    # Both rows are written in one statement (core.audit.record_audits): in order, each with its payload.
    intake = open_email_case("order@example.com", channel=Channel.PHONE, actor=agent)
    events = list(AuditEvent.objects.filter(subject_type="cases.case", subject_id=str(intake.case.pk)).order_by("id"))
    assert [event.kind for event in events] == ["case.routed", "case.opened"]
    assert events[0].actor is None and events[0].payload["priority"] == intake.case.priority
    assert events[1].payload == {"channel": Channel.PHONE, "message": intake.message.pk}


def test_the_same_message_id_is_stored_once():
    first = open_email_case("twice@example.com", message_id="<same@mail>")
    again = open_email_case("twice@example.com", message_id="<same@mail>")
    reply = add_inbound_message(case=first.case, body="and again", message_id="<same@mail>")
    assert again.created is False and reply.created is False
    assert again.message == first.message == reply.message
    assert (Case.objects.count(), Message.objects.count(), Interaction.objects.count()) == (1, 1, 1)


def test_a_reply_while_waiting_for_the_customer_puts_the_case_back_to_open(agent):
    case = open_email_case().case
    change_status(case=case, status=CaseStatus.PENDING_CUSTOMER, actor=agent)
    later = timezone.now() + dt.timedelta(hours=2)
    intake = add_inbound_message(case=case, body="Here is the photo.", received_at=later)
    case.refresh_from_db()
    assert intake.case == case and intake.case_opened is False
    assert case.status == CaseStatus.OPEN
    assert case.last_customer_message_at == later
    assert list(case.messages.values_list("kind", flat=True)) == [MessageKind.INBOUND, MessageKind.INBOUND]
    assert Interaction.objects.filter(ref_id=str(case.pk), direction=Direction.INBOUND).count() == 2


def test_a_reply_within_the_window_reopens_the_resolved_case(agent):
    reopen_within(3)
    case = change_status(case=open_email_case().case, status=CaseStatus.RESOLVED, actor=agent)
    intake = add_inbound_message(case=case, body="Still broken.", received_at=case.resolved_at + dt.timedelta(days=3))
    case.refresh_from_db()
    assert intake.case == case and intake.case_opened is False
    assert (case.status, case.resolved_at, case.reopen_count) == (CaseStatus.OPEN, None, 1)
    assert Case.objects.count() == 1


def test_a_reply_after_the_window_opens_a_new_case_linked_to_the_old_one(agent):
    reopen_within(3)
    case = change_status(case=open_email_case(subject="Colis").case, status=CaseStatus.RESOLVED, actor=agent)
    intake = add_inbound_message(
        case=case, body="Still broken.", received_at=case.resolved_at + dt.timedelta(days=3, seconds=1), message_id="<late@mail>"
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    new = intake.case
    assert intake.case_opened is True and new.pk != case.pk
    assert (new.reopened_from, new.customer, new.status, new.subject) == (case, case.customer, CaseStatus.NEW, "Colis")
    assert list(new.messages.values_list("message_id", flat=True)) == ["<late@mail>"]
    assert Interaction.objects.get(ref_id=str(new.pk)).direction == Direction.INBOUND


def test_a_closed_case_never_reopens(agent):
    case = change_status(case=open_email_case().case, status=CaseStatus.CLOSED, actor=agent)
    intake = add_inbound_message(case=case, body="Hello?", received_at=case.closed_at + dt.timedelta(minutes=1))
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.messages.count() == 1
    assert intake.case.reopened_from == case
    assert intake.case.status == CaseStatus.NEW


def test_an_empty_reply_is_refused_and_nothing_changes(agent):
    case = change_status(case=open_email_case().case, status=CaseStatus.RESOLVED, actor=agent)
    with pytest.raises(ValidationError) as raised:
        add_inbound_message(case=case, body="  \n ")
    assert raised.value.message_dict == {"body": ["The message is empty."]}
    case.refresh_from_db()
    assert (case.status, case.messages.count()) == (CaseStatus.RESOLVED, 1)


def test_replies_write_outbound_interactions_and_stamp_the_first_response_once(agent):
    case = open_email_case().case
    first = add_reply(case=case, author=agent, body="We are on it.")
    add_reply(case=case, author=agent, body="Sent a new one.")
    case.refresh_from_db()
    assert case.first_response_at == first.created_at
    assert case.status == CaseStatus.OPEN
    outbound = Interaction.objects.filter(direction=Direction.OUTBOUND).order_by("id")
    assert [i.body for i in outbound] == ["We are on it.", "Sent a new one."]
    assert {(i.agent_id, i.ref_id) for i in outbound} == {(agent.pk, str(case.pk))}


@pytest.mark.django_db(transaction=True)
def test_concurrent_intake_hands_out_unique_references(settings):
    # The counter's promise: unique and without gaps (test_case_numbers.py covers the sequence).
    settings.PREVENANCE_CASE_NUMBERS = "counter"

    def intake(n: int):
        return lambda: [open_email_case(f"c{n}-{i}@example.com") for i in range(5)]

    _results, errors = run_concurrently(*(intake(n) for n in range(4)))
    assert errors == []
    year = timezone.localdate().year
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert references == [f"C-{year}-{n:06d}" for n in range(1, 21)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_message_store_it_once():
    def deliver():
        return open_email_case("dup@example.com", message_id="<dup@mail>").message.pk

    results, errors = run_concurrently(*[deliver] * 4)
    assert errors == []
    assert len(set(results)) == 1
    assert (Case.objects.count(), Message.objects.count(), Interaction.objects.count()) == (1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_to_one_case_are_all_kept():
    case = open_email_case("busy@example.com").case

    def replies(n: int):
        return lambda: [
            add_inbound_message(case=case, body=f"reply {n}-{i}", message_id=f"<r{n}-{i}@mail>") for i in range(5)
        ]

    _results, errors = run_concurrently(*(replies(n) for n in range(4)))
    assert errors == []
    assert Message.objects.filter(case=case).count() == 21
    assert Case.objects.count() == 1


def test_html_is_sanitised_whoever_sends_it(agent):
    intake = open_email_case("html@example.com", body="Hi", body_html='<p onclick="steal()">Hi<script>alert(1)</script></p>')
    reply = add_reply(case=intake.case, author=agent, body="Hello", body_html='<a href="javascript:alert(1)">x</a><b>ok</b>')
    assert intake.message.body_html == "<p>Hi</p>"
    assert reply.body_html == "<a rel=\"noopener noreferrer nofollow\">x</a><b>ok</b>"
