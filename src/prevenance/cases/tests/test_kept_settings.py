"""What open_case no longer reads on every case — the active templates and signatures, SLA
policies and their calendars, routing rules, teams and their mailboxes — is kept per process,
and every change to it is seen at once: made here (signals) or by another process (a version
read from the database, once per intake)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from prevenance.cases.choices import TemplatePurpose
from prevenance.cases.models import Case, ReplyTemplate, RoutingRule, Signature, SLAPolicy
from prevenance.cases.services import templates
from prevenance.cases.services.templates import select_template, signature_for
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import Holiday

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def claire_case() -> Case:
    case = open_email_case("claire@example.com").case
    return Case.objects.select_related("customer", "team").get(pk=case.pk)


def reply_template(body: str, **fields) -> ReplyTemplate:
    return ReplyTemplate.objects.create(
        name=fields.pop("name", body[:20]), purpose=TemplatePurpose.REPLY, language="fr", body=body, **fields
    )


# Templates and signatures ----------------------------------------------------------------------


def test_templates_are_read_once_then_a_single_cheap_statement_checks_them():
    case = claire_case()
    reply_template("Bonjour")
    select_template(purpose=TemplatePurpose.REPLY, case=case)
    with CaptureQueriesContext(connection) as queries:
        assert select_template(purpose=TemplatePurpose.REPLY, case=case).body == "Bonjour"
        signature_for(case)
    # The version, once for each; no template or signature row read again.
    assert len(queries) == 2
    assert not [q["sql"] for q in queries if '"cases_replytemplate"."id"' in q["sql"] or '"cases_signature"."id"' in q["sql"]]


def test_a_new_changed_or_deleted_template_is_seen_at_once():
    case = claire_case()
    first = reply_template("Bonjour")
    assert select_template(purpose=TemplatePurpose.REPLY, case=case).body == "Bonjour"
    first.body = "Bonjour, merci"
    first.save()
    assert select_template(purpose=TemplatePurpose.REPLY, case=case).body == "Bonjour, merci"
    first.delete()
    assert select_template(purpose=TemplatePurpose.REPLY, case=case) is None


def test_a_change_by_another_process_is_seen_through_the_version():
    case = claire_case()
    row = reply_template("Bonjour")
    assert select_template(purpose=TemplatePurpose.REPLY, case=case) is not None
    # Queryset updates send no signal, as a change made in another process reaches none here:
    # switching rows off or on, or an edit that moves updated_at, changes the version.
    ReplyTemplate.objects.filter(pk=row.pk).update(active=False)
    assert select_template(purpose=TemplatePurpose.REPLY, case=case) is None
    ReplyTemplate.objects.filter(pk=row.pk).update(active=True, body="Salut", updated_at=row.updated_at + H)
    assert select_template(purpose=TemplatePurpose.REPLY, case=case).body == "Salut"


def test_a_signature_switched_off_elsewhere_is_no_longer_used():
    case = claire_case()
    signature = Signature.objects.create(name="Marque", language="fr", sign_off="Le service client")
    assert signature_for(case) == signature
    Signature.objects.filter(pk=signature.pk).update(active=False)
    assert signature_for(case) is None


def test_callers_get_their_own_copy_of_a_kept_template():
    case = claire_case()
    reply_template("Bonjour")
    mine = select_template(purpose=TemplatePurpose.REPLY, case=case)
    mine.body = "changed in memory by one caller"
    assert select_template(purpose=TemplatePurpose.REPLY, case=case).body == "Bonjour"


def test_a_template_created_in_a_transaction_that_rolls_back_is_forgotten():
    case = claire_case()
    templates.forget_templates()
    with pytest.raises(RuntimeError), transaction.atomic():
        reply_template("Jamais enregistré")
        assert select_template(purpose=TemplatePurpose.REPLY, case=case) is not None
        raise RuntimeError("roll back")
    assert select_template(purpose=TemplatePurpose.REPLY, case=case) is None


# SLA calendars ---------------------------------------------------------------------------------


def test_a_holiday_added_after_cases_were_opened_moves_the_next_cases_due_time():
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    team = TeamFactory(calendar=calendar)
    SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H)
    # Thursday 24 December, 17:00 in Paris
    before = open_email_case("a@example.com", received_at=utc(2026, 12, 24, 16), team=team).case
    assert Case.objects.get(pk=before.pk).first_response_due_at == utc(2026, 12, 25, 9)  # Friday 10:00
    add_holiday(calendar=calendar, date="2026-12-25", name="Noël")
    after = open_email_case("b@example.com", received_at=utc(2026, 12, 24, 16), team=team).case
    assert Case.objects.get(pk=after.pk).first_response_due_at == utc(2026, 12, 28, 9)  # Monday 10:00
    Holiday.objects.filter(calendar=calendar).delete()
    again = open_email_case("c@example.com", received_at=utc(2026, 12, 24, 16), team=team).case
    assert Case.objects.get(pk=again.pk).first_response_due_at == utc(2026, 12, 25, 9)


def test_once_kept_an_intake_reads_one_version_and_no_settings_row():
    calendar = create_business_calendar(name="Service client", time_zone="Europe/Paris", periods=default_calendar_periods())
    SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H, calendar=calendar)
    team = TeamFactory(email="sav@boutique.fr")
    RoutingRule.objects.create(name="Colis", team=team, keywords="colis")
    open_email_case("a@example.com", received_at=utc(2026, 12, 24, 16))
    with CaptureQueriesContext(connection) as queries:
        case = open_email_case("b@example.com", received_at=utc(2026, 12, 24, 16)).case
    assert case.team_id == team.pk and case.first_response_due_at == utc(2026, 12, 25, 9)  # Friday 10:00 in Paris
    statements = [query["sql"] for query in queries]
    assert sum("COUNT(*)" in sql and "cases_slapolicy" in sql for sql in statements) == 1  # the version, once
    kept_tables = ("cases_slapolicy", "cases_routingrule", "cases_replytemplate", "cases_signature", "core_openingperiod", "core_holiday")
    assert not [sql for sql in statements if "COUNT(*)" not in sql and any(table in sql for table in kept_tables)]
    # The team row is read only where routing locks it to take its turn (last_assigned).
    assert not [sql for sql in statements if sql.startswith('SELECT "cases_team"') and '"last_assigned_id"' not in sql]


def test_a_routing_rule_changed_by_another_process_routes_the_next_case():
    first, second = TeamFactory(name="Livraison"), TeamFactory(name="Facturation")
    rule = RoutingRule.objects.create(name="Colis", team=first, keywords="colis")
    assert open_email_case("a@example.com").case.team_id == first.pk
    # A queryset update sends no signal here, as an edit in another process would not: the
    # rule's updated_at moves (the admin's save does that), so the version changes.
    RoutingRule.objects.filter(pk=rule.pk).update(team=second, updated_at=rule.updated_at + H)
    assert open_email_case("b@example.com").case.team_id == second.pk
    RoutingRule.objects.filter(pk=rule.pk).update(active=False)
    assert open_email_case("c@example.com").case.team_id is None


def test_a_team_mailbox_added_elsewhere_routes_the_next_email():
    from prevenance.cases.services import ingest_email

    team = TeamFactory(name="SAV")
    raw = (
        "From: Claire <claire@example.com>\r\nTo: sav@boutique.fr\r\nSubject: Colis\r\nMessage-ID: <{n}@example.com>\r\n\r\nBonjour\r\n"
    )
    assert ingest_email(raw=raw.format(n=1).encode()).case.team_id is None
    from prevenance.cases.models import Team

    Team.objects.filter(pk=team.pk).update(email="sav@boutique.fr", updated_at=team.updated_at + H)
    assert ingest_email(raw=raw.format(n=2).encode()).case.team_id == team.pk
