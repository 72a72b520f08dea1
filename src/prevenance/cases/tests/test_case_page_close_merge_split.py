"""The case page's Close button, merge box, merged and split cases, and renaming a case
(its subject in the classification form, the service and the API)."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import CaseAuditKind, CaseStatus
from prevenance.cases.models import Case
from prevenance.cases.services import (
    add_inbound_message,
    assign_case,
    change_status,
    merge_cases,
    request_gesture,
    split_message,
)
from prevenance.cases.services.updates import change_case_subject
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.customers.services import erase_customer
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLOSE_QUESTION = ("Close this case for good? No reply can be sent on it any more, and the customer&#x27;s next message "
                  "will open a new case.")


def url(name, case, **kwargs):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk, **kwargs})


def page_of(client, case) -> str:
    response = client.get(url("case", case))
    assert response.status_code == 200
    return response.content.decode()


def status_bar(html: str) -> str:
    return html.split('id="status-actions"')[1].split("</div>")[0]


def classification(case, **fields) -> dict:
    """The classification form as the page posts it, with `fields` changed."""
    return {"subject": case.subject, "type": case.type, "language": "fr", "tags": [], "root_cause": "", **fields}


@pytest.fixture
def team(agent):
    return TeamFactory(name="Livraisons", members=[agent])


@pytest.fixture
def case(team, supervisor):
    case = open_email_case("camille@example.com", subject="Colis abîmé", body="Mon colis est arrivé abîmé.").case
    return assign_case(case=case, team=team, actor=supervisor)


# 1. Close asks first, apart from the other moves -------------------------------------------------


@pytest.mark.parametrize("status", [CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.RESOLVED])
def test_close_asks_first_naming_the_consequence_and_sits_apart(client, agent, supervisor, case, status):
    if status != CaseStatus.NEW:
        change_status(case=case, status=status, actor=supervisor)
    client.force_login(agent)
    bar = status_bar(page_of(client, case))
    forms = re.findall(r"<form [^>]*>(?:(?!</form>).)*</form>", bar, re.S)
    close = [form for form in forms if 'value="closed"' in form]
    assert len(close) == 1, "one Close button"
    close = close[0]
    assert f'hx-confirm="{CLOSE_QUESTION}"' in close
    assert 'class="case-close"' in close and "btn-quiet" in close and "btn-primary" not in close
    # Last of the bar, after the everyday moves and "Assign to me"; only "Mark as spam", asked
    # too, follows it where the case may be spam (docs/cases.md, "Spam and blocked senders").
    spam = [form for form in forms if 'id="mark-spam"' in form]
    assert spam == ([] if status == CaseStatus.RESOLVED else [forms[-1]])
    moves = forms[:-1] if spam else forms
    assert moves[-1] == close and len(moves) > 1
    assert all("hx-confirm" not in form for form in moves[:-1])


def test_closing_straight_from_open_stays_allowed_and_ends_the_replies(client, agent, supervisor, case):
    """The workflow is unchanged (spam, a duplicate): the page asks, the server closes."""
    change_status(case=case, status=CaseStatus.OPEN, actor=supervisor)
    client.force_login(agent)
    response = client.post(url("case_status", case), {"status": CaseStatus.CLOSED}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    html = response.content.decode()
    assert 'id="close-case"' not in html and 'name="status"' not in html
    assert "This case takes no more replies." in html


# 2. The merge box: what moves, and the customer's other cases to pick from ------------------------


def test_the_merge_box_says_gestures_move_too(client, supervisor, case):
    client.force_login(supervisor)
    merge = page_of(client, case).split('id="merge"')[1].split("</section>")[0]
    assert "Its messages, tags, commercial gestures and people in copy will move here, and it will be closed for good." in merge
    assert "messages (with their files), tags, commercial gestures and people in copy move here" in merge
    assert "Its root cause stays with it." in merge


def test_the_merge_box_offers_the_customers_other_cases_it_could_merge(client, agent, supervisor, team, case):
    resolved = assign_case(case=open_email_case("camille@example.com", subject="Facture").case, team=team, actor=supervisor)
    change_status(case=resolved, status=CaseStatus.RESOLVED, actor=supervisor)
    pending = assign_case(case=open_email_case("camille@example.com", subject="Retour").case, team=team, actor=supervisor)
    closed = open_email_case("camille@example.com", subject="Vieux dossier").case
    change_status(case=closed, status=CaseStatus.CLOSED, actor=supervisor)
    merged = open_email_case("camille@example.com", subject="Doublon").case
    merge_cases(survivor=pending, loser=merged, actor=supervisor)
    elsewhere = assign_case(case=open_email_case("camille@example.com", subject="Autre équipe").case,
                            team=TeamFactory(), actor=supervisor)
    someone_else = open_email_case("other@example.com", subject="Pas le même client").case
    client.force_login(supervisor)
    html = page_of(client, case)
    datalist = html.split('<datalist id="merge-candidates">')[1].split("</datalist>")[0]
    offered = re.findall(r'<option value="([^"]+)">', datalist)
    assert offered == [elsewhere.reference, pending.reference, resolved.reference]  # newest first
    assert f'<option value="{resolved.reference}">Facture · Resolved</option>' in datalist
    for left_out in (closed, merged, someone_else, case):
        assert left_out.reference not in datalist
    assert 'list="merge-candidates"' in html and "This customer has 3 other cases you can merge" in html
    # Picking one fills the reference field: merged as if typed.
    response = client.post(url("case_merge", case), {"loser": resolved.reference}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Case.objects.get(pk=resolved.pk).merged_into_id == case.pk


def test_the_merge_box_offers_only_what_the_user_can_see(client, supervisor, team, case):
    """A supervisor who sees every case is offered another team's; an agent with the merge
    permission but only their team's cases is not (visible_cases)."""
    elsewhere = assign_case(case=open_email_case("camille@example.com", subject="Autre équipe").case,
                            team=TeamFactory(), actor=supervisor)
    ours = assign_case(case=open_email_case("camille@example.com", subject="Même équipe").case, team=team, actor=supervisor)
    lead = UserFactory(username="lead", role="agent")
    lead.user_permissions.add(*_perms("merge_case"))
    team.members.add(lead)
    client.force_login(lead)
    datalist = page_of(client, case).split('<datalist id="merge-candidates">')[1].split("</datalist>")[0]
    assert ours.reference in datalist and elsewhere.reference not in datalist


def _perms(*codenames):
    from django.contrib.auth.models import Permission  # noqa: PLC0415

    return list(Permission.objects.filter(content_type__app_label="cases", codename__in=codenames))


def test_the_merge_candidates_take_the_same_queries_however_many(client, supervisor, team, case):
    client.force_login(supervisor)
    open_email_case("camille@example.com", subject="Un").case  # noqa: B018

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(client, case)
        return len(captured)

    queries()  # the first visit fills caches (session, settings)
    one = queries()
    for subject in ("Deux", "Trois", "Quatre"):
        open_email_case("camille@example.com", subject=subject)
    html = page_of(client, case)
    assert html.split('<datalist id="merge-candidates">')[1].split("</datalist>")[0].count("<option") == 4
    assert queries() == one


def test_no_merge_box_and_no_candidates_query_for_who_may_not_merge(client, agent, case):
    client.force_login(agent)
    html = page_of(client, case)
    assert 'id="merge"' not in html and "merge-candidates" not in html


# 3. A merged case's page ------------------------------------------------------------------------


@pytest.fixture
def merged(case, supervisor, team):
    supervisor.first_name, supervisor.last_name = "Sarah", "Petit"
    supervisor.save(update_fields=["first_name", "last_name"])
    survivor = assign_case(case=open_email_case("camille@example.com", subject="Même colis").case, team=team, actor=supervisor)
    request_gesture(case=case, type="refund", amount="10", currency="EUR", reason="Retard", actor=supervisor)
    merge_cases(survivor=survivor, loser=case, actor=supervisor)
    case.refresh_from_db()
    return case, survivor


def test_a_merged_case_says_where_its_messages_went_and_offers_nothing_to_do_on_it(client, agent, merged):
    case, survivor = merged
    client.force_login(agent)
    html = page_of(client, case)
    banner = html.split('id="merged-banner"')[1].split("</p>")[0]
    assert f'Merged into <a href="/cases/{survivor.pk}/">{survivor.reference}</a> on ' in banner
    assert "by Sarah Petit: its messages are there." in banner
    assert f'Its messages moved to <a href="/cases/{survivor.pk}/">{survivor.reference}</a> when it was merged.' in html
    assert "No message yet." not in html
    for gone in ('id="reply"', 'id="reply-form"', 'id="note-form"', 'id="assign"', 'id="labels"', 'id="merge"',
                 "Resolution due", 'id="sla-left"', "No SLA policy applies", 'id="close-case"'):
        assert gone not in html, gone


def test_a_merged_case_into_another_teams_case_names_no_reference(client, agent, supervisor, merged):
    case, survivor = merged
    assign_case(case=survivor, team=TeamFactory(), actor=supervisor)
    client.force_login(agent)
    html = page_of(client, case)
    assert "by Sarah Petit into a case of another team: its messages are there." in html
    assert "Its messages moved to the case it was merged into." in html
    assert f'href="/cases/{survivor.pk}/"' not in html


def test_a_case_without_messages_that_was_never_merged_still_says_no_message_yet(client, supervisor, case):
    """The empty thread's text changes only for a merged case."""
    from prevenance.cases.models import Message  # noqa: PLC0415

    Message.objects.filter(case=case).update(case=open_email_case("x@example.com").case)
    client.force_login(supervisor)
    assert "No message yet." in page_of(client, case)


# 4. Split from, named; renaming a case -----------------------------------------------------------


def test_the_classification_form_renames_the_case_audited_and_searchable(client, agent, case):
    client.force_login(agent)
    response = client.post(url("case_labels", case), classification(case, subject="  Colis  abîmé :\n remboursement  "),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.subject == "Colis abîmé : remboursement"
    assert case.subject_key == "colis abime : remboursement"
    audit = AuditEvent.objects.get(kind=CaseAuditKind.SUBJECT_CHANGED, subject_id=str(case.pk))
    assert audit.actor == agent and audit.payload == {"from": "Colis abîmé", "to": "Colis abîmé : remboursement"}
    assert 'value="Colis abîmé : remboursement"' in response.content.decode()
    # Saved again unchanged: no second row.
    client.post(url("case_labels", case), classification(case), HTTP_HX_REQUEST="true")
    assert AuditEvent.objects.filter(kind=CaseAuditKind.SUBJECT_CHANGED).count() == 1


@pytest.mark.parametrize(("subject", "error"), [
    ("   ", "A case needs a subject: type a few words that name the matter."),
    ("x" * 256, "Ensure this value has at most 255 characters (it has 256)."),
])
def test_a_bad_subject_is_refused_beside_the_field_with_nothing_changed(client, agent, case, subject, error):
    client.force_login(agent)
    response = client.post(url("case_labels", case), classification(case, subject=subject, type="complaint"),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert error in response.content.decode()
    case.refresh_from_db()
    assert case.subject == "Colis abîmé" and case.type == "question"  # all or nothing
    assert not AuditEvent.objects.filter(kind__in=[CaseAuditKind.SUBJECT_CHANGED, CaseAuditKind.TYPE_CHANGED]).exists()


def test_a_form_without_the_subject_field_leaves_the_subject(client, agent, case):
    """A page rendered before the field existed: its Save changes the rest, not the subject."""
    client.force_login(agent)
    form = classification(case, type="complaint")
    del form["subject"]
    assert client.post(url("case_labels", case), form).status_code == 302
    case.refresh_from_db()
    assert case.subject == "Colis abîmé" and case.type == "complaint"


def test_a_case_without_a_subject_keeps_saving_its_labels(client, agent, supervisor, team):
    case = assign_case(case=open_email_case("camille@example.com", subject="").case, team=team, actor=supervisor)
    client.force_login(agent)
    assert client.post(url("case_labels", case), classification(case, type="complaint")).status_code == 302
    case.refresh_from_db()
    assert case.subject == "" and case.type == "complaint"


def test_the_subject_service_refuses_a_closed_case_and_a_long_subject(supervisor, case):
    change_status(case=case, status=CaseStatus.CLOSED, actor=supervisor)
    with pytest.raises(ValidationError) as refused:
        change_case_subject(case=case, subject="Nouveau nom", actor=supervisor)
    assert refused.value.error_dict["case"][0].code == "case_closed"
    with pytest.raises(ValidationError) as refused:
        change_case_subject(case=case, subject="x" * 256, actor=supervisor)
    assert refused.value.error_dict["subject"][0].code == "subject_too_long"
    case.refresh_from_db()
    assert case.subject == "Colis abîmé"
    # The same subject again is no change, closed or not.
    assert change_case_subject(case=case, subject="Colis abîmé", actor=supervisor).subject == "Colis abîmé"


def test_renaming_is_sent_as_case_updated(receiver, committed, supervisor, case):
    receiver.calls.clear()
    with committed():
        change_case_subject(case=case, subject="Colis abîmé, remboursement", actor=supervisor)
    [event] = [json.loads(call["body"]) for call in receiver.calls]
    assert event["type"] == "case.updated" and event["data"]["object"]["subject"] == "Colis abîmé, remboursement"
    assert event["data"]["changes"] == {"subject": {"from": "Colis abîmé", "to": "Colis abîmé, remboursement"}}


def test_the_api_renames_a_case_and_refuses_an_empty_or_null_subject(supervisor, case):
    api = Client()
    api.force_login(supervisor)

    def patch(body):
        return api.patch(f"/api/v1/cases/{case.pk}", data=json.dumps(body), content_type="application/json")

    answer = patch({"subject": "Colis abîmé : remboursement", "type": "complaint"})
    assert answer.status_code == 200 and answer.json()["subject"] == "Colis abîmé : remboursement"
    for body, kind in (({"subject": ""}, "subject_empty"), ({"subject": None}, None), ({"subject": "x" * 256}, None)):
        refused = patch(body)
        assert refused.status_code == 422, body
        detail = refused.json()["detail"]
        assert detail[0]["loc"][-1] == "subject"
        if kind:
            assert detail[0]["type"] == kind
    case.refresh_from_db()
    assert case.subject == "Colis abîmé : remboursement"


def test_erasing_the_customer_blanks_the_subjects_in_the_audit_rows(supervisor, case):
    change_case_subject(case=case, subject="Remboursement de Camille Martin", actor=supervisor)
    erase_customer(customer=case.customer, actor=supervisor)
    audit = AuditEvent.objects.get(kind=CaseAuditKind.SUBJECT_CHANGED)
    assert audit.payload == {"from": "", "to": ""} and audit.actor == supervisor


def test_a_split_case_can_be_renamed_from_its_sources_subject(client, agent, supervisor, case):
    second = add_inbound_message(case=case, body="Et la facture ?", sender_address="camille@example.com").message
    split = split_message(message=second, actor=supervisor)
    client.force_login(agent)
    html = page_of(client, split)
    assert f'Split from <a href="/cases/{case.pk}/">{case.reference}</a>.' in html
    assert client.post(url("case_labels", split), classification(split, subject="Facture manquante")).status_code == 302
    assert Case.objects.get(pk=split.pk).subject == "Facture manquante"
    assert Case.objects.get(pk=case.pk).subject == "Colis abîmé"


def test_a_move_from_a_page_shown_before_the_case_closed_says_why_it_was_refused(client, agent, supervisor, case):
    client.force_login(agent)
    change_status(case=case, status=CaseStatus.CLOSED, actor=supervisor)
    response = client.post(url("case_status", case), {"status": CaseStatus.RESOLVED}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "A closed case cannot change status; a new message opens a new case instead." in html
    assert 'id="status-actions"' not in html  # no empty bar on a closed case
