"""Bench: WeChat callbacks through the real route, over real HTTP, at a steady rate.

    .venv/bin/python -m bench.wechat_callback                  # 1,000 messages at 50/s, SQLite
    .venv/bin/python -m bench.wechat_callback --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.wechat_callback --saturate       # also a run on a saturated box
    (--messages N, --rate R per second, --kind wechat|wecom, --deadline seconds)

Workload: simulated official-account followers (WeCom users with --kind wecom) each file a
suggestion, five messages (提建议, the topic's number, the text, 实名, 确认提交), one
follower's messages in order. Each message is a safe-mode callback signed and encrypted
as WeChat does it, offered at its scheduled time (a steady `--rate`) and posted to the
app served by uvicorn on 127.0.0.1; the fake WeChat API (tests/fakes/wechat_api.py)
takes the customer-service messages. Latency: the request sent -> the answer received
(a passive reply, or `success`), as the client sees it, so it includes the HTTP round trip.

The saturated run starts CPU-burning processes (two per core) and offers messages at
three times the rate: answers must still come before 4.5 s (WeChat gives up at 5 s), as
`success` when the step is late, and every late step's replies must arrive by message.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from sqlmodel import Session, func, select

from bot.bootstrap import Services, build
from bot.settings import Settings
from conversations.clock import SystemClock
from store import org
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.models import Suggestion
from tests.fakes.wechat_api import (
    AGENT_ID,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    OA_AES_KEY,
    OA_TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    Callbacks,
    FakeWeChatApi,
)
from web.app import create_app
from web.wechat import PATHS

FLOW = ("提建议", "4", "食堂晚餐能不能多一个素菜窗口，谢谢", "实名", "确认提交")
LIMIT = 4.5


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    passive: int = 0
    success: int = 0
    errors: list[str] = field(default_factory=list)
    late_users: set[str] = field(default_factory=set)


def _burn(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(10_000):
            x = (x * 31 + 7) % 1_000_003


class Server:
    """The workroom app on uvicorn in a thread, with both WeChat accounts configured."""

    def __init__(self, db: str | None, api: FakeWeChatApi, deadline: float) -> None:
        self.tmp: str | None = None
        self.admin = db
        if db:
            import psycopg

            name = f"wr_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.url = f"{db.rsplit('/', 1)[0]}/{name}"
        else:
            self.tmp = tempfile.mkdtemp(prefix="wr-bench-wx-")
            self.url = f"sqlite:///{self.tmp}/bench.db"
        upgrade(self.url)
        engine = make_engine(self.url)
        clock = SystemClock()
        with transaction(engine) as s:
            org.load_org(s, org.parse_org(org.demo_org_path()), now=clock.now())
        settings = Settings(
            env="test", database_url=self.url, secret_key="bench", scheduler_enabled=False,
            _env_file=None, wechat_app_id=APP_ID, wechat_app_secret=APP_SECRET,
            wechat_token=OA_TOKEN, wechat_aes_key=OA_AES_KEY, wechat_api_url=api.url,
            wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID, wecom_secret=CORP_SECRET,
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_url=api.url,
            wechat_reply_deadline_seconds=deadline)
        self.svc: Services = build(settings, clock=clock, db=engine)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.svc, run_scheduler=False), log_level="error",
                                access_log=False, lifespan="off", http="h11", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.svc.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.admin:
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.url.rsplit("/", 1)[1]}" '
                             "WITH (FORCE)")


async def run(server: Server, kind: str, messages: int, rate: float) -> Result:
    result = Result()
    users = max(1, messages // len(FLOW))
    callbacks = Callbacks(kind, server.svc.clock)
    url = f"http://127.0.0.1:{server.port}{PATHS[kind]}"
    began = time.monotonic()
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def user(u: int) -> None:
            sender = f"bench_{kind}_{u:05d}"
            created = int(time.time())
            for k, text in enumerate(FLOW):
                at = began + (k * users + u) / rate  # message n of the run leaves at n/rate
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                created += 1
                inner = callbacks.inner(sender, "text", created, 10**15 + k * users + u,
                                        Content=text)
                params, body = callbacks.post(inner, timestamp=int(time.time()))
                sent = time.monotonic()
                try:
                    r = await client.post(url, params=params, content=body)
                except httpx.HTTPError as err:
                    result.errors.append(f"{type(err).__name__}: {err}")
                    return
                result.latencies.append(time.monotonic() - sent)
                if r.status_code != 200:
                    result.errors.append(f"{r.status_code} {r.text[:80]}")
                    return
                if r.text == "success":
                    result.success += 1
                    result.late_users.add(sender)
                else:
                    result.passive += 1

        await asyncio.gather(*(user(u) for u in range(users)))
    return result


def check_late(server: Server, api: FakeWeChatApi, result: Result, kind: str) -> str:
    """Every follower answered `success` got their replies by message in the end."""
    channel = server.svc.wechat if kind == "wechat" else server.svc.wecom
    channel.settle_all(timeout=120)
    server.svc.dispatcher.drain()
    missing = [u for u in result.late_users if not api.sent(to=u)]
    return "all delivered by message" if not missing else f"{len(missing)} NOT delivered"


def report(name: str, result: Result, server: Server, api: FakeWeChatApi, kind: str,
           started_filed: int) -> bool:
    lat = sorted(result.latencies)
    if not lat:
        print(f"{name}: no answers; errors: {result.errors[:3]}")
        return False

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    with Session(server.svc.db) as s:
        filed = int(s.exec(select(func.count()).select_from(Suggestion)).one()) - started_filed
    late = check_late(server, api, result, kind) if result.success else "none late"
    ok = lat[-1] <= LIMIT and not result.errors
    print(f"{name}: {len(lat)} answers  p50 {pct(0.50):.1f} ms  p95 {pct(0.95):.1f} ms  "
          f"p99 {pct(0.99):.1f} ms  max {lat[-1] * 1000:.1f} ms  mean "
          f"{statistics.mean(lat) * 1000:.1f} ms")
    print(f"    passive replies {result.passive}, `success` {result.success} ({late}); "
          f"suggestions filed {filed}; errors {len(result.errors)}"
          + (f" e.g. {result.errors[0]}" if result.errors else ""))
    print(f"    every answer within {LIMIT} s: {'yes' if lat[-1] <= LIMIT else 'NO'}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="messages per second")
    ap.add_argument("--kind", choices=("wechat", "wecom"), default="wechat")
    ap.add_argument("--db", help="postgresql://… admin URL: a fresh database for the run")
    ap.add_argument("--deadline", type=float, default=LIMIT,
                    help="seconds before the callback answers `success`")
    ap.add_argument("--saturate", action="store_true",
                    help="then run again with CPU burners and three times the rate")
    args = ap.parse_args()
    print(f"{args.messages} {args.kind} callbacks at {args.rate:g}/s "
          f"({'PostgreSQL' if args.db else 'SQLite'}, deadline {args.deadline:g} s, "
          f"{os.cpu_count()} CPUs)")
    ok = True
    with FakeWeChatApi() as api:
        server = Server(args.db, api, args.deadline)
        try:
            result = asyncio.run(run(server, args.kind, args.messages, args.rate))
            ok &= report("steady", result, server, api, args.kind, 0)
            if args.saturate:
                with Session(server.svc.db) as s:
                    before = int(s.exec(select(func.count()).select_from(Suggestion)).one())
                stop = multiprocessing.Event()
                burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
                           for _ in range(2 * (os.cpu_count() or 1))]
                for p in burners:
                    p.start()
                try:
                    result = asyncio.run(run(server, args.kind, args.messages, args.rate * 3))
                finally:
                    stop.set()
                    for p in burners:
                        p.join(timeout=5)
                ok &= report(f"saturated ({len(burners)} CPU burners, {args.rate * 3:g}/s)",
                             result, server, api, args.kind, before)
        finally:
            server.close()
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
