"""Test helpers: the workroom with both WeChat accounts against the fake WeChat API, and a
person talking to it through signed, encrypted callbacks.

The fixtures are shared by the WeChat test modules: import them by name there (pytest
finds a fixture in the module that uses it).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.bootstrap import Services
from bot.wechat_render import typed_words
from conversations.catalog import t
from conversations.clock import FrozenClock
from handlers.inbound import ALBUM_WAIT
from store.models import Contact, InboundMessage, Notification, Person
from tests.conftest import make_services
from tests.fakes.wechat_api import (
    AGENT_ID,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    MEDIA_TYPES,
    OA_AES_KEY,
    OA_TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    Callbacks,
    FakeWeChatApi,
)
from web.app import create_app
from web.wechat import PATHS

_MSG_IDS = itertools.count(24_000_000_000_000_000)


def said(lang: str, key: str, /, **params: Any) -> str:
    """A catalog sentence as WeChat shows it: one that says to tap a button says what to
    reply instead (bot/wechat_render.typed_words)."""
    return typed_words(t(lang, key, **params), lang)


def ask(lang: str, flow: str, step: str, n: int, total: int) -> str:
    """A question as WeChat shows it: its progress header, then the question."""
    return typed_words(t(lang, "flow.progress", n=n, total=total) + " "
                       + t(lang, f"{flow}.{step}.ask"), lang)


def wechat_settings(api: FakeWeChatApi, **overrides: Any) -> dict[str, Any]:
    return {"wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET,
            "wechat_token": OA_TOKEN, "wechat_aes_key": OA_AES_KEY,
            "wechat_api_url": api.url, "wecom_corp_id": CORP_ID, "wecom_agent_id": AGENT_ID,
            "wecom_secret": CORP_SECRET, "wecom_token": WECOM_TOKEN,
            "wecom_aes_key": WECOM_AES_KEY, "wecom_api_url": api.url, **overrides}


def wechat_services(url: str, clock: FrozenClock, api: FakeWeChatApi, engine: Any = None,
                    **overrides: Any) -> Services:
    return make_services(url, clock, engine=engine, **wechat_settings(api, **overrides))


@pytest.fixture
def api() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi() as fake:
        yield fake


@pytest.fixture
def wx(sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> Iterator[Services]:
    svc = wechat_services(sqlite_url, clock, api)
    yield svc
    svc.close()


@pytest.fixture
def wx_db(db_url: str, clock: FrozenClock, api: FakeWeChatApi) -> Iterator[Services]:
    """Both accounts on SQLite and on PostgreSQL."""
    svc = wechat_services(db_url, clock, api)
    yield svc
    svc.close()


async def app_client(svc: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The workroom app over ASGI, scheduler off (tests sweep and dispatch by hand)."""
    transport = httpx.ASGITransport(app=create_app(svc, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
        yield c


@pytest.fixture
async def client(wx: Services) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(wx):
        yield c


@pytest.fixture
async def client_db(wx_db: Services) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(wx_db):
        yield c


def count(svc: Services, model: Any, *where: Any) -> int:
    with Session(svc.db) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def stored(svc: Services) -> tuple[int, ...]:
    return tuple(count(svc, m) for m in (InboundMessage, Person, Contact, Notification))


def slow_steps(svc: Services, seconds: float, *, fail: int = 0) -> None:
    """Make every step take `seconds` longer (a saturated machine); the first `fail` of
    them then fail (a step that dies: nothing of it commits)."""
    real = svc.workroom.process_batch
    failures = [fail]

    def slow(msgs: list[Any], **kw: Any) -> Any:
        if msgs:
            time.sleep(seconds)
            if failures[0] > 0:
                failures[0] -= 1
                raise RuntimeError("the step died")
        return real(msgs, **kw)

    svc.workroom.process_batch = slow  # type: ignore[method-assign]


def failing_steps(svc: Services, times: int = 1) -> None:
    """The next `times` steps fail inside their transaction (the engine raises): nothing
    of them commits."""
    engine = svc.workroom.engine
    real = engine.step
    left = [times]

    def step(*args: Any, **kw: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise RuntimeError("the step failed")
        return real(*args, **kw)

    engine.step = step  # type: ignore[method-assign]


class WxChat:
    """One follower of the official account (kind "wechat", address = openid) or one WeCom
    user (kind "wecom", address = userid), posting callbacks as WeChat does."""

    def __init__(self, client: httpx.AsyncClient, svc: Services, api: FakeWeChatApi,
                 kind: str, user: str) -> None:
        self.client, self.svc, self.api, self.kind, self.user = client, svc, api, kind, user
        self.callbacks = Callbacks(kind, svc.clock)
        self.seen_sent = 0
        self.passive: list[str] = []
        self.created = int(svc.clock.now().timestamp())
        self.last: tuple[dict[str, str], bytes] | None = None

    @property
    def channel(self) -> Any:
        return self.svc.wechat if self.kind == "wechat" else self.svc.wecom

    @property
    def path(self) -> str:
        return PATHS[self.kind]

    async def post_raw(self, params: dict[str, str], body: bytes) -> httpx.Response:
        r = await self.client.post(self.path, params=params, content=body)
        await asyncio.to_thread(self.channel.settle_all)
        if r.status_code == 200 and r.text.startswith("<xml>"):
            self.passive.append(self.callbacks.read_reply(r.text)["Content"])
        return r

    def inner(self, msg_type: str, *, msg_id: int | None = None, event: bool = False,
              **extra: str) -> str:
        self.created += 1
        mid = None if event else (msg_id if msg_id is not None else next(_MSG_IDS))
        return self.callbacks.inner(self.user, msg_type, self.created, mid, **extra)

    async def send_inner(self, inner_xml: str) -> httpx.Response:
        self.last = self.callbacks.post(inner_xml)
        return await self.post_raw(*self.last)

    async def say(self, text: str) -> list[str]:
        r = await self.send_inner(self.inner("text", Content=text))
        assert r.status_code == 200, (r.status_code, r.text)
        return self.new_texts()

    async def click(self, key: str) -> list[str]:
        r = await self.send_inner(self.inner("event", event=True, Event="CLICK", EventKey=key))
        assert r.status_code == 200
        return self.new_texts()

    async def media(self, kind: str, media_id: str) -> list[str]:
        extra = {"MediaId": media_id}
        if kind == "image":
            extra["PicUrl"] = f"http://mmbiz.example/{media_id}"
        elif kind in ("video", "shortvideo"):
            extra["ThumbMediaId"] = f"THUMB-{media_id}"
        else:
            extra["Format"] = "amr"
        r = await self.send_inner(self.inner(kind, **extra))
        assert r.status_code == 200
        if kind == "image":  # photos one after another are an album: answered once, after
            await self.album_waited()
        return self.new_texts()

    async def album_waited(self) -> None:
        """The wait for an album's next photo passes; the outbox sends what is due."""
        self.svc.clock.advance(ALBUM_WAIT)  # type: ignore[attr-defined]
        await asyncio.to_thread(self.svc.dispatcher.drain)

    def sent(self) -> list[str]:
        """The texts sent to the person (not images, voice, videos or files)."""
        return [c.text for c in self.api.sent(to=self.user)
                if c.body.get("msgtype") not in MEDIA_TYPES]

    def new_texts(self) -> list[str]:
        """What the person saw since last asked: passive replies, then messages."""
        sent = self.sent()
        texts = self.passive + sent[self.seen_sent:]
        self.passive, self.seen_sent = [], len(sent)
        return texts


async def run(chat: WxChat, steps: list[tuple[str, str]]) -> None:
    for said, expected in steps:
        texts = await chat.say(said)
        assert any(expected in t for t in texts), f"after {said!r}: {texts}"
