"""The people in copy of a case (`Case.cc_addresses`), changed by an agent: replies copy them
(outbound.email_addressing). The email intake adds the Cc of the customer's messages
(intake._case_cc); an agent adds the one the customer forgot, or removes one who asked out."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.cases import events as case_events
from prevenance.cases.choices import CaseAuditKind
from prevenance.cases.models import Case
from prevenance.cases.services.common import MAX_ADDRESSES, lock_case, refuse_closed
from prevenance.cases.services.outbound import customer_email_addresses, our_mailboxes
from prevenance.core.audit import record_audit
from prevenance.core.validation import invalid
from prevenance.customers.normalize import display_email, email_lookup_key, normalize_email


def change_case_copies(*, case: Case, actor, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Case:
    """Add `add` to the case's people in copy and take `remove` out, under the case lock (an
    email arriving meanwhile adds its Cc without losing these). Each address added is
    normalised as identities are (international ones allowed, the domain kept in A-labels);
    an invalid one, one of the customer's own (replies go to them: they are the To), one of
    our mailboxes, or more than MAX_ADDRESSES in all is refused on the field `add` with
    nothing written. An address already in copy, or one to remove that is not, changes nothing.
    A change writes a `case.copies_changed` audit row and is sent as case.updated."""
    added = _clean_new_copies(add)
    removed = {email_lookup_key(address) for address in remove if address.strip()}
    with transaction.atomic():
        locked = lock_case(case.pk)
        refuse_closed(locked)
        if locked.customer_id is None:
            raise invalid("case", _("This case's customer was erased: there is no one to answer."), "customer_erased")
        _refuse_not_copies(added, customer_addresses=customer_email_addresses(locked.customer_id))
        before = list(locked.cc_addresses)
        after = [address for address in before if address not in removed]
        after += [address for address in added if address not in after]
        if len(after) > MAX_ADDRESSES:
            raise invalid("add", _("At most %(limit)d addresses.") % {"limit": MAX_ADDRESSES}, "too_many_copies")
        if after == before:
            return locked
        locked.cc_addresses = after
        locked.save(update_fields=["cc_addresses", "updated_at"])
        record_audit(kind=CaseAuditKind.COPIES_CHANGED, actor=actor, subject=locked, payload={
            "added": [address for address in after if address not in before],
            "removed": [address for address in before if address not in after],
        })
        case_events.case_updated(locked, {"cc_addresses": case_events.change(before, after)})
    return locked


def _clean_new_copies(addresses: Sequence[str]) -> list[str]:
    """The addresses to add, normalised (normalize_email), each once; every invalid one named."""
    cleaned, errors = [], []
    for raw in addresses:
        if not raw.strip():
            continue
        try:
            address = normalize_email(raw)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if address not in cleaned:
            cleaned.append(address)
    if errors:
        raise ValidationError({"add": errors})
    return cleaned


def _refuse_not_copies(addresses: Sequence[str], *, customer_addresses: Sequence[str]) -> None:
    """Refuse the addresses a reply never copies: the customer's own and our mailboxes
    (outbound.email_addressing leaves them out, so the page would show a copy never sent)."""
    customer, ours = set(customer_addresses), our_mailboxes()
    errors = []
    for address in addresses:
        if address in customer:
            errors.append(_("“%(value)s” is the customer's own address: replies go to it already.") % {"value": display_email(address)})
        elif address in ours:
            errors.append(_("“%(value)s” is one of our own mailboxes: replies are sent from it, not to it.") % {"value": display_email(address)})
    if errors:
        raise ValidationError({"add": errors})
