"""Human-readable record numbers: S-2026-0001, C-2026-0001, V-…, E-…"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store import fast
from store.models import Sequence

_T: Table = Sequence.__table__  # type: ignore[attr-defined]


# Built once: the statement is the same for every number taken.
_BUMP: Any = (update(_T).where(_T.c.name == bindparam("series"))
              .values(value=_T.c.value + 1).returning(_T.c.value))


def _bump(session: Session, name: str) -> int | None:
    rows = fast.execute(session, "next_number", lambda: _BUMP, {"series": name})
    return int(rows[0][0]) if rows else None


def next_number(session: Session, prefix: str, year: int) -> str:
    """Take the next number of a yearly series; the row lock serialises writers."""
    name = f"{prefix}-{year}"
    value = _bump(session, name)
    if value is None:
        try:
            with session.begin_nested():
                session.execute(_T.insert().values(name=name, value=1))
            value = 1
        except IntegrityError:  # a concurrent writer created the series first
            again = _bump(session, name)
            assert again is not None
            value = again
    return f"{name}-{value:04d}"
