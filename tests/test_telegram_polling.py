"""Long polling: an update's offset is confirmed only after its step committed, so a
process killed with SIGKILL at any moment loses no update and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from conversations.catalog import t
from conversations.clock import FrozenClock
from store.db import make_engine
from store.models import InboundMessage, Notification, Suggestion
from tests.conftest import prepared_engine
from tests.fakes.telegram_api import BOT_USERNAME, FakeBotApi, callback_update, text_update
from tests.test_telegram import telegram_services

WORKROOM = Path(sys.executable).parent / "workroom"


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def _last_keyboard(fake: FakeBotApi, chat: int) -> tuple[int, str, dict[str, object]]:
    for call in reversed(fake.sent_messages(chat)):
        markup = call.params.get("reply_markup") or {}
        if "inline_keyboard" in markup:
            return call.result["message_id"], call.text, markup
    raise AssertionError("no inline keyboard sent")


def _press(fake: FakeBotApi, chat: int, data: str) -> None:
    message_id, text, markup = _last_keyboard(fake, chat)
    fake.push_update(callback_update(chat, data, message_id=message_id, message_text=text,
                                     reply_markup=markup))


async def test_a_suggestion_by_long_polling(sqlite_url: str, clock: FrozenClock,
                                            fake: FakeBotApi) -> None:
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        fake.push_update(text_update(8001, "提建议"))
        await fake.wait_for_messages(8001, 1)  # each step's replies are one message
        _press(fake, 8001, "opt:safety")
        await fake.wait_for_messages(8001, 2)
        fake.push_update(text_update(8001, "车间二楼的消防通道被货物堵住了"))
        await fake.wait_for_messages(8001, 3)
        _press(fake, 8001, "opt:anonymous")
        await fake.wait_for_messages(8001, 4)
        _press(fake, 8001, "cmd:confirm")
        await fake.wait_for_messages(8001, 5)
    finally:
        svc.close()
    assert "S-2026-0001" in fake.sent_messages(8001)[-1].text
    assert len(fake.sent_messages(8001)) == 5
    assert fake.confirmed_offset is not None and fake.pending_updates() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, fake: FakeBotApi, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WORKROOM_DATABASE_URL": url, "WORKROOM_SECRET_KEY": "kill-test",
           "WORKROOM_TELEGRAM_TOKEN": fake.token, "WORKROOM_TELEGRAM_API_URL": fake.base_url,
           "WORKROOM_TELEGRAM_FILE_URL": fake.base_file_url, "WORKROOM_TELEGRAM_MODE": "polling",
           "WORKROOM_PORT": str(_free_port()), "WORKROOM_OUTBOX_INTERVAL_SECONDS": "0.2"}
    log = open(tmp / "serve.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([str(WORKROOM), "serve"], env=env, cwd=tmp, stdout=log,
                            stderr=subprocess.STDOUT)


async def _recorded(url: str, chat: str, timeout: float = 30) -> None:
    """Wait until every reply sent to the chat is recorded as sent. A kill between a send
    and its record is the one moment a reply goes out twice (the outbox resends what it
    cannot know was delivered: at least once); this test kills the bot while it handles
    an update, where nothing may be lost or doubled."""
    engine = make_engine(url)
    try:
        for _ in range(int(timeout / 0.05)):
            with Session(engine) as s:
                if s.exec(select(Notification.id).where(
                        Notification.address == chat,
                        Notification.status == "pending")).first() is None:
                    return
            await asyncio.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"replies to {chat} still not recorded as sent after {timeout} s")


async def test_sigkill_in_the_middle_of_a_flow_loses_and_doubles_nothing(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi, tmp_path: Path) -> None:
    prepared_engine(sqlite_url, clock.now()).dispose()
    steps = [lambda: fake.push_update(text_update(8100, "提建议")),
             lambda: _press(fake, 8100, "opt:living"),
             lambda: fake.push_update(text_update(8100, "食堂晚餐能不能多一个素菜窗口")),
             lambda: _press(fake, 8100, "opt:named"),
             lambda: _press(fake, 8100, "cmd:confirm")]
    expected = [1, 2, 3, 4, 5]  # messages the chat has seen after each step
    proc = _serve(sqlite_url, fake, tmp_path)
    try:
        for i, (step, count) in enumerate(zip(steps, expected, strict=True)):
            step()
            if i in (1, 3):
                # Killed the moment the update is out, before or while it is handled.
                await fake.wait_for_calls("getUpdates", len(fake.calls_to("getUpdates")) + 1,
                                          timeout=30)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = _serve(sqlite_url, fake, tmp_path)
            await fake.wait_for_messages(8100, count, timeout=60)
            await _recorded(sqlite_url, "8100")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    texts = [c.text for c in fake.sent_messages(8100)]
    assert sum("S-2026-" in t for t in texts) == 1, texts
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        [row] = s.exec(select(Suggestion)).all()
        handled = s.exec(select(InboundMessage).where(InboundMessage.channel == "telegram")).all()
    engine.dispose()
    assert (row.topic, row.text, row.anonymous) == ("living", "食堂晚餐能不能多一个素菜窗口",
                                                    False)
    assert len(handled) == 5  # each update handled once, none lost


async def test_a_stopped_server_confirms_what_it_handled_and_records_what_it_sent(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi, tmp_path: Path) -> None:
    """`workroom serve` stopped as a service manager stops it (SIGTERM, a deploy): it
    leaves its long poll with the last offset confirmed and every reply it sent recorded,
    so the next start neither takes an update again nor sends a reply twice."""
    prepared_engine(sqlite_url, clock.now()).dispose()
    proc = _serve(sqlite_url, fake, tmp_path)
    try:
        fake.push_update(text_update(8200, "提建议"))
        await fake.wait_for_messages(8200, 1, timeout=60)
        proc.send_signal(signal.SIGTERM)  # the moment the reply is out
        # uvicorn ends by raising the signal again once it has shut down gracefully
        assert await asyncio.to_thread(proc.wait, 60) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    last = fake.calls_to("getUpdates")[-1]
    assert (last.params["timeout"], last.params["offset"]) == (0, fake.confirmed_offset)
    assert fake.pending_updates() == []
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        [reply] = s.exec(select(Notification).where(Notification.address == "8200")).all()
    engine.dispose()
    assert reply.status == "sent"


async def test_an_edit_by_long_polling_is_answered(sqlite_url: str, clock: FrozenClock,
                                                   fake: FakeBotApi) -> None:
    """Edits are asked for: the fake, as Telegram, gives only the kinds of update asked."""
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        sent = fake.push_update(text_update(8300, "提建议"))
        await fake.wait_for_messages(8300, 1)
        edit = text_update(8300, "提意见", message_id=sent["message"]["message_id"])
        edit["edited_message"] = {**edit.pop("message"), "edit_date": sent["message"]["date"]}
        fake.push_update(edit)
        [_, told] = await fake.wait_for_messages(8300, 2)
    finally:
        svc.close()
    assert told.text == t("zh", "inbound.edited") + "\n\n" + \
        t("zh", "flow.progress", n=1, total=3) + " " + t("zh", "suggestion.topic.ask")
    assert fake.pending_updates() == []


async def test_polling_rides_out_a_5xx_and_a_429_from_telegram(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """getUpdates fails (502, then 429 retry_after 1): the bot keeps polling, takes the
    worker's update once, and confirms it."""
    fake.fail_next("getUpdates", status=502)
    fake.fail_next("getUpdates", retry_after=1)
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        fake.push_update(text_update(8400, "提建议"))
        [reply] = await fake.wait_for_messages(8400, 1, timeout=15)
        await svc.telegram.settled()
    finally:
        svc.close()
    assert "哪方面" in reply.text
    assert [c.status for c in fake.calls_to("getUpdates")][:2] == [502, 429]
    assert fake.pending_updates() == [] and len(fake.sent_messages(8400)) == 1


async def test_polling_starts_while_telegram_is_down_and_catches_up(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """Telegram answers 502 at start (getMe, deleteWebhook): the workroom starts, polling
    tries again, and the worker who wrote meanwhile is answered once Telegram is back."""
    fake.fail_next("getMe", status=502)
    fake.fail_next("deleteWebhook", status=502)
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    try:
        svc.telegram.start_polling()
        fake.push_update(text_update(8500, "提建议"))
        [reply] = await fake.wait_for_messages(8500, 1, timeout=15)
        assert svc.telegram.username() == BOT_USERNAME  # asked again, now it answers
    finally:
        svc.close()
    assert "哪方面" in reply.text
    assert [c.status for c in fake.calls_to("deleteWebhook")] == [502, 200]
    assert fake.pending_updates() == []
