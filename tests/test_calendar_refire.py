"""Calendar jobs fired again for the same day (a sweeper whose lease ran out, a timer row
set due again) send nothing twice and record nothing twice: the roster's publication and
daily check, the screening's ask, chase and report, the reports' draft, reminder and
lateness, the shop-floor visit check and the weekly work log."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from scheduler.calendar import KINDS
from store.calendar_models import (
    DutyPublished,
    Report,
    ScreeningReturn,
    ScreeningRound,
    WorkLog,
)
from store.db import transaction
from store.models import DutyEntry, Notification, Timer
from tests.calendar_helpers import at, next_due, pushes
from tests.transcript import Chat

RECORDS: tuple[type[SQLModel], ...] = (DutyEntry, DutyPublished, ScreeningRound,
                                       ScreeningReturn, Report, WorkLog)


def snapshot(services: Services) -> tuple[list[str], dict[str, int]]:
    with Session(services.db) as s:
        keys = sorted(s.exec(select(Notification.idempotency_key)).all())
        counts = {m.__name__: s.exec(select(func.count()).select_from(m)).one()
                  for m in RECORDS}
    return keys, counts


def fire_each_twice(services: Services, clock: FrozenClock, until: datetime) -> Counter[str]:
    """Run the calendar to `until`; every job that fires is fired again at once, for the
    same day, and must change nothing. Return how many of each kind fired twice."""
    twice: Counter[str] = Counter()
    while True:
        services.planner.plan()
        nxt = next_due(services)
        if nxt is None or nxt > until:
            return twice
        clock.set(max(nxt, clock.now()))
        services.sweeper.run_once(limit=500)
        after = snapshot(services)
        with Session(services.db) as s:
            fired = [(t.kind, t.ref) for t in s.exec(select(Timer).where(
                col(Timer.kind).in_(KINDS), Timer.done_at == clock.now()))]
        for kind, ref in fired:
            # Its handler called again, as another sweeper would: it finds the job taken.
            assert services.sweeper.handlers[kind](ref) == 0, ref
            twice[kind] += 1
        clock.advance(timedelta(minutes=1))  # a minute later, another sweeper's turn
        with transaction(services.db) as s:
            for kind, ref in fired:  # ...and the job due once more, for the same day
                timer = s.exec(select(Timer).where(Timer.kind == kind, Timer.ref == ref)).one()
                timer.done_at = timer.claimed_until = None
                s.add(timer)
        assert services.sweeper.run_once(limit=500) == len(fired)
        assert snapshot(services) == after, fired
        services.dispatcher.drain(rounds=50)


def test_calendar_jobs_fired_twice_send_and_record_everything_once(
        db_services: Services, clock: FrozenClock) -> None:
    services = db_services
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("工作日志")
    staff.press("今日工作记录")
    staff.say("走访铸造车间，了解夜班补贴情况")
    assert "2026-11-23 的工作记录已保存" in staff.text

    twice = fire_each_twice(services, clock, at(12, 10, 10))
    assert set(twice) == set(KINDS), twice  # every kind of job was fired twice
    assert twice["screening"] == 3  # asked the 25th, chased the 28th, reported after the 30th

    # What people received: each once.
    asked = [p for p in pushes(services, "wang_qiang") if p.startswith("【矛盾纠纷排查】")]
    chased = [p for p in pushes(services, "wang_qiang") if p.startswith("【排查催报】")]
    assert (len(asked), len(chased)) == (1, 1)
    missing = [p for p in pushes(services, "chen_lihua") if p.startswith("【排查未报】")]
    assert len(missing) == 1
    assert sum(p.startswith("【矛盾纠纷排查】") and "没有联络员" in p
               for p in pushes(services, "liu_fang")) == 1
    assert sum(p.startswith("【领导接访公示】") and "12-01" in p
               for p in pushes(services, "ma_chao")) == 1
    with Session(services.db) as s:
        assert len(s.exec(select(ScreeningReturn)).all()) == 4  # 综合办公室 too
        assert {(r.kind, r.period) for r in s.exec(select(Report))} == {
            ("weekly", "2026-W48"), ("weekly", "2026-W49"),  # W47: before the workroom
            ("opinion", "2026-12")}
        weekly = s.exec(select(WorkLog).where(WorkLog.kind == "weekly")).one()
        assert weekly.period == "2026-W48"
