import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.core.pagination import InvalidCursor
from prevenance.customers.tests.factories import CustomerFactory, OrderFactory, UserFactory
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
