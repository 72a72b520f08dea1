"""Indexes for name-prefix search, in byte order on every database.

A prefix search must read the index in order and stop after one page. SQLite's default
(BINARY) collation is byte order already; on PostgreSQL the database collation is not, so
the index is on `sort_key COLLATE "C"` and the selector asks for the same expression.
Django's Index cannot say "C collation on PostgreSQL only", hence RunPython.
"""

from django.db import migrations

INDEXES = {
    "sqlite": [
        'CREATE INDEX IF NOT EXISTS customer_sort_key_idx ON customers_customer (sort_key)',
        'CREATE INDEX IF NOT EXISTS customer_alt_key_idx ON customers_customer (alt_key)',
    ],
    "postgresql": [
        'CREATE INDEX IF NOT EXISTS customer_sort_key_idx ON customers_customer ((sort_key COLLATE "C"), id)',
        'CREATE INDEX IF NOT EXISTS customer_alt_key_idx ON customers_customer ((alt_key COLLATE "C"), id)',
    ],
}


def create_indexes(apps, schema_editor):
    for statement in INDEXES.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    for name in ("customer_sort_key_idx", "customer_alt_key_idx"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customer_sort_key_idx"),
        migrations.RemoveIndex(model_name="customer", name="customer_alt_key_idx"),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
