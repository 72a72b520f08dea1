"""Agent entry: a request taken by phone, in a store or on a visit becomes a case, typed by the agent."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, MessageKind, RoutingMethod
from prevenance.cases.models import Case, Message, RoutingRule
from prevenance.cases.services.agent_entry import AGENT_CHANNELS, record_agent_contact
from prevenance.cases.services.default_templates import ensure_default_templates
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.customers.services import merge_customers
from prevenance.customers.tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrderFactory,
    UserFactory,
)
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db

URL = "/cases/new/"


def entry(**overrides) -> dict:
    data = {
        "channel": Channel.PHONE, "customer": "", "q": "", "email": "", "phone": "", "first_name": "", "last_name": "",
        "type": CaseType.REQUEST, "subject": "Changer le créneau de livraison",
        "body": "Souhaite être livrée samedi matin plutôt que vendredi.", "order": "", "note": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not False}


@pytest.fixture
def camille(db):
    customer = CustomerFactory(first_name="Camille", last_name="Durand", city="Lyon", postal_code="69003")
    IdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value="camille.durand@example.com")
    return customer


class TestAccess:
    def test_a_visitor_is_sent_to_the_login_page(self, client):
        response = client.get(URL)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))

    @pytest.mark.parametrize("user", ["marketer", "nobody"])
    def test_a_user_without_the_permission_to_add_cases_is_refused(self, client, request, user):
        client.force_login(request.getfixturevalue(user))

        assert client.get(URL).status_code == 403
        assert client.post(URL, entry(email="x@example.com")).status_code == 403
        assert client.get(reverse("cases:new_customers"), {"q": "Durand"}).status_code == 403
        assert not Case.objects.exists()

    def test_the_service_checks_the_permission_too(self, marketer):
        with pytest.raises(PermissionDenied):
            record_agent_contact(actor=marketer, channel=Channel.PHONE, subject="S", body="B", email="x@example.com")
        assert not Case.objects.exists()

    def test_an_agent_gets_the_form_with_the_channels_agents_type_for(self, client, agent):
        client.force_login(agent)

        response = client.get(URL)

        assert response.status_code == 200
        offered = [value for value, _label in response.context["form"].fields["channel"].choices]
        assert offered == [Channel.PHONE, Channel.STORE, Channel.FIELD_VISIT, Channel.VIDEO, Channel.POSTAL]


    def test_the_menu_offers_the_entry_to_those_who_may_use_it(self, client, agent, marketer):
        link = f'href="{URL}"'
        client.force_login(agent)
        assert link in client.get(reverse("web:home")).content.decode()
        client.force_login(marketer)
        assert link not in client.get(reverse("web:home")).content.decode()


class TestRecording:
    @pytest.mark.parametrize("channel", AGENT_CHANNELS)
    def test_each_channel_opens_a_case_written_by_the_agent_for_the_customer_they_name(self, client, agent, channel):
        client.force_login(agent)

        response = client.post(URL, entry(channel=channel, email="lea.petit@example.fr", first_name="Léa", last_name="Petit"))

        case = Case.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("cases:case", args=[case.pk])
        assert (case.channel, case.type, case.status) == (channel, CaseType.REQUEST, CaseStatus.NEW)
        message = case.messages.get(kind=MessageKind.INBOUND)
        assert (message.channel, message.author) == (channel, agent)
        assert message.body_text == "Souhaite être livrée samedi matin plutôt que vendredi."
        customer = case.customer
        assert (customer.first_name, customer.last_name) == ("Léa", "Petit")
        assert customer.identities.get().normalized == "lea.petit@example.fr"
        assert Interaction.objects.filter(customer=customer, channel=channel, agent=agent).count() == 1

    def test_the_customer_picked_in_the_search_gets_the_case(self, client, agent, camille):
        client.force_login(agent)

        client.post(URL, entry(customer=camille.pk))

        case = Case.objects.get()
        assert case.customer == camille
        assert Customer.objects.count() == 1

    def test_a_phone_typed_for_the_picked_customer_is_added_to_their_record(self, client, agent, camille):
        client.force_login(agent)

        client.post(URL, entry(customer=camille.pk, phone="06 98 76 54 32"))

        assert Case.objects.get().customer == camille
        assert sorted(camille.identities.values_list("kind", flat=True)) == [IdentityKind.EMAIL, IdentityKind.PHONE]

    def test_a_merged_record_picked_from_an_old_page_leads_to_the_survivor(self, client, agent, camille):
        old = CustomerFactory()
        IdentityFactory(customer=old, kind=IdentityKind.PHONE, value="+33698765432", normalized="+33698765432")
        merge_customers(survivor=camille, loser=old)
        client.force_login(agent)

        client.post(URL, entry(customer=old.pk))

        assert Case.objects.get().customer == camille

    def test_resolved_on_first_contact_resolves_at_once_assigned_to_the_agent_with_the_note(self, client, agent, camille):
        client.force_login(agent)

        client.post(URL, entry(customer=camille.pk, resolved="on", note="Créneau déplacé à samedi 9-12 h."))

        case = Case.objects.get()
        assert (case.status, case.assignee) == (CaseStatus.RESOLVED, agent)
        assert case.resolved_at is not None
        assert list(case.messages.exclude(kind=MessageKind.OUTBOUND).values_list("kind", "body_text")) == [
            (MessageKind.INBOUND, "Souhaite être livrée samedi matin plutôt que vendredi."),
            (MessageKind.NOTE, "Créneau déplacé à samedi 9-12 h."),
        ]

    def test_a_request_settled_on_the_spot_is_not_acknowledged_but_one_left_open_is(self, agent, camille):
        ensure_default_templates()

        settled = record_agent_contact(actor=agent, channel=Channel.PHONE, subject="S", body="B", customer=camille, resolved=True).case
        waiting = record_agent_contact(actor=agent, channel=Channel.PHONE, subject="S", body="B", customer=camille).case

        settled.refresh_from_db()
        waiting.refresh_from_db()
        assert settled.acknowledged_at is None
        assert waiting.acknowledged_at is not None

    def test_resolving_keeps_the_team_routing_chose_when_the_agent_is_in_it(self, agent, camille):
        team = TeamFactory(members=[agent])
        RoutingRule.objects.create(name="Stores", channel=Channel.STORE, team=team)

        case = record_agent_contact(actor=agent, channel=Channel.STORE, subject="S", body="B", customer=camille, resolved=True).case

        assert (case.team, case.assignee, case.status) == (team, agent, CaseStatus.RESOLVED)

    def test_an_agent_outside_the_routed_team_resolves_it_for_their_own_team(self, agent, camille):
        RoutingRule.objects.create(name="Stores", channel=Channel.STORE, team=TeamFactory(name="Back office"))
        own = TeamFactory(name="Store Lyon", members=[agent])

        case = record_agent_contact(actor=agent, channel=Channel.STORE, subject="S", body="B", customer=camille, resolved=True).case

        assert (case.team, case.assignee, case.status) == (own, agent, CaseStatus.RESOLVED)

    def test_a_supervisor_in_no_team_resolves_a_routed_call_and_keeps_the_routed_team(self, client, supervisor, camille):
        back_office = TeamFactory(name="Back office", members=[UserFactory(username="bruno", role="agent")])
        RoutingRule.objects.create(name="Phone", channel=Channel.PHONE, team=back_office)
        client.force_login(supervisor)

        response = client.post(URL, entry(customer=camille.pk, resolved="on"))

        case = Case.objects.get()
        assert response.status_code == 302
        assert (case.team, case.assignee, case.status) == (back_office, supervisor, CaseStatus.RESOLVED)

    def test_a_call_resolved_at_entry_uses_up_nobodys_round_robin_turn(self, agent, camille):
        bruno, chloe = UserFactory(username="bruno", role="agent"), UserFactory(username="chloe", role="agent")
        desk = TeamFactory(name="Desk", members=[agent, bruno, chloe], routing_method=RoutingMethod.ROUND_ROBIN, last_assigned=agent)
        RoutingRule.objects.create(name="All", team=desk)

        settled = record_agent_contact(actor=agent, channel=Channel.PHONE, subject="S", body="B", customer=camille, resolved=True).case
        desk.refresh_from_db()
        next_email = open_email_case("other@example.com", subject="Q", body="x").case

        assert (settled.assignee, settled.status) == (agent, CaseStatus.RESOLVED)
        assert AuditEvent.objects.get(kind=CaseAuditKind.ROUTED, subject_id=str(settled.pk)).payload["assignee"] == agent.pk
        assert not AuditEvent.objects.filter(kind=CaseAuditKind.ASSIGNED, subject_id=str(settled.pk)).exists()
        assert desk.last_assigned == agent
        assert next_email.assignee == bruno

    def test_the_customers_own_order_is_linked(self, client, agent, camille):
        order = OrderFactory(customer=camille, reference="CMD-2026-00042")
        client.force_login(agent)

        client.post(URL, entry(customer=camille.pk, order="CMD-2026-00042"))

        assert Case.objects.get().order == order


class TestLanding:
    """Where the agent lands once the contact is recorded: on the case when they may open it,
    else on the inbox with where it went (its page would answer "not found": the case looks lost)."""

    @pytest.fixture
    def complaints(self, agent):
        TeamFactory(name="Accueil", members=[agent])
        hugo = UserFactory(username="hugo", first_name="Hugo", last_name="Moreau", role="agent")
        team = TeamFactory(name="Réclamations", members=[hugo])
        RoutingRule.objects.create(name="Complaints", case_type=CaseType.COMPLAINT, team=team)
        return team

    def test_a_complaint_routed_to_a_team_the_agent_is_not_in_lands_on_the_inbox_saying_where_it_went(
        self, client, agent, camille, complaints,
    ):
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, type=CaseType.COMPLAINT), follow=True)

        case = Case.objects.get()
        assert (case.team, case.assignee.username) == (complaints, "hugo")
        assert response.redirect_chain == [(reverse("cases:inbox"), 302)]
        assert response.status_code == 200
        assert [str(message) for message in response.context["messages"]] == [
            f"Case {case.reference} recorded and routed to the Réclamations team (assigned to Hugo Moreau); "
            "you cannot open it from your teams."
        ]
        assert client.get(reverse("cases:case", args=[case.pk])).status_code == 404  # why it does not land there

    def test_the_customers_360_page_then_says_a_case_is_with_that_team(self, client, agent, camille, complaints):
        client.force_login(agent)
        client.post(URL, entry(customer=camille.pk, type=CaseType.COMPLAINT), follow=True)  # the inbox says where it went
        case = Case.objects.get()

        text = client.get(reverse("web:customer", args=[camille.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert "1 other open case is handled by a team you are not in (Réclamations)." in text
        assert "The messages of cases you cannot open are not on this timeline." in text
        assert case.reference not in text and "Changer le créneau" not in text

    def test_routed_to_a_team_that_assigns_nobody_the_message_names_the_team_only(self, client, agent, camille, complaints):
        complaints.routing_method = RoutingMethod.MANUAL
        complaints.save(update_fields=["routing_method"])
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, type=CaseType.COMPLAINT), follow=True)

        case = Case.objects.get()
        assert (case.team, case.assignee) == (complaints, None)
        assert response.redirect_chain == [(reverse("cases:inbox"), 302)]
        assert [str(message) for message in response.context["messages"]] == [
            f"Case {case.reference} recorded and routed to the Réclamations team; you cannot open it from your teams."
        ]

    def test_a_request_routed_to_the_agents_own_team_lands_on_the_case(self, client, agent, camille, complaints):
        client.force_login(agent)
        own = agent.case_teams.get()
        RoutingRule.objects.create(name="Requests", case_type=CaseType.REQUEST, team=own)

        response = client.post(URL, entry(customer=camille.pk, type=CaseType.REQUEST), follow=True)

        case = Case.objects.get()
        assert case.team == own
        assert response.redirect_chain == [(reverse("cases:case", args=[case.pk]), 302)]
        assert response.status_code == 200
        assert [str(message) for message in response.context["messages"]] == [f"Case {case.reference} recorded."]

    def test_a_complaint_the_agent_settled_on_the_spot_lands_on_the_case_they_now_hold(self, client, agent, camille, complaints):
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, type=CaseType.COMPLAINT, resolved="on"))

        case = Case.objects.get()
        assert response["Location"] == reverse("cases:case", args=[case.pk])

    def test_a_supervisor_who_sees_every_case_lands_on_it_wherever_it_went(self, client, supervisor, camille, complaints):
        client.force_login(supervisor)

        response = client.post(URL, entry(customer=camille.pk, type=CaseType.COMPLAINT))

        case = Case.objects.get()
        assert case.team == complaints
        assert response["Location"] == reverse("cases:case", args=[case.pk])


class TestRefusals:
    def test_no_customer_and_no_identity_is_refused(self, client, agent):
        client.force_login(agent)

        response = client.post(URL, entry())

        assert response.status_code == 400
        assert response.context["form"].errors["customer"] == ["Pick the customer, or type their email address or phone number."]
        assert not Case.objects.exists()

    def test_an_empty_form_says_every_missing_field_at_once(self, client, agent):
        client.force_login(agent)

        response = client.post(URL, entry(subject="", body=""))

        assert response.status_code == 400
        errors = response.context["form"].errors
        assert set(errors) == {"customer", "subject", "body"}
        assert errors["customer"] == ["Pick the customer, or type their email address or phone number."]
        html = response.content.decode()
        assert '<p class="error" id="id_customer-error">Pick the customer, or type their email address or phone number.</p>' in html
        assert not Case.objects.exists()

    def test_a_bad_phone_is_said_alone_not_also_as_a_missing_customer(self, client, agent):
        client.force_login(agent)

        response = client.post(URL, entry(phone="12", subject=""))

        assert set(response.context["form"].errors) == {"phone", "subject"}

    def test_an_identity_of_another_customer_typed_for_the_picked_one_is_refused_and_nothing_is_written(self, client, agent, camille):
        other = CustomerFactory()
        IdentityFactory(customer=other, kind=IdentityKind.PHONE, value="+33698765432", normalized="+33698765432")
        client.force_login(agent)
        identities_before = Identity.objects.count()

        response = client.post(URL, entry(customer=camille.pk, phone="06 98 76 54 32"))

        assert response.status_code == 400
        assert response.context["form"].errors["customer"] == [
            "The email or phone you typed belongs to another customer: pick that customer, or leave it blank."]
        assert not Case.objects.exists()
        assert not Message.objects.exists()
        assert not IdentityConflict.objects.exists()
        assert Identity.objects.count() == identities_before

    def test_an_unknown_order_reference_is_refused_with_the_reason(self, client, agent, camille):
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, order="CMD-0000"))

        assert response.status_code == 400
        assert response.context["form"].errors["order"] == ["No order has the reference “CMD-0000”."]
        assert not Case.objects.exists()

    def test_another_customers_order_is_refused(self, client, agent, camille):
        OrderFactory(reference="CMD-2026-00099")
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, order="CMD-2026-00099"))

        assert response.status_code == 400
        assert response.context["form"].errors["order"] == ["This order belongs to another customer."]
        assert not Case.objects.exists()

    @pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.WEB, "pigeon"])
    def test_a_channel_customers_use_themselves_is_not_agent_entry(self, client, agent, channel):
        client.force_login(agent)

        response = client.post(URL, entry(channel=channel, email="x@example.com"))

        assert response.status_code == 400
        assert "channel" in response.context["form"].errors
        assert not Case.objects.exists()

    def test_the_service_refuses_such_a_channel_with_the_reason(self, agent):
        with pytest.raises(Exception, match="Agent entry is for contacts by Phone, Store, Field visit, Video call, Postal mail."):
            record_agent_contact(actor=agent, channel=Channel.EMAIL, subject="S", body="B", email="x@example.com")

    def test_a_bad_phone_number_is_shown_on_the_field(self, client, agent):
        client.force_login(agent)

        response = client.post(URL, entry(phone="12"))

        assert response.context["form"].errors["phone"] == ["“12” is not a valid phone number."]
        assert not Case.objects.exists()


class TestRequiredMarks:
    def test_the_required_parts_are_marked_as_in_the_other_forms(self, client, agent):
        client.force_login(agent)

        html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert 'Contact by <span aria-hidden="true">*</span></legend>' in html
        assert 'Customer <span aria-hidden="true">*</span></h2>' in html
        assert "Subject <span aria-hidden=\"true\">*</span></label>" in html
        assert "Email address <span" not in html and "First name <span" not in html  # one of them, not each
        assert "Fields marked * are required." in html


class TestCustomerSearch:
    def test_typing_a_name_lists_matching_customers_to_pick(self, client, agent, camille):
        client.force_login(agent)

        response = client.get(reverse("cases:new_customers"), {"q": "Durand"})

        html = response.content.decode()
        assert response.status_code == 200
        assert f'<input type="radio" name="customer" value="{camille.pk}">' in html
        assert "Camille Durand" in html

    def test_without_javascript_the_search_button_shows_matches_and_keeps_what_was_typed(self, client, agent, camille):
        client.force_login(agent)

        response = client.post(URL, entry(q="camille.durand@example.com", search="1"))

        assert response.status_code == 200
        assert [c.pk for c in response.context["results"]] == [camille.pk]
        assert "Souhaite être livrée samedi matin" in response.content.decode()
        assert not Case.objects.exists()

    def test_the_picked_customer_stays_checked_when_the_form_comes_back(self, client, agent, camille):
        client.force_login(agent)

        response = client.post(URL, entry(customer=camille.pk, subject=""))

        assert response.status_code == 400
        assert f'<input type="radio" name="customer" value="{camille.pk}" checked>' in response.content.decode()


class TestNamesakes:
    """Two Marie Lefebvre: the search shows each one's email, phone and newest case."""

    @pytest.fixture
    def maries(self, agent, supervisor):
        first = CustomerFactory(first_name="Marie", last_name="Lefebvre", city="Paris", postal_code="75011")
        IdentityFactory(customer=first, kind=IdentityKind.EMAIL, value="marie.lefebvre@example.com")
        IdentityFactory(customer=first, kind=IdentityKind.PHONE, value="01 99 00 00 06", normalized="+33199000006")
        second = CustomerFactory(first_name="Marie", last_name="Lefebvre", city="Paris", postal_code="")
        IdentityFactory(customer=second, kind=IdentityKind.EMAIL, value="m.lefebvre49@example.net")
        return first, second

    def test_each_result_shows_its_email_phone_and_newest_case_the_agent_may_see(self, client, agent, supervisor, maries):
        first, second = maries
        older = open_email_case("marie.lefebvre@example.com", subject="Ancien").case
        newest = open_email_case("marie.lefebvre@example.com", subject="Récent").case
        Case.objects.filter(pk=older.pk).update(created_at=newest.created_at.replace(year=2020))
        hidden = open_email_case("m.lefebvre49@example.net").case
        Case.objects.filter(pk=hidden.pk).update(team=TeamFactory())  # another team's: not named
        client.force_login(agent)

        html = client.get(reverse("cases:new_customers"), {"q": "lefebvre"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert "marie.lefebvre@example.com" in html and "01 99 00 00 06" in html
        assert f"last case {newest.reference} of" in html and older.reference not in html
        assert "m.lefebvre49@example.net" in html
        assert hidden.reference not in html

    def test_the_search_reads_as_many_queries_for_two_results_as_for_eight(self, client, agent, maries):
        client.force_login(agent)

        def queries(query) -> int:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse("cases:new_customers"), {"q": query})
            assert response.status_code == 200
            return len(captured), len(response.context["results"])

        few, shown = queries("lefebvre")
        assert shown == 2
        for number in range(6):
            customer = CustomerFactory(first_name="Marie", last_name="Lefebvre")
            IdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value=f"marie{number}@example.com")
            open_email_case(f"marie{number}@example.com")
        assert queries("lefebvre") == (few, 8)
