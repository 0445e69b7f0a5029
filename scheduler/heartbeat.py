"""The scheduler's heartbeat: each scheduler process writes when it last ticked, and
`workroom doctor` reads it to say whether the timers and the outbox are being swept."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from conversations.clock import Clock
from store.db import transaction
from store.models import Heartbeat, Notification, Timer


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(db: Engine, clock: Clock, name: str | None = None) -> None:
    """Record that this scheduler process is alive now."""
    now = clock.now()
    with transaction(db) as s:
        row = s.get(Heartbeat, name or process_name())
        if row is None:
            row = Heartbeat(name=name or process_name(), beat_at=now, started_at=now)
        row.beat_at = now
        s.add(row)


@dataclass
class Health:
    alive: bool
    last_beat: datetime | None
    late_timers: int  # due longer ago than the allowed age and not fired
    oldest_timer: datetime | None
    late_pushes: int  # pending notifications due longer ago than the allowed age
    oldest_push: datetime | None

    def lines(self, now: datetime) -> list[str]:
        """What `workroom doctor` prints."""
        def ago(at: datetime | None) -> str:
            return "never" if at is None else f"{int((now - at).total_seconds())} s ago"
        state = "alive" if self.alive else "NOT ALIVE"
        return [f"scheduler: {state} (last heartbeat {ago(self.last_beat)})",
                f"timers overdue: {self.late_timers} (oldest due {ago(self.oldest_timer)})",
                f"pushes waiting: {self.late_pushes} (oldest due {ago(self.oldest_push)})"]


def health(db: Engine, clock: Clock, *, max_age: timedelta) -> Health:
    """Whether a scheduler ticked within `max_age`, and what is waiting longer than that."""
    now = clock.now()
    cutoff = now - max_age
    with Session(db) as s:
        raw_last = s.exec(select(func.max(Heartbeat.beat_at))).one()
        t_count, t_oldest = s.exec(select(func.count(), func.min(Timer.due_at)).where(
            col(Timer.done_at).is_(None), col(Timer.due_at) < cutoff)).one()
        n_count, n_oldest = s.exec(select(func.count(), func.min(Notification.next_attempt_at))
                                   .where(Notification.status == "pending",
                                          col(Notification.next_attempt_at) < cutoff)).one()
    last = _aware(raw_last)
    return Health(alive=last is not None and last >= cutoff, last_beat=last,
                  late_timers=t_count, oldest_timer=_aware(t_oldest),
                  late_pushes=n_count, oldest_push=_aware(n_oldest))


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates bypass the column type: SQLite gives naive UTC (or text) back."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
