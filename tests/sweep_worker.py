"""A sweeper process for the concurrency test: its own engine, a clock at a fixed time, and
a probe handler that records each firing in the `fired` table (in the same transaction as
marking the timer done). `die_after` makes it exit hard in the middle of a claimed batch."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import text

from conversations.clock import FrozenClock
from scheduler.sweep import Sweeper
from store import timers
from store.db import make_engine, transaction

PROBE = "probe"


def fire_probe(db: object, clock: FrozenClock, die_after: int | None, count: list[int]):
    def fire(ref: str) -> None:
        if die_after is not None and count[0] >= die_after:
            os._exit(17)  # killed with a claimed batch half fired
        with transaction(db) as s:  # type: ignore[arg-type]
            if timers.take(s, kind=PROBE, ref=ref, now=clock.now()) is None:
                return
            s.exec(text("INSERT INTO fired (ref, pid) VALUES (:ref, :pid)"),  # type: ignore[call-overload]
                   params={"ref": ref, "pid": os.getpid()})
        count[0] += 1
    return fire


def run(url: str, at: str, die_after: int | None = None) -> None:
    """Sweep until nothing is claimable at `at`."""
    db = make_engine(url)
    clock = FrozenClock(datetime.fromisoformat(at))
    count = [0]
    sweeper = Sweeper(db, clock, {PROBE: fire_probe(db, clock, die_after, count)})
    sweeper.drain(limit=50)
    db.dispose()
