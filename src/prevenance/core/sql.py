"""INSERTs without the ORM's per-statement compilation, for intake hot paths and imports.

Django builds and compiles every INSERT anew: ~200 µs for one wide row, most of the cost
of an intake that writes a customer and two identities, and the bulk of a large import.
These helpers write the same rows with SQL derived from the model's own fields, so they
follow the model as it changes. They skip `save()`: callers set derived fields themselves
(e.g. `Customer.refresh_search_keys`). Ids come back in insertion order, as bulk_create
relies on too (SQLite >= 3.35 and PostgreSQL).
"""

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils.functional import Promise

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


def db_datetime(value: datetime):
    """An aware datetime as the database takes it in a raw statement (SQLite stores text)."""
    return connection.ops.adapt_datetimefield_value(value)


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


# One row at a time, for the intake's hot path ------------------------------------------------


# Kept per name: the default database's backend, and so its quoting, is fixed for the life of
# the process, and each `connection.ops` look-up goes through the thread-local handler.
@functools.cache
def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _database():
    """This thread's default connection, looked up once by a function that uses it several
    times: every `connection.x` goes through the proxy and the thread-local handler again
    (a handful of calls each, on every row the intake writes)."""
    return connections[DEFAULT_DB_ALIAS]


# Fields whose Python value is already what the database driver takes; dates go through the
# backend's adapter (as the ORM's get_db_prep_save ends up doing for an aware datetime), and
# every other field through its own pre_save and get_db_prep_save, as in the ORM's INSERT.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)
_PREPARED_FIELDS = (models.DateField, models.DecimalField, models.JSONField, models.DurationField, models.FileField,
                    models.UUIDField, models.BinaryField, models.GenericIPAddressField)


def _value_getter(field: models.Field, ops):
    """obj -> the value to bind for `field` on an INSERT."""
    attname = field.attname
    stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if isinstance(field, models.DateTimeField) and not stamped:
        adapt = ops.adapt_datetimefield_value

        def aware_datetime(obj):
            value = getattr(obj, attname)
            if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
                return adapt(value)
            return field.get_db_prep_save(value, ops.connection)  # naive or text: the ORM's own conversion

        return aware_datetime
    if isinstance(field, _PREPARED_FIELDS) or not isinstance(field, _PLAIN_FIELDS):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), ops.connection)

    def plain(obj):
        # A lazy translation (gettext_lazy) is text the driver cannot take as it is; the ORM's
        # get_prep_value would turn it into str too. No signals are sent: none are connected to
        # the models written here (STYLE.md: no domain logic in signals). Inline, not a helper:
        # one call fewer per field of every row the intake writes.
        value = getattr(obj, attname)
        return str(value) if isinstance(value, Promise) else value

    return plain


# Per model and connection (each thread has its own): room for every model of an intake in
# each thread of a threaded server.
@functools.lru_cache(maxsize=1024)
def _insert_plan(model, ops) -> tuple[str, list]:
    """The INSERT ... RETURNING statement of a model and, per field, the function reading its
    value off an instance; built once per model and connection (quoting ~30 names and choosing
    each field's preparation showed in the profile)."""
    fields = insert_fields(model)
    sql = (
        f"INSERT INTO {_quote(model._meta.db_table)} ({', '.join(_quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {_quote(model._meta.pk.column)}"
    )
    return sql, [_value_getter(field, ops) for field in fields]


def insert_instance(obj) -> None:
    """INSERT one new instance with SQL derived from its model's fields: dates,
    JSON, files and auto_now stamps are prepared as the ORM's own INSERT prepares them (pre_save,
    get_db_prep_save), plain text, numbers and ids are passed as they are; no query compiled."""
    database = _database()
    sql, getters = _insert_plan(type(obj), database.ops)
    row = [value_of(obj) for value_of in getters]
    with database.cursor() as cursor:
        cursor.execute(sql, row)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, database.alias


def insert_instances(objects: Sequence[models.Model]) -> None:
    """insert_instance for new instances of one model, a few hundred per statement (under the
    database's limit on parameters), each value prepared the same way; ids set in insertion
    order. For thousands of rows, bulk imports use insert_rows (PostgreSQL's COPY)."""
    if not objects:
        return
    model = type(objects[0])
    if len(objects) == 1:  # the usual intake case: one cached statement per model
        insert_instance(objects[0])
        return
    per_statement = max(1, min(500, (connection.features.max_query_params or 65_535) // len(insert_fields(model))))
    for chunk in chunks(objects, per_statement):
        sql, getters = _multi_insert_plan(model, len(chunk), connection.ops)
        values = [value_of(obj) for obj in chunk for value_of in getters]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            ids = [row[0] for row in cursor.fetchall()]
        for obj, pk in zip(chunk, ids, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias


@functools.lru_cache(maxsize=256)
def _multi_insert_plan(model, count: int, ops) -> tuple[str, list]:
    sql, getters = _insert_plan(model, ops)
    head, _, tail = sql.partition(" VALUES ")
    row, _, returning = tail.partition(" RETURNING ")
    return f"{head} VALUES {', '.join([row] * count)} RETURNING {returning}", getters


@functools.lru_cache(maxsize=256)
def _linked_pair_plan(model, linked_model, link: str, label: str, ops) -> tuple[str, list, list, int, int]:
    """The one PostgreSQL statement of insert_linked_pair, the value getters of both rows, and
    the positions of the link and the label among them (their values are written by SQL)."""
    fields, linked_fields = insert_fields(model), insert_fields(linked_model)
    link_at = [field.name for field in fields].index(link)
    label_at = [field.name for field in linked_fields].index(label)
    linked_table, linked_pk = _quote(linked_model._meta.db_table), linked_model._meta.pk.column
    values = ["(SELECT linked_id FROM new_id)" if i == link_at else "%s" for i in range(len(fields))]
    linked_values = [
        f"CAST(%s AS text) || CAST((SELECT {_quote(model._meta.pk.column)} FROM first_row) AS text)" if i == label_at else "%s"
        for i in range(len(linked_fields))
    ]
    sql = (
        f"WITH new_id AS (SELECT nextval(pg_get_serial_sequence('{linked_table}', '{linked_pk}')) AS linked_id), "
        f"first_row AS (INSERT INTO {_quote(model._meta.db_table)} ({', '.join(_quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(values)}) RETURNING {_quote(model._meta.pk.column)}), "
        f"linked_row AS (INSERT INTO {linked_table} ({_quote(linked_pk)}, {', '.join(_quote(f.column) for f in linked_fields)}) "
        f"VALUES ((SELECT linked_id FROM new_id), {', '.join(linked_values)}) RETURNING {_quote(linked_pk)}) "
        f"SELECT (SELECT {_quote(model._meta.pk.column)} FROM first_row), (SELECT {_quote(linked_pk)} FROM linked_row)"
    )
    getters = [_value_getter(field, ops) for field in fields]
    linked_getters = [_value_getter(field, ops) for field in linked_fields]
    return sql, getters, linked_getters, link_at, label_at


def insert_linked_pair(obj, linked, *, link: str, label: str, prefix: str) -> None:
    """INSERT two new instances that name each other: `obj`'s foreign key `link` points at
    `linked`, and `linked`'s text field `label` is `prefix` followed by `obj`'s new id (a
    message and its timeline entry). On PostgreSQL one statement (the linked row's id drawn
    from its sequence first; foreign keys are checked at commit); elsewhere two INSERTs and
    an UPDATE. Sets both primary keys, the label and the link on the instances."""
    if connection.vendor != "postgresql":
        insert_instance(obj)
        setattr(linked, label, f"{prefix}{obj.pk}")
        insert_instance(linked)
        setattr(obj, link, linked)
        update_instance(obj, [link])
        return
    sql, getters, linked_getters, link_at, label_at = _linked_pair_plan(type(obj), type(linked), link, label, connection.ops)
    row = [value_of(obj) for i, value_of in enumerate(getters) if i != link_at]
    linked_row = [prefix if i == label_at else value_of(linked) for i, value_of in enumerate(linked_getters)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*row, *linked_row])
        obj.pk, linked.pk = cursor.fetchone()
    setattr(linked, label, f"{prefix}{obj.pk}")
    setattr(obj, link, linked)
    for instance in (obj, linked):
        instance._state.adding, instance._state.db = False, connection.alias


def update_instance(obj, names: Sequence[str]) -> None:
    """UPDATE these fields of a stored instance, values prepared as the ORM prepares them; an
    auto_now field among them is stamped now, as save(update_fields=...) would."""
    database = _database()
    fields = [obj._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{_quote(field.column)} = %s" for field in fields)
    values = [
        field.get_db_prep_save(field.pre_save(obj, False) if getattr(field, "auto_now", False) else getattr(obj, field.attname), database)
        for field in fields
    ]
    with database.cursor() as cursor:
        cursor.execute(f"UPDATE {_quote(obj._meta.db_table)} SET {assignments} WHERE {_quote(obj._meta.pk.column)} = %s", [*values, obj.pk])


def select_for_update(model, pk):
    """The row as an instance, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    writer lock is already held), or None. Plain SQL with the ORM's own converters: on the
    intake's hot path the ORM's compilation cost more than the indexed read."""
    database = _database()
    sql, names = _select_plan(model, database.vendor)
    with database.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    converters = _converters(model, database.ops)
    return model.from_db(database.alias, names, [convert(value) for convert, value in zip(converters, row, strict=True)])


@functools.lru_cache(maxsize=64)
def _select_plan(model, vendor: str) -> tuple[str, list[str]]:
    fields = model._meta.concrete_fields
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    columns = ", ".join(_quote(field.column) for field in fields)
    sql = f"SELECT {columns} FROM {_quote(model._meta.db_table)} WHERE {_quote(model._meta.pk.column)} = %s{lock}"
    return sql, [field.attname for field in fields]


@functools.lru_cache(maxsize=1024)
def _converters(model, ops) -> list:
    """Per column, the function turning a database value into the Python one (dates, JSON,
    durations), as the ORM's compiler applies them; once per model and connection."""
    expressions = [field.get_col(model._meta.db_table) for field in model._meta.concrete_fields]
    return [_chain(ops.get_db_converters(expression) + expression.get_db_converters(ops.connection), expression, ops.connection)
            for expression in expressions]


def _chain(steps, expression, database):
    def convert(value):
        for step in steps:
            value = step(value, expression, database)
        return value
    return convert
