"""Prepared statements for the step path: Core SQL compiled once, run on the driver's cursor.

Core's `Connection.execute` costs 100–300 µs of Python per statement (the statement's
cache key, an execution context, a result object) where the driver itself needs about
15 µs; a batch of steps runs about twenty statements and each emergency filed in it
about eight more, so that overhead was a third of a step's CPU. The statements here are
still written with Core (one source of SQL for SQLite and PostgreSQL), compiled once per
dialect, and run on the cursor of the session's own connection, inside its transaction,
with the bind processors Core would apply (UTC datetimes, JSON). Like
`session.connection().execute`, they do not autoflush the ORM. Driver errors come back
as SQLAlchemy's (an IntegrityError is still an IntegrityError).

Only fixed-shape statements belong here: an IN list or a multi-row VALUES has a plan per
length (on SQLite written from the one-row plan, see sized()). Rows come back as the
driver gives them: read ints and strings only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import BindParameter, bindparam, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

_T = TypeVar("_T")
Processor = Callable[[Any], Any] | None
MAX_ROWS = 64  # rows or IN values per statement; longer lists go in runs (chunks())


@dataclass(frozen=True)
class Plan:
    """A statement compiled for one dialect: its SQL and how to lay out its parameters."""

    sql: str
    names: tuple[str, ...]  # bind names, in the order of a positional driver
    processors: tuple[Processor, ...]
    positional: bool
    fixed: dict[str, Any]  # binds of values written in the statement itself
    # A multi-row VALUES (binds named column__row): (row, column) of each bind, in order.
    slots: tuple[tuple[int, str], ...] = ()

    def params(self, values: dict[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        out = [values[n] if p is None else p(values[n])
               for n, p in zip(self.names, self.processors, strict=True)]
        return tuple(out) if self.positional else dict(zip(self.names, out, strict=True))


_PLANS: dict[tuple[Hashable, str, tuple[str, ...]], Plan] = {}


def plan(key: Hashable, dialect: Dialect, build: Callable[[], ClauseElement],
         columns: tuple[str, ...] = ()) -> Plan:
    """The compiled form of `build()` for this dialect, made once per key; `columns`: the
    keys of the values given (an INSERT or UPDATE without .values() sets those)."""
    found = _PLANS.get((key, dialect.name, columns))
    if found is not None:
        return found
    compiled: Any = build().compile(dialect=dialect, column_keys=list(columns))
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    processors = tuple(_processor(compiled.binds[n].type, dialect) for n in names)
    fixed = {}
    for n in names:
        b = compiled.binds[n]
        if b.callable is not None:
            raise ValueError(f"store.fast: {n} is computed at execution; give it a value")
        if not b.required:  # e.g. .values(done_at=None): the statement's own value
            if compiled.isinsert and _defaulted(compiled, n):
                raise ValueError(f"store.fast: {n} has a default Core computes at "
                                 "execution; give it a value")
            fixed[n] = b.value
    parts = [n.rpartition("__") for n in names]
    slots = tuple((int(i), c) for c, _, i in parts) \
        if not fixed and all(c and i.isdigit() for c, _, i in parts) else ()
    made = Plan(compiled.string, names, processors, positional, fixed, slots)
    _PLANS[(key, dialect.name, columns)] = made
    return made


def sized(key: Hashable, dialect: Dialect, build: Callable[[int], ClauseElement], n: int,
          group: str) -> Plan:
    """The plan of `build(n)`, a statement with a group of binds repeated n times (`group`:
    "values", a multi-row VALUES of binds named column__row; "in", an IN list of binds
    in__0…). A positional driver's plan for n is written from the plan for one, so a
    statement is compiled once, not once for every length a batch happens to have."""
    found = _PLANS.get(((key, n), dialect.name, ()))
    if found is not None:
        return found
    one = plan((key, 1), dialect, lambda: build(1))
    made = _repeated(one, n, group) if one.positional and n > 1 else None
    if made is None:
        return plan((key, n), dialect, lambda: build(n))
    _PLANS[((key, n), dialect.name, ())] = made
    return made


def _sized_in(key: Hashable, build: Callable[[int], ClauseElement], n: int,
              dialect: Dialect) -> Plan:
    return sized(key, dialect, build, n, "in")


def _sized_values(key: Hashable, build: Callable[[int], ClauseElement], n: int,
                  dialect: Dialect) -> Plan:
    return sized(key, dialect, build, n, "values")


def _repeated(one: Plan, n: int, group: str) -> Plan | None:
    """`one`'s SQL with its group of binds written n times; None if it is not plain."""
    if group == "values":
        at = one.sql.find(" VALUES (")
        end = one.sql.find(")", at + 9)
        values = one.sql[at + 8:end + 1] if at >= 0 else ""
        if one.fixed or not values or set(values) - set("(?, )") or \
                one.sql.count("?") != len(one.names):
            return None
        cols = [name.rpartition("__")[0] for name in one.names]
        sql = one.sql[:at + 8] + ", ".join([values] * n) + one.sql[end + 1:]
        names = tuple(f"{c}__{i}" for i in range(n) for c in cols)
        slots = tuple((i, c) for i in range(n) for c in cols)
        return Plan(sql, names, one.processors * n, True, {}, slots)
    if one.sql.count("IN (?)") != 1 or "in__0" not in one.names:
        return None
    k = one.names.index("in__0")
    sql = one.sql.replace("IN (?)", "IN (" + ", ".join(["?"] * n) + ")")
    names = (*one.names[:k], *(f"in__{i}" for i in range(n)), *one.names[k + 1:])
    processors = (*one.processors[:k], *[one.processors[k]] * n, *one.processors[k + 1:])
    return Plan(sql, names, processors, True, one.fixed)


def _defaulted(compiled: Any, name: str) -> bool:
    """Whether an INSERT's bind stands for a column default (named as the column, or
    column_m1… in a multi-row VALUES)."""
    table = compiled.statement.table
    column = re.sub(r"_m\d+$", "", name)
    return column in table.c and table.c[column].default is not None


def _processor(type_: Any, dialect: Dialect) -> Processor:
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _announce(conn: Connection, cur: Any, sql: str, params: Any, many: bool) -> None:
    """Tell the engine's before_cursor_execute listeners, as Core would (statement
    counters, query-plan checks); no cost when there are none."""
    listeners = conn.dispatch.before_cursor_execute
    if listeners:
        for fn in listeners:
            fn(conn, cur, sql, params, None, many)


def _driver(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


def execute(session: Session, key: Hashable, build: Callable[[], ClauseElement],
            values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one statement; its rows (empty for a statement returning none)."""
    return _run(session, key, build, values)


def _run(session: Session, key: Hashable, build: Callable[[], ClauseElement],
         values: dict[str, Any] | Sequence[dict[str, Any]],
         cols: tuple[str, ...] = (), made: Callable[[Dialect], Plan] | None = None,
         ) -> list[tuple[Any, ...]]:
    """execute(); or, with `cols`, a multi-row VALUES of `values` (rows with those keys),
    whose binds are named column__row. `made`: the plan, if not plan(key, build)'s."""
    conn = session.connection()
    p = made(conn.dialect) if made is not None else plan(key, conn.dialect, build)
    params: Any
    if isinstance(values, dict):
        params = p.params(values)
    elif p.positional and p.slots:  # straight from the rows, in the binds' order
        params = tuple(values[i][c] if f is None else f(values[i][c])
                       for (i, c), f in zip(p.slots, p.processors, strict=True))
    else:
        params = p.params({f"{c}__{i}": row[c] for i, row in enumerate(values)
                           for c in cols})
    cur = _driver(conn).cursor()
    _announce(conn, cur, p.sql, params, False)
    try:
        cur.execute(p.sql, params)
        return list(cur.fetchall()) if cur.description is not None else []
    except conn.dialect.loaded_dbapi.Error as err:
        raise DBAPIError.instance(p.sql, params, err, conn.dialect.loaded_dbapi.Error) from err
    finally:
        cur.close()


def execute_many(session: Session, key: Hashable, build: Callable[[], ClauseElement],
                 rows: Sequence[dict[str, Any]]) -> None:
    """Run one statement (returning nothing) for each of `rows` (all with the same keys:
    an INSERT without .values() inserts those columns)."""
    if not rows:
        return
    conn = session.connection()
    p = plan(key, conn.dialect, build, tuple(rows[0]))
    params = [p.params(r) for r in rows]
    cur = _driver(conn).cursor()
    _announce(conn, cur, p.sql, params, True)
    try:
        cur.executemany(p.sql, params)
    except conn.dialect.loaded_dbapi.Error as err:
        raise DBAPIError.instance(p.sql, params, err, conn.dialect.loaded_dbapi.Error) from err
    finally:
        cur.close()


def where_in(session: Session, key: Hashable,
             build: Callable[[list[BindParameter[Any]]], ClauseElement],
             items: Sequence[Any], values: dict[str, Any] | None = None,
             ) -> list[tuple[Any, ...]]:
    """Run `build(binds)`, a statement with `col.in_(binds)`, for `items` (in runs, see
    chunks()); `values`: its other parameters. The rows of all runs."""
    def built(n: int) -> ClauseElement:
        return build([bindparam(f"in__{i}") for i in range(n)])

    out: list[tuple[Any, ...]] = []
    for chunk in chunks(items):
        n = len(chunk)
        given = dict(values or {})
        given.update((f"in__{i}", v) for i, v in enumerate(chunk))
        out += _run(session, (key, n), partial(built, n), given,
                    made=partial(_sized_in, key, built, n))
    return out


def insert_returning(session: Session, table: Any, rows: Sequence[dict[str, Any]],
                     returning: Sequence[str]) -> list[tuple[Any, ...]]:
    """Insert rows (all with the same keys) with multi-row VALUES; the `returning` columns
    of each inserted row, in no promised order (match them by a unique column)."""
    if not rows:
        return []
    given = tuple(rows[0])
    if any(tuple(r) != given for r in rows):
        raise ValueError("insert_returning: the rows differ in their columns")
    defaults = _defaults(table, given)
    if defaults:
        rows = [{**defaults, **r} for r in rows]
    cols = tuple(rows[0])
    def build(n: int) -> ClauseElement:
        return insert(table).values([
            {c: bindparam(f"{c}__{i}", type_=table.c[c].type) for c in cols}
            for i in range(n)]).returning(*(table.c[r] for r in returning))

    key = ("insert", table.name, cols, tuple(returning))
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(rows):
        n = len(chunk)
        out += _run(session, (key, n), partial(build, n), chunk, cols,
                    made=partial(_sized_values, key, build, n))
    return out


def chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    """`items` in runs of 64, 32, 16 … 1: a statement of n rows or values is planned for
    at most seven lengths rather than for every length a batch happens to have."""
    out: list[Sequence[_T]] = []
    at = 0
    while at < len(items):
        size = min(MAX_ROWS, 1 << ((len(items) - at).bit_length() - 1))
        out.append(items[at:at + size])
        at += size
    return out


_DEFAULTS: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}


def _defaults(table: Any, given: tuple[str, ...]) -> dict[str, Any]:
    """The scalar defaults of the columns not given (Core would add them at execution)."""
    found = _DEFAULTS.get((table.name, given))
    if found is None:
        found = _DEFAULTS[(table.name, given)] = _scalar_defaults(table, given)
    return found


def _scalar_defaults(table: Any, given: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in table.c:
        if c.key in given or c.default is None:
            continue
        if not c.default.is_scalar:
            raise ValueError(f"store.fast: {table.name}.{c.key} has a computed default; "
                             "give it a value")
        out[c.key] = c.default.arg
    return out
