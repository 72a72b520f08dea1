"""A merge carries the merged case's people in copy to the survivor (threads._carried_copies):
the survivor's replies go on copying everyone who was in the conversation, each once."""

import html
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from prevenance.cases.models import Case
from prevenance.cases.services import merge_cases
from prevenance.cases.services.common import MAX_ADDRESSES
from prevenance.cases.services.copies import change_case_copies
from prevenance.cases.services.outbound import default_from_address
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def two_cases(*, survivor_copies=(), loser_copies=()):
    survivor = open_email_case("same@example.com", subject="Colis").case
    loser = open_email_case("same@example.com", subject="Re: colis").case
    # Set as stored, whatever their case: older rows may hold an address as the client wrote it.
    Case.objects.filter(pk=survivor.pk).update(cc_addresses=list(survivor_copies))
    Case.objects.filter(pk=loser.pk).update(cc_addresses=list(loser_copies))
    return survivor, loser


def test_the_merged_cases_people_in_copy_join_the_survivors_each_once(supervisor):
    survivor, loser = two_cases(
        survivor_copies=["marc@example.com", "Julie@Example.com"],
        loser_copies=["julie@example.com", "paul@example.com", "MARC@example.com", "anne@example.com"],
    )

    merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert survivor.cc_addresses == ["marc@example.com", "Julie@Example.com", "paul@example.com", "anne@example.com"]
    assert loser.cc_addresses == ["julie@example.com", "paul@example.com", "MARC@example.com", "anne@example.com"]  # its record kept
    audit = AuditEvent.objects.get(kind="case.merged")
    assert audit.payload["copies"] == ["paul@example.com", "anne@example.com"]
    assert audit.actor == supervisor


def test_the_next_change_of_copies_sees_the_carried_ones(supervisor):
    survivor, loser = two_cases(loser_copies=["paul@example.com"])
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    changed = change_case_copies(case=survivor, actor=supervisor, add=["Paul@example.com", "anne@example.com"])

    assert changed.cc_addresses == ["paul@example.com", "anne@example.com"]


def test_the_customers_own_addresses_and_our_mailboxes_are_not_carried(supervisor):
    survivor, loser = two_cases(loser_copies=["Same@Example.com", default_from_address(), "paul@example.com"])

    merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    survivor.refresh_from_db()
    assert survivor.cc_addresses == ["paul@example.com"]


def test_no_more_than_the_limit_is_kept_and_the_merge_still_happens(supervisor):
    full = [f"person{n}@example.com" for n in range(MAX_ADDRESSES - 1)]
    survivor, loser = two_cases(survivor_copies=full, loser_copies=["paul@example.com", "anne@example.com"])

    merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    survivor.refresh_from_db()
    assert survivor.cc_addresses == [*full, "paul@example.com"]
    assert AuditEvent.objects.get(kind="case.merged").payload["copies"] == ["paul@example.com"]


def test_a_loser_with_no_one_in_copy_changes_no_copy(supervisor):
    survivor, loser = two_cases(survivor_copies=["marc@example.com"])

    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)  # again: nothing more

    survivor.refresh_from_db()
    assert survivor.cc_addresses == ["marc@example.com"]
    assert AuditEvent.objects.get(kind="case.merged").payload["copies"] == []


def test_a_refused_merge_carries_no_copy(supervisor):
    survivor = open_email_case("same@example.com", subject="Colis").case
    other = open_email_case("other@example.com", subject="Autre").case
    Case.objects.filter(pk=other.pk).update(cc_addresses=["paul@example.com"])

    with pytest.raises(ValidationError):
        merge_cases(survivor=survivor, loser=other, actor=supervisor)

    survivor.refresh_from_db()
    assert survivor.cc_addresses == []
    assert not AuditEvent.objects.filter(kind="case.merged").exists()


def test_the_webhook_says_who_joined_the_copies(receiver, committed, supervisor):
    survivor, loser = two_cases(survivor_copies=["marc@example.com"], loser_copies=["paul@example.com"])
    receiver.calls.clear()
    with committed():
        merge_cases(survivor=survivor, loser=loser, actor=supervisor)

    changes = {event["data"]["object"]["id"]: event["data"]["changes"] for event in map(json.loads, (call["body"] for call in receiver.calls))}
    assert changes[survivor.pk] == {
        "merged_from": {"from": None, "to": loser.pk},
        "cc_addresses": {"from": ["marc@example.com"], "to": ["marc@example.com", "paul@example.com"]},
    }


def test_the_merge_box_says_the_people_in_copy_come_along(client, supervisor):
    survivor, _loser = two_cases()
    client.force_login(supervisor)

    text = html.unescape(client.get(reverse("cases:case", args=[survivor.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode())

    assert "The other case's messages (with their files), tags, commercial gestures and people in copy move here" in text
    assert "Its messages, tags, commercial gestures and people in copy will move here" in text  # the question asked
    assert "Its people in copy and its root cause stay with it" not in text
