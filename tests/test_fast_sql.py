"""Prepared statements (store.fast) store and read exactly what Core would, on SQLite and
PostgreSQL: a datetime written either way compares equal, JSON round-trips, column
defaults are filled, driver errors are SQLAlchemy's, long IN lists are complete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store import fast, steps
from store.db import insert_ids, json_text, make_engine, transaction
from store.migrate import upgrade
from store.models import Notification, Timer
from store.types import UTCDateTime

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
T = Notification.__table__


def _row(key: str, at: datetime = NOW) -> dict[str, object]:
    return {"idempotency_key": key, "recipient_id": None, "channel": "web", "address": key,
            "message_key": "notice.raw", "params": {"text": f"第{key}号", "n": [1, 2]},
            "alert_id": None, "priority": 5, "next_attempt_at": at, "claimed_until": None,
            "tried_channels": [], "created_at": at}


def test_rows_written_by_prepared_and_core_statements_read_back_alike(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    later = NOW + timedelta(seconds=1, microseconds=250)
    with transaction(engine) as s:
        fast_ids = insert_ids(s, T, [_row("a"), _row("b", later)], ("idempotency_key",))
        s.connection().execute(insert(T), [_row("c"), _row("d", later)])
    with Session(engine) as s:
        rows = {n.idempotency_key: n for n in s.exec(select(Notification)).scalars()}
        # A time written by either path is the same time to a WHERE clause.
        same_time = s.connection().execute(select(T.c.idempotency_key).where(
            T.c.next_attempt_at == NOW).order_by(T.c.idempotency_key)).scalars().all()
        before = s.connection().execute(select(T.c.idempotency_key).where(
            T.c.next_attempt_at < later).order_by(T.c.idempotency_key)).scalars().all()
    assert same_time == before == ["a", "c"]
    assert rows["a"].id == fast_ids[0] and rows["b"].id == fast_ids[1]
    for key, at in (("a", NOW), ("b", later)):
        n = rows[key]
        assert n.next_attempt_at == at and n.created_at == at
        assert n.params == {"text": f"第{key}号", "n": [1, 2]}
        assert n.tried_channels == []
        # Column defaults Core fills at execution are filled by the prepared insert too.
        assert (n.status, n.attempts) == ("pending", 0)


def test_a_duplicate_key_is_sqlalchemys_integrity_error(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with transaction(engine) as s:
        insert_ids(s, T, [_row("same")], ("idempotency_key",))
    with pytest.raises(IntegrityError), transaction(engine) as s:
        insert_ids(s, T, [_row("same")], ("idempotency_key",))
    with Session(engine) as s:  # the failed transaction left nothing behind
        assert len(s.exec(select(Notification)).scalars().all()) == 1


def test_long_in_lists_and_many_rows_are_complete(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    keys = [f"k{i:03d}" for i in range(150)]  # more than one run of 64 rows
    with transaction(engine) as s:
        ids = insert_ids(s, T, [_row(k) for k in keys], ("idempotency_key",))
        assert len(set(ids)) == 150
        found = fast.where_in(s, "t-in", lambda b: select(T.c.id).where(T.c.id.in_(b)),
                              ids[3:140])
        assert sorted(r[0] for r in found) == sorted(ids[3:140])
        steps.claim(s, ids[:100], NOW + timedelta(minutes=1))
        sent = zip(ids[:70], keys[:70], strict=True)
        steps.settle(s, [steps.Settled(i, "web", k) for i, k in sent], NOW)
    with Session(engine) as s:
        rows = {n.id: n for n in s.exec(select(Notification)).scalars()}
    assert sum(1 for n in rows.values() if n.status == "sent") == 70
    assert all(rows[i].sent_at == NOW and rows[i].claimed_until is None for i in ids[:70])
    assert all(rows[i].claimed_until == NOW + timedelta(minutes=1) for i in ids[70:100])
    assert all(rows[i].claimed_until is None and rows[i].status == "pending"
               for i in ids[100:])


def test_timers_upserted_by_the_prepared_statement_move_and_reopen(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with transaction(engine) as s:
        steps.set_timers(s, [("k", "a", NOW), ("k", "b", NOW)])
        s.connection().execute(update(Timer.__table__).values(done_at=NOW))
    with transaction(engine) as s:
        steps.set_timers(s, [("k", "a", NOW + timedelta(hours=1))])
    with Session(engine) as s:
        timers = {t.ref: t for t in s.exec(select(Timer)).scalars()}
    assert timers["a"].due_at == NOW + timedelta(hours=1) and timers["a"].done_at is None
    assert timers["b"].due_at == NOW and timers["b"].done_at == NOW


def test_timers_dropped_are_those_of_the_kind_and_refs_given(db_url: str) -> None:
    """A batch finishing a hundred forms drops their hundred draft timers (in runs of
    the prepared statement), and no timer of another kind or form."""
    upgrade(db_url)
    engine = make_engine(db_url)
    refs = [f"chat-{i}" for i in range(100)]
    with transaction(engine) as s:
        steps.set_timers(s, [("draft", r, NOW) for r in [*refs, "kept"]]
                         + [("other", "chat-1", NOW)])
    with transaction(engine) as s:
        steps.drop_timers(s, "draft", refs)
        steps.drop_timers(s, "draft", [])
    with Session(engine) as s:
        left = sorted((t.kind, t.ref) for t in s.exec(select(Timer)).scalars())
    assert left == [("draft", "kept"), ("other", "chat-1")]


def test_an_insert_missing_a_computed_default_is_refused(sqlite_url: str) -> None:
    """A bind Core would compute at execution cannot be prepared: refused, not NULL."""
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with pytest.raises(ValueError), transaction(engine) as s:
        fast.execute(s, "t-default", lambda: insert(T).values(
            idempotency_key=bindparam("k"), message_key="x", params={},
            next_attempt_at=bindparam("at", type_=T.c.next_attempt_at.type),
            created_at=bindparam("c", type_=T.c.created_at.type)),
            {"k": "x", "at": NOW, "c": NOW})


@pytest.mark.parametrize("at", [
    NOW, NOW.replace(microsecond=7), datetime(2026, 2, 3, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 6, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))])
def test_sqlites_datetime_text_is_sqlalchemys_own(at: datetime) -> None:
    """The one-step SQLite processor writes what SQLAlchemy's DATETIME wrote, so rows
    stored before it compare and sort with rows stored after."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours(at) == theirs(at.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(ValueError):
        ours(at.replace(tzinfo=None))


def test_one_processor_writes_each_instant_in_turn_as_sqlalchemy_does() -> None:
    """The processor keeps its last text: an instant repeated (a batch's `now` in row
    after row), the same instant in another zone, then a new one, each as SQLAlchemy's."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    shanghai = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    later = NOW + timedelta(microseconds=1)
    for at in (NOW, NOW, shanghai, later, NOW, None, later, later):
        expected = None if at is None else theirs(at.astimezone(UTC).replace(tzinfo=None))
        assert ours(at) == expected
    with pytest.raises(ValueError):  # naive, though the last instant's wall time
        ours(later.replace(tzinfo=None))


@pytest.mark.parametrize("value", [
    {"text": "第1号\n\"引号\"", "n": [1, 2.5, None, True], "empty": {}},
    {1: "a number as a key, written as json writes it"}, ["\u2028", "emoji 🙂"],
    2 ** 70, 1e16, -0.0, "\ud800"])
def test_json_columns_are_written_as_jsons_compact_text(value: Any) -> None:
    """The JSON columns' text is json's compact UTF-8 text, whichever encoder wrote it
    (an int past 64 bits, a lone surrogate: json's own)."""
    assert json_text(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_a_datetime_in_a_json_column_is_refused_as_before() -> None:
    """A datetime in JSON is a bug (the columns store ISO text): refused, not stored."""
    with pytest.raises(TypeError):
        json_text({"at": NOW})


def test_json_is_stored_as_compact_utf8_text(sqlite_url: str) -> None:
    """Chinese words are kept as themselves, not as \\u escapes, and read back alike."""
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with transaction(engine) as s:
        insert_ids(s, T, [_row("中")], ("idempotency_key",))
    with engine.connect() as c:
        raw = c.exec_driver_sql("SELECT params FROM notification").scalar_one()
        params = c.execute(select(T.c.params)).scalar_one()
    assert raw == '{"text":"第中号","n":[1,2]}'
    assert params == {"text": "第中号", "n": [1, 2]}


@pytest.mark.parametrize("n", [2, 5, 64])
def test_a_statement_written_for_n_rows_is_the_one_sqlalchemy_compiles(n: int) -> None:
    """SQLite's plans for n rows (VALUES) or n values (IN) are written from the plan for
    one rather than compiled again: the same SQL, binds in the same order."""
    dialect = sqlite.dialect()
    cols = ("idempotency_key", "message_key", "next_attempt_at", "priority", "status",
            "attempts")

    def values(k: int) -> Any:
        return insert(T).values([{c: bindparam(f"{c}__{i}", type_=T.c[c].type) for c in cols}
                                 for i in range(k)]).returning(T.c.id, T.c.idempotency_key)

    def within(k: int) -> Any:
        return update(T).where(T.c.id.in_([bindparam(f"in__{i}") for i in range(k)]),
                               T.c.status == "pending").values(
            claimed_until=bindparam("until", type_=T.c.claimed_until.type))

    for build, group in ((values, "values"), (within, "in")):
        written = fast.sized(("t-sized", group), dialect, build, n, group)
        compiled: Any = build(n).compile(dialect=dialect)
        assert written.sql == compiled.string
        assert written.names == tuple(compiled.positiontup)
        assert len(written.processors) == len(written.names)
