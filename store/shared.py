"""Short-lived values every process agrees on: Redis when configured, else the database.

Used by the WeChat channels for the callback nonces already seen (a replayed request is
refused by any process; a nonce is given back when its step failed) and for the
platform's access token with a lease on refreshing it (a process that fetched a new
token would otherwise invalidate the others').
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from conversations.clock import Clock
from store.db import transaction
from store.models import SharedValue

_T: Any = SharedValue.__table__  # type: ignore[attr-defined]
PURGE_EVERY = 200  # writes between two purges of expired rows


class SharedStore(Protocol):
    """`session`: the caller's open transaction, to work in (the outbox dispatcher sends
    inside one; on SQLite a second writer would wait for it forever)."""

    def add_once(self, key: str, value: str, ttl: timedelta, *,
                 session: Session | None = None) -> bool:
        """Store `key` unless it is there and not expired; True if it was stored now."""
        ...

    def add_new(self, keys: list[str], ttl: timedelta) -> set[str]:
        """add_once for many keys at once; the keys that were stored now."""
        ...

    def get(self, key: str, *, session: Session | None = None) -> str | None:
        """The value of `key`, None if absent or expired."""
        ...

    def get_many(self, keys: list[str]) -> dict[str, str]:
        """The values of those of `keys` that are there and not expired, in one read."""
        ...

    def put(self, key: str, value: str, ttl: timedelta, *,
            session: Session | None = None) -> None:
        ...

    def delete(self, key: str, *, session: Session | None = None) -> None:
        ...

    def delete_many(self, keys: list[str]) -> None:
        """Delete keys at once: callback nonces given back when their step failed, so
        that WeChat's retry of the request is not refused as a replay."""
        ...


class SqlShared:
    """The `sharedvalue` table: one statement per operation, atomic on both databases."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        self._writes = 0

    @contextmanager
    def _conn(self, session: Session | None) -> Iterator[Connection]:
        if session is not None:
            yield session.connection()
            return
        with transaction(self.engine) as s:
            yield s.connection()

    def _insert(self) -> Any:
        return (postgresql.insert(_T) if self.engine.dialect.name == "postgresql"
                else sqlite.insert(_T))

    def add_once(self, key: str, value: str, ttl: timedelta, *,
                 session: Session | None = None) -> bool:
        now = self.clock.now()
        ins = self._insert().values(key=key, value=value, expires_at=now + ttl)
        # Taken over only when the old one has expired: concurrent callers, one winner.
        stmt = ins.on_conflict_do_update(
            index_elements=["key"], set_={"value": ins.excluded.value,
                                          "expires_at": ins.excluded.expires_at},
            where=_T.c.expires_at <= now).returning(_T.c.key)
        with self._conn(session) as conn:
            won = conn.execute(stmt).first() is not None
            self._maybe_purge(conn, now)
        return won

    def add_new(self, keys: list[str], ttl: timedelta) -> set[str]:
        keys = list(dict.fromkeys(keys))  # one row may not be touched twice in a statement
        if not keys:
            return set()
        now = self.clock.now()
        ins = self._insert().values([{"key": k, "value": "1", "expires_at": now + ttl}
                                     for k in keys])
        stmt = ins.on_conflict_do_update(
            index_elements=["key"], set_={"value": ins.excluded.value,
                                          "expires_at": ins.excluded.expires_at},
            where=_T.c.expires_at <= now).returning(_T.c.key)
        with self._conn(None) as conn:
            won = {r.key for r in conn.execute(stmt)}
            self._maybe_purge(conn, now)
        return won

    def get(self, key: str, *, session: Session | None = None) -> str | None:
        stmt = select(_T.c.value, _T.c.expires_at).where(_T.c.key == key)
        if session is not None:
            row = session.connection().execute(stmt).first()
        else:
            with self.engine.connect() as conn:
                row = conn.execute(stmt).first()
        if row is None or row.expires_at <= self.clock.now():
            return None
        return str(row.value)

    def get_many(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        stmt = select(_T.c.key, _T.c.value, _T.c.expires_at).where(
            _T.c.key.in_(list(dict.fromkeys(keys))))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        now = self.clock.now()
        return {r.key: str(r.value) for r in rows if r.expires_at > now}

    def put(self, key: str, value: str, ttl: timedelta, *,
            session: Session | None = None) -> None:
        now = self.clock.now()
        ins = self._insert().values(key=key, value=value, expires_at=now + ttl)
        stmt = ins.on_conflict_do_update(index_elements=["key"], set_={
            "value": ins.excluded.value, "expires_at": ins.excluded.expires_at})
        with self._conn(session) as conn:
            conn.execute(stmt)

    def delete(self, key: str, *, session: Session | None = None) -> None:
        with self._conn(session) as conn:
            conn.execute(delete(_T).where(_T.c.key == key))

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            with self._conn(None) as conn:
                conn.execute(delete(_T).where(_T.c.key.in_(list(dict.fromkeys(keys)))))

    def _maybe_purge(self, conn: Connection, now: datetime) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            conn.execute(delete(_T).where(_T.c.expires_at <= now))


class RedisShared:
    """Keys with a time to live in Redis (SET NX PX)."""

    def __init__(self, url: str, prefix: str = "workroom:shared:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def add_once(self, key: str, value: str, ttl: timedelta, *,
                 session: Session | None = None) -> bool:
        return bool(self.redis.set(self.prefix + key, value, nx=True, px=_ms(ttl)))

    def add_new(self, keys: list[str], ttl: timedelta) -> set[str]:
        keys = list(dict.fromkeys(keys))
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.set(self.prefix + k, "1", nx=True, px=_ms(ttl))
        return {k for k, ok in zip(keys, pipe.execute(), strict=True) if ok}

    def get(self, key: str, *, session: Session | None = None) -> str | None:
        raw = self.redis.get(self.prefix + key)
        return raw.decode() if isinstance(raw, bytes) else None

    def get_many(self, keys: list[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(keys))
        raws = self.redis.mget([self.prefix + k for k in keys]) if keys else []
        return {k: raw.decode() for k, raw in zip(keys, raws, strict=True)
                if isinstance(raw, bytes)}

    def put(self, key: str, value: str, ttl: timedelta, *,
            session: Session | None = None) -> None:
        self.redis.set(self.prefix + key, value, px=_ms(ttl))

    def delete(self, key: str, *, session: Session | None = None) -> None:
        self.redis.delete(self.prefix + key)

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            self.redis.delete(*(self.prefix + k for k in keys))

    def clear_all(self) -> None:
        for key in self.redis.scan_iter(match=self.prefix + "*"):
            self.redis.delete(key)


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))
