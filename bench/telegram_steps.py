"""Bench: a bare python-telegram-bot ConversationHandler against our full Telegram path.

    .venv/bin/python -m bench.telegram_steps                 # fresh SQLite files, SQL state
    .venv/bin/python -m bench.telegram_steps --redis redis://127.0.0.1:6379/15
    .venv/bin/python -m bench.telegram_steps --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.telegram_steps --quick         # 100 users: a smoke run
    .venv/bin/python -m bench.telegram_steps --profile       # cProfile ours, sequential
    .venv/bin/python -m bench.telegram_steps --repeat 5      # each mode's median of 5 runs
    (--users / --ours-users sizes, --batch ours' largest batch, --api-ms a simulated Bot API
    round trip, --no-half skips the token-bucket runs, --pairs N back-to-back bare/ours
    in-flight runs whose throughput ratios are printed beside the medians' ratio)

Workload, the same for both sides: each user sends the emergency form's six updates (the
menu label 紧急情况报告, then what, place, people, measures, suggestion); the last answer
files the report and alerts the leaders. Both sides talk to one in-process fake Bot API
(a `telegram.request.BaseRequest` subclass, no sockets) that records when each
sendMessage left, per chat.

  bare  python-telegram-bot's Application + ConversationHandler, the form kept in memory,
        fed with `await application.process_update(Update.de_json(...))`.
  ours  bot.telegram.parse -> Workroom.process (engine, state saved, Incident stored,
        replies and alerts written to the outbox, one transaction per step) -> the outbox
        Dispatcher -> TelegramSender (its LoopRunner thread owns the PTB Bot).

Modes: sequential (one update at a time; ours drains the outbox after each update, as
the polling loop does), in flight (all users at once, each user's updates in order), and
"half capacity" (updates offered by a token bucket at half of bare's in-flight rate, in
lock-step: every user's step k, then every user's step k + 1; for ours also at half of
its own in-flight rate, "half own cap."), and "staggered" (the same rate, users starting
in cohorts so that every kind of step arrives all the time; see offsets()).

Step latency: the update handed in (before Update.de_json; at the offered time in the
half-capacity mode) -> the first reply's sendMessage recorded by the fake API. Alert
latency: the confirming (last) update handed in -> the first alert's sendMessage to a
leader chat.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import math
import pstats
import re
import resource
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select
from telegram import Bot, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

from bot.bootstrap import Services, build
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.telegram import LoopRunner, Pace, TelegramSender, messages, parse
from store import org
from store.db import make_engine, transaction
from store.migrate import upgrade
from store.models import Incident, Notification
from store.state import RedisStateStore, SqlStateStore, StateStore

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:bench-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Workroom",
            "username": "workroom_bot"}
# Monday 2026-11-23, 09:00 in Shanghai: a working day, the demo duty leader is on today.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
MENU = "紧急情况报告"
ANSWERS = ("二十多人聚集在厂门口要求发工资", "厂门口", "25", "车间主任已到场劝导",
           "请财务部门到场说明")
STEPS = 1 + len(ANSWERS)
LEADER_CHATS = (900000001, 900000002, 900000003, 900000004)  # store/demo/org.yaml
BARE_LEADER = 900000001
MARK = re.compile(r"\[u(\d+)\]")  # which user an alert is about: carried in "what"
DONE = re.compile(r"编号 E-\d{4}-\d+")  # emergency.done, the reporter's answer
HIGH = 10**6  # Pace limits raised so far that pacing never holds a message
DEFAULT_USERS, QUICK_USERS = 1000, 100  # the 1,000 users, on both sides
MIXED = 10  # the mixed run: one user in ten files an emergency, the rest a suggestion
TIMEOUT = 600.0


def texts_for(user: int, mark: str = "u") -> list[str]:
    return [MENU, f"{ANSWERS[0]} [{mark}{user}]", *ANSWERS[1:]]


# Routine traffic for the mixed run, also six updates: a suggestion filed (menu, topic,
# text, named, confirm), then a look at one's own cases.
ROUTINE = ("提建议", "1", "食堂晚班能不能多留一个热菜窗口", "实名", "确认提交", "我反映的问题")


def routine_for(user: int) -> list[str]:
    return [ROUTINE[0], ROUTINE[1], f"{ROUTINE[2]} [r{user}]", *ROUTINE[3:]]


# --- the fake Bot API, shared by both sides -------------------------------------------


class SendLog:
    """Every sendMessage the fake API was asked for: per chat, (time, text) in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chats: dict[int, list[tuple[float, str]]] = {}
        self.total = 0
        self._ids = itertools.count(1)

    def record(self, chat: int, text: str) -> int:
        at = time.perf_counter()
        with self.lock:
            self.chats.setdefault(chat, []).append((at, text))
            self.total += 1
            return next(self._ids)

    def alerts_since(self, since: float, leaders: tuple[int, ...]) -> dict[int, float]:
        """User number -> when the first alert about them reached any leader chat."""
        first: dict[int, float] = {}
        with self.lock:
            for chat in leaders:
                for at, text in self.chats.get(chat, ()):
                    found = MARK.search(text)
                    if at >= since and found:
                        n = int(found.group(1))
                        first[n] = min(first.get(n, at), at)
        return first

    def count_since(self, since: float, leaders: tuple[int, ...]) -> int:
        with self.lock:
            return sum(1 for chat in leaders for at, text in self.chats.get(chat, ())
                       if at >= since and MARK.search(text))


def _message(chat: int, message_id: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"}, "text": text}


class FakeRequest(BaseRequest):
    """Canned Bot API answers in process: getMe, sendMessage (recorded, incrementing
    message ids), editMessageText, answerCallbackQuery and the like."""

    def __init__(self, log: SendLog, delay: float = 0.0) -> None:
        self.log, self.delay = log, delay

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        result: Any = True  # answerCallbackQuery, deleteWebhook, setMyCommands, ...
        if endpoint == "getMe":
            result = BOT_USER
        elif endpoint == "sendMessage":
            chat, text = int(params["chat_id"]), str(params["text"])
            result = _message(chat, self.log.record(chat, text), text)
        elif endpoint == "editMessageText":
            result = _message(int(params["chat_id"]), int(params["message_id"]),
                              str(params["text"]))
        elif endpoint == "getUpdates":
            result = []
        # A real request gives the event loop away while it waits (--api-ms: for how long).
        await asyncio.sleep(self.delay)
        return 200, json.dumps({"ok": True, "result": result}).encode()


_update_ids = itertools.count(1)


def text_update(chat: int, text: str) -> dict[str, Any]:
    """A private-chat text message update, as Telegram sends it."""
    uid = next(_update_ids)
    user = {"id": chat, "is_bot": False, "first_name": "测试", "language_code": "zh-hans"}
    message: dict[str, Any] = {"message_id": uid, "date": int(time.time()), "from": user,
                               "chat": {"id": chat, "type": "private", "first_name": "测试"},
                               "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split(" ", 1)[0])}]
    return {"update_id": uid, "message": message}


_chat_bases = itertools.count(1)


def fresh_chats(users: int) -> list[int]:
    """Chat ids no earlier run used, so every run starts every conversation afresh."""
    base = 10_000_000 * next(_chat_bases)
    return [base + n for n in range(users)]


COHORT = 10  # the staggered schedule's cohort: users who start together


def offsets(users: int, rate: float, staggered: bool = False) -> list[list[float]]:
    """When each user's update k is offered, in seconds from the start, at `rate` per
    second.

    Lock-step (the default): every user's step k, then every user's step k + 1; so all
    reports are filed in the run's last sixth. Staggered: users start in cohorts of
    COHORT, one cohort per block of STEPS * COHORT slots, and each cohort sends its next
    step in the next block, so six cohorts at six different steps share each block (all
    but the first and last five blocks): every kind of step all the time, as when people
    start their forms at different moments. Each user's steps are one block apart."""
    at = [[0.0] * STEPS for _ in range(users)]
    if not staggered:
        for n in range(users):
            for k in range(STEPS):
                at[n][k] = (k * users + n) / rate
        return at
    cohorts = -(-users // COHORT)
    block = STEPS * COHORT
    for b in range(cohorts + STEPS - 1):
        active = [g for g in range(max(0, b - STEPS + 1), min(cohorts, b + 1))]
        slot = b * block
        for p in range(COHORT):
            for g in active:
                n = g * COHORT + p
                if n < users:
                    at[n][b - g] = slot / rate
                    slot += 1
    return at


# --- results ---------------------------------------------------------------------------


@dataclass
class Run:
    side: str
    mode: str
    users: int
    elapsed: float
    steps: list[float]
    alerts: list[float]
    offered: float | None = None
    notes: list[str] = field(default_factory=list)
    by_step: list[list[float]] = field(default_factory=list)  # latencies of step k

    @property
    def updates(self) -> int:
        return self.users * STEPS

    @property
    def rate(self) -> float:
        return self.updates / self.elapsed

    def p(self, q: float, alerts: bool = False) -> float:
        return pct(self.alerts if alerts else self.steps, q)

    def p_steps(self, q: float, ks: range) -> float:
        """The percentile of steps ks of every user (0: the menu label, 5: the answer that
        files the report)."""
        return pct([v for k in ks for v in self.by_step[k]], q)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


def measure(side: str, mode: str, log: SendLog, t0: float, chats: list[int],
            t_in: list[list[float]], counts: list[list[int]], leaders: tuple[int, ...],
            offered: float | None = None, urgent: set[int] | None = None) -> Run:
    """Latencies from the fake API's record: step k's first reply is the chat's message
    number sum(counts[:k]); the alert is the first leader message carrying the user's mark."""
    steps: list[float] = []
    by_step: list[list[float]] = [[] for _ in range(STEPS)]
    last = t0
    missing = 0
    with log.lock:
        for n, chat in enumerate(chats):
            sent = log.chats.get(chat, [])
            index = 0
            for k in range(STEPS):
                if index < len(sent):
                    steps.append(sent[index][0] - t_in[n][k])
                    by_step[k].append(steps[-1])
                else:
                    missing += 1
                index += counts[n][k]
            if sent:
                last = max(last, sent[-1][0])
    first_alert = log.alerts_since(t0, leaders)
    alerts = [first_alert[n] - t_in[n][STEPS - 1] for n in range(len(chats))
              if n in first_alert]
    if first_alert:
        last = max(last, *first_alert.values())
    with log.lock:  # the last alert of all, not only the first per user
        for chat in leaders:
            for at, _ in log.chats.get(chat, ()):
                last = max(last, at)
    run = Run(side, mode, len(chats), last - t0, steps, alerts, offered, by_step=by_step)
    if missing:
        run.notes.append(f"{missing} steps had no reply")
    expected = len(chats) if urgent is None else len(urgent)
    if len(alerts) != expected:
        run.notes.append(f"{expected - len(alerts)} users' alerts never arrived")
    return run


def rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


# --- bare: python-telegram-bot's ConversationHandler, state in memory -------------------

QUESTIONS = ("发生了什么？", "在哪里？", "大约多少人？", "现场已经采取了哪些措施？",
             "您有什么建议？")
FIELDS = ("what", "place", "people", "measures", "suggestion")
Step = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, int]]


def bare_application(log: SendLog, delay: float) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (ApplicationBuilder().token(TOKEN).request(FakeRequest(log, delay))
           .get_updates_request(FakeRequest(log, delay)).updater(None).build())

    async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.effective_message is not None and context.user_data is not None
        context.user_data.clear()
        await update.effective_message.reply_text(f"紧急情况报告（1/5）{QUESTIONS[0]}")
        return 0

    def answer(i: int) -> Step:
        async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            message, data = update.effective_message, context.user_data
            assert message is not None and message.text is not None and data is not None
            if FIELDS[i] == "people" and not message.text.isdigit():
                await message.reply_text("请填一个数字")
                return i
            data[FIELDS[i]] = message.text
            if i + 1 < len(FIELDS):
                await message.reply_text(f"（{i + 2}/5）{QUESTIONS[i + 1]}")
                return i + 1
            await message.reply_text("已报告，已立即通知领导。")
            await context.bot.send_message(
                BARE_LEADER, "【紧急】\n" + "\n".join(f"{k}：{data[k]}" for k in FIELDS))
            return ConversationHandler.END

        return step

    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(ConversationHandler(
        entry_points=[MessageHandler(filters.Text([MENU]), begin)],
        states={i: [MessageHandler(text, answer(i))] for i in range(len(FIELDS))},
        fallbacks=[]))
    return app


async def bare_run(log: SendLog, mode: str, users: int, rate: float | None = None,
                   delay: float = 0.0, staggered: bool = False) -> Run:
    app = bare_application(log, delay)
    await app.initialize()
    warm = fresh_chats(1)[0]
    for t in texts_for(0, "w"):  # one user through the whole form, unmeasured
        await app.process_update(Update.de_json(text_update(warm, t), app.bot))
    chats = fresh_chats(users)
    updates = [[text_update(c, t) for t in texts_for(n)] for n, c in enumerate(chats)]
    t_in = [[0.0] * STEPS for _ in chats]
    offered = offsets(users, rate, staggered) if rate else []
    t0 = time.perf_counter()

    async def user(n: int) -> None:
        for k, data in enumerate(updates[n]):
            if rate is None:
                t_in[n][k] = time.perf_counter()
            else:  # offered by the schedule; latency counts from then
                t_in[n][k] = due = t0 + offered[n][k]
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await app.process_update(Update.de_json(data, app.bot))

    if mode == "sequential":
        for n in range(users):
            await user(n)
    else:
        await asyncio.gather(*(user(n) for n in range(users)))
    await app.shutdown()
    return measure("bare", mode, log, t0, chats, t_in, [[1] * STEPS for _ in chats],
                   (BARE_LEADER,), rate)


# --- ours: parse -> Workroom.process -> outbox -> Dispatcher -> TelegramSender ----------


class RunningClock:
    """Real time passing, from the demo workroom's Monday morning."""

    def __init__(self, at: datetime) -> None:
        self.at, self.t0 = at, time.perf_counter()

    def now(self) -> datetime:
        return self.at + timedelta(seconds=time.perf_counter() - self.t0)


class Ours:
    """A fresh workroom (database, state store) with our Telegram sender on the fake API,
    stepped through the channel's Pipeline on the bench's event loop."""

    def __init__(self, log: SendLog, db: str | None, redis: str | None,
                 delay: float = 0.0, max_batch: int = 64) -> None:
        self.log, self.admin_url = log, db
        self.tmp: str | None = None
        if db and db.startswith("postgresql"):
            self.url = _create_pg(db)
        elif db:
            raise SystemExit("--db takes a postgresql:// URL; the default is a fresh SQLite")
        else:
            self.tmp = tempfile.mkdtemp(prefix="wr-bench-")
            self.url = f"sqlite:///{self.tmp}/bench.db"
        self.clock = RunningClock(START)
        upgrade(self.url)
        engine = make_engine(self.url)
        with transaction(engine) as s:
            org.load_org(s, org.parse_org(org.demo_org_path()), now=self.clock.now())
        self.states: StateStore = (
            RedisStateStore(redis, prefix=f"bench:{uuid.uuid4().hex[:8]}") if redis
            else SqlStateStore(engine))
        settings = Settings(env="test", database_url=self.url, secret_key="bench",
                            scheduler_enabled=False, _env_file=None)
        self.svc: Services = build(settings, clock=self.clock, db=engine, states=self.states)
        self.runner = LoopRunner()  # only to initialize the Bot; sends run on our loop
        self.bot = Bot(TOKEN, request=FakeRequest(log, delay),
                       get_updates_request=FakeRequest(log, delay))
        pace = Pace(chat_burst=HIGH, chat_per_second=HIGH, group_per_minute=HIGH,
                    per_second=HIGH)
        self.sender = TelegramSender(self.bot, self.runner, pace)
        self.svc.senders["telegram"] = self.sender
        self.svc.dispatcher.senders["telegram"] = self.sender
        self.max_batch = max_batch
        self.pipeline: Pipeline | None = None

    async def start(self) -> None:
        """On the bench's loop: the leaders open the bot, so their Telegram chat is the one
        last used; then one user files a report to warm every code path and cache."""
        self.pipeline = Pipeline(self.svc.workroom, {"telegram": self.sender},
                                 max_batch=self.max_batch)
        for chat in LEADER_CHATS:
            await self.step(text_update(chat, "/start"))
        warm = fresh_chats(1)[0]
        for t in texts_for(0, "w"):
            await self.step(text_update(warm, t))
        await self.pipeline.flush()

    @property
    def label(self) -> str:
        state = "redis" if isinstance(self.states, RedisStateStore) else "sql"
        return f"{self.url.split(':')[0]} + {state} state"

    async def step(self, data: dict[str, Any]) -> int:
        """Handle one update; return how many sendMessage calls its replies make."""
        assert self.pipeline is not None
        inbound = parse(data)  # the JSON, as the webhook route and polling hand it over
        assert inbound is not None
        done = await self.pipeline.submit(inbound)
        if done.error is not None:
            raise done.error
        return messages(done.replies)

    def pending(self) -> int:
        with Session(self.svc.db) as s:
            return int(s.exec(select(func.count()).select_from(Notification)
                              .where(Notification.status == "pending")).one())

    def incidents(self) -> int:
        with Session(self.svc.db) as s:
            return int(s.exec(select(func.count()).select_from(Incident)).one())

    def close(self) -> None:
        self.sender.close()
        self.runner.close()
        if isinstance(self.states, RedisStateStore):
            self.states.clear_all()
        self.svc.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.admin_url:
            _drop_pg(self.admin_url, self.url)


def _create_pg(admin_url: str) -> str:
    import psycopg

    name = f"wr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def _drop_pg(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def ours_sequential(ours: Ours, users: int) -> Run:
    """One update at a time: the next is handed in once the last one's replies have left."""
    await ours.start()
    assert ours.pipeline is not None
    chats = fresh_chats(users)
    updates = [[text_update(c, t) for t in texts_for(n)] for n, c in enumerate(chats)]
    t_in = [[0.0] * STEPS for _ in chats]
    counts = [[0] * STEPS for _ in chats]
    t0 = time.perf_counter()
    for n in range(users):
        for k in range(STEPS):
            t_in[n][k] = time.perf_counter()
            counts[n][k] = await ours.step(updates[n][k])
            await ours.pipeline.sent()
    await ours.pipeline.close()
    run = measure("ours", "sequential", ours.log, t0, chats, t_in, counts, LEADER_CHATS)
    _check(ours, run, t0, chats)
    return run


async def ours_in_flight(ours: Ours, users: int, rate: float | None = None,
                         mode: str = "in flight", urgent_every: int = 1,
                         staggered: bool = False) -> Run:
    """All users at once, each user's updates in order (as bare's), or offered by a token
    bucket at `rate` per second in round-robin order. `urgent_every`: only every n-th user
    files an emergency, the others file a suggestion (routine traffic)."""
    await ours.start()
    assert ours.pipeline is not None
    chats = fresh_chats(users)
    urgent = {n for n in range(users) if n % urgent_every == 0}
    updates = [[text_update(c, t) for t in (texts_for(n) if n in urgent else routine_for(n))]
               for n, c in enumerate(chats)]
    t_in = [[0.0] * STEPS for _ in chats]
    counts = [[0] * STEPS for _ in chats]
    failures: list[BaseException] = []
    offered = offsets(users, rate, staggered) if rate else []
    t0 = time.perf_counter()

    async def user(n: int) -> None:
        for k in range(STEPS):
            if rate is None:
                t_in[n][k] = time.perf_counter()
            else:
                t_in[n][k] = due = t0 + offered[n][k]
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                counts[n][k] = await ours.step(updates[n][k])
            except Exception as err:
                failures.append(err)
                return

    await asyncio.gather(*(user(n) for n in range(users)))
    committed = time.perf_counter() - t0
    await ours.pipeline.close()
    run = measure("ours", mode, ours.log, t0, chats, t_in, counts, LEADER_CHATS, rate,
                  urgent if urgent_every > 1 else None)
    run.notes.append(f"steps: all committed after {committed:.1f} s "
                     f"({run.updates / committed:.0f}/s); sends: the last left after "
                     f"{run.elapsed:.1f} s")
    if failures:
        run.notes.append(f"{len(failures)} errors, first: {failures[0]!r}")
    _check(ours, run, t0, [c for n, c in enumerate(chats) if n in urgent])
    return run


def _check(ours: Ours, run: Run, t0: float, chats: list[int]) -> None:
    """Every reporter told the number, both alerts (director, duty leader) delivered."""
    with ours.log.lock:
        untold = [c for c in chats
                  if not any(DONE.search(t) for _, t in ours.log.chats.get(c, ()))]
        said = [t for _, t in ours.log.chats.get(untold[0], ())] if untold else []
    if untold:
        run.notes.append(f"{len(untold)} reporters were not told their number; the first, "
                         f"chat {untold[0]}, was sent {len(said)} messages, the last "
                         f"{(said or [''])[-1][:120]!r}")
    alerts = ours.log.count_since(t0, LEADER_CHATS)
    if alerts != 2 * len(chats):
        run.notes.append(f"{alerts} alert messages for {len(chats)} reporters "
                         "(expected 2 each)")
    if pending := ours.pending():
        run.notes.append(f"{pending} outbox rows still pending")


# --- profile ---------------------------------------------------------------------------


def profile(args: argparse.Namespace, log: SendLog) -> None:
    ours = Ours(log, args.db, args.redis, args.api_ms / 1000)
    statements = itertools.count()

    def count(*_: Any) -> None:
        next(statements)

    event.listen(ours.svc.db, "before_cursor_execute", count)
    profiler = cProfile.Profile()
    profiler.enable()
    run = asyncio.run(ours_sequential(ours, args.profile_users))
    profiler.disable()
    event.remove(ours.svc.db, "before_cursor_execute", count)
    sql = next(statements)
    print(f"ours sequential under cProfile: {ours.label}, {run.users} users, "
          f"{run.updates} updates in {run.elapsed:.1f} s (profiler overhead included); "
          f"{sql / run.updates:.1f} SQL statements per update (step + its deliveries)")
    ours.close()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = \
        stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in raw.values())
    mine = [(ct, tt, nc, f) for f, (_, nc, tt, ct, _) in raw.items()
            if f[0].startswith(str(ROOT)) and "/.venv/" not in f[0]
            and "/bench/" not in f[0]]
    mine.sort(reverse=True)
    print(f"top {args.top} cumulative, our code (of {total:.2f} s profiled):")
    print(f"  {'cum s':>7} {'cum %':>6} {'own s':>7} {'calls':>8}  function")
    for ct, tt, nc, (path, line, name) in mine[:args.top]:
        where = f"{Path(path).relative_to(ROOT)}:{line}({name})"
        print(f"  {ct:7.2f} {100 * ct / total:6.1f} {tt:7.2f} {nc:8d}  {where}")
    own = sorted(((tt, nc, f) for f, (_, nc, tt, _, _) in raw.items()), reverse=True)
    print(f"top {args.top} own time, everything:")
    for tt, nc, (path, line, name) in own[:args.top]:
        short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        print(f"  {tt:7.2f} {100 * tt / total:6.1f} {nc:8d}  {short}:{line}({name})")


# --- main ------------------------------------------------------------------------------


def row(run: Run, rss: str) -> str:
    offered = f" @{run.offered:.0f}/s" if run.offered else ""
    return (f"{run.side:<5} {run.mode + offered:<22} {run.users:>5} {run.updates:>6} "
            f"{run.rate:>8.0f} {run.p(0.5):>8.1f} {run.p(0.99):>8.1f} "
            f"{run.p(0.5, True):>9.1f} {run.p(0.99, True):>9.1f}  {rss}")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def median_of(runs: int, run: Callable[[], Run], by: str = "p99") -> Run:
    """The run of `runs` whose figure `by` is the median: "rate" (updates/s), "p99" (step
    p99) or "alert" (alert p99); the others' figures are noted."""
    done = [run() for _ in range(runs)]
    if runs == 1:
        return done[0]

    def figure(r: Run) -> float:
        return r.rate if by == "rate" else r.p(0.99, alerts=by == "alert")

    done.sort(key=figure)
    chosen = done[len(done) // 2]
    what = {"rate": "updates/s", "p99": "step p99 ms", "alert": "alert p99 ms"}[by]
    chosen.notes.append(f"median of {runs} runs by {what}: " + ", ".join(
        f"{figure(r):.0f}" if by == "rate" else f"{figure(r):.1f}" for r in done))
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--users", type=int, help=f"users for bare (default {DEFAULT_USERS})")
    ap.add_argument("--ours-users", type=int,
                    help="users for ours (default: as many as bare's)")
    ap.add_argument("--db", help="postgresql://… admin URL: a fresh database per run, "
                    "dropped after (default: a fresh SQLite file per run)")
    ap.add_argument("--redis", help="Redis URL for the state store (default: SQL)")
    ap.add_argument("--batch", type=int, default=64,
                    help="ours' largest batch of steps in one transaction")
    ap.add_argument("--api-ms", type=float, default=0.0,
                    help="simulated Bot API round trip per call (default 0: one loop yield)")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_USERS} users on both sides")
    ap.add_argument("--no-half", action="store_true", help="skip the half-capacity runs")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each mode this many times and report the median run")
    ap.add_argument("--pairs", type=int, default=5,
                    help="then this many back-to-back (bare, ours) in-flight runs: the "
                    "throughput ratio of each pair, as the machine's speed drifts (0: none)")
    ap.add_argument("--profile", action="store_true",
                    help="only profile ours, sequential, with cProfile")
    ap.add_argument("--profile-users", type=int, default=100)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    if args.profile:
        profile(args, SendLog())
        return
    users = args.users or (QUICK_USERS if args.quick else DEFAULT_USERS)
    ours_users = args.ours_users or users
    started = time.perf_counter()

    gc.collect()
    rss0 = rss_kib()
    bare: dict[str, Run] = {}
    delay = args.api_ms / 1000
    runs = max(1, args.repeat)
    bare["seq"] = median_of(runs, lambda: asyncio.run(
        bare_run(SendLog(), "sequential", users, delay=delay)), "rate")
    bare["flight"] = median_of(runs, lambda: asyncio.run(
        bare_run(SendLog(), "in flight", users, delay=delay)), "rate")
    half = bare["flight"].rate / 2
    if not args.no_half:
        bare["half"] = median_of(runs, lambda: asyncio.run(
            bare_run(SendLog(), "half capacity", users, rate=half, delay=delay)))
        bare["stag"] = median_of(runs, lambda: asyncio.run(
            bare_run(SendLog(), "staggered", users, rate=half, delay=delay, staggered=True)))
    gc.collect()
    rss_bare = rss_kib()

    ours: dict[str, Run] = {}
    label = ""

    def one(key: str) -> Run:
        nonlocal label
        # As a fresh process would start: build() freezes the heap it finds (gc.freeze),
        # which must not be the garbage of the runs before. Each run has its own log of
        # sends, gone with it.
        gc.unfreeze()
        gc.collect()
        world = Ours(SendLog(), args.db, args.redis, delay, args.batch)
        label = world.label
        try:
            if key == "seq":
                run = asyncio.run(ours_sequential(world, ours_users))
            elif key == "flight":
                run = asyncio.run(ours_in_flight(world, ours_users))
            elif key == "mixed":
                run = asyncio.run(ours_in_flight(
                    world, ours_users, mode=f"flight, 1/{MIXED} urgent", urgent_every=MIXED))
            elif key == "half":
                run = asyncio.run(ours_in_flight(world, ours_users, rate=half,
                                                 mode="half capacity"))
            elif key == "stag":
                run = asyncio.run(ours_in_flight(world, ours_users, rate=half,
                                                 mode="staggered", staggered=True))
            else:
                run = asyncio.run(ours_in_flight(world, ours_users,
                                                 rate=ours["flight"].rate / 2,
                                                 mode="half own cap."))
            incidents = world.incidents()
        finally:
            world.close()
        expected = (-(-ours_users // MIXED) if key == "mixed" else ours_users) + 1  # + warm-up
        if incidents != expected:
            run.notes.append(f"{incidents} incidents stored, expected {expected}")
        return run

    for key in ("seq", "flight", "mixed", "half", "stag", "own-half"):
        if key in ("half", "stag", "own-half") and args.no_half:
            continue
        by = {"seq": "rate", "flight": "rate", "mixed": "alert"}.get(key, "p99")
        ours[key] = median_of(runs, partial(one, key), by)
    # A shared machine's speed drifts over minutes, and the medians above are minutes
    # apart: runs of the two sides back to back see about the same machine.
    paired: list[float] = []
    for _ in range(max(0, args.pairs)):
        b = asyncio.run(bare_run(SendLog(), "in flight", users, delay=delay))
        paired.append(one("flight").rate / b.rate)
    rss_ours = rss_kib()

    print(f"Telegram steps: emergency form, {STEPS} updates per user (menu label + 5 answers)"
          f"; bare {users} users, ours {ours_users} users")
    api = (f"each call awaits {args.api_ms:g} ms, a simulated round trip" if args.api_ms
           else "each call yields the event loop once")
    print(f"fake Bot API: in-process BaseRequest subclass for both sides (no sockets; {api})")
    print(f"ours: {label}, a fresh database per run, the channel's Pipeline (per-chat order, "
          f"batches of up to {args.batch} steps per transaction on one database thread, sends "
          f"on the event loop); Pace limits raised to {HIGH}/s so pacing never holds a reply")
    if ours_users < users:
        print(f"ours runs {ours_users} users, not {users}: updates/s compares as it is; "
              "in-flight latencies of a saturated side grow with its backlog, i.e. with "
              f"the number of users (ours' would be larger at {users})")
    print("latency ms: step = update in -> its first reply's sendMessage; alert = last "
          "update in -> first alert sendMessage to a leader chat")
    print(f"{'side':<5} {'mode':<22} {'users':>5} {'upd':>6} {'upd/s':>8} {'p50':>8} "
          f"{'p99':>8} {'alert p50':>9} {'alert p99':>9}  peak RSS")
    rss_text = {"bare": f"+{(rss_bare - rss0) / 1024:.0f} MiB (of {rss_bare / 1024:.0f})",
                "ours": f"+{max(0, rss_ours - rss_bare) / 1024:.0f} MiB over bare's peak "
                        f"(of {rss_ours / 1024:.0f})"}
    for side in (bare, ours):
        for run in side.values():
            print(row(run, rss_text[run.side]))
            for note in run.notes:
                print(f"      - {note}")
    print("peak RSS is per process (ru_maxrss): bare ran first, ours' figure is its growth "
          "past bare's peak")

    bf, of = bare["flight"], ours["flight"]
    print("ours / bare:")
    print(f"  throughput, sequential {ours['seq'].rate / bare['seq'].rate:.3f}, "
          f"in flight {of.rate / bf.rate:.3f}")
    print(f"  step p99, sequential {ours['seq'].p(0.99) / bare['seq'].p(0.99):.1f}x, "
          f"in flight {of.p(0.99) / bf.p(0.99):.1f}x")
    print(f"  alert p99, in flight {of.p(0.99, True) / bf.p(0.99, True):.1f}x")
    print("targets (from the issue):")
    ratio = of.rate / bf.rate
    print(f"  throughput >= 0.5 x bare with many users in flight: {ratio:.3f} -> "
          f"{verdict(ratio >= 0.5)}")
    if paired:
        mid = sorted(paired)[len(paired) // 2]
        print(f"    the same, {len(paired)} back-to-back pairs of runs (bare, then ours): "
              f"median {mid:.3f} -> {verdict(mid >= 0.5)}; each: "
              + ", ".join(f"{r:.3f}" for r in paired))
    if "half" in ours:
        for key, how in (("half", "lock-step: every user's step k, then k + 1"),
                         ("stag", f"staggered: cohorts of {COHORT} start one after another")):
            oh, bh = ours[key], bare[key]
            p99 = oh.p(0.99) / bh.p(0.99)
            print(f"  step p99 at half of bare's capacity ({half:.0f} updates/s offered, "
                  f"{how}) <= 2 x bare's: {oh.p(0.99):.1f} vs {bh.p(0.99):.1f} ms = "
                  f"{p99:.1f}x -> {verdict(p99 <= 2)}")
            early, last = range(STEPS - 1), range(STEPS - 1, STEPS)
            print(f"    by step, p99: the first {STEPS - 1} {oh.p_steps(0.99, early):.1f} vs "
                  f"{bh.p_steps(0.99, early):.1f} ms; the last (it files the report) "
                  f"{oh.p_steps(0.99, last):.1f} vs {bh.p_steps(0.99, last):.1f} ms")
            oa, ba = oh.p(0.99, True), bh.p(0.99, True)
            print(f"    alert p99 at that rate <= 2 x bare's: {oa:.1f} vs {ba:.1f} ms "
                  f"= {oa / ba:.1f}x -> {verdict(oa <= 2 * ba)}")
        if half > of.rate:
            print(f"    ours' capacity is {of.rate:.0f} updates/s < {half:.0f} offered: it is "
                  "overloaded, its queue (and p99) grows with the length of the run")
        print(f"    for scale: ours one update at a time (sequential), p50 "
              f"{ours['seq'].p(0.5):.1f} ms, p99 {ours['seq'].p(0.99):.1f} ms")
    else:
        print("  step p99 at half of bare's capacity: not run (--no-half)")
    a99, m99 = of.p(0.99, True), ours["mixed"].p(0.99, True)
    print(f"  alert p99 <= 100 ms at saturation, every user filing an emergency at once (in "
          f"flight): {a99:.1f} ms -> {verdict(a99 <= 100)}")
    print(f"    the same, one user in {MIXED} filing an emergency among routine traffic "
          f"(in flight): {m99:.1f} ms -> {verdict(m99 <= 100)}")
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
