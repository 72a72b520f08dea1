"""The unique indexes of the form submission ids (0018), partial (WHERE submission_id IS NOT
NULL: the API and the email intake write none).

Even an index that will hold no row reads its whole table to be built: on PostgreSQL it is
built CONCURRENTLY (writes go on meanwhile), which needs a migration outside a transaction;
SQLite has no such option and builds it as usual. IF NOT EXISTS: a build interrupted and run
again, or run twice, is harmless (an interrupted CONCURRENTLY build leaves an invalid index
behind, which `DROP INDEX` then this migration again repairs). Django knows them as the
models' UniqueConstraints (state only), which it writes the same way.
"""

from django.db import migrations, models

INDEXES = (
    ("case", "cases_case", "case_unique_submission_id"),
    ("gesture", "cases_gesture", "gesture_unique_submission_id"),
    ("message", "cases_message", "case_message_unique_submission_id"),
)


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    for _model, table, name in INDEXES:
        schema_editor.execute(
            f"CREATE UNIQUE INDEX {concurrently}IF NOT EXISTS {quote(name)} ON {quote(table)} "
            f"({quote('submission_id')}) WHERE {quote('submission_id')} IS NOT NULL"
        )


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    for _model, _table, name in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {connection.ops.quote_name(name)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("cases", "0018_form_submission_ids")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_indexes, drop_indexes, elidable=False)],
            state_operations=[
                migrations.AddConstraint(
                    model_name=model,
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("submission_id__isnull", False)), fields=("submission_id",), name=name,
                        violation_error_message="This form was already sent.",
                    ),
                )
                for model, _table, name in INDEXES
            ],
        ),
    ]
