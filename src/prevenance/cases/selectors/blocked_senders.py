"""Whether an inbound message's sender is blocked as spam (cases/services/spam.py keeps the list)."""

from django.db import connection

from prevenance.cases.models import BlockedSender
from prevenance.customers.normalize import email_lookup_key


def _lookup_sql() -> str:
    quote = connection.ops.quote_name
    return f"SELECT 1 FROM {quote(BlockedSender._meta.db_table)} WHERE {quote('address')} = %s LIMIT 1"


def is_blocked_sender(address: str) -> bool:
    """Whether `address` (as typed or read from a message: normalised here, no query for that)
    is on the blocked list: one probe of the unique index on the address. The intake runs it for
    every customer's message, so it is plain SQL: the ORM's `exists()` cost about 500 Python
    calls an email to build (docs/benchmarks.md, "Blocked senders in the email intake")."""
    if not address or "@" not in address:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(), [email_lookup_key(address)])
        return cursor.fetchone() is not None
