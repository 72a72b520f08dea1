"""CSV exporter for interactions, in the columns the importer reads."""

from collections.abc import Iterator

from django.utils.translation import gettext_lazy

from prevenance.core.csvio import format_datetime
from prevenance.customers.exports import customer_keys, live_customers
from prevenance.interactions.imports import INTERACTION_COLUMNS
from prevenance.interactions.models import Interaction
from prevenance.interactions.visibility import readable_interactions

CHUNK = 2000


class InteractionsExporter:
    kind = "interactions"
    label = gettext_lazy("Interactions")
    columns = INTERACTION_COLUMNS

    def rows(self, viewer=None) -> Iterator[dict[str, str]]:
        # Rows unlinked by an erasure have lost their words and their customer: not exportable.
        queryset = Interaction.objects.filter(customer__in=live_customers()).select_related("order").order_by("pk")
        last = 0
        while batch := list(queryset.filter(pk__gt=last)[:CHUNK]):
            last = batch[-1].pk
            if viewer is not None:  # a person downloading: not the messages of cases they may not see
                batch = readable_interactions(viewer, batch)
            keys = customer_keys({i.customer_id for i in batch})
            for item in batch:
                yield {
                    **keys.get(item.customer_id, {"customer_external_id": "", "customer_email": ""}),
                    "channel": item.channel, "direction": item.direction, "nature": item.nature, "phase": item.phase,
                    "date": format_datetime(item.occurred_at), "summary": item.summary, "body": item.body,
                    "order_reference": item.order.reference if item.order else "", "external_id": item.external_id or "",
                }
