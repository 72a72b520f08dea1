"""Every write about customers, one transaction each (see ARCHITECTURE.md).

Sub-modules by sub-domain; import the services from here.
"""

from prevenance.customers.services.consents import (
    confirm_consent,
    ensure_consent_wording,
    grant_consent,
    withdraw_consent,
)
from prevenance.customers.services.deliverability import (
    clear_bounce,
    clear_bounce_by_hand,
    mark_bounced,
    note_temporary_failures,
)
from prevenance.customers.services.gdpr import (
    erase_customer,
    export_customer_data,
    write_customer_archive,
)
from prevenance.customers.services.identities import (
    IdentityInput,
    Resolution,
    add_identity,
    remove_identity,
    resolve_customer,
)
from prevenance.customers.services.merge import dismiss_conflict, merge_customers
from prevenance.customers.services.orders import record_order
from prevenance.customers.services.profile import (
    clean_customer_fields,
    create_customer,
    lock_live_customer,
    update_customer,
)

__all__ = [
    "IdentityInput",
    "Resolution",
    "add_identity",
    "clean_customer_fields",
    "clear_bounce",
    "clear_bounce_by_hand",
    "confirm_consent",
    "create_customer",
    "dismiss_conflict",
    "ensure_consent_wording",
    "erase_customer",
    "export_customer_data",
    "grant_consent",
    "mark_bounced",
    "note_temporary_failures",
    "lock_live_customer",
    "merge_customers",
    "record_order",
    "remove_identity",
    "resolve_customer",
    "update_customer",
    "withdraw_consent",
    "write_customer_archive",
]
