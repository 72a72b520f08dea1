import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.core.csvio import run_import
from prevenance.core.pagination import InvalidCursor
from prevenance.customers.models import Order
from prevenance.customers.tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrderFactory,
    UserFactory,
)
from prevenance.interactions.choices import Direction, Nature
from prevenance.interactions.models import Interaction
from prevenance.interactions.selectors import customer_timeline
from prevenance.interactions.services import record_interaction

NOW = timezone.now().replace(microsecond=0)


def at(hours: int) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def walk(customer, **kwargs) -> list[tuple[str, int]]:
    seen, cursor = [], None
    while True:
        page = customer_timeline(customer, viewer=UserFactory(role="supervisor"), cursor=cursor, **kwargs)
        seen += [(e.kind, e.item.pk) for e in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.django_db
class TestTimeline:
    def test_merges_interactions_and_orders_newest_first_across_pages(self):
        customer = CustomerFactory()
        other = CustomerFactory()
        expected = []
        for hours in range(12):
            if hours % 3 == 0:
                order = OrderFactory(customer=customer, ordered_at=at(hours))
                expected.append((at(hours), 0, "order", order.pk))
            interaction, _ = record_interaction(customer=customer, channel=Channel.EMAIL, direction=Direction.INBOUND,
                                                summary=f"message {hours}", occurred_at=at(hours))
            expected.append((at(hours), 1, "interaction", interaction.pk))
        # Several touchpoints in the same second must neither repeat nor vanish across pages.
        for _ in range(3):
            interaction, _ = record_interaction(customer=customer, channel=Channel.STORE, direction=Direction.INBOUND,
                                                summary="visit", occurred_at=at(5))
            expected.append((at(5), 1, "interaction", interaction.pk))
        record_interaction(customer=other, channel=Channel.EMAIL, direction=Direction.INBOUND, summary="not hers")
        expected.sort(reverse=True)
        assert walk(customer, limit=4) == [(kind, pk) for _at, _rank, kind, pk in expected]

    def test_channel_filter(self):
        customer = CustomerFactory()
        record_interaction(customer=customer, channel=Channel.PHONE, direction=Direction.INBOUND, summary="call")
        record_interaction(customer=customer, channel=Channel.SOCIAL, direction=Direction.INBOUND, summary="tweet")
        OrderFactory(customer=customer, channel=Channel.STORE)
        page = customer_timeline(customer, viewer=UserFactory(role="supervisor"), channels=[Channel.PHONE])
        assert [e.item.summary for e in page.items] == ["call"]

    def test_an_order_and_the_interaction_that_records_it_are_one_entry(self):
        # Real intake, not only the demo: an e-shop's orders imported, then its touchpoints,
        # the "order placed" one naming the order at its instant and on its channel.
        customer = IdentityFactory(value="eloise@example.fr").customer
        run_import(kind="orders", data=(
            b"reference;customer_email;date;amount;channel;status\n"
            b"W-1;eloise@example.fr;2025-03-04 10:00;59.90;web;delivered\n"
            b"S-2;eloise@example.fr;2025-03-10 15:00;20;store;delivered\n"))
        report = run_import(kind="interactions", data=(
            b"customer_email;channel;direction;nature;phase;date;summary;order_reference\n"
            b"eloise@example.fr;web;inbound;transactional;during;2025-03-04 10:00;Order W-1 placed on the e-shop;W-1\n"
            b"eloise@example.fr;email;outbound;transactional;during;2025-03-04 10:02;Your order W-1 is confirmed;W-1\n"
            b"eloise@example.fr;phone;inbound;transactional;after;2025-03-06 09:00;Where is W-1?;W-1\n"
            b"eloise@example.fr;store;inbound;transactional;during;2025-03-10 15:00;In-store purchase;S-2\n"))
        assert report.created == 4
        web, store = Order.objects.get(reference="W-1"), Order.objects.get(reference="S-2")
        placed, confirmed, call, purchase = Interaction.objects.filter(customer=customer).order_by("occurred_at")
        # One entry per order, with the touchpoint that recorded it; the follow-ups stay entries
        # of their own; page after page (limit 1) nothing comes twice and nothing is lost.
        expected = [("order", store.pk), ("interaction", call.pk), ("interaction", confirmed.pk), ("order", web.pk)]
        assert walk(customer, limit=1) == expected
        entries = customer_timeline(customer, viewer=UserFactory(role="supervisor")).items
        assert [(e.kind, e.item.pk, e.interaction) for e in entries] == [
            ("order", store.pk, purchase), ("interaction", call.pk, None), ("interaction", confirmed.pk, None), ("order", web.pk, placed),
        ]
        # The web channel filter keeps the order with its touchpoint.
        assert walk(customer, channels=[Channel.WEB]) == [("order", web.pk)]
        # Whoever may not read orders reads the touchpoints, all of them.
        assert walk(customer, include_orders=False) == [("interaction", i.pk) for i in (purchase, call, confirmed, placed)]

    def test_a_touchpoint_of_an_order_at_another_moment_or_channel_stays_an_entry(self):
        customer = CustomerFactory()
        order = OrderFactory(customer=customer, ordered_at=at(10), channel=Channel.WEB)
        later, _ = record_interaction(customer=customer, channel=Channel.WEB, direction=Direction.INBOUND, summary="back on the site",
                                      order=order, occurred_at=at(9))
        email, _ = record_interaction(customer=customer, channel=Channel.EMAIL, direction=Direction.OUTBOUND, summary="receipt",
                                      order=order, occurred_at=at(10))
        about, _ = record_interaction(customer=customer, channel=Channel.WEB, direction=Direction.INBOUND, summary="a case's message",
                                      order=order, occurred_at=at(10), ref_type="cases.case", ref_id="1")
        entries = customer_timeline(customer, viewer=UserFactory(role="supervisor")).items
        assert [(e.kind, e.item.pk, e.interaction) for e in entries] == [
            ("interaction", later.pk, None), ("interaction", about.pk, None), ("interaction", email.pk, None), ("order", order.pk, None),
        ]

    @pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwxLDJd", "WyIyMDIwLTEzLTQ1VDAwOjAwOjAwIiwxLDJd"])
    def test_foreign_cursor_is_refused(self, cursor):
        with pytest.raises(InvalidCursor):
            customer_timeline(CustomerFactory(), viewer=UserFactory(role="supervisor"), cursor=cursor)


@pytest.mark.django_db
class TestRecordInteraction:
    def test_external_id_makes_retries_idempotent(self):
        customer = CustomerFactory()
        first, created = record_interaction(customer=customer, channel=Channel.CHAT, direction=Direction.INBOUND,
                                            summary="hello", nature=Nature.TRANSACTIONAL, external_id="chat-42")
        again, created_again = record_interaction(customer=customer, channel=Channel.CHAT, direction=Direction.INBOUND,
                                                  summary="hello", external_id="chat-42")
        assert (created, created_again, again.pk) == (True, False, first.pk)

    def test_bad_values_are_refused_with_every_field_named(self):
        with pytest.raises(ValidationError) as info:
            record_interaction(customer=CustomerFactory(), channel="carrier-pigeon", direction="sideways",
                               summary=" ", nature="x", phase="never")
        assert set(info.value.message_dict) == {"channel", "direction", "summary", "nature", "phase"}
        assert Interaction.objects.count() == 0

    def test_order_of_another_customer_is_refused(self):
        with pytest.raises(ValidationError):
            record_interaction(customer=CustomerFactory(), channel=Channel.EMAIL, direction=Direction.OUTBOUND,
                               summary="your order", order=OrderFactory())
