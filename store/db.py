"""Database engine and sessions: SQLite (embedded default) and PostgreSQL, one code path."""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

# JSON columns as UTF-8 text, compact: Chinese stored as itself (a third of the bytes of
# \u escapes). orjson writes the same text as json's compact encoder, at a seventh of its
# cost (a step writes its state, replies and pushes as JSON: 6% of the step path's CPU).
# What orjson refuses or writes otherwise goes to json: an int past 64 bits, and a
# datetime or dataclass, which json refuses as before (a bug, not a value to store).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | \
    orjson.OPT_PASSTHROUGH_DATACLASS


def json_text(value: Any) -> str:
    """A value as the compact JSON text a JSON column stores."""
    try:
        return orjson.dumps(value, option=_ORJSON).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _JSON.encode(value)


def make_engine(url: str, *, readonly: bool = False, **kwargs: Any) -> Engine:
    """Create the engine; on SQLite, take the write lock at BEGIN so writers queue up.

    `readonly` engines (the web inbox poll) begin plain transactions: under WAL they read
    without holding up writers.
    """
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE: one writer at a time, so a step's read-modify-write
            # cannot interleave with another process's (DESIGN rule 2).
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        if readonly:
            _READONLY.add(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_READONLY: weakref.WeakSet[Engine] = weakref.WeakSet()
_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """On SQLite, threads of one process queue here instead of in SQLite's busy loop,
    whose sleeps gave seconds of tail latency under load; other processes still queue
    on BEGIN IMMEDIATE."""
    if engine.dialect.name != "sqlite" or engine in _READONLY:
        return None
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(engine, threading.RLock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    lock = _writer_lock(engine)
    with lock or nullcontext(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_ids(session: Session, table: Any, rows: Sequence[dict[str, Any]],
               key: tuple[str, ...]) -> list[int]:
    """Insert rows in one statement; return their ids in the order given.

    The ids are matched to the rows by `key`, columns unique among the rows, rather than
    with RETURNING's sort_by_parameter_order: on SQLite that option falls back to one
    INSERT per row. A prepared statement (store.fast): this is the step path's insert."""
    if not rows:
        return []
    from store import fast

    result = fast.insert_returning(session, table, rows, ("id", *key))
    found = {tuple(r[1:]): r[0] for r in result}
    if len(found) != len(rows):
        raise ValueError(f"insert_ids: {key} is not unique among the rows")
    return [found[tuple(row[k] for k in key)] for row in rows]


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT of the session's dialect, for ON CONFLICT clauses."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.connection().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
