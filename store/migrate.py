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
