"""Commercial gestures: granted at once within the requester's delegation limit, otherwise
queued for someone whose limit covers them; vouchers get a code the customer can type.

See docs/cases.md, "Commercial gestures", for the rules and why.
"""

import re
import secrets
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import GestureAuditKind, GestureStatus, GestureType
from prevenance.cases.models import Case, DelegationLimit, Gesture
from prevenance.cases.selectors import (
    ADD_GESTURE,
    APPROVE_GESTURE,
    DEFAULT_CURRENCY,
    delegation_limit,
    gesture_currencies,
    granted_on_case,
    trust_threshold,
)
from prevenance.cases.selectors.gestures import highest_approver_limit
from prevenance.cases.services.common import (
    clean_choice,
    lock_case,
    lock_live_case,
    refuse_hidden_survivor,
)
from prevenance.cases.services.submissions import clean_submission_id, earlier_submission
from prevenance.core.audit import record_audit
from prevenance.core.currencies import clean_amount as clean_currency_amount
from prevenance.core.currencies import (
    clean_currency,
    format_money,
    in_minor_units,
    max_amount,
    minor_units,
)
from prevenance.core.roles import AGENT, SUPERVISOR
from prevenance.core.validation import invalid

MAX_REASON = 2000
# No 0/O or 1/I: a code read over the phone or copied from paper is typed right the first time.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VOUCHER_ATTEMPTS = 5
DEFAULT_LIMITS = {AGENT: Decimal("50.00"), SUPERVISOR: Decimal("2000.00")}


def new_voucher_code() -> str:
    """PRV-XXXX-XXXX from 32 unambiguous characters: 2^40 codes, drawn with `secrets`."""
    chars = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(8))
    return f"PRV-{chars[:4]}-{chars[4:]}"


# "1,500" or "1.500": thousands to some readers, one and a half to others (as is "10.000").
# A first group starting with 0 is no thousand: "0,001" or "0.500" can only be decimals.
THOUSANDS_OR_DECIMALS = re.compile(r"[+]?[1-9][0-9]{0,2}(?:(?:,[0-9]{3})+|(?:\.[0-9]{3})+)")
# "1.000,50" (French, German) or "1,000.50" (English): thousands grouped with one mark, then
# decimals after the other one, which can only be the decimal mark.
GROUPED_THEN_DECIMALS = re.compile(r"[+-]?[1-9][0-9]{0,2}(?:(?:\.[0-9]{3})+,|(?:,[0-9]{3})+\.)[0-9]+")
# In a currency of three decimals, "12.345" is twelve dinars 345 millimes: its one mark is decimal.
ONE_GROUP_OF_THREE = re.compile(r"[+]?[0-9]{1,3}[.,][0-9]{3}")
# What is left to read once the thousands spaces are gone: ASCII digits with one decimal mark
# (not "1_000", "1e3" or other scripts' digits, which Decimal would read too).
PLAIN_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# A thousands space after a group of 1 to 3 digits not starting with 0 ("1 500", not "0 500").
SPACED_THOUSANDS = re.compile(r"(?<![\d])([1-9]\d{0,2})((?:[ \u00a0\u202f]\d{3})+)(?!\d)")


def clean_amount(value, currency: str) -> Decimal:
    """A typed amount read without guessing, with the decimals `currency` has (a cleaned ISO
    4217 code): "10.50" is refused in yen, "12.345" taken as twelve dinars 345 millimes in
    Tunisian dinars. Elsewhere a group of three digits ("1.500", "12.345") is ambiguous, unless
    the other mark follows it as the decimal one ("1.000,50" and "1,000.50" are 1000.50)."""
    amount = _read_amount(value, currency)
    if amount > max_amount(currency):
        raise ValidationError({"amount": [_("The amount cannot exceed %(max)s.") % {"max": _money(max_amount(currency), currency)}]})
    return clean_currency_amount(amount, currency)


def _read_amount(value, currency: str) -> Decimal:
    # A float has already lost the cents it was meant to carry (0.1 + 0.2): refused, not rounded.
    if isinstance(value, (float, bool)):
        raise ValidationError({"amount": [_("Give the amount as a decimal number, e.g. “12.50”.")]})
    if isinstance(value, str):
        value = _without_thousands_marks(value.strip())
    if isinstance(value, str) and THOUSANDS_OR_DECIMALS.fullmatch(value) and not _three_decimals(value, currency):
        # "1,500": one thousand five hundred to an English reader, 1.50 to a French one; "1.500" the other way round.
        raise _ambiguous(value, currency)
    if isinstance(value, str) and not PLAIN_AMOUNT.fullmatch(value.strip()):
        raise ValidationError({"amount": [_("“%(value)s” is not an amount.") % {"value": value.strip()[:40]}]})
    try:
        amount = Decimal(value.strip().replace(",", ".")) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({"amount": [_("“%(value)s” is not an amount.") % {"value": str(value)[:40]}]}) from None
    if not amount.is_finite():
        raise ValidationError({"amount": [_("“%(value)s” is not an amount.") % {"value": str(value)[:40]}]})
    if amount <= 0:
        raise ValidationError({"amount": [_("The amount must be greater than zero.")]})
    return amount


def _without_thousands_marks(value: str) -> str:
    """`value` without the marks that can only group thousands: the spaces of "1 500,00" (or
    the no-break spaces a number format puts), and the first mark of "1.000,50" or "1,000.50",
    where the other mark follows the groups. A lone mark ("1.500") is left: it is ambiguous."""
    value = SPACED_THOUSANDS.sub(lambda match: match[1] + re.sub(r"\D", "", match[2]), value)
    if GROUPED_THEN_DECIMALS.fullmatch(value):
        grouping = "." if value.rfind(",") > value.rfind(".") else ","
        value = value.replace(grouping, "")
    return value


def _ambiguous(value: str, currency: str) -> ValidationError:
    """The refusal of "1,500" or "1.500" (THOUSANDS_OR_DECIMALS): what to type for each reading,
    with the amount it gives as the pages write it in the reader's language ("type 1500 for
    1 500,00 EUR, or 1,50 for 1,50 EUR" in French). What to type has no thousands mark, so it
    cannot be ambiguous in turn. The decimal reading is not offered when the currency cannot
    hold it (12.345 EUR, 1.5 JPY), nor when several marks leave none ("1,000,000")."""
    whole = re.sub(r"[^0-9]", "", value)  # every mark a thousands one: "1,500" → "1500"
    params = {"value": value[:40], "whole": whole, "amount": _money(Decimal(whole), currency), "currency": currency}
    fraction = Decimal(value.replace(",", ".")) if value.count(",") + value.count(".") == 1 else None  # "1,500" → 1.5
    # 1.5 → 1 decimal, 10.000 → 0, 12.345 → 3: the decimal reading needs that many, the currency may have fewer.
    if fraction is None or max(0, -fraction.normalize().as_tuple().exponent) > minor_units(currency):
        message = _("“%(value)s” is ambiguous: type %(whole)s for %(amount)s %(currency)s.")
    else:
        params["fraction"] = number_format(fraction, minor_units(currency))  # "1.50" or "1,50", as it can be typed
        params["fraction_amount"] = _money(fraction, currency)
        message = _("“%(value)s” is ambiguous: type %(whole)s for %(amount)s %(currency)s, "
                    "or %(fraction)s for %(fraction_amount)s %(currency)s.")
    return invalid("amount", message % params, "ambiguous_amount")


def _three_decimals(value: str, currency: str) -> bool:
    """Whether `value` is one group of three digits after a single mark ("12.345", "1,500") in a
    currency of three decimals (TND, KWD...), where that is how its amounts are written."""
    return minor_units(currency) == 3 and ONE_GROUP_OF_THREE.fullmatch(value) is not None


def _money(amount: Decimal, currency: str) -> str:
    """An amount in a message as the reader's language writes it, as the pages do, with its
    currency's decimals ("1 500,00" EUR, "1 500" JPY, "1 500,000" TND)."""
    return format_money(amount, currency)


def _clean_reason(value, *, field: str, required: bool) -> str:
    text = ("" if value is None else str(value)).replace("\x00", "").strip()
    if required and not text:
        raise ValidationError({field: [_("Give a reason.")]})
    if len(text) > MAX_REASON:
        raise ValidationError({field: [_("At most %(limit)d characters (got %(length)d).") % {"limit": MAX_REASON, "length": len(text)}]})
    return text


def _require(actor, perm: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(perm):
        raise PermissionDenied


def _payload(gesture: Gesture, **extra) -> dict:
    return {
        "case": gesture.case_id, "type": gesture.type, "amount": str(in_minor_units(gesture.amount, gesture.currency)),
        "currency": gesture.currency, **extra,
    }


def _insert_with_voucher(gesture: Gesture) -> None:
    """Insert the gesture with a fresh voucher code, drawing again on a collision."""
    for _attempt in range(VOUCHER_ATTEMPTS):
        gesture.voucher_code = new_voucher_code()
        try:
            with transaction.atomic():  # a savepoint: a collision leaves the outer transaction usable
                gesture.save(force_insert=True)
            return
        except IntegrityError:
            if not Gesture.objects.filter(voucher_code=gesture.voucher_code).exists():
                raise
    raise invalid("voucher_code", _("No free voucher code was found; try again."), "voucher_exhausted")


def _earlier_gesture(submission: uuid.UUID | None, actor) -> Gesture | None:
    """The gesture this form submission already asked for (submissions.py), else None."""
    return earlier_submission(Gesture.objects.select_related("case"), submission, requested_by_id=actor.pk)


def request_gesture(
    *, case: Case, type: str, amount, currency: str, reason: str, actor, submission_id: uuid.UUID | str | None = None,  # noqa: A002 - the issue's word
) -> Gesture:
    """Ask for a gesture on a case: granted at once when the actor's delegation limit covers
    it with the gestures already granted on the case (a limit is per case: several small
    gestures cannot add up to one the limit would not allow), otherwise left `requested` in
    the approval queue.

    `submission_id` (the case page's form): the same submission sent again returns the gesture
    it made, with no second voucher, also when both arrive at once (the second waits for the
    case lock, then finds the first)."""
    _require(actor, ADD_GESTURE)
    submission = clean_submission_id(submission_id, case.pk, type, amount, currency, reason)
    if (earlier := _earlier_gesture(submission, actor)) is not None:
        return earlier
    kind = clean_choice("type", type, GestureType)
    currency = clean_currency(currency)
    _refuse_currency_without_limit(currency)
    amount = clean_amount(amount, currency)
    text = _clean_reason(reason, field="reason", required=True)
    with transaction.atomic():
        locked = lock_live_case(case.pk)
        if (earlier := _earlier_gesture(submission, actor)) is not None:
            return earlier  # the same submission, committed while this one waited for the lock
        refuse_hidden_survivor(case, locked, actor)  # a merged case's gesture goes to its survivor
        if locked.customer_id is None:
            raise invalid("case", _("This case's customer was erased: no gesture can be made."), "customer_erased")
        limit = delegation_limit(actor, currency)
        already = granted_on_case(locked.pk).get(currency, Decimal("0.00"))  # the case is locked: no race
        granted = already + amount <= limit
        if not granted:
            _refuse_above_every_limit(amount, currency, already=already, own_limit=limit, actor=actor)
        gesture = Gesture(
            case=locked, customer_id=locked.customer_id, type=kind, amount=amount, currency=currency, reason=text,
            requested_by=actor, without_proof=amount <= trust_threshold(currency), submission_id=submission,
        )
        if granted:
            gesture.status, gesture.decided_by, gesture.decided_at = GestureStatus.GRANTED, actor, timezone.now()
        if granted and kind == GestureType.VOUCHER:
            _insert_with_voucher(gesture)
        else:
            gesture.save(force_insert=True)
        context = {"limit": str(limit), "granted_on_case": str(already)}
        record_audit(kind=GestureAuditKind.REQUESTED, actor=actor, subject=gesture, payload=_payload(gesture, **context))
        if granted:
            record_audit(kind=GestureAuditKind.GRANTED, actor=actor, subject=gesture, payload=_payload(gesture, **context))
        case_events.gesture_requested(gesture)
    return gesture


def _refuse_currency_without_limit(currency: str) -> None:
    """A gesture in a currency in which nobody has a delegation limit above 0 could never be
    granted nor approved: it would wait in no one's queue. Refused, the case page's form and
    the API alike; gestures already waiting in such a currency are left as they are."""
    if currency not in gesture_currencies():
        raise invalid(
            "currency", _("Nobody can grant or approve a gesture in %(currency)s: set a delegation limit in that currency first.")
                        % {"currency": currency},
            "no_delegation_limit",
        )


def _refuse_above_every_limit(amount: Decimal, currency: str, *, already: Decimal, own_limit: Decimal, actor) -> None:
    """A gesture the actor may not grant themselves, which together with what the case was
    `already` granted in `currency` is above every limit that could grant it, theirs
    (`own_limit`) and the other approvers' (selectors.highest_approver_limit, the approvals
    page's "Nobody: above the highest limit"), would wait where nobody can decide on it:
    refused, the page and the API alike, saying how much can still be asked for. As for the
    currency (_refuse_currency_without_limit), gestures already waiting are left as they are.
    When no other approver has a limit in the currency at all, the gesture still waits: the
    approvals page asks an administrator to give someone one, and may decide it then.

    The granted total is read under the case lock. The limits and approvers are not locked: an
    administrator lowering a limit, or a supervisor being deactivated, while this request runs
    can still leave a gesture waiting above every limit; the approvals page shows it, and it
    can be refused there. Not worth locking the limits' rows for."""
    highest = highest_approver_limit(currency, requester=actor)
    if highest is None:
        return  # no other approver has a limit in it: the approvals page asks for one to be given, as before
    ceiling = max(own_limit, highest)
    if already + amount <= ceiling:
        return
    params = {
        "amount": _money(amount, currency), "currency": currency, "limit": _money(ceiling, currency),
        "granted": _money(already, currency), "left": _money(ceiling - already, currency),
    }
    if not already:
        message = _("No one can grant %(amount)s %(currency)s on this case: the highest delegation limit is "
                    "%(limit)s %(currency)s. Ask for %(limit)s %(currency)s at most, or ask an administrator to raise a limit.")
    elif already < ceiling:
        message = _("No one can grant %(amount)s %(currency)s on this case: with the %(granted)s %(currency)s already "
                    "granted on it, that is above the highest delegation limit, %(limit)s %(currency)s for the whole case. "
                    "Ask for %(left)s %(currency)s at most, or ask an administrator to raise a limit.")
    else:
        message = _("No one can grant %(amount)s %(currency)s on this case: the %(granted)s %(currency)s already "
                    "granted on it use up the highest delegation limit, %(limit)s %(currency)s for the whole case. "
                    "Only an administrator raising a limit would allow more.")
    raise invalid("amount", message % params, "above_every_limit")


def _check_decider(gesture: Gesture, actor, *, granting: bool) -> tuple[Decimal, Decimal]:
    """The decider's limit and what was already granted on the case in the gesture's currency,
    once _check_decision has accepted the decision (it raises otherwise)."""
    limit = delegation_limit(actor, gesture.currency)
    already = granted_on_case(gesture.case_id).get(gesture.currency, Decimal("0.00")) if granting else Decimal("0.00")
    _check_decision(gesture, actor, granting=granting, limit=limit, already=already)
    return limit, already


def _check_decision(gesture: Gesture, actor, *, granting: bool, limit: Decimal, already: Decimal) -> None:
    """Who may decide on a gesture, given the decider's `limit` in its currency and what was
    `already` granted on its case in it (0 for a refusal): ValidationError when not.

    Granting is held to the same per-case rule as a request: the limit must cover the gesture
    together with the gestures already granted on the case, so a supervisor cannot approve
    one 1,500 EUR gesture after another on one case with a 2,000 EUR limit. Refusing gives
    nothing away: the limit must cover the gesture alone."""
    if gesture.status != GestureStatus.REQUESTED:
        raise invalid(
            "status", _("This gesture is already %(status)s.") % {"status": gesture.get_status_display().lower()},
            "already_decided",
        )
    if gesture.requested_by_id == actor.pk:
        raise invalid("actor", _("You cannot decide on a gesture you asked for."), "own_gesture")
    if gesture.amount > limit:
        raise invalid(
            "actor", _("Your delegation limit (%(limit)s %(currency)s) does not cover this gesture.")
                       % {"limit": _money(limit, gesture.currency), "currency": gesture.currency},
            "over_limit",
        )
    if already + gesture.amount > limit:
        raise invalid(
            "actor", _("Your delegation limit (%(limit)s %(currency)s) does not cover this gesture together with the "
                         "%(granted)s %(currency)s already granted on this case.")
                       % {"limit": _money(limit, gesture.currency), "currency": gesture.currency,
                          "granted": _money(already, gesture.currency)},
            "over_limit",
        )


def may_decide(gesture: Gesture, actor, *, granting: bool, limits: dict[str, Decimal], granted: dict[str, Decimal]) -> bool:
    """Whether approve_gesture (`granting`) or refuse_gesture would take `actor`'s decision on
    `gesture` as it stands now, by their own checks (_require, the erased customer, then
    _check_decision), from the actor's `delegation_limits` and the `granted_on_case` of the
    gesture's case, which the caller reads once: no query here (the gesture's case is read
    for a grant, cached when the gestures came from `case.gestures`), so a page can ask it of
    every gesture it shows. The reason is not checked: the page's form asks for it, and the
    service says when it is missing."""
    try:
        _require(actor, APPROVE_GESTURE)
    except PermissionDenied:
        return False
    if granting and gesture.case.customer_id is None:
        return False  # _decide: "This case's customer was erased"
    zero = Decimal("0.00")
    already = granted.get(gesture.currency, zero) if granting else zero
    try:
        _check_decision(gesture, actor, granting=granting, limit=limits.get(gesture.currency, zero), already=already)
    except ValidationError:
        return False
    return True


def _decide(gesture: Gesture, *, status: str, actor, reason: str, audit: str) -> Gesture:
    """Move a requested gesture to `status`. The UPDATE only matches a row still `requested`,
    so of two deciders at the same moment exactly one wins, on SQLite and PostgreSQL alike.
    A grant locks the case first, as request_gesture does, so two gestures granted on one case
    at the same moment cannot both fit under a limit that covers only one of them."""
    granting = status == GestureStatus.GRANTED
    with transaction.atomic():
        current = Gesture.objects.get(pk=gesture.pk)
        if granting:
            case = lock_case(current.case_id)
            current = Gesture.objects.get(pk=gesture.pk)
            while current.case_id != case.pk:  # a merge moved it to the surviving case meanwhile (again, maybe)
                case = lock_case(current.case_id)
                current = Gesture.objects.get(pk=gesture.pk)
            if case.customer_id is None:  # erased while the gesture waited: nobody to give it to
                raise invalid("case", _("This case's customer was erased: no gesture can be made."), "customer_erased")
        limit, already = _check_decider(current, actor, granting=granting)
        now = timezone.now()
        fields = {"status": status, "decided_by": actor, "decided_at": now, "decision_reason": reason, "updated_at": now}
        pending = Gesture.objects.filter(pk=current.pk, status=GestureStatus.REQUESTED)
        if granting and current.type == GestureType.VOUCHER:
            updated = _update_with_voucher(pending, fields)
        else:
            updated = pending.update(**fields)
        if not updated:
            raise invalid("status", _("Someone else decided on this gesture meanwhile."), "already_decided")
        current.refresh_from_db()
        # The reason is on the gesture row, which an erasure blanks; the audit keeps only that one was given.
        context = {"limit": str(limit), "with_reason": bool(reason)}
        if granting:
            context["granted_on_case"] = str(already)
        record_audit(kind=audit, actor=actor, subject=current, payload=_payload(current, **context))
    return current


def _update_with_voucher(pending, fields: dict) -> int:
    for _attempt in range(VOUCHER_ATTEMPTS):
        code = new_voucher_code()
        try:
            with transaction.atomic():
                return pending.update(**fields, voucher_code=code)
        except IntegrityError:
            if not Gesture.objects.filter(voucher_code=code).exists():
                raise
    raise invalid("voucher_code", _("No free voucher code was found; try again."), "voucher_exhausted")


def approve_gesture(*, gesture: Gesture, actor, reason: str = "") -> Gesture:
    """Grant a gesture waiting in the queue: the actor's limit must cover it together with the
    gestures already granted on its case, and it is not theirs."""
    _require(actor, APPROVE_GESTURE)
    text = _clean_reason(reason, field="reason", required=False)
    return _decide(gesture, status=GestureStatus.GRANTED, actor=actor, reason=text, audit=GestureAuditKind.GRANTED)


def refuse_gesture(*, gesture: Gesture, actor, reason: str) -> Gesture:
    """Refuse a gesture waiting in the queue, saying why (the requester reads it)."""
    _require(actor, APPROVE_GESTURE)
    text = _clean_reason(reason, field="reason", required=True)
    return _decide(gesture, status=GestureStatus.REFUSED, actor=actor, reason=text, audit=GestureAuditKind.REFUSED)


def cancel_gesture(*, gesture: Gesture, actor, reason: str = "") -> Gesture:
    """The requester withdraws a gesture still waiting for approval."""
    text = _clean_reason(reason, field="reason", required=False)
    with transaction.atomic():
        current = Gesture.objects.get(pk=gesture.pk)
        if current.requested_by_id is None or current.requested_by_id != getattr(actor, "pk", None):
            raise PermissionDenied
        if current.status != GestureStatus.REQUESTED:
            raise invalid(
                "status", _("This gesture is already %(status)s.") % {"status": current.get_status_display().lower()},
                "already_decided",
            )
        now = timezone.now()
        updated = Gesture.objects.filter(pk=current.pk, status=GestureStatus.REQUESTED).update(
            status=GestureStatus.CANCELLED, decided_by=actor, decided_at=now, decision_reason=text, updated_at=now
        )
        if not updated:
            raise invalid("status", _("Someone else decided on this gesture meanwhile."), "already_decided")
        current.refresh_from_db()
        record_audit(kind=GestureAuditKind.CANCELLED, actor=actor, subject=current, payload=_payload(current, with_reason=bool(text)))
    return current


def ensure_default_limits() -> None:
    """The issue's defaults (agent 50 EUR, supervisor 2,000 EUR), created when missing; a limit
    an administrator changed is left as it is. Run after every migrate, like the roles."""
    for role, amount in DEFAULT_LIMITS.items():
        group, _created = Group.objects.get_or_create(name=role)
        DelegationLimit.objects.get_or_create(group=group, currency=DEFAULT_CURRENCY, defaults={"max_amount": amount})
