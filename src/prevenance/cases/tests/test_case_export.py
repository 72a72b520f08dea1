"""Exporting the inbox's cases as CSV: same view, same filters, same visibility as the inbox."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from prevenance.cases.models import Case
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, open_email_case

pytestmark = pytest.mark.django_db

EXPORT = reverse("cases:export")


def rows(response, *, delimiter: str = ",") -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # so that Excel reads the accents as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


@pytest.fixture
def cases(agent, supervisor):
    ours, theirs = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    mine = assign_case(case=open_email_case("a@example.com", subject="Colis abîmé").case, team=ours, actor=supervisor)
    other = assign_case(case=open_email_case("b@example.com", subject="Secret").case, team=theirs, actor=supervisor)
    formula = assign_case(case=open_email_case("c@example.com", subject="=HYPERLINK(\"x\")").case, team=ours, actor=supervisor)
    return {"mine": mine, "other": other, "formula": formula}


def test_an_agent_exports_only_the_cases_they_may_see(client, agent, cases):
    client.force_login(agent)
    table = rows(client.get(EXPORT, {"view": "open"}))
    assert table[0][:3] == ["reference", "opened at", "status"]
    references = {row[0] for row in table[1:]}
    assert references == {cases["mine"].reference, cases["formula"].reference}


def test_a_supervisor_exports_every_case_and_filters_apply(client, supervisor, cases):
    client.force_login(supervisor)
    everything = {row[0] for row in rows(client.get(EXPORT, {"view": "open"}))[1:]}
    assert everything == {case.reference for case in cases.values()}
    searched = rows(client.get(EXPORT, {"view": "open", "q": "colis"}))[1:]
    assert [row[0] for row in searched] == [cases["mine"].reference]


def test_a_subject_that_looks_like_a_formula_is_exported_as_text(client, supervisor, cases):
    client.force_login(supervisor)
    table = rows(client.get(EXPORT, {"view": "open", "q": cases["formula"].reference}))
    assert table[1][7] == "'=HYPERLINK(\"x\")"


def test_bad_filters_are_refused_and_people_without_the_permission_too(client, agent, marketer, cases):
    client.force_login(agent)
    assert client.get(EXPORT, {"view": "open", "channel": "pigeon"}).status_code == 400
    client.force_login(marketer)
    assert client.get(EXPORT).status_code == 403


def test_a_french_reader_gets_the_spreadsheet_dialect_of_the_gesture_report(client, supervisor, cases):
    # French Excel reads a comma-separated file as one column: semicolons, as the gesture report.
    client.force_login(supervisor)
    client.cookies["django_language"] = "fr"
    response = client.get(EXPORT, {"view": "open", "q": cases["mine"].reference})
    table = rows(response, delimiter=";")
    assert table[0][:3] == ["référence", "ouvert le", "statut"]
    assert [row[0] for row in table[1:]] == [cases["mine"].reference]
    assert table[1][7] == "Colis abîmé"


def test_a_reopened_case_waiting_for_the_next_answer_exports_when_that_answer_is_due(client, supervisor, cases):
    # Given a case whose reply clock runs (a reopened case waiting for the next answer)
    Case.objects.filter(pk=cases["mine"].pk).update(next_reply_due_at=datetime(2026, 12, 28, 9, 30, tzinfo=UTC))
    client.force_login(supervisor)
    # When the supervisor exports it
    table = rows(client.get(EXPORT, {"view": "open", "q": cases["mine"].reference}))
    # Then the column between the first response and the resolution gives the due time
    column = table[0].index("next reply due at")
    assert table[0][column - 1:column + 2] == ["first response at", "next reply due at", "resolution due at"]
    assert table[1][column].startswith("2026-12-28")
    # and a case without a reply clock leaves it empty
    other = rows(client.get(EXPORT, {"view": "open", "q": cases["formula"].reference}))
    assert other[1][column] == ""
