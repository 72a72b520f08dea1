"""The customer pages render what the selectors give, and HTMX gets fragments."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import ConsentMethod, ConsentPurpose
from prevenance.customers.selectors import customer_since
from prevenance.customers.services import ensure_consent_wording, grant_consent, withdraw_consent
from prevenance.customers.tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrderFactory,
    UserFactory,
)
from prevenance.interactions.choices import Direction
from prevenance.interactions.services import record_interaction

pytestmark = pytest.mark.django_db


class TestSearch:
    def test_full_page_without_htmx_and_fragment_with_it(self, login, agent, known_customer):
        client = login(agent)
        url = reverse("web:customer_search")

        page = client.get(url, {"q": "durand"})
        fragment = client.get(url, {"q": "durand"}, HTTP_HX_REQUEST="true")

        assert page.status_code == fragment.status_code == 200
        assert "<html" in page.content.decode() and 'hx-trigger="input changed delay:200ms, search"' in page.content.decode()
        assert "<html" not in fragment.content.decode()
        assert "Camille Durand" in fragment.content.decode()
        assert reverse("web:customer", args=[known_customer.pk]) in fragment.content.decode()
        assert "HX-Request" in fragment["Vary"]

    @pytest.mark.parametrize("query", ["camille.durand@example.com", "CARD0042", "Durand C", "camille"])
    def test_finds_by_email_card_and_name(self, login, agent, known_customer, query):
        client = login(agent)

        response = client.get(reverse("web:customer_search"), {"q": query}, HTTP_HX_REQUEST="true")

        assert reverse("web:customer", args=[known_customer.pk]) in response.content.decode()

    def test_no_match_says_so(self, login, agent, known_customer):
        client = login(agent)

        response = client.get(reverse("web:customer_search"), {"q": "zzzz-nobody"}, HTTP_HX_REQUEST="true")

        assert "No customer matches “zzzz-nobody”." in response.content.decode()
        assert "/customers/" not in response.content.decode()


class Test360:
    def test_a_bounced_address_is_marked_with_its_reason(self, login, agent, known_customer):
        known_customer.identities.filter(kind="email").update(bounced_at=timezone.now(), bounce_reason="5.1.1 User unknown")
        client = login(agent)

        body = client.get(reverse("web:customer", args=[known_customer.pk])).content.decode()

        assert "bounced on" in body and "no email goes there" in body
        assert 'title="5.1.1 User unknown"' in body

    def test_shows_profile_identities_orders_timeline_and_consents(self, login, agent, known_customer):
        client = login(agent)

        response = client.get(reverse("web:customer", args=[known_customer.pk]))

        body = response.content.decode()
        assert response.status_code == 200
        for text in ("Camille Durand", "camille.durand@example.com", "CARD0042", "ORD-CAMILLE-1",
                     "Asked about delivery delay", "Sent the tracking link", "Identified, no opt-in",
                     "Marketing by SMS", "Never asked"):
            assert text in body
        # newest first: the email sent yesterday comes before the call of two days ago
        assert body.index("Sent the tracking link") < body.index("Asked about delivery delay")

    def test_opted_in_customer_shows_the_grant_and_the_wording(self, login, agent, known_customer):
        wording = ensure_consent_wording(purpose=ConsentPurpose.MARKETING_SMS, language="fr", text="J'accepte de recevoir vos offres par SMS.")
        grant_consent(customer=known_customer, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.STORE,
                      method=ConsentMethod.PAPER, wording=wording)
        client = login(agent)

        body = client.get(reverse("web:customer", args=[known_customer.pk])).content.decode()

        assert 'class="pill pill-opted_in">Opted in<' in body
        assert 'class="pill pill-consent-granted">Granted<' in body
        assert "J&#x27;accepte de recevoir vos offres par SMS." in body

    def test_a_merged_id_redirects_to_its_survivor(self, login, agent):
        survivor = CustomerFactory()
        loser = CustomerFactory(merged_into=survivor)
        client = login(agent)

        response = client.get(reverse("web:customer", args=[loser.pk]))

        assert response.status_code == 302
        assert response["Location"] == reverse("web:customer", args=[survivor.pk])

    def test_names_with_html_are_shown_escaped(self, login, supervisor):
        customer = CustomerFactory(first_name="<script>alert(1)</script>", last_name="<b>Bold</b>")
        other = CustomerFactory()
        client = login(supervisor)

        pages = [
            client.get(reverse("web:customer", args=[customer.pk])),
            client.get(reverse("web:customer_search"), {"q": "<script>"}),
            client.get(reverse("web:customer_merge", args=[customer.pk, other.pk])),
        ]

        for response in pages:
            body = response.content.decode()
            assert "<script>alert(1)" not in body
            assert "<b>Bold</b>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Bold&lt;/b&gt;" in pages[0].content.decode()


class TestTimeline:
    @pytest.fixture
    def busy_customer(self, db):
        customer = CustomerFactory()
        start = timezone.now() - dt.timedelta(days=60)
        for day in range(30):
            channel = Channel.PHONE if day % 2 else Channel.EMAIL
            record_interaction(customer=customer, channel=channel, direction=Direction.INBOUND,
                               summary=f"Contact number {day:02d}", occurred_at=start + dt.timedelta(days=day))
        return customer

    def test_first_page_then_load_more_by_cursor(self, login, agent, busy_customer):
        client = login(agent)

        first = client.get(reverse("web:customer", args=[busy_customer.pk])).content.decode()
        assert first.count('class="tl-entry') == 20
        assert "Contact number 29" in first and "Contact number 10" in first and "Contact number 09" not in first
        cursor_start = first.index("?cursor=") + len("?cursor=")
        cursor = first[cursor_start:first.index('"', cursor_start)]

        second = client.get(reverse("web:customer_timeline", args=[busy_customer.pk]), {"cursor": cursor},
                            HTTP_HX_REQUEST="true").content.decode()

        assert second.count('class="tl-entry') == 10
        assert "Contact number 09" in second and "Contact number 00" in second and "Contact number 10" not in second
        assert "Load more" not in second

    def test_channel_filter(self, login, agent, busy_customer):
        client = login(agent)

        body = client.get(reverse("web:customer_timeline", args=[busy_customer.pk]), {"channel": "phone"},
                          HTTP_HX_REQUEST="true").content.decode()

        assert body.count('class="tl-entry') == 15
        assert "Contact number 29" in body and "Contact number 28" not in body
        assert "Load more" not in body

    def test_a_forged_cursor_is_a_400_not_a_crash(self, login, agent, busy_customer):
        client = login(agent)

        response = client.get(reverse("web:customer_timeline", args=[busy_customer.pk]), {"cursor": "not-a-cursor"})

        assert response.status_code == 400


class TestDashboard:
    def test_counts_customers_opt_ins_and_conflicts(self, login, supervisor, known_customer):
        opted = CustomerFactory()
        grant_consent(customer=opted, purpose=ConsentPurpose.POSTAL, channel=Channel.STORE, method=ConsentMethod.PAPER)
        withdrawn = CustomerFactory()
        grant_consent(customer=withdrawn, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.STORE, method=ConsentMethod.PAPER,
                      occurred_at=timezone.now() - dt.timedelta(days=3))
        withdraw_consent(customer=withdrawn, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.SMS)
        IdentityFactory(customer=withdrawn)
        client = login(supervisor)

        response = client.get(reverse("web:home"))

        stats = response.context["stats"]
        assert (stats.customers, stats.opted_in, stats.open_conflicts) == (3, 1, 0)
        body = response.content.decode()
        assert "33.3%" in body and "33.3 %" not in body  # as English writes a percentage
        french = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "33,3\u00a0%" in french
        assert "Sent the tracking link" in body

    def test_a_user_without_role_sees_no_figures(self, login, nobody, known_customer):
        client = login(nobody)

        response = client.get(reverse("web:home"))

        assert response.context["stats"] is None
        assert "Sent the tracking link" not in response.content.decode()
        assert "Your account has no role yet" in response.content.decode()


def test_a_history_restore_gets_the_whole_page(login, agent, known_customer):
    """Back button after the search pushed its URL: htmx asks again and must get a page."""
    client = login(agent)

    response = client.get(reverse("web:customer_search"), {"q": "durand"},
                          HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()
    assert "Camille Durand" in response.content.decode()


class TestBouncedAddress:
    def test_it_works_again_clears_the_flag_with_an_audit_row(self, login, agent, known_customer):
        identity = known_customer.identities.get(kind="email")
        known_customer.identities.filter(pk=identity.pk).update(bounced_at=timezone.now(), bounce_reason="552 mailbox full")
        client = login(agent)

        response = client.post(reverse("web:customer_address_works", args=[known_customer.pk, identity.pk]))

        assert response.status_code == 302 and response["Location"].endswith("#identities")
        identity.refresh_from_db()
        assert (identity.bounced_at, identity.bounce_reason) == (None, "")
        assert AuditEvent.objects.get(kind="identity.bounce_cleared", actor=agent).payload == {"identity": identity.pk}

    def test_someone_who_cannot_edit_the_customer_cannot_clear_it(self, login, marketer, known_customer):
        identity = known_customer.identities.get(kind="email")
        known_customer.identities.filter(pk=identity.pk).update(bounced_at=timezone.now())
        client = login(marketer)

        response = client.post(reverse("web:customer_address_works", args=[known_customer.pk, identity.pk]))

        assert response.status_code == 403
        identity.refresh_from_db()
        assert identity.bounced_at is not None

    def test_another_customers_identity_is_not_found(self, login, agent, known_customer):
        other = IdentityFactory(value="someone.else@example.com", bounced_at=timezone.now())
        client = login(agent)

        response = client.post(reverse("web:customer_address_works", args=[known_customer.pk, other.pk]))

        assert response.status_code == 404
        other.refresh_from_db()
        assert other.bounced_at is not None


class TestCustomerSince:
    """'Customer since' is the earliest trace of the customer, not the record's creation date
    (an import creates the record long after the first order, address or contact)."""

    @pytest.mark.django_db
    def test_a_customer_with_nothing_else_dates_from_the_record(self, django_assert_num_queries):
        customer = CustomerFactory()
        with django_assert_num_queries(1):
            assert customer_since(customer) == customer.created_at

    @pytest.mark.django_db
    @pytest.mark.parametrize("earliest", ["order", "identity", "interaction"])
    def test_the_earliest_of_order_identity_and_interaction_wins(self, earliest, django_assert_num_queries):
        customer = CustomerFactory()
        years = {"order": 2019, "identity": 2020, "interaction": 2021}
        years[earliest] = 2015
        at = {kind: dt.datetime(year, 3, 14, 9, 30, tzinfo=dt.UTC) for kind, year in years.items()}
        OrderFactory(customer=customer, ordered_at=at["order"])
        OrderFactory(customer=customer, ordered_at=at["order"] + dt.timedelta(days=400))
        IdentityFactory(customer=customer, first_seen_at=at["identity"])
        record_interaction(customer=customer, channel=Channel.PHONE, direction=Direction.INBOUND,
                           summary="Appel", occurred_at=at["interaction"])
        OrderFactory(ordered_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))  # another customer's
        with django_assert_num_queries(1):
            assert customer_since(customer) == at[earliest]

    def test_the_360_page_shows_the_first_order_date_of_an_imported_customer(self, login, agent, known_customer):
        OrderFactory(customer=known_customer, ordered_at=dt.datetime(2016, 5, 2, 10, 0, tzinfo=dt.UTC))

        body = login(agent).get(reverse("web:customer", args=[known_customer.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert "<dt>Customer since</dt><dd>2 May 2016</dd>" in body


def test_the_timeline_names_the_agent_as_colleagues_call_them(login, agent, known_customer):
    colleague = UserFactory(username="camille.agent", first_name="Camille", last_name="Martin", role="agent")
    record_interaction(customer=known_customer, channel=Channel.PHONE, direction=Direction.OUTBOUND,
                       summary="Called back about the delivery", agent=colleague)

    body = login(agent).get(reverse("web:customer", args=[known_customer.pk])).content.decode()

    entry = body.split("Called back about the delivery")[1].split("</li>")[0]
    assert "Camille Martin" in entry and "camille.agent" not in entry


def test_an_order_and_the_call_that_took_it_are_one_timeline_entry_naming_the_agent(login, agent, known_customer):
    colleague = UserFactory(username="camille.agent", first_name="Camille", last_name="Martin", role="agent")
    taken_at = timezone.now() - dt.timedelta(hours=3)
    order = OrderFactory(customer=known_customer, reference="TEL-0042", channel=Channel.PHONE, ordered_at=taken_at)
    record_interaction(customer=known_customer, channel=Channel.PHONE, direction=Direction.INBOUND, order=order,
                       occurred_at=taken_at, summary="Order TEL-0042 taken by phone", agent=colleague)

    body = login(agent).get(reverse("web:customer", args=[known_customer.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    timeline = body.split('id="timeline-list"')[1].split("</ol>")[0]
    assert "Order TEL-0042 taken by phone" not in timeline
    assert timeline.count("Order TEL-0042 ·") == 1
    assert "Camille Martin" in timeline.split("Order TEL-0042 ·")[1].split("</li>")[0]
