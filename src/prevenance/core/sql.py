"""INSERTs without the ORM's per-statement compilation, for intake hot paths and imports.

Django builds and compiles every INSERT anew: ~200 µs for one wide row, most of the cost
of an intake that writes a customer and two identities, and the bulk of a large import.
These helpers write the same rows with SQL derived from the model's own fields, so they
follow the model as it changes. They skip `save()`: callers set derived fields themselves
(e.g. `Customer.refresh_search_keys`). Ids come back in insertion order, as bulk_create
relies on too (SQLite >= 3.35 and PostgreSQL).
"""

from collections.abc import Iterable, Sequence
from operator import attrgetter

from django.db import connection, models

# Under SQLite's default limit on query parameters, with room to spare.
IN_CHUNK = 900
# Below this many rows a plain INSERT beats PostgreSQL's COPY set-up.
COPY_FROM = 200


def chunks(items: Sequence, size: int = IN_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_fields(model) -> list[models.Field]:
    """The concrete fields an INSERT writes: all but an auto primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _adapter(field: models.Field):
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return connection.ops.adapt_decimalfield_value
    return None


def instance_rows(objects: Sequence[models.Model], fields: Sequence[models.Field]) -> list[list]:
    """The database values of each object's fields (dates and decimals adapted, as the ORM would)."""
    values_of = attrgetter(*(f.attname for f in fields))
    to_adapt = [(i, adapter) for i, f in enumerate(fields) if (adapter := _adapter(f)) is not None]
    adapted: dict = {}  # rows of one batch mostly share their timestamps
    rows = []
    for obj in objects:
        row = list(values_of(obj)) if len(fields) > 1 else [values_of(obj)]
        for i, adapt in to_adapt:
            if row[i] is not None:
                key = (i, row[i])
                if key not in adapted:
                    adapted[key] = adapt(row[i])
                row[i] = adapted[key]
        rows.append(row)
    return rows


def insert_rows(model, columns: Sequence[str], rows: Sequence[Sequence], *, returning: bool = False) -> list[int]:
    """INSERT rows of `model` (values in `columns` order); with `returning`, their new ids."""
    if not rows:
        return []
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
        return _copy(model, columns, rows, returning=returning)
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError("needs INSERT ... RETURNING (SQLite >= 3.35 or PostgreSQL)")
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, min(1000, (connection.features.max_query_params or 65_535) // len(columns)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunks(rows, per_statement):
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, [value for row in chunk for value in row])
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def insert_objects(objects: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model and set their primary keys."""
    if not objects:
        return
    model = type(objects[0])
    fields = insert_fields(model)
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objects:
        for field in stamped:
            field.pre_save(obj, True)
    ids = insert_rows(model, [f.column for f in fields], instance_rows(objects, fields), returning=True)
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _copy(model, columns: Sequence[str], rows: Sequence[Sequence], *, returning: bool) -> list[int]:
    """PostgreSQL's COPY, several times faster than INSERT for thousands of rows. COPY returns no
    ids, so they are drawn from the table's sequence first, as the database would."""
    quote, table, ids = connection.ops.quote_name, model._meta.db_table, []
    with connection.cursor() as cursor:
        if returning:
            pk = model._meta.pk.column
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [quote(table), pk, len(rows)])
            ids = [row[0] for row in cursor.fetchall()]
            columns = [pk, *columns]
            rows = [(pk_value, *row) for pk_value, row in zip(ids, rows, strict=True)]
        with cursor.cursor.copy(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return ids
