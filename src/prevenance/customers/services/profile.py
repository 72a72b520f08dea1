"""Creating and editing the customer record itself."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.core.sql import select_for_update
from prevenance.customers.choices import CustomerKind, Language, LifecycleState
from prevenance.customers.models import Customer

_TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "company_name": 200,
    "address": 255,
    "postal_code": 20,
    "city": 100,
}
_CHOICES = {
    "kind": CustomerKind,
    "language": Language,
    "lifecycle_state": LifecycleState,
}
EDITABLE_FIELDS = frozenset(_TEXT_LIMITS) | frozenset(_CHOICES) | {"birth_date", "country"}


def _clean_text(field: str, value: Any) -> str:
    text = "" if value is None else str(value)
    # Control characters have no place in a name or an address; HTML is kept as text and
    # escaped wherever it is shown.
    text = "".join(ch for ch in text if ch.isprintable() or ch == " ").strip()
    if len(text) > _TEXT_LIMITS[field]:
        raise ValidationError(
            {field: _("At most %(limit)d characters (got %(length)d).") % {"limit": _TEXT_LIMITS[field], "length": len(text)}}
        )
    return text


def _clean_choice(field: str, value: Any) -> str:
    enum = _CHOICES[field]
    text = str(value or "").strip().lower()
    if text not in enum.values:
        raise ValidationError(
            {field: _("“%(value)s” is not one of: %(choices)s.") % {"value": str(value)[:40], "choices": ", ".join(enum.values)}}
        )
    return text


def _clean_birth_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValidationError({"birth_date": _("Not a date (expected YYYY-MM-DD).")}) from exc
    if not dt.date(1900, 1, 1) <= value <= dt.date.today():
        raise ValidationError({"birth_date": _("A birth date must be between 1900 and today.")})
    return value


def _clean_country(value: Any) -> str:
    text = str(value or "").strip().upper()
    if text and (len(text) != 2 or not text.isalpha() or not text.isascii()):
        raise ValidationError({"country": _("Use a two-letter ISO country code such as FR or GB.")})
    return text


def clean_customer_fields(data: Mapping[str, Any], *, partial: bool = True) -> dict[str, Any]:
    """Validate customer fields; all errors at once, keyed by field, as a ValidationError."""
    unknown = set(data) - EDITABLE_FIELDS
    errors: dict[str, list] = {}
    if unknown:
        errors["__all__"] = [_("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}]
    cleaned: dict[str, Any] = {}
    for field, value in data.items():
        if field in unknown:
            continue
        try:
            if field in _TEXT_LIMITS:
                cleaned[field] = _clean_text(field, value)
            elif field in _CHOICES:
                cleaned[field] = _clean_choice(field, value)
            elif field == "birth_date":
                cleaned[field] = _clean_birth_date(value)
            elif field == "country":
                cleaned[field] = _clean_country(value)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def lock_live_customer(customer: Customer) -> Customer:
    """Lock the customer row for this transaction and refuse an erased or merged record.

    Call it inside the service's transaction before writing anything that points at the
    customer: a merge or an erasure running at the same time then waits, or we see its result.
    """
    locked = select_for_update(Customer, customer.pk)  # plain SQL: every reply an intake stores locks its customer
    if locked is None or locked.erased_at or locked.merged_into_id:
        raise ValidationError(_("This customer was erased or merged and can no longer be edited."), code="customer_gone")
    return locked


def create_customer(*, data: Mapping[str, Any] | None = None) -> Customer:
    cleaned = clean_customer_fields(data or {})
    with transaction.atomic():
        return Customer.objects.create(**cleaned)


def update_customer(*, customer: Customer, data: Mapping[str, Any]) -> Customer:
    cleaned = clean_customer_fields(data)
    with transaction.atomic():
        customer = lock_live_customer(customer)
        if not cleaned:
            return customer
        for field, value in cleaned.items():
            setattr(customer, field, value)
        customer.save(update_fields=list(cleaned))
    return customer


def fill_blank_fields(customer: Customer, cleaned: Mapping[str, Any]) -> list[str]:
    """Complete a record with what a new contact tells us, never overwriting what we know."""
    changed = []
    for field, value in cleaned.items():
        if value not in ("", None) and getattr(customer, field) in ("", None):
            setattr(customer, field, value)
            changed.append(field)
    return changed
