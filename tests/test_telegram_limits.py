"""Telegram's limits: paced per chat and per group, a 429 holds one chat only, emergencies
go first, and an acknowledged alert is edited to say who acknowledged it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.telegram import Pace
from conversations.clock import FrozenClock
from handlers.inbound import Inbound
from store import outbox
from store.db import transaction
from store.models import InboxMessage, Notification
from tests.conftest import START, make_services
from tests.fakes.telegram_api import FakeBotApi
from tests.transcript import Chat

GROUP, WORKER = -100777, 9001


class Manual:
    """One virtual second hand for the fake API, our pace and the outbox clock."""

    def __init__(self, clock: FrozenClock) -> None:
        self.t, self.clock = 1000.0, clock

    def __call__(self) -> float:
        return self.t

    def tick(self, seconds: float = 1.0) -> None:
        self.t += seconds
        self.clock.advance(timedelta(seconds=seconds))


def test_pace_allows_a_burst_then_one_a_second() -> None:
    now = Manual(FrozenClock(START))
    pace = Pace(now, chat_burst=3)
    assert [pace.reserve("42") for _ in range(3)] == [0, 0, 0]
    assert pace.reserve("42") == pytest.approx(1.0)
    assert pace.reserve("43") == 0  # another chat is not held up
    now.tick(1)
    assert pace.reserve("42") == 0


def test_pace_keeps_a_group_to_twenty_a_minute_and_honours_a_hold() -> None:
    now = Manual(FrozenClock(START))
    pace = Pace(now, chat_burst=100, chat_per_second=100)
    sent = 0
    for _ in range(60):
        sent += pace.reserve("-5") == 0
        now.tick(0.5)
    assert sent == 20
    pace.hold("7", 30)
    assert pace.reserve("7") == pytest.approx(30)


@pytest.fixture
def manual(clock: FrozenClock) -> Manual:
    return Manual(clock)


@pytest.fixture
def fake(manual: Manual) -> Iterator[FakeBotApi]:
    with FakeBotApi(limit_group_per_minute=20, clock=manual) as api:
        yield api


@pytest.fixture
def svc(sqlite_url: str, clock: FrozenClock, fake: FakeBotApi,
        manual: Manual) -> Iterator[Services]:
    services = make_services(sqlite_url, clock, telegram_token=fake.token,
                             telegram_api_url=fake.base_url,
                             telegram_file_url=fake.base_file_url)
    services.telegram.sender.pace.clock = manual
    yield services
    services.close()


def _push(svc: Services, key: str, chat: int, text: str, priority: int) -> None:
    with transaction(svc.db) as s:
        outbox.enqueue(s, key=key, channel="telegram", address=str(chat), priority=priority,
                       message="notice.raw", params={"text": text}, now=svc.clock.now())


def test_a_burst_to_a_group_does_not_hold_up_another_chat(
        svc: Services, fake: FakeBotApi, manual: Manual) -> None:
    for i in range(200):
        _push(svc, f"g{i}", GROUP, f"【紧急】第{i}条", outbox.EMERGENCY)
    for i in range(10):
        _push(svc, f"w{i}", WORKER, f"回复{i}", outbox.REPLY)
    fake.fail_next("sendMessage", chat_id=GROUP, retry_after=30)  # Telegram says: wait
    worker_done_at = None
    group_sent: list[int] = []  # messages the group had received, second by second
    for second in range(700):
        svc.dispatcher.run_once()
        group_sent.append(len(fake.sent_messages(GROUP)))
        if worker_done_at is None and len(fake.sent_messages(WORKER)) == 10:
            worker_done_at = second
        if group_sent[-1] == 200:
            break
        manual.tick(1)
    group = fake.sent_messages(GROUP)
    assert [c.text for c in group] == [f"【紧急】第{i}条" for i in range(200)]  # in order
    assert worker_done_at is not None and worker_done_at <= 10
    refused = [c for c in fake.sent_messages(GROUP, include_failed=True) if not c.ok]
    assert len(refused) == 1  # the injected 429; our own pace kept to the group limit
    assert group_sent[29] == 0 and group_sent[31] > 0  # held exactly as long as asked
    assert max(b - a for a, b in zip(group_sent, group_sent[60:], strict=False)) <= 20
    with Session(svc.db) as s:
        assert all(n.status == "sent" for n in s.exec(select(Notification)))


def test_emergencies_leave_before_routine_messages(svc: Services, fake: FakeBotApi) -> None:
    for i in range(5):
        _push(svc, f"r{i}", WORKER + i, f"例行{i}", outbox.ROUTINE)
    _push(svc, "e", WORKER + 9, "【紧急】", outbox.EMERGENCY)
    svc.dispatcher.run_once()
    assert fake.sent_messages()[0].text == "【紧急】"


def test_an_acknowledged_alert_in_the_inbox_loses_its_button(services: Services) -> None:
    worker = Chat(services, person="li_ming")
    worker.dialog([("紧急情况报告", "发生了什么"), ("车间有人晕倒了", "在哪里"),
                   ("铸造车间", "多少人"), ("立即发送", "已报告")])
    services.dispatcher.drain()
    with Session(services.db) as s:
        [alert] = [m for m in s.exec(select(InboxMessage).where(
            InboxMessage.address == "p:chen_lihua")) if m.buttons]
    services.workroom.process(Inbound("console", "p:chen_lihua", "ack-1",
                                      action=alert.buttons[0]["value"]))
    services.dispatcher.drain()
    with Session(services.db) as s:
        shown = s.get(InboxMessage, alert.id)
    assert shown is not None and shown.buttons == [] and "✅ 陈丽华 已于" in shown.text
    assert "【紧急】" in shown.text  # the alert itself is still there to read
