"""Migration customers/0010: email identities stored with a Unicode domain take the A-label
form normalize_email gives now, so a new email from either form finds the same customer."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from prevenance.customers.models import Identity
from prevenance.customers.selectors import find_by_identity
from prevenance.customers.tests.factories import CustomerFactory

migration = importlib.import_module("prevenance.customers.migrations.0010_international_email_identities")


def stored(customer, normalized: str) -> Identity:
    # As the old rules stored it (Django's validate_email took a Unicode domain as it was).
    return Identity.objects.create(customer=customer, kind="email", value=normalized, normalized=normalized)


@pytest.mark.django_db
def test_a_unicode_domain_is_stored_in_a_labels_and_found_from_either_form(capsys):
    marie, paul, lea = CustomerFactory(), CustomerFactory(), CustomerFactory()
    unicode_domain = stored(marie, "marie@exämple.com")
    ascii_one = stored(paul, "paul@example.com")
    # The same mailbox already held in both forms, by two customers: left for a person to merge.
    stored(lea, "lea@xn--bcher-kva.com")
    twin = stored(CustomerFactory(), "lea@bücher.com")
    migration.renormalize(apps, SimpleNamespace(connection=connection))
    unicode_domain.refresh_from_db(), ascii_one.refresh_from_db(), twin.refresh_from_db()
    assert (unicode_domain.normalized, unicode_domain.value) == ("marie@xn--exmple-cua.com", "marie@exämple.com")
    assert ascii_one.normalized == "paul@example.com"
    assert twin.normalized == "lea@bücher.com"
    assert f"email identity {twin.pk}" in capsys.readouterr().out
    assert find_by_identity("email", "Marie@exämple.com") == marie
    assert find_by_identity("email", "marie@xn--exmple-cua.com") == marie
    migration.renormalize(apps, SimpleNamespace(connection=connection))  # again: nothing changes
    unicode_domain.refresh_from_db()
    assert unicode_domain.normalized == "marie@xn--exmple-cua.com"
