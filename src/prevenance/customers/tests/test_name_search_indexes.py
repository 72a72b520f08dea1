"""The name-search indexes written by hand (customers migration 0002) exist after a migrate:
on SQLite a migration that rebuilds customers_customer drops what Django does not know of,
and the search by name then reads the whole table (migration 0008 puts them back)."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_name_search_indexes_exist_after_migrate():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "customers_customer")
    assert {"customer_sort_key_idx", "customer_alt_key_idx"} <= set(indexes)
