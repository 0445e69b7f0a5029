"""Timers: rows with a due time that the scheduler sweeps (DESIGN rule 5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from store.models import Timer


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
              lease: timedelta = timedelta(seconds=120)) -> list[Timer]:
    """Claim due timers; several sweepers may run, each row goes to one of them."""
    stmt = (
        select(Timer)
        .where(col(Timer.done_at).is_(None), col(Timer.due_at) <= now)
        .where(or_(col(Timer.claimed_until).is_(None), col(Timer.claimed_until) < now))
        .order_by(col(Timer.due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(stmt).all())
    for row in rows:
        row.claimed_until = now + lease
        row.attempts += 1
        session.add(row)
    return rows


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
