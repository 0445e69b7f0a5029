"""A message whose step fails every time it is tried (a bug, or something no step can
take) is set aside after a few tries: recorded as taken, its sender told, the staff told;
the messages behind it are not held up, by long polling or by the webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from bot.telegram import SET_ASIDE_AFTER
from conversations.catalog import t
from conversations.clock import FrozenClock
from store.models import InboundMessage, Notification, Person
from tests.fakes.telegram_api import FakeBotApi, text_update
from tests.test_telegram import SECRET, fake, telegram_services, tg  # noqa: F401
from web.app import create_app
from web.telegram import PATH, SECRET_HEADER

POISON = "一条每次都处理失败的消息"


def _poisoned(svc: Services) -> list[int]:
    """Make the step of POISON fail every time; the ids of the updates delivered."""
    real_step = svc.workroom.engine.step

    def step(raw: dict[str, Any], text: str | None = None, **kw: Any) -> Any:
        if text == POISON:
            raise RuntimeError("a step that cannot take this message")
        return real_step(raw, text=text, **kw)

    svc.workroom.engine.step = step  # type: ignore[method-assign]
    assert svc.telegram is not None
    delivered: list[int] = []
    real_handle = svc.telegram.handle

    async def handle(update: dict[str, Any], inbound: Any = None) -> None:
        delivered.append(update["update_id"])
        await real_handle(update, inbound)

    svc.telegram.handle = handle  # type: ignore[method-assign]
    return delivered


def _told_staff(svc: Services) -> tuple[list[int], list[int]]:
    """(who was told a message was set aside, the unit's staff)."""
    with Session(svc.db) as s:
        told = s.exec(select(Notification.recipient_id).where(
            Notification.message_key == "notice.inbound_set_aside")).all()
        staff = s.exec(select(Person.id).where(Person.role == "staff",
                                               col(Person.active).is_(True))).all()
    return sorted(p for p in told if p is not None), sorted(p for p in staff if p is not None)


@pytest.fixture
def polling(sqlite_url: str, clock: FrozenClock, fake: FakeBotApi  # noqa: F811
            ) -> Iterator[Services]:
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    assert svc.telegram is not None
    svc.telegram.retry_pause = 0.05
    svc.telegram.set_aside_age = 0.0  # five tries at once will do here
    yield svc
    svc.close()


async def test_polling_sets_aside_an_update_that_always_fails_and_goes_on(
        polling: Services, fake: FakeBotApi) -> None:  # noqa: F811
    delivered = _poisoned(polling)
    assert polling.telegram is not None
    polling.telegram.start_polling()
    bad, good = text_update(8201, POISON), text_update(8202, "提建议")
    fake.push_update(bad)
    fake.push_update(good)  # behind it in Telegram's queue
    await fake.wait_for_messages(8202, 1)
    for _ in range(100):  # until both are confirmed: polling has gone past the bad one
        if fake.pending_updates() == []:
            break
        await asyncio.sleep(0.05)
    assert fake.pending_updates() == []
    # Tried, then set aside; never again after that.
    assert delivered.count(bad["update_id"]) == SET_ASIDE_AFTER
    await asyncio.sleep(0.3)
    assert delivered.count(bad["update_id"]) == SET_ASIDE_AFTER
    await asyncio.to_thread(polling.dispatcher.drain)
    await fake.wait_for_messages(8201, 1)
    assert [m.text for m in fake.sent_messages(8201)] == [t("zh", "inbound.set_aside")]
    told, staff = _told_staff(polling)
    assert staff and told == staff
    with Session(polling.db) as s:  # taken: a redelivery is answered, never stepped
        assert s.exec(select(InboundMessage).where(
            InboundMessage.conversation_key == "telegram:8201")).one()


async def test_the_webhook_sets_aside_an_update_that_always_fails(
        tg: Services, fake: FakeBotApi) -> None:  # noqa: F811
    delivered = _poisoned(tg)
    assert tg.telegram is not None
    transport = httpx.ASGITransport(app=create_app(tg, run_scheduler=False),
                                    raise_app_exceptions=False)  # as uvicorn: a 500
    update = text_update(8301, POISON)
    async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:

        async def post(data: dict[str, Any]) -> int:
            r = await c.post(PATH, json=data, headers={SECRET_HEADER: SECRET})
            await tg.telegram.settled()  # type: ignore[union-attr]
            return r.status_code

        # Telegram delivers it again while the answer is 500. Five tries within a moment
        # are not enough (the database may be back in a minute); five over two minutes
        # are: the last try sets it aside, and a delivery after that is taken, not tried.
        codes = [await post(update) for _ in range(SET_ASIDE_AFTER)]
        assert codes == [500] * SET_ASIDE_AFTER
        tg.telegram.set_aside_age = 0.0  # as if the first try were two minutes ago
        codes = [await post(update) for _ in range(2)]
        assert codes == [200, 200]
        assert delivered.count(update["update_id"]) == SET_ASIDE_AFTER + 2
        await asyncio.to_thread(tg.dispatcher.drain)
        assert [m.text for m in fake.sent_messages(8301)] == [t("zh", "inbound.set_aside")]
        told, staff = _told_staff(tg)
        assert staff and told == staff
        assert await post(text_update(8301, "提建议")) == 200  # the chat goes on as before
        assert "哪方面" in fake.sent_messages(8301)[-1].text


async def test_a_set_aside_that_fails_is_done_at_the_next_delivery(
        tg: Services, fake: FakeBotApi) -> None:  # noqa: F811
    """The database hiccups just as the message is set aside: the next delivery sets it
    aside, without counting its tries from the start again."""
    _poisoned(tg)
    assert tg.telegram is not None
    tg.telegram.set_aside_age = 0.0
    real = tg.workroom.set_aside
    calls: list[int] = []

    def set_aside(msg: Any, error: BaseException) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return real(msg, error)

    tg.workroom.set_aside = set_aside  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=create_app(tg, run_scheduler=False),
                                    raise_app_exceptions=False)
    update = text_update(8302, POISON)
    async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
        codes = []
        for _ in range(SET_ASIDE_AFTER + 1):
            r = await c.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
            codes.append(r.status_code)
    assert codes == [500] * SET_ASIDE_AFTER + [200]
    assert len(calls) == 2
    await asyncio.to_thread(tg.dispatcher.drain)
    assert [m.text for m in fake.sent_messages(8302)] == [t("zh", "inbound.set_aside")]
