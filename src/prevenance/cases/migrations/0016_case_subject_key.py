"""Case.subject_key: the subject folded (lower case, no accents) for the inbox's search box.

Made to run on a million cases without a long stop:
- the column is added by a plain `ALTER TABLE ... ADD COLUMN ... DEFAULT '' NOT NULL` on both
  databases: Django's AddField rebuilds the whole table on SQLite for a NOT NULL column
  (copy every row, recreate every index), where SQLite and PostgreSQL (11+) add such a
  column without touching the rows. The database keeps the '' default, which Django ignores.
- existing rows are filled in batches of BATCH rows in id order, each batch its own
  transaction and one UPDATE ... FROM (VALUES ...) statement (SQLite 3.33+, PostgreSQL),
  keys computed in Python by the same core.text.search_key as Case.refresh_subject_key.
- it can be re-run: the column is added only when missing, and a batch updates only the rows
  whose key is not already right.
"""

from django.db import migrations, models, transaction

from prevenance.core.text import search_key

BATCH = 2000
COLUMN = "subject_key"


def _table(apps, connection) -> str:
    return connection.ops.quote_name(apps.get_model("cases", "Case")._meta.db_table)


def _has_column(apps, connection) -> bool:
    table = apps.get_model("cases", "Case")._meta.db_table
    with connection.cursor() as cursor:
        return any(column.name == COLUMN for column in connection.introspection.get_table_description(cursor, table))


def add_column(apps, schema_editor):
    connection = schema_editor.connection
    if not _has_column(apps, connection):
        schema_editor.execute(
            f"ALTER TABLE {_table(apps, connection)} ADD COLUMN {connection.ops.quote_name(COLUMN)} varchar(300) DEFAULT '' NOT NULL"
        )


def drop_column(apps, schema_editor):
    connection = schema_editor.connection
    if _has_column(apps, connection):
        schema_editor.execute(f"ALTER TABLE {_table(apps, connection)} DROP COLUMN {connection.ops.quote_name(COLUMN)}")


def fill_subject_keys(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    connection = schema_editor.connection
    table = _table(apps, connection)
    rows = Case.objects.using(connection.alias).order_by("pk").values_list("pk", "subject", "subject_key")
    last = 0
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        last = batch[-1][0]
        changed = [(pk, key) for pk, subject, stored in batch if (key := search_key(subject)[:300]) != stored]
        if not changed:
            continue
        values = ", ".join(["(%s, %s)"] * len(changed))
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {connection.ops.quote_name(COLUMN)} = v.column2 "
                f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
                [value for pair in changed for value in pair],
            )


class Migration(migrations.Migration):
    # Each batch of the fill commits on its own (no transaction held over a million rows).
    atomic = False

    dependencies = [("cases", "0015_namespace_automatic_timeline_ids")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_column, drop_column, elidable=False)],
            state_operations=[
                migrations.AddField(
                    model_name="case",
                    name="subject_key",
                    field=models.CharField(blank=True, default="", editable=False, max_length=300),
                ),
            ],
        ),
        migrations.RunPython(fill_subject_keys, migrations.RunPython.noop, elidable=False),
    ]
