"""Conversation state stores: SQL (default) and Redis. Both serialise one user's messages,
across processes too, and keep the state of every step before its reply is sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.models import Conversation


class StateStore(Protocol):
    #: True when save() joins the caller's SQL transaction (so state and records commit
    #: together); False when state is written after the SQL commit (Redis).
    transactional: bool

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        """Hold the per-conversation lock, across processes, for one step."""
        yield

    def load(self, session: Session, key: str) -> tuple[dict[str, Any] | None, int]:
        """Return (state, version) of a conversation; (None, 0) when new."""
        ...

    def save(self, session: Session, key: str, state: dict[str, Any], version: int,
             now: datetime) -> None:
        """Store the state of a conversation at `version`."""
        ...


class _LocalLocks:
    """In-process locks per key, so threads wait here rather than on the database."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


class SqlStateStore:
    """State in the `conversation` table, saved in the same transaction as the records."""

    transactional = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = _LocalLocks()

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        # Across processes the lock is the row lock taken in load() (PostgreSQL) or the
        # database write lock taken at BEGIN IMMEDIATE (SQLite).
        with self._local.hold(key):
            yield

    def load(self, session: Session, key: str) -> tuple[dict[str, Any] | None, int]:
        dialect = session.get_bind().dialect.name
        values = {"key": key, "state": {}, "version": 0, "updated_at": None}
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(Conversation).values(**values)
        else:
            stmt = sqlite.insert(Conversation).values(**values)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        row = session.exec(
            select(Conversation).where(Conversation.key == key).with_for_update()
        ).one()
        return (row.state or None), row.version

    def save(self, session: Session, key: str, state: dict[str, Any], version: int,
             now: datetime) -> None:
        row = session.get(Conversation, key)
        if row is None:
            row = Conversation(key=key)
        row.state = state
        row.version = version
        row.updated_at = now
        session.add(row)


class RedisStateStore:
    """State in Redis (WORKROOM_REDIS_URL); a Redis lock with a lease serialises a user."""

    transactional = False

    def __init__(self, url: str, *, prefix: str = "workroom", lock_seconds: int = 30) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self.lock_seconds = lock_seconds
        self._local = _LocalLocks()

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{key}"

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        # The lease expires if this process dies holding it, so a crash never wedges a user.
        lock = self.redis.lock(self._key("lock", key), timeout=self.lock_seconds,
                               blocking_timeout=self.lock_seconds)
        with self._local.hold(key):
            if not lock.acquire():
                raise TimeoutError(f"conversation {key} is busy")
            try:
                yield
            finally:
                lock.release()

    def load(self, session: Session, key: str) -> tuple[dict[str, Any] | None, int]:
        raw = self.redis.get(self._key("state", key))
        if raw is None:
            return None, 0
        data = json.loads(raw)
        return data["state"], int(data["version"])

    def save(self, session: Session, key: str, state: dict[str, Any], version: int,
             now: datetime) -> None:
        payload = json.dumps({"state": state, "version": version, "at": now.isoformat()})
        self.redis.set(self._key("state", key), payload)

    def clear_all(self) -> None:
        """Drop every key of this prefix (tests)."""
        for k in self.redis.scan_iter(f"{self.prefix}:*"):
            self.redis.delete(k)
