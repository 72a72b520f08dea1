"""CSV importer for interactions: each row goes through record_interaction, whose
external_id makes a re-import recognise the rows it already stored."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.core.choices import Channel
from prevenance.core.csvio import (
    CellError,
    Column,
    Row,
    parse_choice,
    parse_datetime,
    validation_errors,
)
from prevenance.core.csvio.reading import CHANNEL_ALIASES
from prevenance.customers.imports import CUSTOMER_KEY_COLUMNS, find_customers
from prevenance.customers.models import Customer, Order
from prevenance.interactions.choices import Direction, JourneyPhase, Nature
from prevenance.interactions.models import Interaction
from prevenance.interactions.services import record_interaction

CREATED, UNCHANGED = "created", "unchanged"
_DIRECTION_ALIASES = {"entrant": "inbound", "entrante": "inbound", "in": "inbound", "pull": "inbound",
                      "sortant": "outbound", "sortante": "outbound", "out": "outbound", "push": "outbound"}
_NATURE_ALIASES = {"informatif": "informative", "informative": "informative", "transactionnel": "transactional",
                   "transactionnelle": "transactional"}
_PHASE_ALIASES = {"avant": "before", "avant_achat": "before", "pendant": "during", "pendant_achat": "during",
                  "apres": "after", "apres_achat": "after"}

INTERACTION_COLUMNS = (
    *CUSTOMER_KEY_COLUMNS,
    Column("channel", ("canal",), required=True),
    Column("direction", ("sens",), required=True),
    Column("nature", ("type",)),
    Column("phase", ("journey phase", "phase du parcours", "etape", "etape du parcours")),
    Column("date", ("occurred at", "date et heure", "horodatage")),
    Column("summary", ("subject", "resume", "objet", "sujet"), required=True),
    Column("body", ("text", "message", "content", "corps", "texte", "contenu")),
    Column("order_reference", ("order", "commande", "reference commande", "numero de commande")),
    Column("external_id", ("external id", "id externe", "identifiant externe", "interaction id")),
)


class InteractionsImporter:
    kind = "interactions"
    label = gettext_lazy("Interactions")
    columns = INTERACTION_COLUMNS
    batch_size = 1000

    def import_batch(self, rows: list[Row], *, actor) -> list:
        found = find_customers(rows)
        customers = Customer.objects.in_bulk([f for f in found if isinstance(f, int)])
        orders = {o.reference: o for o in Order.objects.filter(
            reference__in={row.get("order_reference") for row in rows if row.get("order_reference")})}
        # external id -> whose timeline it is on: a row whose id is already there is unchanged;
        # on another customer's timeline, it is refused by record_interaction.
        known = dict(Interaction.objects.filter(
            external_id__in={row.get("external_id") for row in rows if row.get("external_id")}
        ).values_list("external_id", "customer_id"))
        outcomes = []
        for row, customer_id in zip(rows, found, strict=True):
            if isinstance(customer_id, list):
                outcomes.append(customer_id)
            elif known.get(row.get("external_id")) == customer_id:
                outcomes.append(UNCHANGED)
            else:
                outcomes.append(self._one(row, customers[customer_id], orders, actor))
                if row.get("external_id") and outcomes[-1] == CREATED:
                    known[row.get("external_id")] = customer_id
        return outcomes

    def _one(self, row: Row, customer: Customer, orders: dict[str, Order], actor):
        reference = row.get("order_reference")
        if reference and reference not in orders:
            return [("order_reference", _("No order has the reference “%(ref)s”.") % {"ref": reference[:64]})]
        if len(row.get("external_id")) > 100:
            return [("external_id", _("At most %(limit)d characters.") % {"limit": 100})]
        try:
            occurred_at = parse_datetime(row.get("date")) if row.get("date") else None
        except CellError as exc:
            return [("date", str(exc))]
        try:
            record_interaction(
                customer=customer,
                channel=parse_choice(row.get("channel"), Channel.values, CHANNEL_ALIASES),
                direction=parse_choice(row.get("direction"), Direction.values, _DIRECTION_ALIASES),
                nature=parse_choice(row.get("nature") or Nature.INFORMATIVE, Nature.values, _NATURE_ALIASES),
                phase=parse_choice(row.get("phase") or JourneyPhase.AFTER, JourneyPhase.values, _PHASE_ALIASES),
                summary=row.get("summary"),
                body=row.get("body"),
                occurred_at=occurred_at,
                order=orders.get(reference) if reference else None,
                external_id=row.get("external_id") or None,
            )
        except ValidationError as exc:
            return validation_errors(exc, {"order": "order_reference"})
        return CREATED
