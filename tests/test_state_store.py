"""Contract suite of the conversation state store, run on SQL (SQLite, PostgreSQL) and Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from conversations.clock import FrozenClock
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.state import SqlStateStore, StateStore


@pytest.fixture(params=["sql", "redis"])
def store_and_engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[
        tuple[StateStore, object]]:
    upgrade(db_url)
    engine = make_engine(db_url)
    store: StateStore = (request.getfixturevalue("redis_store") if request.param == "redis"
                         else SqlStateStore(engine))
    yield store, engine
    engine.dispose()


def _save(store: StateStore, engine: object, key: str, state: dict[str, object], version: int,
          clock: FrozenClock) -> None:
    with store.guard(key), transaction(engine) as s:  # type: ignore[arg-type]
        store.load(s, key)
        store.save(s, key, state, version, clock.now())


def test_new_conversation_has_no_state(store_and_engine: tuple[StateStore, object]) -> None:
    store, engine = store_and_engine
    with store.guard("web:a"), transaction(engine) as s:  # type: ignore[arg-type]
        assert store.load(s, "web:a") == (None, 0)


def test_saved_state_is_loaded_back_with_its_version(
        store_and_engine: tuple[StateStore, object], clock: FrozenClock) -> None:
    store, engine = store_and_engine
    state = {"flow": "complaint", "step": "since", "answers": {"category": "wages",
                                                                "description": "拖欠工资两个月"}}
    _save(store, engine, "console:p:li_ming", state, 3, clock)
    with store.guard("console:p:li_ming"), transaction(engine) as s:  # type: ignore[arg-type]
        assert store.load(s, "console:p:li_ming") == (state, 3)


def test_states_of_two_users_are_apart(store_and_engine: tuple[StateStore, object],
                                       clock: FrozenClock) -> None:
    store, engine = store_and_engine
    _save(store, engine, "web:a", {"flow": "suggestion"}, 1, clock)
    _save(store, engine, "web:b", {"flow": "emergency"}, 7, clock)
    with transaction(engine) as s:  # type: ignore[arg-type]
        assert store.load(s, "web:a") == ({"flow": "suggestion"}, 1)
        assert store.load(s, "web:b") == ({"flow": "emergency"}, 7)


def test_overwrite_keeps_only_the_latest(store_and_engine: tuple[StateStore, object],
                                         clock: FrozenClock) -> None:
    store, engine = store_and_engine
    _save(store, engine, "web:a", {"step": "one"}, 1, clock)
    clock.advance(timedelta(seconds=5))
    _save(store, engine, "web:a", {"step": "two"}, 2, clock)
    with transaction(engine) as s:  # type: ignore[arg-type]
        assert store.load(s, "web:a") == ({"step": "two"}, 2)


def test_guard_serialises_one_user_across_threads(
        store_and_engine: tuple[StateStore, object]) -> None:
    """Two holders of one user's guard never overlap; other users are not held up."""
    store, _ = store_and_engine
    inside: list[str] = []
    overlaps: list[str] = []
    lock = threading.Lock()

    def hold(name: str, key: str) -> None:
        with store.guard(key):
            with lock:
                if any(k == key for k in inside):
                    overlaps.append(name)
                inside.append(key)
            time.sleep(0.05)
            with lock:
                inside.remove(key)

    threads = [threading.Thread(target=hold, args=(f"t{i}", "web:same")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
