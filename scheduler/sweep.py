"""The timer sweep: fire what is due. Several sweepers may run; claims keep them apart.

A claim is a lease, not a firing: each handler takes its timer (store.timers.take: a row
lock, then done) in the transaction of what the timer causes, so a timer whose claimer
died is fired by another sweeper once the lease runs out, and never twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from conversations.clock import Clock
from store import timers
from store.db import transaction

log = logging.getLogger(__name__)

TimerHandler = Callable[[str], object]


class Sweeper:
    def __init__(self, db: Engine, clock: Clock, handlers: dict[str, TimerHandler]) -> None:
        self.db, self.clock, self.handlers = db, clock, handlers

    def run_once(self, limit: int = 50) -> int:
        """Fire every due timer once; a failing one is retried when its claim runs out."""
        return self._run(limit)[1]

    def drain(self, limit: int = 200, rounds: int = 10_000) -> int:
        """Sweep until nothing is due (a catch-up after an outage, tests); return fired."""
        total = 0
        for _ in range(rounds):
            claimed, fired = self._run(limit)
            total += fired
            if claimed == 0:
                break
        return total

    def _run(self, limit: int) -> tuple[int, int]:
        with transaction(self.db) as s:
            due = [(t.kind, t.ref) for t in timers.claim_due(s, now=self.clock.now(),
                                                             limit=limit)]
        fired = 0
        for kind, ref in due:
            handler = self.handlers.get(kind)
            if handler is None:
                log.error("timer sweep: no handler for %s", kind)
                continue
            try:
                handler(ref)
                fired += 1
            except Exception:
                log.exception("timer sweep: %s %s failed", kind, ref)
        return len(due), fired
