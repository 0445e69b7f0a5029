"""Run the Alembic migrations from code (`workroom db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_DIR = Path(__file__).parent / "migrations"


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`."""
    command.upgrade(config(url), revision)


def revision(url: str, message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    command.revision(config(url), message=message, autogenerate=True)


def is_current(url: str) -> bool:
    """True when the database at `url` is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from store.db import make_engine

    heads = set(ScriptDirectory.from_config(config(url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    finally:
        engine.dispose()
