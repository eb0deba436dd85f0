"""ORM queries compiled once and run again with new values.

Building and compiling a small queryset costs Django 0.3-0.5 ms; running its SQL costs
tens of microseconds. The access decision runs the same few queries on every request
with different ids and times, so their compilation was a third of a referral read.
``prepared`` keeps the ORM's own SQL (nothing restated by hand) and compiles it once per
database and *shape*:

    @prepared
    def _active(*, survivor_ids, agency_id, at):
        return Consent.objects.active_at(at).filter(...).values_list(...)

    rows = _active(survivor_ids={...}, agency_id=3, at=now)   # a list of tuples

The builder is called once per shape with stand-in values, each of which must reach the
SQL as a parameter (a stand-in the SQL does not carry as it is, e.g. inside a
``LIKE`` pattern, is refused on that first call). Integers, strings, UUIDs and times are
parameters (a list, set or tuple of them counts by its length); ``None``, bools and
slices shape the query: they are part of the cache key and reach the builder as they are
(a slice for the rows wanted, ``queryset[rows]``: Django writes LIMIT into the SQL). Rows come
back converted as the ORM converts them: tuples from a ``values_list``, instances (with
their ``select_related`` objects) from a model queryset.

Why not a library: ``django-prepared-queries`` and ``django-prepared-query`` last
supported Django 1.x/2.x.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet, signals
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql import InsertQuery

# The forms a parameter of each kind may take in a query's parameters (as it is, or
# adapted for the database, as SQLite spells UUIDs and times).
_ADAPTERS: dict[type, tuple[Callable, ...]] = {
    int: (lambda ops, v: v,),
    str: (lambda ops, v: v,),
    uuid.UUID: (lambda ops, v: v, lambda ops, v: v.hex),
    datetime: (lambda ops, v: v, lambda ops, v: ops.adapt_datetimefield_value(v)),
}
_LISTS = (list, set, frozenset, tuple)
# Shapes kept per query.
MAX_PLANS = 256


def _kind(value) -> type | None:
    if isinstance(value, bool):
        return None
    return next((kind for kind in _ADAPTERS if isinstance(value, kind)), None)


def _stand_in(kind: type, serial: int, variant: int):
    # Small integers: a lookup drops a value out of its column's range (a smallint's
    # included), so a larger stand-in would never reach the SQL.
    if kind is int:
        if serial >= 10_000:
            raise ValueError("prepared query: at most 9,999 values")
        return 10_000 * (variant + 1) + serial
    if kind is str:
        return f"srn-prepared-{variant}-{serial}"
    if kind is uuid.UUID:
        return uuid.UUID(int=(0x5EED << 112) + (variant << 32) + serial)
    return datetime(1901 + variant, 2, 3, 4, 5, 6, serial, tzinfo=UTC)


def _key(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return ("int", int(value))  # psycopg's Int4/Int8 wrappers included
    return (type(value).__name__, value if value.__hash__ is not None else repr(value))


def _wrapper(param):
    """The int subclass a backend wraps an integer in (psycopg's ``Int8``: Django sends
    integer lookups typed), to wrap each value alike; else ``None``."""
    kind = type(param)
    return kind if issubclass(kind, int) and kind not in (int, bool) else None


class _Plan:
    """One shape's SQL, where each value goes in its parameters, and how its rows are
    converted."""

    def __init__(self, compiled: list[tuple[QuerySet, dict]], connection):
        """``compiled``: the query built twice, each time with its own stand-ins for the
        same values. A parameter that differs between the two is a value's slot; one
        that does not is the query's own constant (even one that happens to equal a
        stand-in)."""
        (queryset, stand_ins), (other, other_stand_ins) = compiled
        query = queryset.query
        self.as_objects = queryset._iterable_class is ModelIterable
        if self.as_objects:
            if queryset._prefetch_related_lookups or queryset._known_related_objects:
                raise ValueError("prepared query: no prefetch_related (prefetch apart)")
        elif queryset._iterable_class is not ValuesListIterable or list(queryset._fields) != [
            *query.extra_select,
            *query.values_select,
            *query.annotation_select,
        ]:
            raise ValueError("prepared query: build model rows or a values_list() of fields")
        self.compiler = query.get_compiler(connection=connection)
        try:
            self.sql, params = self.compiler.as_sql()
            other_sql, other_params = other.query.get_compiler(connection=connection).as_sql()
        except EmptyResultSet:  # e.g. ``__in`` an empty list: no rows, no query
            self.sql, params, stand_ins = "", (), {}
            other_sql, other_params = "", ()
        if other_sql != self.sql or len(other_params) != len(params):
            raise ValueError("prepared query: its SQL depends on the values, not their shape")
        self.width = self.compiler.col_count
        fields = [column[0] for column in self.compiler.select[: self.width]]
        self.converters = self.compiler.get_converters(fields)
        if self.as_objects and self.sql:
            self._objects(connection.alias)
        forms: dict = {}
        for place, value in stand_ins.items():
            for adapt in _ADAPTERS[_kind(value)]:
                both = (adapt(connection.ops, value), adapt(connection.ops, other_stand_ins[place]))
                forms.setdefault(tuple(map(_key, both)), (*place, adapt))
        self.params = list(params)
        self.slots = []
        for position, both in enumerate(zip(params, other_params, strict=True)):
            if both[0] == both[1]:
                continue  # the query's own constant
            slot = forms.get(tuple(map(_key, both)))
            if slot is None:
                raise ValueError("prepared query: a parameter follows no value given")
            self.slots.append((position, (*slot, _wrapper(both[0]))))
        missing = set(stand_ins) - {slot[:2] for _, slot in self.slots}
        if missing:
            names = sorted({name for name, _ in missing})
            raise ValueError(f"prepared query: {names} did not reach the SQL as parameters")

    def _objects(self, alias: str) -> None:
        """How ``ModelIterable`` makes instances of the rows: the model's columns, and
        those of each ``select_related`` model."""
        info, select = self.compiler.klass_info, self.compiler.select
        self.model = info["model"]
        self.columns = slice(info["select_fields"][0], info["select_fields"][-1] + 1)
        self.attnames = [column[0].target.attname for column in select[self.columns]]
        self.related = get_related_populators(info, select, alias)
        self.annotations = self.compiler.annotation_col_map or {}
        self.alias = alias

    def _instances(self, rows) -> list:
        found = []
        for row in rows:
            instance = self.model.from_db(self.alias, self.attnames, row[self.columns])
            for related in self.related:
                related.populate(row, instance)
            for name, position in self.annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    def run(self, values: dict, connection) -> list:
        if not self.sql:
            return []
        params = list(self.params)
        for position, (name, index, adapt, wrap) in self.slots:
            value = adapt(connection.ops, values[name] if index is None else values[name][index])
            params[position] = value if wrap is None else wrap(value)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if rows and len(rows[0]) != self.width:
            rows = [row[: self.width] for row in rows]
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.as_objects:
            return self._instances(rows)
        return [tuple(row) for row in rows]


def prepared(build: Callable[..., QuerySet]) -> Callable[..., list]:
    """``build(**values)`` returns a queryset of model rows (``select_related`` allowed,
    not ``prefetch_related``) or a ``values_list`` of fields; the decorated function
    takes the same keywords (and ``using``, a database alias, as the queryset's own
    routing chooses it by default) and returns its instances or tuples, as a list."""
    plans: dict[tuple, tuple[str, _Plan]] = {}

    @functools.wraps(build)
    def run(*, using: str | None = None, **values) -> list:
        shape, placed = [], {}
        for name in sorted(values):
            value = values[name]
            if isinstance(value, _LISTS):
                items = list(value)
                kinds = {_kind(item) for item in items}
                if None in kinds or len(kinds) > 1:
                    raise TypeError(f"prepared query: {name} holds values of no one kind")
                shape.append((name, "list", next(iter(kinds), None), len(items)))
                placed[name] = items
            elif (kind := _kind(value)) is not None:
                shape.append((name, kind))
                placed[name] = value
            elif isinstance(value, slice):  # (unhashable before Python 3.12)
                shape.append((name, "slice", value.start, value.stop, value.step))
            else:
                shape.append((name, "as is", value))
        key = (using, tuple(shape))
        if key not in plans:
            if len(plans) >= MAX_PLANS:  # many list lengths: start again, never grow without end
                plans.clear()
            plans[key] = _planned(build, values, placed, using)
        alias, plan = plans[key]
        return plan.run(placed, connections[alias])

    return run


def _planned(build, values: dict, placed: dict, using: str | None) -> tuple[str, _Plan]:
    """Compile ``build`` twice, each time with its own stand-in for each parameter."""
    compiled = []
    for variant in (0, 1):
        arguments, stand_ins, serial = dict(values), {}, 0
        for name, value in placed.items():
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                serial += 1
                place = (name, index if isinstance(value, list) else None)
                stand_ins[place] = _stand_in(_kind(item), serial, variant)
            if isinstance(value, list):
                arguments[name] = [stand_ins[(name, i)] for i in range(len(items))]
            else:
                arguments[name] = stand_ins[(name, None)]
        compiled.append((build(**arguments), stand_ins))
    alias = using or compiled[0][0].db
    return alias, _Plan(compiled, connections[alias])


def prefetched(instance, name: str, objects: list) -> None:
    """Make ``objects`` (a reverse foreign key's rows, fetched apart: by a prepared
    query) what ``instance.<name>.all()`` returns, as ``prefetch_related`` leaves them:
    each pointing back at ``instance``, and a ``filter()`` on the relation still a query
    of the instance's rows."""
    manager = getattr(instance, name)
    field = getattr(manager, "field", None)
    if field is None or not field.many_to_one:
        raise TypeError(f"prefetched: {name} is not a reverse foreign key")
    for found in objects:
        field.set_cached_value(found, instance)
    cached = manager.get_queryset()
    cached._result_cache = list(objects)
    cached._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[field.remote_field.cache_name] = cached


# INSERTs compiled once per model, database and source (``insert_of``).
_INSERTS: dict[tuple, tuple[str, list, bool]] = {}


def insert_of(instance, connection, *, source: str = "") -> tuple[str, list]:
    """``instance``'s INSERT (every concrete field but an auto-incremented key, returning
    the primary key), as the ORM compiles it — compiled once per model, database and
    ``source``, its parameters computed each time as the compiler computes them (each
    field's ``pre_save``, then its database value on ``connection``). With ``source``,
    the name of a ``WITH`` clause, the row is selected from that clause's: written only
    where it has one.

    A field with a placeholder of its own, or a value that is an expression, is
    compiled each time, as ``save()`` would."""
    model = type(instance)
    key = (model, connection.alias, source)
    plan = _INSERTS.get(key)
    if plan is None:
        fields = [f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field]
        sql, _ = _compiled_insert(instance, fields, connection, source)
        plain = not any(hasattr(field, "get_placeholder") for field in fields)
        plan = _INSERTS[key] = (sql, fields, plain)
    sql, fields, plain = plan
    if plain:
        values = [field.pre_save(instance, True) for field in fields]
        if not any(hasattr(value, "resolve_expression") for value in values):
            return sql, [
                field.get_db_prep_save(value, connection=connection)
                for field, value in zip(fields, values, strict=True)
            ]
    return _compiled_insert(instance, fields, connection, source)


def _compiled_insert(instance, fields: list, connection, source: str) -> tuple[str, list]:
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [type(instance)._meta.pk]
    ((sql, params),) = compiler.as_sql()
    if source:
        head, values = sql.split(" VALUES (", 1)
        values, returning = values.rsplit(") RETURNING ", 1)
        sql = f"{head} SELECT {values} FROM {source} RETURNING {returning}"  # noqa: S608
    return sql, list(params)


def insert(instance, *, using: str | None = None):
    """Write ``instance`` (a new row, of a model without parents; ``insert_of``'s INSERT)
    and give it its primary key, as ``save(force_insert=True)`` does, its ``pre_save``
    and ``post_save`` signals sent where anything listens to them."""
    model = type(instance)
    alias = using or router.db_for_write(model, instance=instance)
    connection = connections[alias]
    if model._meta.parents:
        raise TypeError("insert: a model with parents is saved by save()")
    save_signal(signals.pre_save, instance, alias)
    sql, params = insert_of(instance, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    inserted(instance, pk, alias)
    return instance


def inserted(instance, pk, alias: str) -> None:
    """``instance`` was just inserted with ``pk`` (as the database returned it): as
    ``save()`` leaves it (the key as its field holds it: SQLite returns a UUID as hex
    text), its ``post_save`` sent."""
    instance.pk = type(instance)._meta.pk.to_python(pk)
    instance._state.adding, instance._state.db = False, alias
    save_signal(signals.post_save, instance, alias, created=True)


def save_signal(signal, instance, alias: str, **more) -> None:
    """Send ``signal`` (``pre_save``, ``post_save``) for a new ``instance`` as
    ``save()`` sends it, where anything listens."""
    if signal.has_listeners(type(instance)):
        signal.send(
            sender=type(instance),
            instance=instance,
            raw=False,
            using=alias,
            update_fields=None,
            **more,
        )
