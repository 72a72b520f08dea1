"""Unit costs per contact channel, for the dashboard's estimated cost by channel (docs/dashboard.md)."""

from decimal import Decimal

from django.db import transaction

from prevenance.cases.models import ChannelCost
from prevenance.core.choices import Channel

# Illustrative figures in EUR per contact, ranked as the seed article on customer care ranks
# its components "from the most expensive to the least": field visit > store > phone > live
# chat > chatbot > forum > self-service portal (the website and the mobile app). The seeds
# give the order, not the amounts: a company replaces these with its own costs in the admin.
# Channels the seeds do not rank (email, social, SMS, post, video) get no default, so the
# dashboard shows them as "cost not set" rather than a figure nobody chose.
DEFAULT_CHANNEL_COSTS: dict[str, Decimal] = {
    Channel.FIELD_VISIT: Decimal("90.00"),
    Channel.STORE: Decimal("20.00"),
    Channel.PHONE: Decimal("6.00"),
    Channel.CHAT: Decimal("4.00"),
    Channel.CHATBOT: Decimal("0.80"),
    Channel.FORUM: Decimal("0.40"),
    Channel.WEB: Decimal("0.10"),
    Channel.MOBILE_APP: Decimal("0.10"),
}
DEFAULT_COST_CURRENCY = "EUR"


def ensure_default_channel_costs() -> int:
    """Create the default unit cost of each ranked channel that has none; returns how many
    were created. A cost someone already set (or changed) is never touched, so running it
    at every bootstrap is safe."""
    created = 0
    with transaction.atomic():
        for channel, amount in DEFAULT_CHANNEL_COSTS.items():
            _row, was_created = ChannelCost.objects.get_or_create(
                channel=channel, defaults={"unit_cost": amount, "currency": DEFAULT_COST_CURRENCY}
            )
            created += int(was_created)
    return created
