"""Orders: enough of each purchase for RFM and lifetime value later."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.core.choices import CHANNELS, Channel
from prevenance.core.currencies import clean_amount, max_amount
from prevenance.customers.choices import OrderStatus
from prevenance.customers.models import Customer, Order
from prevenance.customers.services.profile import lock_live_customer


def clean_order_fields(*, reference, ordered_at, amount, currency, channel, store, items_count, status) -> dict:
    errors: dict[str, list] = {}
    reference = str(reference or "").strip()
    if not reference or len(reference) > 64:
        errors["reference"] = [_("A reference of 1 to 64 characters is required.")]
    if not isinstance(ordered_at, datetime):
        errors["date"] = [_("A date and time is required.")]
    currency = str(currency or "EUR").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        errors["currency"] = [_("Use a three-letter ISO currency code such as EUR.")]
    try:
        amount = Decimal(str(amount))
        if not amount.is_finite() or abs(amount) > max_amount(currency):
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["amount"] = [_("“%(value)s” is not an amount.") % {"value": str(amount)[:40]}]
    else:
        try:  # the currency's decimals (ISO 4217): 10.5 JPY is refused, not rounded to 10 or 11
            amount = clean_amount(amount, currency)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if channel not in CHANNELS:
        errors["channel"] = [_("Unknown channel “%(value)s”.") % {"value": str(channel)[:40]}]
    if status not in OrderStatus.values:
        errors["status"] = [_("Unknown status “%(value)s”.") % {"value": str(status)[:40]}]
    try:
        items_count = int(items_count)
        if items_count < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["items_count"] = [_("The number of items must be a whole number, 0 or more.")]
    store = str(store or "").strip()
    if len(store) > 100:
        errors["store"] = [_("At most 100 characters.")]
    if errors:
        raise ValidationError(errors)
    return {
        "reference": reference, "ordered_at": ordered_at, "amount": amount, "currency": currency,
        "channel": channel, "store": store, "items_count": items_count, "status": status,
    }


def record_order(
    *,
    customer: Customer,
    reference: str,
    ordered_at: datetime,
    amount,
    currency: str = "EUR",
    channel: str = Channel.WEB,
    store: str = "",
    items_count: int = 1,
    status: str = OrderStatus.PLACED,
) -> tuple[Order, bool]:
    """Create the order, or update it when its reference is known (re-imports are idempotent)."""
    fields = clean_order_fields(reference=reference, ordered_at=ordered_at, amount=amount, currency=currency,
                                channel=channel, store=store, items_count=items_count, status=status)
    reference = fields.pop("reference")
    with transaction.atomic():
        customer = lock_live_customer(customer)
        existing = Order.objects.select_for_update().filter(reference=reference).first()
        if existing is not None and existing.customer_id not in (None, customer.pk):
            raise ValidationError({"reference": [_("Order %(ref)s belongs to another customer.") % {"ref": reference}]})
        return Order.objects.update_or_create(reference=reference, defaults={"customer": customer, **fields})
