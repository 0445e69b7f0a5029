"""Column types shared by the tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; give them back aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use the injected clock")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, one step to SQLAlchemy's text form of a DATETIME
        ("2026-01-05 09:00:00.000000"); the generic chain (this class, then the
        dialect's own formatting) cost three times as much on the step path."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # The last value and its text: a batch of steps writes one `now` into a dozen
        # columns per step (received, created, due, last used…), so most binds are the
        # instant just written (a pair, replaced whole: safe across threads).
        last: tuple[datetime | None, str | None] = (None, None)

        def process(value: datetime | None) -> str | None:
            nonlocal last
            if value is None:
                return None
            was, text = last
            if value == was:  # the same instant: the same text
                return text
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: use the injected clock")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last = (value, text)
            return text

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CurrentXact(FunctionElement[int]):
    """The id of the transaction writing a row, as a column default: on PostgreSQL its
    64-bit id (pg_current_xact_id), which a later snapshot tells apart as committed
    before it or not; NULL on SQLite, where one writer at a time commits in id order."""

    type = BigInteger()
    inherit_cache = True
    name = "current_xact"


@compiles(CurrentXact)
def _current_xact_none(element: CurrentXact, compiler: Any, **kw: Any) -> str:
    return "NULL"


@compiles(CurrentXact, "postgresql")
def _current_xact_pg(element: CurrentXact, compiler: Any, **kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


def unseen(snapshot: str, xacts: Iterable[tuple[int, int | None]]) -> list[int]:
    """Of (row id, writing transaction) pairs, the rows a PostgreSQL snapshot
    (pg_current_snapshot()::text, "xmin:xmax:xip,…") did not see: written by a
    transaction still open then, or begun after it."""
    lo, hi, open_ = snapshot.split(":")
    xmin, xmax = int(lo), int(hi)
    running = {int(x) for x in open_.split(",") if x}
    return [rid for rid, x in xacts
            if x is not None and x >= xmin and (x >= xmax or x in running)]
