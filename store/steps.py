"""Set-based SQL of the step path: one statement per kind of row for a whole batch of steps.

A batch holds at most one message per conversation. Its lookups are one SELECT each
(inbound ids, contacts, states) and its writes one executemany each (inbound log, states,
replies in the outbox), so a step costs a share of a commit rather than a commit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from store import fast
from store.db import insert_ids
from store.models import Contact, Conversation, InboundMessage, Notification, Person, Timer
from store.outbox import backoff, reach_order

# A contact's last_used_at (which channel reaches a person first) is refreshed at most
# this often: a six-answer form writes it once, not six times.
TOUCH_EVERY = timedelta(minutes=1)


Pair = tuple[str, str]
AnyRow = Any  # a Core result row, read by attribute
States = dict[str, tuple[dict[str, Any] | None, int]]


def _by_channel(pairs: Sequence[Pair]) -> dict[str, list[str]]:
    """(channel, x) pairs grouped by channel: WHERE channel = ? AND x IN (...) uses the
    index on (channel, x), where a row-value IN is a full scan on SQLite."""
    groups: dict[str, list[str]] = {}
    for channel, value in pairs:
        groups.setdefault(channel, []).append(value)
    return groups


def find_inbound(session: Session, pairs: Sequence[Pair]) -> dict[Pair, AnyRow]:
    """(channel, message id) -> the inbound log row of messages already processed."""
    t = InboundMessage.__table__  # type: ignore[attr-defined]
    found: list[Any] = []
    for channel, ids in _by_channel(pairs).items():
        # Which of them were seen: an index-only probe; the rows (rare) read in full.
        seen = fast.where_in(session, "inbound_seen", lambda b: select(t.c.id).where(
            t.c.channel == bindparam("ch"), t.c.message_id.in_(b)), ids, {"ch": channel})
        if seen:
            found += session.connection().execute(
                t.select().where(t.c.id.in_([r[0] for r in seen]))).all()
    return {(r.channel, r.message_id): r for r in found}


@dataclass(frozen=True)
class Found:
    """A known chat address."""

    id: int
    person_id: int
    last_used_at: datetime | None


def contacts(session: Session, pairs: Sequence[Pair]) -> dict[Pair, Found]:
    """(channel, address) -> (id, person_id, last_used_at) of known chat addresses."""
    t = Contact.__table__  # type: ignore[attr-defined]
    out: dict[Pair, Found] = {}
    for channel, addresses in _by_channel(pairs).items():
        rows = fast.where_in(session, "contacts", lambda b: select(
            t.c.id, t.c.person_id, t.c.last_used_at, t.c.address).where(
            t.c.channel == bindparam("ch"), t.c.address.in_(b)), addresses, {"ch": channel})
        for cid, pid, used, address in rows:
            out[(channel, address)] = Found(cid, pid, _when(used))
    return out


def _when(raw: Any) -> datetime | None:
    """A UTC datetime column as the driver gave it (SQLite: text), aware."""
    if raw is None:
        return None
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Known:
    """A contact added by add_people, read like a row of contacts()."""

    person_id: int


def add_people(session: Session, people: Sequence[dict[str, Any]],
               contacts: Sequence[dict[str, Any]]) -> list[int]:
    """Add people and one contact each (in the same order); return the people's ids."""
    conn = session.connection()
    pt, ct = Person.__table__, Contact.__table__  # type: ignore[attr-defined]
    ids = insert_ids(session, pt, people, ("key",))
    conn.execute(insert(ct), [{**c, "person_id": pid}
                              for c, pid in zip(contacts, ids, strict=True)])
    return ids


def contacts_of(session: Session, people: Collection[int]
                ) -> dict[int, tuple[str | None, list[Pair]]]:
    """person id -> (their language, (channel, address) of their contacts in the order
    the dispatcher tries them for a push: outbox.reach_order)."""
    if not people:
        return {}
    t = Contact.__table__  # type: ignore[attr-defined]
    p = Person.__table__  # type: ignore[attr-defined]
    rows = fast.where_in(session, "contacts_of", lambda b: select(
        t.c.person_id, t.c.channel, t.c.address, p.c.lang).join_from(
        t, p, p.c.id == t.c.person_id).where(t.c.person_id.in_(b)).order_by(
        t.c.person_id, *reach_order(t.c)), list(people))
    out: dict[int, tuple[str | None, list[Pair]]] = {}
    for pid, channel, address, lang in rows:
        out.setdefault(pid, (lang, []))[1].append((channel, address))
    return out


def touch_contacts(session: Session, found: Iterable[AnyRow], now: datetime) -> None:
    """Refresh last_used_at of the contacts not touched within TOUCH_EVERY."""
    stale = [{"cid": r.id, "at": now} for r in found
             if r.last_used_at is None or now - r.last_used_at >= TOUCH_EVERY]
    t = Contact.__table__  # type: ignore[attr-defined]
    fast.execute_many(session, "touch_contacts", lambda: update(t).where(
        t.c.id == bindparam("cid")).values(last_used_at=bindparam(
            "at", type_=t.c.last_used_at.type)), stale)


def lock_states(session: Session, keys: Sequence[str]) -> States:
    """Load the conversations of `keys`, creating empty rows, locked until commit (the
    per-user lock across processes on PostgreSQL; SQLite's write lock covers it)."""
    t = Conversation.__table__  # type: ignore[attr-defined]
    postgres = session.connection().dialect.name == "postgresql"
    ordered = sorted(keys)  # locked in one order by every process: no deadlock
    if postgres:  # a row to lock, even for a conversation's first message
        fast.execute_many(session, "conversation_rows", lambda: postgresql.insert(t)
                          .on_conflict_do_nothing(index_elements=["key"]),
                          [{"key": k, "state": {}, "version": 0, "updated_at": None}
                           for k in ordered])

    def build(b: list[Any]) -> Any:
        stmt = select(t.c.key, t.c.state, t.c.version).where(t.c.key.in_(b))
        return stmt.order_by(t.c.key).with_for_update() if postgres else stmt

    found = {key: (_json(state) or None, version)
             for key, state, version in fast.where_in(session, "lock_states", build, ordered)}
    return {k: found.get(k, (None, 0)) for k in keys}


def _json(raw: Any) -> Any:
    """A JSON column as the driver gave it (SQLite: text; psycopg: decoded)."""
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


def save_states(session: Session, rows: Sequence[tuple[str, dict[str, Any], int]],
                now: datetime) -> None:
    if not rows:
        return
    t = Conversation.__table__  # type: ignore[attr-defined]
    dialect = session.connection().dialect.name

    def build() -> Any:
        ins: Any = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
        return ins.on_conflict_do_update(index_elements=["key"], set_={
            "state": ins.excluded.state, "version": ins.excluded.version,
            "updated_at": ins.excluded.updated_at})

    fast.execute_many(session, "save_states", build,
                      [{"key": k, "state": s, "version": v, "updated_at": now}
                       for k, s, v in rows])


def log_inbound(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    t = InboundMessage.__table__  # type: ignore[attr-defined]
    fast.execute_many(session, "log_inbound", lambda: insert(t), rows)


def schedule_timers(session: Session, kind: str, due: Sequence[tuple[str, datetime]]) -> None:
    """Set the timers of `kind` for these refs (a draft's inactivity timeout)."""
    set_timers(session, [(kind, ref, at) for ref, at in due])


def set_timers(session: Session, due: Sequence[tuple[str, str, datetime]]) -> None:
    """Set (or move) timers (kind, ref, due time) in one statement: timers.schedule for
    many at once."""
    if not due:
        return
    dialect = session.connection().dialect.name
    fast.execute_many(session, "set_timers", lambda: _timer_upsert(dialect),
                      [{"kind": kind, "ref": ref, "due_at": at, "attempts": 0}
                       for kind, ref, at in due])


@functools.cache
def _timer_upsert(dialect: str) -> Any:
    """The upsert of set_timers, built once per dialect (building `excluded` each time
    cost more than running the statement)."""
    t = Timer.__table__  # type: ignore[attr-defined]
    ins: Any = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
    return ins.on_conflict_do_update(
        index_elements=["kind", "ref"],
        set_={"due_at": ins.excluded.due_at, "done_at": None, "claimed_until": None})


def drop_timers(session: Session, kind: str, refs: Sequence[str]) -> None:
    """Delete the timers of `kind` for `refs` (a prepared statement: the step path drops
    the draft timers of every form finished or cancelled in a batch)."""
    t = Timer.__table__  # type: ignore[attr-defined]
    fast.where_in(session, "drop_timers", lambda b: delete(t).where(
        t.c.kind == bindparam("kind"), col(t.c.ref).in_(b)), list(refs), {"kind": kind})


def enqueue_many(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert outbox rows (replies); return their ids in the order given."""
    if not rows:
        return []
    return insert_ids(session, Notification.__table__,  # type: ignore[attr-defined]
                      rows, ("idempotency_key",))


def pending_to(session: Session, channel: str, addresses: Sequence[str]
               ) -> list[tuple[str, int, str]]:
    """(address, id, idempotency key) of outbox rows still pending to these chat
    addresses."""
    if not addresses:
        return []
    t = Notification.__table__  # type: ignore[attr-defined]
    rows = fast.where_in(session, "pending_to", lambda b: select(
        t.c.address, t.c.id, t.c.idempotency_key).where(
        t.c.status == "pending", t.c.channel == bindparam("ch"), t.c.address.in_(b)),
        addresses, {"ch": channel})
    return [(a, nid, key) for a, nid, key in rows]


def replace_waiting(session: Session, channel: str, address: str, prefix: str,
                    now: datetime) -> None:
    """Cancel the pushes to this chat address that wait for their time (keys starting with
    `prefix`), unless a sender holds one already: a push written after them says it all."""
    t = Notification.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    ids = [nid for nid, key in conn.execute(select(t.c.id, t.c.idempotency_key).where(
        t.c.status == "pending", t.c.channel == channel, t.c.address == address))
        if key.startswith(prefix)]
    if ids:
        conn.execute(update(t).where(
            t.c.id.in_(ids), t.c.status == "pending",
            or_(t.c.claimed_until.is_(None), t.c.claimed_until <= now)).values(
            status="cancelled", last_error="replaced by a later answer"))


def take_waiting(session: Session, ids: Sequence[int], now: datetime, until: datetime
                 ) -> list[AnyRow]:
    """Claim these pushes that wait for their time (an album's answer) for delivery now,
    unless a sender holds them already; the rows claimed (id, channel, address,
    message_key, params, priority)."""
    if not ids:
        return []
    t = Notification.__table__  # type: ignore[attr-defined]
    return list(session.connection().execute(update(t).where(
        t.c.id.in_(list(ids)), t.c.status == "pending",
        or_(t.c.claimed_until.is_(None), t.c.claimed_until <= now)).values(
        next_attempt_at=now, claimed_until=until).returning(
        t.c.id, t.c.channel, t.c.address, t.c.message_key, t.c.params, t.c.priority)))


def claim(session: Session, ids: Sequence[int], until: datetime) -> None:
    """Claim rows written in this transaction for delivery right after its commit."""
    t = Notification.__table__  # type: ignore[attr-defined]
    fast.where_in(session, "claim", lambda b: update(t).where(t.c.id.in_(b)).values(
        claimed_until=bindparam("until", type_=t.c.claimed_until.type)), ids, {"until": until})


@dataclass(frozen=True)
class Settled:
    """What became of a push delivered right after its step committed."""

    notification_id: int
    channel: str
    address: str
    ref: str | None = None  # the platform's id of the (last) message: set when sent
    error: str | None = None  # not sent: why; the dispatcher takes the row over
    retry_after: float | None = None  # the platform said when to try again (a 429)
    fallback: bool = False  # this channel cannot take it: try the person's next one
    keep_ref: bool = False  # an alert: where it went is kept, to edit it when acknowledged


def settle(session: Session, done: Sequence[Settled], now: datetime) -> None:
    """Record sent pushes (one statement per channel; alerts with where they went, to be
    edited later); hand failed ones back to the dispatcher."""
    t = Notification.__table__  # type: ignore[attr-defined]
    plain: dict[str, list[int]] = {}  # channel -> ids: one UPDATE for all of them
    for d in done:
        if d.error is None and not d.keep_ref:
            plain.setdefault(d.channel, []).append(d.notification_id)
    for channel, ids in plain.items():
        fast.where_in(session, "settle", lambda b: update(t).where(
            t.c.id.in_(b), t.c.status == "pending").values(
            status="sent", sent_at=bindparam("at", type_=t.c.sent_at.type),
            delivered_channel=bindparam("ch"), claimed_until=None), ids,
            {"at": now, "ch": channel})
    sent = [{"nid": d.notification_id, "ch": d.channel, "addr": d.address, "ref": d.ref,
             "at": now} for d in done if d.error is None and d.keep_ref]
    fast.execute_many(session, "settle_kept", lambda: update(t).where(
        t.c.id == bindparam("nid"), t.c.status == "pending").values(
        status="sent", sent_at=bindparam("at", type_=t.c.sent_at.type),
        delivered_channel=bindparam("ch"), delivered_address=bindparam("addr"),
        delivered_ref=bindparam("ref"), claimed_until=None), sent)
    for d in done:
        if d.error is None:
            continue
        row = session.get(Notification, d.notification_id)
        if row is None or row.status != "pending":
            continue
        row.claimed_until, row.last_error = None, d.error[:500]
        if d.retry_after is not None:  # the platform's pace, not a failure
            row.next_attempt_at = now + timedelta(seconds=d.retry_after)
        else:
            row.attempts += 1
            row.next_attempt_at = now if d.fallback else now + backoff(row.attempts)
            if d.fallback and row.recipient_id is not None:
                row.tried_channels = [*row.tried_channels, d.channel]
        session.add(row)
