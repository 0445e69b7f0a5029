"""Conversation state stores: SQL (default) and Redis. Both serialise one user's messages,
across processes too, and keep the state of every step before its reply is sent."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store import steps
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

    def guard_many(self, keys: Sequence[str]) -> AbstractContextManager[None]:
        """guard() for the conversations of a batch at once."""
        ...

    def load_many(self, session: Session,
                  keys: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, int]]:
        ...

    def save_many(self, session: Session, rows: Sequence[tuple[str, dict[str, Any], int]],
                  now: datetime) -> None:
        ...


class _LocalLocks:
    """In-process locks per key, so threads wait here rather than on the database."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # key -> (lock, users)
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self.hold_many([key]):
            yield

    @contextmanager
    def hold_many(self, keys: Sequence[str]) -> Iterator[None]:
        ordered = sorted(set(keys))  # one order for everyone: batches cannot deadlock
        with self._guard:
            locks = []
            for k in ordered:
                lock, users = self._locks.get(k) or (threading.Lock(), 0)
                self._locks[k] = (lock, users + 1)
                locks.append(lock)
        try:
            with ExitStack() as stack:
                for lock in locks:
                    stack.enter_context(lock)
                yield
        finally:
            with self._guard:  # forget a key nobody holds or waits for
                for k in ordered:
                    lock, users = self._locks[k]
                    if users == 1:
                        del self._locks[k]
                    else:
                        self._locks[k] = (lock, users - 1)


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

    def guard_many(self, keys: Sequence[str]) -> AbstractContextManager[None]:
        return self._local.hold_many(keys)

    def load_many(self, session: Session,
                  keys: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, int]]:
        return steps.lock_states(session, keys)

    def save_many(self, session: Session, rows: Sequence[tuple[str, dict[str, Any], int]],
                  now: datetime) -> None:
        steps.save_states(session, rows, now)

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
        # Delete a lease only if it is still ours (it may have expired and been taken).
        self._release = self.redis.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) end return 0")

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

    @contextmanager
    def guard_many(self, keys: Sequence[str]) -> Iterator[None]:
        """The leases of a batch's conversations in one round trip (SET NX each); a
        conversation another process holds is waited for, then the leases go back in one
        round trip too."""
        token = uuid.uuid4().hex.encode()
        names = [self._key("lock", k) for k in sorted(set(keys))]
        ttl = self.lock_seconds * 1000
        with self._local.hold_many(keys):
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.set(name, token, nx=True, px=ttl)
            taken = [name for name, ok in zip(names, pipe.execute(), strict=True) if ok]
            try:
                for name in names:
                    if name not in taken:
                        self._wait_for(name, token, ttl)
                        taken.append(name)
                yield
            finally:
                pipe = self.redis.pipeline(transaction=False)
                for name in taken:
                    self._release(keys=[name], args=[token], client=pipe)
                pipe.execute()

    def _wait_for(self, name: str, token: bytes, ttl: int) -> None:
        deadline = time.monotonic() + self.lock_seconds
        while not self.redis.set(name, token, nx=True, px=ttl):
            if time.monotonic() > deadline:
                raise TimeoutError(f"conversation {name} is busy")
            time.sleep(0.005)

    def load_many(self, session: Session,
                  keys: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, int]]:
        found = self.redis.mget([self._key("state", k) for k in keys])
        out: dict[str, tuple[dict[str, Any] | None, int]] = {}
        for k, raw in zip(keys, found, strict=True):
            data = json.loads(raw) if raw is not None else None
            out[k] = (data["state"], int(data["version"])) if data else (None, 0)
        return out

    def save_many(self, session: Session, rows: Sequence[tuple[str, dict[str, Any], int]],
                  now: datetime) -> None:
        if not rows:
            return
        pipe = self.redis.pipeline(transaction=False)
        for k, state, version in rows:
            pipe.set(self._key("state", k), json.dumps(
                {"state": state, "version": version, "at": now.isoformat()}))
        pipe.execute()

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
