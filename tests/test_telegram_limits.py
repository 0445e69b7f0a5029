"""Telegram's limits: paced per chat and per group, a 429 holds one chat only, emergencies
go first, and an acknowledged alert is edited to say who acknowledged it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.telegram import Pace, SharedPace
from conversations.catalog import t
from conversations.clock import FrozenClock
from handlers.inbound import Inbound
from store import outbox
from store.db import transaction
from store.models import InboxMessage, Notification
from tests.conftest import REDIS_URL, START, make_services
from tests.fakes.telegram_api import FakeBotApi, text_update
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
def two_processes() -> Iterator[tuple[SharedPace, SharedPace]]:
    """Two processes' paces on one Redis (as a production workroom's web workers)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as err:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {err}")
    prefix = f"wrtest:{uuid.uuid4().hex[:8]}"
    limits: dict[str, Any] = dict(chat_burst=4, chat_per_second=1.0, group_per_minute=20,
                                  per_second=30)
    a, b = SharedPace(REDIS_URL, prefix=prefix, **limits), \
        SharedPace(REDIS_URL, prefix=prefix, **limits)
    yield a, b
    for key in a.redis.scan_iter(match=f"{a.prefix}*"):
        a.redis.delete(key)


def test_two_processes_share_one_bots_budget(
        two_processes: tuple[SharedPace, SharedPace]) -> None:
    """Telegram counts per bot: 30 a second in all, a chat's burst, a group's 20 a
    minute are shared by every process; another chat is never held up by one."""
    a, b = two_processes
    # A chat: a burst of four across both processes, then about a second's wait.
    assert [p.reserve("42") for p in (a, b, a, b)] == [0, 0, 0, 0]
    assert 0.5 < b.reserve("42") <= 1.0 and 0.5 < a.reserve("42") <= 1.0
    # Thirty a second in all: 26 more chats go, whichever process sends.
    assert [(a if n % 2 else b).reserve(str(1000 + n)) for n in range(26)] == [0] * 26
    wait = a.reserve("2000")
    assert 0 < wait <= 1.0 and b.reserve("2001") > 0


def test_a_429_in_one_process_holds_that_chat_in_the_other(
        two_processes: tuple[SharedPace, SharedPace]) -> None:
    a, b = two_processes
    a.hold("7", 30)
    assert 29 < b.reserve("7") <= 30
    assert b.reserve("8") == 0  # only the chat Telegram named waits
    a.hold("7", 5)  # a shorter hold never shortens a longer one
    assert 29 < a.reserve("7") <= 30


def test_a_group_gets_twenty_a_minute_from_all_processes(
        two_processes: tuple[SharedPace, SharedPace]) -> None:
    a, b = two_processes
    for pace in (a, b):  # each chat's own bucket out of the way: only the group's count
        pace.burst, pace.rate = 100, 100.0
    sent = sum((a if n % 2 else b).reserve("-5") == 0 for n in range(25))
    assert sent == 20
    assert 50 < a.reserve("-5") <= 60


def test_a_workroom_on_redis_paces_every_process_through_it(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """Two processes of one workroom (one database, one Redis): a chat's burst is spent
    by the first, and the second waits for Telegram's pace rather than adding its own."""
    chat = 7_000_000 + uuid.uuid4().int % 1_000_000  # a chat no other run has paced
    config: dict[str, Any] = dict(telegram_token=fake.token, telegram_api_url=fake.base_url,
                                  telegram_file_url=fake.base_file_url, redis_url=REDIS_URL)
    first = make_services(sqlite_url, clock, **config)
    second = make_services(sqlite_url, clock, engine=first.db, **config)
    try:
        assert isinstance(second.telegram.sender.pace, SharedPace)
        for i in range(6):
            _push(first, f"p{i}", chat, f"第{i}条", outbox.REPLY)
        for _ in range(4):  # one push of a chat per round: the next waits for it
            first.dispatcher.run_once()
        assert len(fake.sent_messages(chat)) == 4  # the chat's burst, spent
        for _ in range(3):
            second.dispatcher.run_once()
        assert [c.text for c in fake.sent_messages(chat)] == [f"第{i}条" for i in range(4)]
    finally:
        first.close()
        second.close()


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


async def test_a_429_on_a_reply_holds_that_chat_only_and_its_replies_come_in_order(
        svc: Services, fake: FakeBotApi, manual: Manual) -> None:
    """Telegram answers a reply with 429 retry_after 30: that worker's replies wait the 30
    seconds, in order, once each; another worker's reply goes at once."""
    fake.fail_next("sendMessage", chat_id=WORKER, retry_after=30)
    for chat, text in ((WORKER, "/start"), (WORKER + 1, "/start"), (WORKER, "提建议")):
        await svc.telegram.handle_from_other_loop(text_update(chat, text))
        await svc.telegram.settled()
    assert [c.text for c in fake.sent_messages(WORKER + 1)] == [t("zh", "menu.welcome")]
    assert fake.sent_messages(WORKER) == []
    manual.tick(29)
    await asyncio.to_thread(svc.dispatcher.drain)
    assert fake.sent_messages(WORKER) == []  # held exactly as long as asked
    manual.tick(2)
    await asyncio.to_thread(svc.dispatcher.drain)
    texts = [c.text for c in fake.sent_messages(WORKER)]
    assert len(texts) == 2 and texts[0] == t("zh", "menu.welcome") and "哪方面" in texts[1]
    refused = [c for c in fake.sent_messages(WORKER, include_failed=True) if not c.ok]
    assert len(refused) == 1  # never tried again before Telegram's time


def test_a_long_push_arrives_in_parts_under_the_limit_with_its_buttons_last(
        svc: Services, fake: FakeBotApi) -> None:
    lines = [f"C-2026-{i:04d} 工资福利 · 办理中 · 2027-01-22 到期：" + "加班费" * 20
             for i in range(1, 121)]
    with transaction(svc.db) as s:
        outbox.enqueue(s, key="long", channel="telegram", address=str(WORKER),
                       message="notice.raw", now=svc.clock.now(), priority=outbox.REPLY,
                       params={"text": "\n".join(lines),
                               "buttons": [{"label": "确认提交", "value": "cmd:confirm",
                                            "kind": "action"}]})
    svc.dispatcher.drain()
    parts = fake.sent_messages(WORKER)
    assert len(parts) > 1 and all(len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == "\n".join(lines)  # cut at line ends, in order
    assert [bool(p.params.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) \
        + [True]


def test_a_long_alert_edited_keeps_its_last_part_with_who_acknowledged(
        svc: Services, fake: FakeBotApi) -> None:
    """An alert longer than one message is sent in parts, its 收到 on the last; the edit
    saying who acknowledged it goes to that last message, which then ends with that line
    and still shows what it showed before: never the alert's first part in its place."""
    lines = [f"第{i}人：" + "车间聚集，要求说明加班费" * 8 for i in range(1, 90)]
    alert = "\n".join(lines)
    with transaction(svc.db) as s:
        outbox.enqueue(s, key="alert", channel="telegram", address=str(WORKER),
                       message="notice.raw", now=svc.clock.now(), priority=outbox.ALERT,
                       params={"text": alert,
                               "buttons": [{"label": "收到", "value": "cmd:confirm",
                                            "kind": "action"}]})
    svc.dispatcher.drain()
    parts = fake.sent_messages(WORKER)
    assert len(parts) > 1
    last = parts[-1]
    acked = "✅ 王建平 已于 11-23 21:40 确认收到。"
    with transaction(svc.db) as s:
        outbox.enqueue(s, key="alert-edit", channel="telegram", address=str(WORKER),
                       message="notice.raw", now=svc.clock.now(), priority=outbox.ALERT,
                       params={"text": alert + "\n" + acked,
                               "edit_ref": str(last.result["message_id"])})
    svc.dispatcher.drain()
    [edit] = fake.calls_to("editMessageText")
    assert edit.params["message_id"] == last.result["message_id"]
    shown = edit.params["text"]
    assert len(shown) <= 4096 and shown.endswith(acked)
    assert last.text in shown  # what the last message said is still there
    assert not shown.startswith(lines[0])
