"""Benchmark the timer sweep: 100,000 pending timers of which 1,000 are due.

    .venv/bin/python -m bench.sweep                                   # SQLite file
    .venv/bin/python -m bench.sweep --db postgresql://postgres@127.0.0.1:5432/test

Each due timer is a real case reminder (handlers/deadlines.py): the sweep claims it, the
handler writes the reminder's outbox row in the same transaction, the dispatcher delivers
it, sweep and dispatcher running side by side as in `workroom serve`. Prints the time to
claim one batch among 100,000 pending rows, the time to sweep all 1,000 due, and the lag
from each timer's due time to its notification leaving the outbox (in production add up
to one timer interval, WORKROOM_TIMER_INTERVAL_SECONDS, before the sweep sees it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.bootstrap import build
from bot.settings import Settings
from conversations.clock import SystemClock
from handlers import deadlines
from store import org, timers
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.models import Case, Notification, Person, Timer


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=1_000)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    if args.db and args.db.startswith("postgresql"):
        url = _fresh_pg(args.db)
    clock = SystemClock()
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        org.load_org(s, org.parse_org(org.demo_org_path()), now=clock.now())
    settings = Settings(env="test", database_url=url, secret_key="bench",
                        scheduler_enabled=False, _env_file=None)
    svc = build(settings, clock=clock, db=engine)
    _fill(engine, clock.now(), args.pending, args.due)

    with transaction(engine) as s:  # one claim among all the pending rows, rolled back
        t0 = time.perf_counter()
        timers.claim_due(s, now=clock.now(), limit=50)
        claim_ms = (time.perf_counter() - t0) * 1000
        s.rollback()
    with transaction(engine) as s:  # the due ones fall due this very moment
        due_at = clock.now()
        s.exec(update(Timer).where(col(Timer.kind) == deadlines.KIND)
               .values(due_at=due_at))
    # As in `workroom serve`: the sweep and the dispatcher run side by side.
    sweep_s, fired = 0.0, 0

    def sweep() -> None:
        nonlocal sweep_s, fired
        start = time.perf_counter()
        fired = svc.sweeper.drain(limit=50)
        sweep_s = time.perf_counter() - start

    t0 = time.perf_counter()
    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    sent = 0
    while sent < args.due and time.perf_counter() - t0 < 600:
        got = svc.dispatcher.run_once(limit=100)
        sent += got
        if not got:
            time.sleep(0.01)
    sweeper.join()
    total_s = time.perf_counter() - t0
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(
            col(Notification.message_key) == "notice.case_remind_week")).all()
    lags = sorted((n.sent_at - due_at).total_seconds() * 1000 for n in rows if n.sent_at)
    q = statistics.quantiles(lags, n=100)
    print(f"backend: {url.split(':')[0]}, pending timers: {args.pending}, due: {args.due}")
    print(f"claim one batch of 50 among {args.pending} pending: {claim_ms:.1f} ms")
    print(f"sweep of {fired} due timers (claim + handler + outbox row each): {sweep_s:.2f} s "
          f"({fired / sweep_s:.0f} timers/s)")
    print(f"sweep + delivery of {len(lags)} notifications: {total_s:.2f} s")
    print(f"lag due -> sent, ms: p50 {q[49]:.0f}  p95 {q[94]:.0f}  max {lags[-1]:.0f}")
    svc.close()
    if url != args.db and url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(args.db, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _fill(engine: Engine, now: datetime, pending: int, due: int) -> None:
    """`due` cases whose 7-days-left reminder is due; the rest of `pending` later."""
    with transaction(engine) as s:
        leader = s.exec(select(Person).where(Person.key == "zhao_guoqiang")).one()
        s.exec(insert(Case), params=[{
            "number": f"C-2026-{i:05d}", "draft_key": f"bench-{i}", "unit_id": leader.unit_id,
            "category": "wages", "description": "bench case", "since": "2026-10",
            "affected": 1, "cosigners": 0, "outcome_wanted": "bench", "anonymous": False,
            "handler_id": leader.id, "leader_case": False, "status": "in_progress",
            "deadline_days": 60, "due_on": date(2027, 1, 22), "channel": "web",
            "created_at": now, "reopens": 0} for i in range(due)])
        ids = list(s.exec(select(Case.id).order_by(col(Case.id))).all())
        rows = [{"kind": deadlines.KIND, "ref": f"{cid}:week", "due_at": now, "attempts": 0}
                for cid in ids]
        rows += [{"kind": "bench_later", "ref": str(i),
                  "due_at": now + timedelta(minutes=1 + i % 100_000), "attempts": 0}
                 for i in range(pending - due)]
        for start in range(0, len(rows), 10_000):
            s.exec(insert(Timer), params=rows[start:start + 10_000])


def _fresh_pg(url: str) -> str:
    import psycopg

    name = f"wr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}"


if __name__ == "__main__":
    main()
