"""Time store.roster.turn_of, the rotation position of a day, for days near and far.

    .venv/bin/python -m bench.turn_of

Each row: the day, the mean time of one call (a fresh calendar each round, as a roster
built in chat loads one), and the answer, so that two versions can be compared.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from scheduler.workdays import WorkCalendar
from store.roster import turn_of

DAYS = (date(2026, 11, 25), date(2030, 6, 3), date(2050, 1, 3), date(2124, 1, 3),
        date(2020, 3, 2))
ROUNDS = 20


def main() -> None:
    logging.disable(logging.WARNING)  # years without holiday data: warned once, not timed
    extra = {date(2026, 12, 31): False, date(2031, 1, 26): True}  # as an org file gives
    for day in DAYS:
        turn_of(day, WorkCalendar(extra))  # the first call's warnings and caches
        start = time.perf_counter()
        for _ in range(ROUNDS):
            answer = turn_of(day, WorkCalendar(extra))
        took = (time.perf_counter() - start) / ROUNDS
        print(f"{day}  {took * 1000:9.3f} ms  turn {answer}")


if __name__ == "__main__":
    main()
