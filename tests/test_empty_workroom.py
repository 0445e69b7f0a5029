"""A workroom whose organisation is not loaded yet must not pretend anyone was alerted."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.bootstrap import build
from conversations.clock import FrozenClock
from store.db import make_engine
from store.migrate import upgrade
from store.models import Incident
from store.state import SqlStateStore
from tests.conftest import test_settings
from tests.transcript import Chat


def test_emergency_with_nobody_to_alert_tells_the_reporter_to_phone(
        sqlite_url: str, clock: FrozenClock) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    svc = build(test_settings(sqlite_url), clock=clock, db=engine, states=SqlStateStore(engine))
    chat = Chat(svc, channel="web", address="v:first-visitor")
    chat.dialog([("紧急情况报告", "发生了什么"), ("仓库冒烟了", "在哪里"),
                 ("成品仓库", "多少人"), ("立即发送", "请立即打电话")])
    with Session(engine) as s:
        assert s.exec(select(Incident)).one().place == "成品仓库"  # recorded all the same
    svc.close()
