"""Shared fixtures: a migrated database with the demo workroom, on SQLite and PostgreSQL,
state stores on SQL and Redis, and a clock tests move by hand."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.bootstrap import Services, build
from bot.settings import Settings
from conversations.clock import FrozenClock
from store import org
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.state import RedisStateStore, SqlStateStore, StateStore
from tests.transcript import Chat

PG_URL = os.environ.get("WORKROOM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WORKROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Monday 2026-11-23, 09:00 in Shanghai: a working day, the demo duty starts today.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def _pg_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database for one test; fail loudly if the server is down."""
    import psycopg

    name = f"wr_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:  # the suite must fail, not skip
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {err}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """Each test using this runs on the embedded SQLite file and on real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/workroom.db"
    else:
        yield from _pg_database()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/workroom.db"


def prepared_engine(url: str, now: datetime) -> Engine:
    """Migrate a database and load the demo workroom into it."""
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        org.load_org(s, org.parse_org(org.demo_org_path()), now=now)
    return engine


@pytest.fixture
def redis_store() -> Iterator[RedisStateStore]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as err:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {err}")
    store = RedisStateStore(REDIS_URL, prefix=f"wrtest:{uuid.uuid4().hex[:8]}")
    yield store
    store.clear_all()


def test_settings(url: str, **overrides: Any) -> Settings:
    return Settings(env="test", database_url=url, secret_key="test-secret",
                    scheduler_enabled=False, _env_file=None, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def make_services(url: str, clock: FrozenClock, states: StateStore | None = None,
                  engine: Engine | None = None, **overrides: object) -> Services:
    engine = engine or prepared_engine(url, clock.now())
    return build(test_settings(url, **overrides), clock=clock, db=engine,
                 states=states or SqlStateStore(engine))


@pytest.fixture
def services(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    """The embedded default: SQLite file, SQL state store, demo workroom loaded."""
    svc = make_services(sqlite_url, clock)
    yield svc
    svc.close()


@pytest.fixture(params=["sql", "redis"])
def any_services(request: pytest.FixtureRequest, db_url: str, clock: FrozenClock
                 ) -> Iterator[Services]:
    """Every backend pair a deployment may use: {SQLite, PostgreSQL} x {SQL, Redis} state."""
    engine = prepared_engine(db_url, clock.now())
    states: StateStore
    if request.param == "redis":
        states = request.getfixturevalue("redis_store")
    else:
        states = SqlStateStore(engine)
    svc = make_services(db_url, clock, states=states, engine=engine)
    yield svc
    engine.dispose()


@pytest.fixture
def published_roster(request: pytest.FixtureRequest) -> None:
    """The demo roster published before the test began, for tests that book receptions
    (only published ones are offered): `pytestmark = pytest.mark.usefixtures(...)`."""
    if "services" in request.fixturenames:
        from tests.calendar_helpers import publish_roster

        publish_roster(request.getfixturevalue("services"))


@pytest.fixture
def chat(services: Services) -> Chat:
    """An employee of the demo workroom chatting on the console."""
    return Chat(services, person="li_ming")


@pytest.fixture
def db_services(db_url: str, clock: FrozenClock) -> Iterator[Services]:
    """The demo workroom on SQLite and on PostgreSQL, SQL state store."""
    svc = make_services(db_url, clock)
    yield svc
    svc.close()
