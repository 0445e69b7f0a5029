"""The step path's lookups stay index searches as the logs grow, and its inserts give
each row its own id, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from store import outbox, steps
from store.db import insert_ids, make_engine, transaction
from store.migrate import upgrade
from store.models import Notification

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _log(n: int, channel: str) -> list[dict[str, object]]:
    return [{"channel": channel, "message_id": str(i), "conversation_key": f"{channel}:{i}",
             "received_at": NOW, "replies": [], "state_version": 1, "draft_key": None,
             "state": None} for i in range(n)]


def _plans(engine: Engine) -> list[str]:
    """Record SQLite's query plan of every SELECT run while the list is attached."""
    plans: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def explain(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and not many:
            rows = conn.connection.driver_connection.execute(
                "EXPLAIN QUERY PLAN " + statement, params).fetchall()
            plans.extend(str(r[-1]) for r in rows)

    return plans


def test_duplicate_and_contact_lookups_search_an_index_not_the_whole_log(
        sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with transaction(engine) as s:
        steps.log_inbound(s, _log(200, "telegram") + _log(50, "web"))
    plans = _plans(engine)
    with transaction(engine) as s:
        found = steps.find_inbound(s, [("telegram", "7"), ("web", "7"), ("web", "999"),
                                       ("telegram", "199")])
        steps.contacts(s, [("telegram", "1"), ("web", "2")])
    assert set(found) == {("telegram", "7"), ("web", "7"), ("telegram", "199")}
    assert plans and not [p for p in plans if p.startswith("SCAN")], plans


def test_insert_ids_gives_each_row_its_id_in_the_order_given(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    keys = [f"k{i}" for i in (5, 3, 9, 1, 7, 2, 8)]
    rows = [{"idempotency_key": k, "recipient_id": None, "channel": "web", "address": k,
             "message_key": "notice.raw", "params": {"text": k}, "alert_id": None,
             "priority": 5, "next_attempt_at": NOW, "claimed_until": None,
             "tried_channels": [], "created_at": NOW} for k in keys]
    with transaction(engine) as s:
        ids = insert_ids(s, Notification.__table__, rows, ("idempotency_key",))
    t = Notification.__table__
    with engine.connect() as c:
        stored = dict(c.execute(select(t.c.id, t.c.idempotency_key)).all())
    assert [stored[i] for i in ids] == keys


def test_a_backlog_of_pending_pushes_is_not_read_whole_by_each_step_or_claim(
        sqlite_url: str) -> None:
    """Telegram down for an hour leaves thousands of pushes pending: the step's look for
    a chat's pending pushes and the dispatcher's "an earlier one to this chat is still
    pending" must go straight to that chat's rows, not through every pending push."""
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with transaction(engine) as s:
        outbox.add_many(s, [{"key": f"k{i}", "channel": "telegram", "address": str(i % 40),
                             "message": "notice.raw", "params": {"text": str(i)},
                             "priority": outbox.REPLY} for i in range(400)], now=NOW)
    plans = _plans(engine)
    with transaction(engine) as s:
        pending = steps.pending_to(s, "telegram", ["3", "4", "nobody"])
        claimed = outbox.claim_due(s, now=NOW, limit=50)
    assert sorted({a for a, _, _ in pending}) == ["3", "4"] and len(pending) == 20
    assert sorted(n.address or "" for n in claimed) == sorted(str(i) for i in range(40))
    chat_rows = [p for p in plans if "notification" in p.lower() and "address" in p]
    assert chat_rows and all("ix_notification_chat" in p for p in chat_rows), plans
