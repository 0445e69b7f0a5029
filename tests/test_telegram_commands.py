"""The "/" command menu (/start /menu /cancel /help /status /lang, in Chinese and English)
when Telegram cannot be reached at start: the workroom starts at once, without waiting for
Telegram, registers the menu in the background as soon as Telegram answers again, and
stops at once however long that takes. The real python-telegram-bot stack over real HTTP
against the in-process fake Bot API server (tests/fakes/telegram_api.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from bot.bootstrap import Services
from conversations.catalog import t
from conversations.clock import FrozenClock
from tests.fakes.telegram_api import ApiError, FakeBotApi
from tests.test_telegram import TgChat, telegram_services
from web.app import create_app

LANGUAGES = ("", "zh", "en")  # the default menu (Chinese), Chinese, English
COMMANDS = {"start", "menu", "cancel", "help", "status", "lang"}


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(params=["webhook", "polling"])
def tg(request: pytest.FixtureRequest, sqlite_url: str, clock: FrozenClock,
       fake: FakeBotApi) -> Iterator[Services]:
    svc = telegram_services(sqlite_url, clock, fake, request.param)
    yield svc
    svc.close()


@pytest.fixture
def webhook(sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> Iterator[Services]:
    svc = telegram_services(sqlite_url, clock, fake, "webhook")
    yield svc
    svc.close()


def _bad_gateway(params: dict[str, Any]) -> Any:
    raise ApiError(502, "Bad Gateway")


async def _menu_registered(fake: FakeBotApi, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(fake.commands(language_code=code) for code in LANGUAGES):
        if time.monotonic() > deadline:
            raise AssertionError(f"menu not registered after {timeout} s: "
                                 f"{[c.status for c in fake.calls_to('setMyCommands')]}")
        await asyncio.sleep(0.01)


def _menu(fake: FakeBotApi, code: str) -> dict[str, str]:
    return {c["command"]: c["description"] for c in fake.commands(language_code=code)}


def _complaints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the channel and the web app logged at warning level or above."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING
            and r.name in ("bot.telegram", "web.app")]


async def test_the_menu_is_registered_once_telegram_answers_again(
        webhook: Services, fake: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    """setMyCommands answers 502 for a while after the start: the web chat and the
    Telegram chats work all the while, and the menu appears in both languages as soon as
    Telegram answers again, without a restart. The failure is said once, as a warning."""
    fake.set_handler("setMyCommands", _bad_gateway)
    webhook.telegram.commands_pause = 0.02
    webhook.telegram.commands_max_pause = 0.1
    app = create_app(webhook, run_scheduler=True)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=transport, base_url="http://wr.test") as client:
        client.telegram = webhook.telegram  # type: ignore[attr-defined]
        await fake.wait_for_calls("setMyCommands", 3)  # tried again, and again
        r = await client.post("/api/chat", json={"id": "menu-down-0001", "text": "菜单"})
        assert r.status_code == 200 and r.json()["replies"]
        [asked] = await TgChat(client, fake, 7401).say("提建议")
        assert asked.endswith(t("zh", "suggestion.topic.ask"))
        assert all(fake.commands(language_code=code) == [] for code in LANGUAGES)
        fake.set_handler("setMyCommands", None)  # Telegram answers again
        await _menu_registered(fake)
        tried = len(fake.calls_to("setMyCommands"))
        await asyncio.sleep(0.3)  # registered: no more tries
        assert len(fake.calls_to("setMyCommands")) == tried
    zh, en = _menu(fake, ""), _menu(fake, "en")
    assert set(zh) == set(en) == set(_menu(fake, "zh")) == COMMANDS
    assert zh["cancel"] == "放弃当前填写" and en["cancel"] == "Drop the current form"
    statuses = [c.status for c in fake.calls_to("setMyCommands")]
    assert statuses[-3:] == [200, 200, 200] and set(statuses[:-3]) == {502}
    [warned] = _complaints(caplog)
    assert warned.levelno == logging.WARNING and warned.exc_info is None
    assert "command menu" in warned.getMessage()


async def test_a_429_waits_as_long_as_telegram_says(
        tg: Services, fake: FakeBotApi) -> None:
    """Telegram answers the first setMyCommands with 429, retry after 1 s: the next try
    comes no sooner, though the back-off's own pause is much shorter; in webhook and in
    polling mode."""
    fake.fail_next("setMyCommands", status=429, retry_after=1)
    tg.telegram.commands_pause = 0.01
    app = create_app(tg, run_scheduler=True)
    async with app.router.lifespan_context(app):
        await _menu_registered(fake)
    calls = fake.calls_to("setMyCommands")
    assert [c.status for c in calls] == [429, 200, 200, 200]
    assert calls[1].at - calls[0].at >= 0.99
    assert set(_menu(fake, "")) == set(_menu(fake, "en")) == COMMANDS


@pytest.mark.parametrize("pending", ["pause", "request"])
async def test_a_stop_while_the_menu_is_retried_is_quick_and_quiet(
        webhook: Services, fake: FakeBotApi, caplog: pytest.LogCaptureFixture,
        pending: str) -> None:
    """The workroom is stopped while the menu waits for its next try (a long pause) or
    while Telegram holds its request unanswered: the start did not wait for Telegram, the
    stop does not either, nothing is tried after it and nothing is logged as an error."""
    released = threading.Event()

    def hold(params: dict[str, Any]) -> Any:
        async def unanswered() -> Any:
            while not released.is_set():
                await asyncio.sleep(0.01)
            raise ApiError(502, "Bad Gateway")
        return unanswered()

    fake.set_handler("setMyCommands", _bad_gateway if pending == "pause" else hold)
    webhook.telegram.commands_pause = 60.0
    app = create_app(webhook, run_scheduler=True)
    try:
        async with AsyncExitStack() as stack:
            begun = time.monotonic()
            await stack.enter_async_context(app.router.lifespan_context(app))
            assert time.monotonic() - begun < 1.0  # the start does not wait for Telegram
            if pending == "pause":
                await fake.wait_for_calls("setMyCommands", 1)
            else:
                while not fake.calls_to("setMyCommands"):
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # the channel has its answer, or waits for it
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 2.0
        await asyncio.to_thread(webhook.telegram.stop)  # once is enough: a second is a no-op
    finally:
        released.set()
    await asyncio.sleep(0.2)
    assert len(fake.calls_to("setMyCommands")) == 1
    complaints = _complaints(caplog)
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in complaints)
    assert len(complaints) == (1 if pending == "pause" else 0)
