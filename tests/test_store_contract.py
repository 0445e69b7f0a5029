"""Store contract, on SQLite and PostgreSQL: numbers, outbox claims and timer claims hold
when several processes work at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import Session, func, select

from bot.bootstrap import Services, build
from conversations.clock import FrozenClock
from store import outbox, timers
from store.db import make_engine, transaction
from store.models import InboxMessage, Notification, Person, Timer
from store.numbers import next_number
from store.state import SqlStateStore


def _twin(svc: Services) -> Services:
    """A second process: its own engine (connection pool) on the same database."""
    engine = make_engine(svc.settings.database_url)
    return build(svc.settings, clock=svc.clock, db=engine, states=SqlStateStore(engine))


def _parallel(*jobs: object) -> None:
    errors: list[BaseException] = []

    def run(job: object) -> None:
        try:
            job()  # type: ignore[operator]
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_numbers_are_never_given_twice(db_services: Services) -> None:
    other = _twin(db_services)
    taken: list[str] = []

    def take(svc: Services) -> None:
        for _ in range(15):
            with transaction(svc.db) as s:
                taken.append(next_number(s, "C", 2026))

    _parallel(lambda: take(db_services), lambda: take(other))
    assert sorted(taken) == [f"C-2026-{i:04d}" for i in range(1, 31)]
    with transaction(db_services.db) as s:
        assert next_number(s, "C", 2027) == "C-2027-0001"  # a new year starts again
    other.db.dispose()


def test_two_dispatchers_deliver_each_push_exactly_once(db_services: Services) -> None:
    with Session(db_services.db) as s:
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
    with transaction(db_services.db) as s:
        for i in range(40):
            outbox.enqueue(s, key=f"burst:{i}", recipient_id=staff.id, now=db_services.clock.now(),
                           message="notice.raw", params={"text": f"第{i}条"})
    other = _twin(db_services)
    _parallel(lambda: db_services.dispatcher.drain(), lambda: other.dispatcher.drain())
    with Session(db_services.db) as s:
        assert s.exec(select(func.count()).select_from(InboxMessage)).one() == 40
        assert s.exec(select(func.count()).select_from(Notification)
                      .where(Notification.status == "sent")).one() == 40
    other.db.dispose()


def test_a_claimed_timer_goes_to_one_sweeper_until_its_lease_runs_out(
        db_services: Services, clock: FrozenClock) -> None:
    now = clock.now()
    with transaction(db_services.db) as s:
        timers.schedule(s, kind="demo", ref="x", due_at=now - timedelta(minutes=1))
    with transaction(db_services.db) as s:
        assert len(timers.claim_due(s, now=now)) == 1
    with transaction(db_services.db) as s:
        assert timers.claim_due(s, now=now) == []  # claimed by a live sweeper
    clock.advance(timedelta(minutes=3))  # that sweeper died: its lease ran out
    with transaction(db_services.db) as s:
        assert len(timers.claim_due(s, now=clock.now())) == 1
        timers.cancel(s, kind="demo", ref="x", now=clock.now())
    clock.advance(timedelta(minutes=3))
    with transaction(db_services.db) as s:
        assert timers.claim_due(s, now=clock.now()) == []
        row = s.exec(select(Timer)).one()
        assert row.attempts == 2 and row.done_at is not None
