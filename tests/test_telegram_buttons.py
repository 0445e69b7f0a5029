"""Buttons on Telegram as a worker on a phone meets them: a push's own buttons under the
push, a button pressed twice or pressed a day later, the menu keyboard that stays on the
screen during a form, the commands of Telegram's command menu, and messages the bot
cannot read. Every case gets a clear answer in the user's language and stores nothing
wrong. Through the webhook, over real HTTP against the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

import tests.test_telegram as webhook
from bot.bootstrap import Services
from conversations.catalog import t
from handlers.identity import issue_code
from store.calendar_models import ScreeningReturn
from store.db import transaction
from store.models import Person, Workshop
from tests.calendar_helpers import at, run_until
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat
from tests.transcript import all_rows

fake = webhook.fake
tg = webhook.tg
client = webhook.client

LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])


async def invited(client: httpx.AsyncClient, fake: FakeBotApi, svc: Services, key: str,
                  chat_id: int, language: str) -> TgChat:
    """A person of the organisation opens the bot from their `workroom invite` link."""
    with transaction(svc.db) as s:
        found = s.exec(select(Person).where(Person.key == key)).one()
        code = issue_code(s, person=found, channel="telegram", now=svc.clock.now(),
                          ttl=timedelta(hours=1))
    chat = TgChat(client, fake, chat_id, language)
    [linked] = await chat.say(f"/start {code}")
    assert found.name in linked
    return chat


def markup(fake: FakeBotApi, chat_id: int) -> dict[str, Any]:
    return dict(fake.sent_messages(chat_id)[-1].params.get("reply_markup") or {})


# --- a push's own buttons -----------------------------------------------------------------


@LANGS
async def test_a_liaison_answers_the_monthly_screening_with_one_tap(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    zhou = await invited(client, fake, tg, "zhou_min", 7501, code)
    await asyncio.to_thread(run_until, tg, tg.clock, at(11, 25, 9, 30))
    [*_, ask] = zhou.new_texts()
    assert ask == t(lang, "notice.screening_ask", month="2026-11", workshop="机加工车间",
                    due="2026-11-30")
    # The answers are buttons under the question itself; the worker's menu keyboard stays.
    shown = markup(fake, 7501)
    assert [b["text"] for row in shown["inline_keyboard"] for b in row] == [
        t(lang, "opt.screening_answer.zero"), t(lang, "opt.screening_answer.dispute")]

    texts = await zhou.press(t(lang, "opt.screening_answer.zero"))

    assert texts == [t(lang, "screening.done_zero", workshop="机加工车间", month="2026-11")
                     + "\n\n" + t(lang, "menu.prompt")]
    [machining] = all_rows(tg, Workshop, Workshop.key == "machining")
    [done] = all_rows(tg, ScreeningReturn, ScreeningReturn.workshop_id == machining.id)
    assert done.status == "zero"
