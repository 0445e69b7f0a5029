"""The one data flow under stress: restarts, re-deliveries and concurrent messages,
on every backend pair (SQLite / PostgreSQL x SQL / Redis state)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from bot.bootstrap import Services, build
from conversations.clock import FrozenClock
from handlers.inbound import Inbound
from store.models import (
    Alert,
    Case,
    Conversation,
    InboundMessage,
    Incident,
    Notification,
)
from store.state import RedisStateStore, SqlStateStore, StateStore
from tests.conftest import START, make_services, test_settings
from tests.transcript import Chat

COMPLAINT = [
    ("反映问题", "问题属于哪一类"),
    ("工资福利", "发生了什么"),
    ("十月份加班费一直没有发，车间里很多人都有意见", "从什么时候开始"),
    ("2026年10月", "涉及多少人"),
    ("12", "联名"),
    ("跳过", "哪个车间"),
    ("铸造车间", "怎样的解决"),
    ("补发十月加班费", "是否实名"),
    ("实名", "请核对"),
    ("确认提交", "已登记"),
]


def restarted(svc: Services) -> Services:
    """A fresh process: new engine objects and state store, the same databases."""
    states: StateStore
    if isinstance(svc.states, RedisStateStore):
        states = RedisStateStore(svc.settings.redis_url or "redis://127.0.0.1:6379/15",
                                 prefix=svc.states.prefix)
        states.redis = svc.states.redis
    else:
        states = SqlStateStore(svc.db)
    return build(svc.settings, clock=svc.clock, db=svc.db, states=states)


def test_flow_resumes_after_a_restart_at_every_step(any_services: Services) -> None:
    svc = any_services
    for said, expected in COMPLAINT:
        svc = restarted(svc)  # a process killed after every step, started again
        chat = Chat(svc, person="li_ming")
        chat.say(said)
        assert expected in chat.text, f"after {said!r}: {chat.text}"
    with Session(svc.db) as s:
        case = s.exec(select(Case)).one()
    assert (case.category, case.since, case.affected, case.outcome_wanted) == (
        "wages", "2026-10", 12, "补发十月加班费")
    assert case.description.startswith("十月份加班费")


def test_same_message_delivered_twice_makes_one_record_and_one_alert(
        any_services: Services) -> None:
    chat = Chat(any_services, person="li_ming")
    chat.dialog([("紧急情况报告", "发生了什么"), ("三十多人在厂门口聚集", "在哪里")])
    first = chat.say("厂区东门", message_id="final-1")
    again = chat.say("厂区东门", message_id="final-1")  # the platform re-delivers
    assert [r.text for r in again] == [r.text for r in first]
    with Session(any_services.db) as s:
        assert s.exec(select(func.count()).select_from(Incident)).one() == 0
    chat.say("立即发送", message_id="send-1")
    chat.say("立即发送", message_id="send-1")
    restarted(any_services).workroom.process(
        Inbound("console", "p:li_ming", "send-1", text="立即发送"))
    with Session(any_services.db) as s:
        assert s.exec(select(func.count()).select_from(Incident)).one() == 1
        alerts = s.exec(select(func.count()).select_from(Alert)).one()
        pushes = s.exec(select(func.count()).select_from(Notification)).one()
    assert alerts >= 2 and pushes == alerts  # director and duty leader, one push each


def test_anonymous_receipt_code_is_shown_again_on_redelivery_but_never_stored(
        services: Services) -> None:
    chat = Chat(services, person="zhang_wei")
    for said, _ in COMPLAINT[:-2]:
        chat.say(said)
    chat.say("匿名")
    first = chat.say("确认提交", message_id="confirm-anon")
    code = next(line.split("：")[1] for r in first for line in r.text.splitlines()
                if line.startswith("您的回执码是"))
    again = chat.say("确认提交", message_id="confirm-anon")
    assert code in again[0].text
    with Session(services.db) as s:
        rows = s.exec(select(InboundMessage)).all()
        assert all(code not in str(r.replies) for r in rows)
        assert all(code not in str(c.state) for c in s.exec(select(Conversation)).all())
        assert s.exec(select(func.count()).select_from(Case)).one() == 1


def _versions(svc: Services, key: str) -> list[int]:
    with Session(svc.db) as s:
        return list(s.exec(select(InboundMessage.state_version)
                           .where(InboundMessage.conversation_key == key)
                           .order_by(col(InboundMessage.state_version))).all())


def test_concurrent_messages_of_one_user_never_interleave(any_services: Services) -> None:
    """Two processes' worth of workers hammer one user: every step sees the one before."""
    workers = [any_services, restarted(any_services)]
    errors: list[BaseException] = []

    def send(svc: Services, n: int) -> None:
        try:
            for i in range(6):
                svc.workroom.process(Inbound("web", "v:busy", f"m{n}-{i}", text="菜单"))
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(workers[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Each step read the state the previous one saved: versions 1..24, none taken twice.
    assert _versions(any_services, "web:v:busy") == list(range(1, 25))


def _child(url: str, n: int) -> None:
    from store.db import make_engine

    engine = make_engine(url)
    svc = build(test_settings(url), clock=FrozenClock(START), db=engine,
                states=SqlStateStore(engine))
    for i in range(8):
        svc.workroom.process(Inbound("web", "v:proc", f"p{n}-{i}", text="菜单"))
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_separate_processes_serialise_one_user(backend: str, request: pytest.FixtureRequest,
                                               clock: FrozenClock) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    svc = make_services(url, clock)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_child, args=(url, n)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _versions(svc, "web:v:proc") == list(range(1, 25))


def test_draft_timeout_notice_is_pushed_once(services: Services, clock: FrozenClock) -> None:
    chat = Chat(services, person="li_ming")
    chat.dialog([("提建议", "哪方面"), ("食堂生活", "请写下")])
    clock.advance(timedelta(minutes=31))
    assert services.sweeper.run_once() == 1
    assert services.sweeper.run_once() == 0
    services.dispatcher.drain()
    notices = chat.inbox()
    assert len(notices) == 2 and "保留" in notices[0].text and "请写下" in notices[1].text
    chat.say("食堂晚餐能不能多一个素菜窗口")  # the answer after the notice is taken
    assert "是否实名" in chat.text
