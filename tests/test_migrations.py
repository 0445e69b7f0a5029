"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import store.models  # noqa: F401
from store.db import make_engine
from store.migrate import upgrade


def test_migrations_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # running it again is harmless
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []
