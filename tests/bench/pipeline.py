"""Benchmark the one data flow: conversation steps per second and step latency.

    .venv/bin/python -m tests.bench.pipeline                      # SQLite file, SQL state
    .venv/bin/python -m tests.bench.pipeline --db postgresql://postgres@127.0.0.1/test \
        --redis redis://127.0.0.1:6379/15 --threads 4

Each simulated employee files a complete complaint (ten messages, the last one writes the
case, its alerts and outbox rows). Prints latency percentiles per step and throughput.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime

from bot.bootstrap import build
from bot.settings import Settings
from conversations.clock import FrozenClock
from handlers.inbound import Inbound
from store import org
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.state import RedisStateStore, SqlStateStore, StateStore

STEPS = ["反映问题", "工资福利", "十月份加班费一直没有发，车间里很多人都有意见", "2026年10月",
         "12", "跳过", "铸造车间", "补发十月加班费", "实名", "确认提交"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--redis", help="Redis URL for the state store (default: SQL)")
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    if args.db and args.db.startswith("postgresql"):
        url = _fresh_pg(args.db)
    clock = FrozenClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        org.load_org(s, org.parse_org(org.demo_org_path()), now=clock.now())
    states: StateStore = (RedisStateStore(args.redis, prefix=f"bench:{uuid.uuid4().hex[:6]}")
                          if args.redis else SqlStateStore(engine))
    settings = Settings(env="test", database_url=url, secret_key="bench",
                        scheduler_enabled=False, _env_file=None)  # type: ignore[call-arg]
    svc = build(settings, clock=clock, db=engine, states=states)

    latencies: list[float] = []
    lock = threading.Lock()

    def employee(n: int) -> None:
        address = f"v:bench-{n}"
        for i, text in enumerate(STEPS):
            t0 = time.perf_counter()
            svc.workroom.process(Inbound("web", address, f"{address}:{i}", text=text))
            with lock:
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    users = list(range(args.users))
    chunks = [users[i::args.threads] for i in range(args.threads)]
    threads = [threading.Thread(target=lambda c=c: [employee(n) for n in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    backend = f"{url.split(':')[0]} + {'redis' if args.redis else 'sql'} state"
    print(f"backend: {backend}, threads: {args.threads}, users: {args.users}, steps: {len(ms)}")
    print(f"throughput: {len(ms) / elapsed:.0f} steps/s ({args.users / elapsed:.1f} complaints/s)")
    print(f"step latency ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  p99 {q[98]:.1f}  max {ms[-1]:.1f}")
    if isinstance(states, RedisStateStore):
        states.clear_all()
    engine.dispose()
    if url != args.db and url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(args.db, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _fresh_pg(url: str) -> str:
    import psycopg

    name = f"wr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}"


if __name__ == "__main__":
    main()
