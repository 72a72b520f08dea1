"""The name-search indexes of 0002 again: they are written by hand (an expression index on
PostgreSQL), so Django does not know them, and on SQLite a later migration that rebuilt
customers_customer (0005, 0006, 0007: SQLite alters a table by copying it) left them behind.
Every customer search by name, and the inbox search by customer name, then read the whole
table. IF NOT EXISTS: on PostgreSQL, which alters in place, they are still there.

A later migration that rebuilds customers_customer on SQLite must run `create_indexes` again
(test_name_search_indexes_exist_after_migrate fails otherwise)."""

import importlib

from django.db import migrations

first = importlib.import_module("prevenance.customers.migrations.0002_name_search_indexes")


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_temporary_delivery_failures")]

    operations = [
        migrations.RunPython(first.create_indexes, migrations.RunPython.noop, elidable=False),
    ]
