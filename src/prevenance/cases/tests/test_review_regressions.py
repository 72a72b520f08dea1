"""Defects found in review of the session that built them (case page without a language, split
priority, folding of accented ø/æ, search-key refill on both databases, take, approvals badge)."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from prevenance.cases.choices import TemplatePurpose
from prevenance.cases.models import Case, ReplyTemplate
from prevenance.cases.services import assign_case
from prevenance.cases.tests.factories import TeamFactory, an_approver_who_leaves, open_email_case
from prevenance.core.refill import refill_derived_columns
from prevenance.core.text import search_key
from prevenance.customers.models import Customer

pytestmark = pytest.mark.django_db


def url(name, case):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk})


@pytest.fixture
def ours(agent, supervisor):
    team = TeamFactory(members=[agent])
    return assign_case(case=open_email_case("camille@example.com").case, team=team, actor=supervisor)


def test_case_page_of_a_case_without_language_with_a_reply_template(client, agent, ours):
    # Cases opened before cases/0004 (and any case whose customer had no language) have "".
    Case.objects.filter(pk=ours.pk).update(language="")
    ReplyTemplate.objects.create(name="Excuses", purpose=TemplatePurpose.REPLY, language="fr", body="Bonjour")
    client.force_login(agent)
    response = client.get(url("case", ours))
    assert response.status_code == 200


def test_case_page_groups_templates_by_the_language_replies_are_written_in(client, agent, ours):
    # A case with no language of its own is written to in its customer's (templates.case_language):
    # the French template is that language's, not "another language".
    Case.objects.filter(pk=ours.pk).update(language="")
    ReplyTemplate.objects.create(name="Excuses", purpose=TemplatePurpose.REPLY, language="fr", body="Bonjour")
    client.force_login(agent)
    try:
        page = client.get(url("case", ours)).content.decode()
    except KeyError as exc:  # the previous test's failure
        pytest.fail(f"case page raised {exc!r}")
    own = page[page.index("In the case") : page.index("Other languages")]
    assert "Excuses" in own


def test_the_hyphenated_command_runs():
    call_command("refresh-search-keys")


def test_refill_on_this_database():
    case = open_email_case("coeur@example.com", subject="Une œuvre abîmée").case
    Case.objects.filter(pk=case.pk).update(subject_key="une uvre abimee")
    customer = case.customer
    Customer.objects.filter(pk=customer.pk).update(first_name="Łukasz", last_name="Lœuvre", sort_key="x", alt_key="y")
    call_command("refresh_search_keys")
    case.refresh_from_db()
    customer.refresh_from_db()
    assert case.subject_key == search_key("Une œuvre abîmée")
    assert customer.sort_key == "loeuvre lukasz"


def test_refill_with_many_rows_in_one_statement():
    cases = [open_email_case(f"c{i}@example.com", subject=f"Cœur {i}").case for i in range(5)]
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(subject_key="")
    changed = refill_derived_columns(
        Case, sources=("subject",), targets=("subject_key",), compute=lambda s: (search_key(s)[:300],), batch=2,
    )
    assert changed == 5
    assert sorted(Case.objects.values_list("subject_key", flat=True)) == [f"coeur {i}" for i in range(5)]


def test_a_split_case_is_not_floored_at_normal_by_the_model_default(agent):
    from prevenance.cases.services import add_inbound_message, split_message

    text = "Merci beaucoup, tout est parfait, super service, bravo !"  # scores low at intake
    fresh = open_email_case("frais@example.com", subject="Question", body=text).case
    source = open_email_case("source@example.com", subject="Question", body="Première demande.").case
    other = add_inbound_message(case=source, body=text).message
    new = split_message(message=other, actor=agent)
    new.refresh_from_db()
    fresh.refresh_from_db()
    assert (new.priority, [r["code"] for r in new.priority_reasons]) == (
        fresh.priority, [r["code"] for r in fresh.priority_reasons]
    )


def test_letters_with_an_accent_over_an_undecomposed_letter_fold_too():
    # "ǿ" is "ø" + acute: translated before NFKD, it folds to "ø", not "o".
    assert search_key("Ǿrsted") == search_key("Ørsted") == "orsted"


def test_assign_to_me_refused_then_taken_over_by_a_second_click(client, agent, supervisor):
    from prevenance.customers.tests.factories import UserFactory

    colleague = UserFactory(username="colleague", role="agent")
    team = TeamFactory(members=[agent, colleague])
    case = assign_case(case=open_email_case("take@example.com").case, team=team, actor=supervisor)
    client.force_login(agent)
    page = client.get(url("case", case)).content.decode()
    assert 'name="seen_assignee" value=""' in page
    assign_case(case=case, assignee=colleague, team=team, actor=supervisor)
    refused = client.post(url("case_take", case), {"seen_assignee": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    case.refresh_from_db()
    assert case.assignee_id == colleague.pk
    html = refused.content.decode()
    assert f'name="seen_assignee" value="{colleague.pk}"' in html
    taken = client.post(url("case_take", case), {"seen_assignee": str(colleague.pk)}, HTTP_HX_REQUEST="true")
    assert taken.status_code == 200
    case.refresh_from_db()
    assert case.assignee_id == agent.pk


def test_the_approvals_badge_counts_the_queue(client, agent, supervisor):
    from prevenance.cases.selectors import approval_queue_count, gesture_approval_queue
    from prevenance.cases.services import ensure_default_limits, request_gesture

    ensure_default_limits()
    team = TeamFactory(members=[agent, supervisor])
    case = assign_case(case=open_email_case("g@example.com").case, team=team, actor=supervisor)
    with an_approver_who_leaves():  # the 5,000 above every limit left: waiting since before the check
        for amount in ("120", "400", "5000"):
            request_gesture(case=case, type="refund", amount=amount, currency="EUR", reason="x", actor=agent)
    assert approval_queue_count(supervisor) == gesture_approval_queue(supervisor).count()
