"""CSV importers for customers (with their identities), consents and orders.

Each turns parsed cells into the arguments of the customers services and lets those services
validate; see docs/csv.md for the columns and aliases.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.core.choices import Channel
from prevenance.core.csvio import (
    CellError,
    Column,
    Row,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    validation_errors,
)
from prevenance.core.csvio.reading import CHANNEL_ALIASES
from prevenance.customers.choices import (
    ConsentAction,
    ConsentMethod,
    ConsentPurpose,
    CustomerKind,
    IdentityKind,
    Language,
    LifecycleState,
    OrderStatus,
)
from prevenance.customers.models import ConsentEvent, Customer
from prevenance.customers.normalize import normalize_identity
from prevenance.customers.services import grant_consent, withdraw_consent
from prevenance.customers.services.bulk import (
    CREATED,
    UNCHANGED,
    CustomerRow,
    OrderRow,
    identity_owners,
    import_customers,
    import_orders,
    prepare_customer_row,
)
from prevenance.customers.services.identities import IdentityInput
from prevenance.customers.services.orders import clean_order_fields

# Several identities of one kind go in one cell, separated by this (what the export writes).
MULTI_SEPARATOR = "|"

CUSTOMER_COLUMNS = (
    Column("external_id", ("id externe", "identifiant externe", "customer id", "id client", "identifiant client",
                           "code client", "numero client", "reference client")),
    Column("first_name", ("firstname", "given name", "prenom")),
    Column("last_name", ("lastname", "surname", "family name", "nom", "nom de famille")),
    Column("email", ("e mail", "mail", "courriel", "adresse email", "adresse e mail", "adresse mail", "email address")),
    Column("phone", ("telephone", "tel", "phone number", "mobile", "portable", "numero de telephone")),
    Column("language", ("langue", "lang")),
    Column("birth_date", ("date of birth", "birthdate", "date de naissance", "naissance")),
    Column("postal_code", ("zip", "zip code", "postcode", "code postal", "cp")),
    Column("city", ("town", "ville", "commune")),
    Column("country", ("pays",)),
    Column("kind", ("type", "customer kind", "type de client")),
    Column("company_name", ("company", "societe", "raison sociale", "entreprise")),
    Column("address", ("street", "adresse", "adresse postale")),
    Column("lifecycle_state", ("lifecycle", "cycle de vie", "etat du cycle de vie")),
    Column("loyalty_card", ("loyalty card number", "carte fidelite", "carte de fidelite", "numero de carte")),
)
_IDENTITY_COLUMNS = (IdentityKind.EXTERNAL_ID, IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.LOYALTY_CARD)
_TEXT_FIELDS = ("first_name", "last_name", "company_name", "postal_code", "city", "country", "address")
_CHOICE_FIELDS = {
    "language": (Language.values, {"francais": "fr", "french": "fr", "anglais": "en", "english": "en"}),
    "kind": (CustomerKind.values, {"particulier": "person", "personne": "person", "entreprise": "company",
                                   "societe": "company", "professionnel": "company"}),
    "lifecycle_state": (LifecycleState.values, {"actif": "active", "a_risque": "at_risk", "perdu": "lost",
                                                "reactive": "reactivated"}),
}

CUSTOMER_KEY_COLUMNS = (
    Column("customer_external_id", ("customer id", "id client", "identifiant client", "code client", "numero client",
                                    "reference client")),
    Column("customer_email", ("email", "e mail", "courriel", "mail", "email client", "courriel client")),
)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(MULTI_SEPARATOR) if part.strip()]


def _customer_row(row: Row) -> CustomerRow:
    errors: dict[str, list[str]] = {}
    identities = [IdentityInput(kind, value) for kind in _IDENTITY_COLUMNS for value in _split(row.get(kind))]
    hints = {name: row.get(name) for name in _TEXT_FIELDS if row.get(name)}
    for name, (values, aliases) in _CHOICE_FIELDS.items():
        if row.get(name):
            hints[name] = parse_choice(row.get(name), values, aliases)
    if row.get("birth_date"):
        try:
            hints["birth_date"] = parse_date(row.get("birth_date"))
        except CellError as exc:
            errors["birth_date"] = [str(exc)]
    result = CustomerRow(identities=identities, hints=hints)
    if errors:
        # Report the row's other faults too, so one pass over the file shows them all.
        try:
            prepare_customer_row(result)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
        raise ValidationError(errors)
    return result


class CustomersImporter:
    kind = "customers"
    label = gettext_lazy("Customers (with their identities)")
    columns = CUSTOMER_COLUMNS
    batch_size = 2000

    def prepare_batch(self, rows: list[Row]) -> list:
        """Normalise identities and clean fields: per row, what import_customers needs, or its errors."""
        prepared: list = []
        for row in rows:
            try:
                prepared.append(prepare_customer_row(_customer_row(row)))
            except ValidationError as exc:
                prepared.append(validation_errors(exc))
        return prepared

    def import_batch(self, rows: list[Row], *, actor) -> list:
        prepared = self.prepare_batch(rows)
        outcomes: list = [p if isinstance(p, list) else None for p in prepared]
        positions = [index for index, p in enumerate(prepared) if isinstance(p, tuple)]
        results = import_customers(prepared=[prepared[i] for i in positions], channel=Channel.IMPORT)
        for index, outcome in zip(positions, results, strict=True):
            outcomes[index] = validation_errors(outcome) if isinstance(outcome, ValidationError) else outcome
        return outcomes


# ---- finding the customer a row is about -----------------------------------------------------


def find_customers(rows: Sequence[Row]) -> list[int | list[tuple[str, str]]]:
    """The customer id each row names by customer_external_id and/or customer_email, or its errors."""
    wanted: list[dict[str, tuple[str, str]] | list[tuple[str, str]]] = []
    for row in rows:
        keys, errors = {}, []
        for column, kind in (("customer_external_id", IdentityKind.EXTERNAL_ID), ("customer_email", IdentityKind.EMAIL)):
            if row.get(column):
                try:
                    keys[column] = (kind, normalize_identity(kind, row.get(column)).normalized)
                except ValidationError as exc:
                    errors.extend((column, message) for message in exc.messages)
        if not keys and not errors:
            errors.append(("customer_external_id", _("Give the customer's external id or email (customer_email).")))
        wanted.append(errors or keys)
    owners = identity_owners(key for keys in wanted if isinstance(keys, dict) for key in keys.values())
    results: list[int | list[tuple[str, str]]] = []
    for keys in wanted:
        if isinstance(keys, list):
            results.append(keys)
            continue
        missing = [(column, _("No customer has the identity “%(value)s”.") % {"value": key[1]})
                   for column, key in keys.items() if key not in owners]
        found = {owners[key][1] for key in keys.values() if key in owners}
        if missing:
            results.append(missing)
        elif len(found) > 1:
            results.append([("customer_email", _("The external id and the email name two different customers."))])
        else:
            results.append(found.pop())
    return results


# ---- consents ---------------------------------------------------------------------------------

_ACTION_ALIASES = {"accorde": "granted", "donne": "granted", "opt_in": "granted", "oui": "granted", "yes": "granted",
                   "retire": "withdrawn", "opt_out": "withdrawn", "non": "withdrawn", "no": "withdrawn",
                   "desinscrit": "withdrawn"}
_IMPORTED_ACTIONS = (ConsentAction.GRANTED, ConsentAction.WITHDRAWN)


class ConsentsImporter:
    kind = "consents"
    label = gettext_lazy("Consents (opt-in ledger)")
    columns = (
        *CUSTOMER_KEY_COLUMNS,
        Column("purpose", ("finalite", "objet", "consent purpose"), required=True),
        Column("action", ("consent", "consentement", "choix"), required=True),
        Column("date", ("occurred at", "date du consentement"), required=True),
        Column("channel", ("canal",)),
        Column("method", ("methode", "moyen", "how")),
        Column("source", ("origine", "provenance")),
    )
    batch_size = 1000

    def import_batch(self, rows: list[Row], *, actor) -> list:
        found = find_customers(rows)
        customers = Customer.objects.in_bulk([f for f in found if isinstance(f, int)])
        done = set(
            ConsentEvent.objects.filter(customer_id__in=list(customers))
            .values_list("customer_id", "purpose", "action", "method", "channel", "occurred_at")
        )
        outcomes = []
        for row, customer_id in zip(rows, found, strict=True):
            if isinstance(customer_id, list):
                outcomes.append(customer_id)
                continue
            outcomes.append(self._one(row, customers[customer_id], done, actor))
        return outcomes

    def _one(self, row: Row, customer: Customer, done: set, actor):
        action = parse_choice(row.get("action"), _IMPORTED_ACTIONS, _ACTION_ALIASES)
        if action not in _IMPORTED_ACTIONS:
            return [("action", _("“%(value)s” is not one of: granted, withdrawn.") % {"value": row.get("action")[:40]})]
        if not row.get("date"):
            return [("date", _("This column is required."))]
        try:
            occurred_at = parse_datetime(row.get("date"))
        except CellError as exc:
            return [("date", str(exc))]
        args = {
            "customer": customer,
            "purpose": parse_choice(row.get("purpose"), ConsentPurpose.values),
            "channel": parse_choice(row.get("channel") or Channel.IMPORT, Channel.values, CHANNEL_ALIASES),
            "method": parse_choice(row.get("method") or ConsentMethod.IMPORT, ConsentMethod.values),
            "source": row.get("source"),
            "occurred_at": occurred_at,
            "actor": actor,
        }
        # The ledger is append-only: the same line seen again is recognised, not appended twice.
        same = {(customer.pk, args["purpose"], a, args["method"], args["channel"], occurred_at)
                for a in (action, ConsentAction.REQUESTED)}
        if same & done:
            return UNCHANGED
        try:
            event = (grant_consent if action == ConsentAction.GRANTED else withdraw_consent)(**args)
        except ValidationError as exc:
            return validation_errors(exc)
        done.add((customer.pk, event.purpose, event.action, event.method, event.channel, event.occurred_at))
        return CREATED


# ---- orders -----------------------------------------------------------------------------------

_STATUS_ALIASES = {"passee": "placed", "commandee": "placed", "payee": "paid", "expediee": "shipped",
                   "livree": "delivered", "annulee": "cancelled", "canceled": "cancelled", "retournee": "returned"}


def _order_fields(row: Row) -> dict:
    errors: dict[str, list[str]] = {}
    fields = {
        "reference": row.get("reference"),
        "currency": row.get("currency") or "EUR",
        "channel": parse_choice(row.get("channel") or Channel.WEB, Channel.values, CHANNEL_ALIASES),
        "store": row.get("store"),
        "status": parse_choice(row.get("status") or OrderStatus.PLACED, OrderStatus.values, _STATUS_ALIASES),
    }
    # Stand-ins for cells that cannot be parsed, so the service still checks every other cell.
    stand_ins = {"ordered_at": timezone.now(), "amount": 0, "items_count": 1}
    for column, name, parse in (("date", "ordered_at", parse_datetime), ("amount", "amount", parse_decimal),
                                ("items_count", "items_count", parse_int)):
        if not row.get(column):
            fields[name] = stand_ins[name]
            if column != "items_count":
                errors[column] = [_("This column is required.")]
            continue
        try:
            fields[name] = parse(row.get(column))
        except CellError as exc:
            fields[name] = stand_ins[name]
            errors[column] = [str(exc)]
    if errors:
        try:
            clean_order_fields(**fields)
        except ValidationError as exc:
            for column, messages in exc.message_dict.items():
                errors.setdefault(column, messages)
        raise ValidationError(errors)
    return fields


class OrdersImporter:
    kind = "orders"
    label = gettext_lazy("Orders")
    columns = (
        Column("reference", ("ref", "order reference", "order id", "order number", "reference commande",
                             "numero de commande", "n de commande", "commande"), required=True),
        *CUSTOMER_KEY_COLUMNS,
        Column("date", ("order date", "ordered at", "date de commande", "date commande")),
        Column("amount", ("total", "montant", "montant ttc", "total ttc")),
        Column("currency", ("devise", "monnaie")),
        Column("channel", ("canal", "canal de vente")),
        Column("store", ("shop", "site", "magasin", "boutique", "point de vente")),
        Column("items_count", ("items", "quantity", "qty", "articles", "nombre d articles", "nb articles", "quantite")),
        Column("status", ("statut", "etat")),
    )
    batch_size = 2000

    def import_batch(self, rows: list[Row], *, actor) -> list:
        found = find_customers(rows)
        outcomes: list = [None] * len(rows)
        parsed, positions = [], []
        for index, (row, customer_id) in enumerate(zip(rows, found, strict=True)):
            errors = customer_id if isinstance(customer_id, list) else []
            try:
                fields = _order_fields(row)
            except ValidationError as exc:
                errors = errors + validation_errors(exc)
            if errors:
                outcomes[index] = errors
                continue
            parsed.append(OrderRow(customer_id=customer_id, fields=fields))
            positions.append(index)
        for index, outcome in zip(positions, import_orders(rows=parsed), strict=True):
            outcomes[index] = validation_errors(outcome, {"ordered_at": "date"}) if isinstance(outcome, ValidationError) else outcome
        return outcomes
