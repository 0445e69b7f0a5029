"""The timer sweep: fire what is due. Several sweepers may run; claims keep them apart.

A claim is a lease, not a firing: each handler takes its timer (store.timers.take: a row
lock, then done) in the transaction of what the timer causes, so a timer whose claimer
died is fired by another sweeper once the lease runs out, and never twice.

Some handlers wait on another service: a photo's download from its platform may take a
minute and more. Their kinds (`slow`) are swept apart, by a job of their own (run_slow),
so that no download holds up an emergency's escalation due in the same sweep; run_once
leaves them alone. run_slow claims them one at a time, right before each runs, so that
each starts with its whole lease: in a batch claimed at once, the last timers' leases
would run out while the first ones download, and another sweeper would fire them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from sqlalchemy.engine import Engine

from conversations.clock import Clock
from store import timers
from store.db import transaction

log = logging.getLogger(__name__)

TimerHandler = Callable[[str], object]


class Sweeper:
    def __init__(self, db: Engine, clock: Clock, handlers: dict[str, TimerHandler], *,
                 slow: Collection[str] = ()) -> None:
        self.db, self.clock, self.handlers = db, clock, handlers
        self.slow = frozenset(slow)

    def run_once(self, limit: int = 50) -> int:
        """Fire every due timer once, but those of the slow kinds (run_slow fires them); a
        failing one is retried when its claim runs out."""
        return self._run(limit, exclude=self.slow)[1]

    def run_slow(self, limit: int = 50) -> int:
        """Fire up to `limit` due timers of the slow kinds, each claimed as it runs."""
        return self._run_slow(limit)[1]

    def drain(self, limit: int = 200, rounds: int = 10_000) -> int:
        """Sweep until nothing is due, slow kinds too (a catch-up after an outage, tests);
        return fired."""
        total = 0
        for _ in range(rounds):
            claimed, fired = self._run(limit, exclude=self.slow)
            slow_claimed, slow_fired = self._run_slow(limit)
            total += fired + slow_fired
            if claimed == 0 and slow_claimed == 0:
                break
        return total

    def _run_slow(self, limit: int) -> tuple[int, int]:
        kinds = [k for k in self.slow if k in self.handlers]  # leave the rest to others
        claimed = fired = 0
        while kinds and claimed < limit:
            one, done = self._run(1, kinds=kinds)
            if one == 0:
                break
            claimed, fired = claimed + one, fired + done
        return claimed, fired

    def _run(self, limit: int, *, kinds: Collection[str] | None = None,
             exclude: Collection[str] = ()) -> tuple[int, int]:
        with transaction(self.db) as s:
            due = [(t.kind, t.ref) for t in timers.claim_due(
                s, now=self.clock.now(), limit=limit, kinds=kinds, exclude=exclude)]
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
