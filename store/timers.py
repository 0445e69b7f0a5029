"""Timers: rows with a due time that the scheduler sweeps (DESIGN rule 5)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from store.models import Timer

# How long a claim keeps other sweepers off a timer; a handler that may run longer (a
# file's download) must be claimed alone, right before it runs (scheduler/sweep.py).
LEASE = timedelta(seconds=120)


def schedule(session: Session, *, kind: str, ref: str, due_at: datetime) -> Timer:
    """Set (or move) the one timer of this kind for this subject."""
    row = session.exec(select(Timer).where(Timer.kind == kind, Timer.ref == ref)).first()
    if row is None:
        row = Timer(kind=kind, ref=ref, due_at=due_at)
    row.due_at, row.done_at, row.claimed_until = due_at, None, None
    session.add(row)
    return row


def cancel(session: Session, *, kind: str, ref: str, now: datetime) -> None:
    """Mark the timer done so no sweep fires it."""
    row = session.exec(select(Timer).where(Timer.kind == kind, Timer.ref == ref)).first()
    if row is not None and row.done_at is None:
        row.done_at = now
        session.add(row)


def claim_due(session: Session, *, now: datetime, limit: int = 50,
              lease: timedelta = LEASE, kinds: Collection[str] | None = None,
              exclude: Collection[str] = ()) -> list[Timer]:
    """Claim due timers (only of `kinds` when given, none of `exclude`); several sweepers
    may run, each row goes to one of them."""
    stmt = (
        select(Timer)
        .where(col(Timer.done_at).is_(None), col(Timer.due_at) <= now)
        .where(or_(col(Timer.claimed_until).is_(None), col(Timer.claimed_until) < now))
    )
    if kinds is not None:
        stmt = stmt.where(col(Timer.kind).in_(list(kinds)))
    if exclude:
        stmt = stmt.where(col(Timer.kind).not_in(list(exclude)))
    stmt = stmt.order_by(col(Timer.due_at)).limit(limit).with_for_update(skip_locked=True)
    rows = list(session.exec(stmt).all())
    for row in rows:
        row.claimed_until = now + lease
        row.attempts += 1
        session.add(row)
    return rows


def claim(session: Session, *, kind: str, ref: str, now: datetime,
          lease: timedelta = LEASE) -> bool:
    """Claim one pending timer, due or not, as a sweeper would (work done ahead of its
    timer keeps sweepers off it meanwhile); False when another holds it or it is done."""
    t = Timer.__table__  # type: ignore[attr-defined]
    done = session.connection().execute(update(t).where(
        t.c.kind == kind, t.c.ref == ref, col(t.c.done_at).is_(None),
        or_(col(t.c.claimed_until).is_(None), col(t.c.claimed_until) < now),
    ).values(claimed_until=now + lease, attempts=t.c.attempts + 1))
    return done.rowcount == 1


def take(session: Session, *, kind: str, ref: str, now: datetime) -> Timer | None:
    """Lock a claimed timer and mark it done, in the transaction of what it causes.

    None when it is gone or already done: another sweeper fired it after this one's lease
    ran out, or its subject was closed. This is what makes a timer fire once.
    """
    row = session.exec(select(Timer).where(Timer.kind == kind, Timer.ref == ref)
                       .with_for_update()).first()
    if row is None or row.done_at is not None:
        return None
    row.done_at = now
    session.add(row)
    return row


def drop(session: Session, *, kind: str, ref: str) -> None:
    """Delete the timer: a draft's timer would otherwise record when its form was sent."""
    row = session.exec(select(Timer).where(Timer.kind == kind, Timer.ref == ref)).first()
    if row is not None:
        session.delete(row)
