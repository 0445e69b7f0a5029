"""The scheduler is a clock, the database the memory: several sweepers, a killed one, an
outage, and `workroom doctor` — on real PostgreSQL where it matters."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from bot.bootstrap import Services
from bot.cli import app
from bot.settings import get_settings
from conversations.clock import FrozenClock, SystemClock
from scheduler import heartbeat
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.models import Notification, Timer
from tests import sweep_worker
from tests.conftest import make_services
from tests.test_flow_emergency import report
from tests.transcript import Chat

N = 10_000


def _fired(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT ref) FROM fired")).one()
    engine.dispose()
    return total, distinct


@pytest.mark.pg
def test_three_sweepers_one_killed_every_timer_fires_once(pg_url: str,
                                                          clock: FrozenClock) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    now = clock.now()
    with transaction(engine) as s:
        s.exec(text("CREATE TABLE fired (ref text NOT NULL, pid int NOT NULL)"))  # type: ignore[call-overload]
        s.exec(insert(Timer), params=[
            {"kind": sweep_worker.PROBE, "ref": str(i), "due_at": now - timedelta(seconds=i % 60),
             "attempts": 0} for i in range(N)])
    ctx = multiprocessing.get_context("spawn")
    at = now.isoformat()
    workers = [ctx.Process(target=sweep_worker.run, args=(pg_url, at, 120 if i == 0 else None))
               for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [17, 0, 0]  # the first died mid-batch
    total, distinct = _fired(pg_url)
    with Session(engine) as s:
        stranded = s.exec(select(func.count()).select_from(Timer).where(
            col(Timer.done_at).is_(None))).one()
    # Its claimed rows wait for their lease; nothing else is left, nothing fired twice.
    assert 0 < stranded <= 50 and total == distinct == N - stranded
    # Once the dead claimer's lease has run out, a sweeper takes them over.
    later = ctx.Process(target=sweep_worker.run,
                        args=(pg_url, (now + timedelta(minutes=3)).isoformat()))
    later.start()
    later.join(timeout=120)
    assert later.exitcode == 0
    assert _fired(pg_url) == (N, N)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Timer).where(
            col(Timer.done_at).is_(None))).one() == 0
        pids = s.exec(text("SELECT count(DISTINCT pid) FROM fired")).one()  # type: ignore[call-overload]
    assert pids[0] == 4  # every process took part
    engine.dispose()


@pytest.mark.pg
def test_a_ten_minute_outage_is_caught_up_with_nothing_missed(pg_url: str,
                                                              clock: FrozenClock) -> None:
    services = make_services(pg_url, clock)
    t0 = clock.now()
    # An emergency (its chain steps at +5 and +15 min) and 600 probes due every second.
    report(Chat(services, person="li_ming"))
    with transaction(services.db) as s:
        s.exec(text("CREATE TABLE fired (ref text NOT NULL, pid int NOT NULL)"))  # type: ignore[call-overload]
        s.exec(insert(Timer), params=[
            {"kind": sweep_worker.PROBE, "ref": str(i), "due_at": t0 + timedelta(seconds=i),
             "attempts": 0} for i in range(600)])
    services.sweeper.handlers[sweep_worker.PROBE] = sweep_worker.fire_probe(
        services.db, clock, None, [0])
    # The scheduler is down for ten minutes; then it runs again.
    clock.advance(timedelta(minutes=10))
    services.sweeper.drain()
    services.dispatcher.drain()
    assert _fired(pg_url) == (600, 600)
    with Session(services.db) as s:
        step2 = s.exec(select(Notification).where(
            col(Notification.idempotency_key).like("alert:%:r1p2"))).all()
        late = s.exec(select(func.count()).select_from(Timer).where(
            col(Timer.done_at).is_(None), col(Timer.due_at) <= clock.now())).one()
    # Chain step 2, once: 赵国强 and 刘芳 (孙红梅, paged by the report as the duty
    # leader, is not paged again in the same round).
    assert len(step2) == 2 and {n.status for n in step2} == {"sent"}
    assert late == 0
    services.sweeper.drain()  # running again fires nothing twice
    assert _fired(pg_url) == (600, 600)
    services.close()


def test_doctor_says_when_the_scheduler_is_not_alive(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/doc.db"
    monkeypatch.setenv("WORKROOM_DATABASE_URL", url)
    monkeypatch.setenv("WORKROOM_SECRET_KEY", "doctor-secret")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(app, ["doctor"])  # a database never migrated: said plainly
    assert result.exit_code == 1
    assert "run `workroom db upgrade` first" in result.output
    upgrade(url)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "scheduler: NOT ALIVE (last heartbeat never)" in result.output
    engine = make_engine(url)
    heartbeat.beat(engine, SystemClock(), "test-scheduler")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "scheduler: alive" in result.output
    # A timer overdue by more than the allowed age is named, and makes it unhealthy.
    with transaction(engine) as s:
        s.add(Timer(kind="probe", ref="x",
                    due_at=SystemClock().now() - timedelta(minutes=5)))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "timers overdue: 1" in result.output
    engine.dispose()
    get_settings.cache_clear()


def test_health_ages_the_heartbeat_with_the_clock(services: Services,
                                                 clock: FrozenClock) -> None:
    heartbeat.beat(services.db, clock, "one")
    age = timedelta(seconds=60)
    assert heartbeat.health(services.db, clock, max_age=age).alive
    clock.advance(timedelta(seconds=61))
    found = heartbeat.health(services.db, clock, max_age=age)
    assert not found.alive and found.last_beat == clock.now() - timedelta(seconds=61)
