"""Short-lived values every process agrees on: Redis when configured, else the database.

Used by the WeChat channels for the callback nonces already seen (a replayed request is
refused by any process) and for the platform's access token with a lease on refreshing it
(a process that fetched a new token would otherwise invalidate the others').
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from conversations.clock import Clock
from store.db import transaction
from store.models import SharedValue

_T: Any = SharedValue.__table__  # type: ignore[attr-defined]
PURGE_EVERY = 200  # writes between two purges of expired rows


class SharedStore(Protocol):
    def add_once(self, key: str, value: str, ttl: timedelta) -> bool:
        """Store `key` unless it is there and not expired; True if it was stored now."""
        ...

    def get(self, key: str) -> str | None:
        """The value of `key`, None if absent or expired."""
        ...

    def put(self, key: str, value: str, ttl: timedelta) -> None:
        ...

    def delete(self, key: str) -> None:
        ...


class SqlShared:
    """The `sharedvalue` table: one statement per operation, atomic on both databases."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        self._writes = 0

    def _insert(self) -> Any:
        return (postgresql.insert(_T) if self.engine.dialect.name == "postgresql"
                else sqlite.insert(_T))

    def add_once(self, key: str, value: str, ttl: timedelta) -> bool:
        now = self.clock.now()
        ins = self._insert().values(key=key, value=value, expires_at=now + ttl)
        # Taken over only when the old one has expired: concurrent callers, one winner.
        stmt = ins.on_conflict_do_update(
            index_elements=["key"], set_={"value": ins.excluded.value,
                                          "expires_at": ins.excluded.expires_at},
            where=_T.c.expires_at <= now).returning(_T.c.key)
        with transaction(self.engine) as s:
            won = s.connection().execute(stmt).first() is not None
            self._maybe_purge(s, now)
        return won

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_T.c.value, _T.c.expires_at)
                               .where(_T.c.key == key)).first()
        if row is None or row.expires_at <= self.clock.now():
            return None
        return str(row.value)

    def put(self, key: str, value: str, ttl: timedelta) -> None:
        now = self.clock.now()
        ins = self._insert().values(key=key, value=value, expires_at=now + ttl)
        stmt = ins.on_conflict_do_update(index_elements=["key"], set_={
            "value": ins.excluded.value, "expires_at": ins.excluded.expires_at})
        with transaction(self.engine) as s:
            s.connection().execute(stmt)

    def delete(self, key: str) -> None:
        with transaction(self.engine) as s:
            s.connection().execute(delete(_T).where(_T.c.key == key))

    def _maybe_purge(self, s: Any, now: Any) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            s.connection().execute(delete(_T).where(_T.c.expires_at <= now))


class RedisShared:
    """Keys with a time to live in Redis (SET NX PX)."""

    def __init__(self, url: str, prefix: str = "workroom:shared:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def add_once(self, key: str, value: str, ttl: timedelta) -> bool:
        return bool(self.redis.set(self.prefix + key, value, nx=True, px=_ms(ttl)))

    def get(self, key: str) -> str | None:
        raw = self.redis.get(self.prefix + key)
        return raw.decode() if isinstance(raw, bytes) else None

    def put(self, key: str, value: str, ttl: timedelta) -> None:
        self.redis.set(self.prefix + key, value, px=_ms(ttl))

    def delete(self, key: str) -> None:
        self.redis.delete(self.prefix + key)

    def clear_all(self) -> None:
        for key in self.redis.scan_iter(match=self.prefix + "*"):
            self.redis.delete(key)


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))
