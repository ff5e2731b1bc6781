"""Fast bulk updates.

Django's bulk_update writes one CASE WHEN per row and field: fine for tens of rows, but the
billing run updates thousands at once, and building that statement costs more than the whole
billing computation. On PostgreSQL, `UPDATE … FROM (VALUES …)` does the same in one cheap
statement; elsewhere (SQLite in development) Django's bulk_update is used.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from datetime import date, datetime

from django.db import connections, models, router
from django.utils import timezone
from djmoney.models.fields import MoneyField
from djmoney.money import Money


def bulk_update(
    objects: Sequence[models.Model], fields: Sequence[str], *, batch_size: int = 2000
) -> None:
    """Write `fields` of many instances of one model at once."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields, batch_size=batch_size)
        return
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    # One array per column, unnested in the database: the statement stays a few lines long
    # whatever the number of rows (a VALUES list of thousands of placeholders costs more to
    # build and parse than the update itself).
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in targets)
    arrays = ", ".join(
        [
            f"%s::{meta.pk.db_type(connection)}[]",
            *(f"%s::{_column_type(field, connection)}[]" for field in targets),
        ]
    )
    names = ", ".join(["__pk", *(quote(field.column) for field in targets)])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - quoted model metadata
        f"FROM unnest({arrays}) AS v({names}) WHERE t.{quote(meta.pk.column)} = v.__pk"
    )
    pk_name = meta.pk.attname
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            columns = [array_literal([getattr(obj, pk_name) for obj in batch])]
            for field in targets:
                values = [getattr(obj, field.attname) for obj in batch]
                if _plain(field):
                    columns.append(array_literal(values))
                else:
                    columns.append([field.get_db_prep_save(v, connection) for v in values])
            cursor.execute(sql, columns)


def _column_type(field: models.Field, connection) -> str:
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


# Fields whose Python values go to PostgreSQL as they are (no get_db_prep_save conversion).
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DateField,  # DateTimeField too: billing writes aware datetimes only
    models.ForeignKey,
)


def _plain(field: models.Field) -> bool:
    return isinstance(field, _PLAIN_FIELDS) and not isinstance(field, MoneyField)


def array_literal(values: Sequence) -> str:
    """A PostgreSQL array literal (`{1,NULL,"a b"}`) of ints, booleans, strings, dates and
    aware datetimes, built in one pass: psycopg's generic list adaptation costs more than the
    update it feeds when a chunk writes thousands of values."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif value is True:
            items.append("t")
        elif value is False:
            items.append("f")
        elif isinstance(value, int):
            items.append(str(value))
        elif isinstance(value, str):
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: billing writes aware datetimes")
            items.append('"' + value.isoformat() + '"')
        elif isinstance(value, date):
            items.append(value.isoformat())
        else:
            raise TypeError(f"no array literal for {type(value).__name__}")
    return "{" + ",".join(items) + "}"


# Per model: the defaults that are values (read once), and the fields whose default is made
# anew for each row (a callable: `dict`, `timezone.now`), as Field.get_default gives them.
_DEFAULTS: dict[type, tuple[dict, list]] = {}


def _defaults_of(model: type[models.Model]) -> tuple[dict, list]:
    fixed, made = {}, []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            fixed[field.attname] = None
        elif field.has_default() and callable(field.default):
            made.append((field.attname, field))
        else:
            fixed[field.attname] = field.get_default()  # a value: the same for every row
    return fixed, made


def build(model: type[models.Model], **values) -> models.Model:
    """A new, unsaved instance set from attribute names (`customer_id`, not `customer`), without
    running Model.__init__ field by field: the billing run builds tens of thousands of rows, and
    __init__ (with its signals and django-money's descriptors) costs more than pricing them.
    Fields not given take their defaults, as in __init__."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = _defaults_of(model)
    fixed, made = defaults
    obj = model.__new__(model)
    obj._state = models.base.ModelState()
    state = obj.__dict__
    state.update(fixed)
    for attname, field in made:
        if attname not in values:
            state[attname] = field.get_default()
    state.update(values)
    return obj


def clone(model: type[models.Model], values: dict, **overrides) -> models.Model:
    """A new, unsaved instance from a complete dict of attribute values (made once by `build`
    and reused for many rows that differ only by `overrides`)."""
    obj = model.__new__(model)
    obj._state = models.base.ModelState()
    state = obj.__dict__
    state.update(values)
    state.update(overrides)
    return obj


def from_row(model: type[models.Model], attnames: Sequence[str], row: Sequence, db: str):
    """A saved instance from a row of a values_list() query: what Model.from_db makes, without
    __init__ and its signals (tens of thousands per billing run). Fields not read are deferred,
    loaded on access as with only()."""
    obj = model.__new__(model)
    state = models.base.ModelState()
    state.adding = False
    state.db = db
    obj._state = state
    obj.__dict__.update(zip(attnames, row, strict=True))
    return obj


def reserve_ids(objects: Sequence[models.Model]) -> None:
    """Give new instances their primary keys from the table's sequence, in one query
    (PostgreSQL), so that rows pointing to them can be written before them (the foreign keys
    are checked at the commit)."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            ids = _reserve_sqlite(cursor, meta.db_table, len(objects))
        else:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objects)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
    for obj, pk in zip(objects, ids, strict=True):
        obj.__dict__[meta.pk.attname] = pk


def _reserve_sqlite(cursor, table: str, count: int) -> range:
    """SQLite's counterpart of nextval(): Django's AUTOINCREMENT keys come from the table's row
    in sqlite_sequence (never below the largest key ever written), moved on by `count` in one
    statement, which takes the database's write lock (held to the commit)."""
    cursor.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
        [table, table],
    )
    cursor.execute(
        "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq",
        [count, table],
    )
    (last,) = cursor.fetchone()
    return range(last - count + 1, last + 1)


# Per model: the columns COPY writes, and which of them need more than their plain value.
_COPY_PLANS: dict[tuple[type, bool], tuple] = {}


def _copy_plan(model: type[models.Model], connection, with_ids: bool) -> tuple:
    plan = _COPY_PLANS.get((model, with_ids))
    if plan is None:
        fields = [f for f in model._meta.concrete_fields if with_ids or not f.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        attnames = [f.attname for f in fields]
        json_columns = [
            (i, f.encoder) for i, f in enumerate(fields) if isinstance(f, models.JSONField)
        ]
        money_columns = [i for i, f in enumerate(fields) if isinstance(f, MoneyField)]
        stamped = [
            f.attname
            for f in fields
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        plan = (columns, attnames, json_columns, money_columns, stamped)
        _COPY_PLANS[(model, with_ids)] = plan
    return plan


def insert(objects: Sequence[models.Model], *, ids: bool = True) -> None:
    """Insert new instances (and set their primary keys unless `reserve_ids` did). On
    PostgreSQL: ids taken from the table's sequence in one query, then one COPY — the fastest
    way in; elsewhere bulk_create. `ids=False` (PostgreSQL): rows nothing points to get their
    ids from the table's default, and the instances keep none."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    if ids and objects[0].pk is None:
        reserve_ids(objects)
    columns, attnames, json_columns, money_columns, stamped = _copy_plan(model, connection, ids)
    values_of = operator.itemgetter(*attnames)
    now = timezone.now()
    # Rows copied from one template share their JSON values: each is written as text once.
    json_texts: dict[int, str] = {}
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            state = obj.__dict__
            for name in stamped:
                state[name] = now
            try:
                row = list(values_of(state))
            except KeyError:  # a deferred field: written as its default would be, NULL
                row = [state.get(name) for name in attnames]
            for i in money_columns:
                # `build` stores plain amounts; an instance made by __init__ may hold Money.
                if isinstance(row[i], Money):
                    row[i] = row[i].amount
            for i, encoder in json_columns:
                value = row[i]
                if value is not None:
                    text = json_texts.get(id(value))
                    if text is None:
                        text = json_texts[id(value)] = json.dumps(value, cls=encoder)
                    row[i] = text
            copy.write_row(row)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
