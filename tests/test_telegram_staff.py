"""The workroom's staff (刘芳) and director on Telegram: the notices they get about new
records and deadlines, and the staff's own flows. Through the webhook against the fake
Bot API, on SQLite and on PostgreSQL, in Chinese and in English."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

import tests.test_telegram as webhook
import tests.test_telegram_media as media_tests
from bot.bootstrap import Services
from conversations.catalog import t
from handlers.identity import issue_code
from store.db import transaction
from store.models import Person
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat, run
from tests.test_telegram_leaders import set_person

fake = webhook.fake
tg = media_tests.tg  # on SQLite and on PostgreSQL
client = webhook.client
LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])
STAFF = 7900  # 刘芳's Telegram chat (the demo org file gives her none)


async def staff_chat(client: httpx.AsyncClient, fake: FakeBotApi, svc: Services,
                     lang: str, code: str) -> TgChat:
    """刘芳, set to `lang`, opens the bot with her invite link."""
    set_person(svc, "liu_fang", lang=lang)
    with transaction(svc.db) as s:
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
        invite = issue_code(s, person=staff, channel="telegram", now=svc.clock.now(),
                            ttl=timedelta(hours=1))
    chat = TgChat(client, fake, STAFF, code)
    [welcome] = await chat.say(f"/start {invite}")
    assert "刘芳" in welcome
    return chat


@LANGS
async def test_the_staff_read_each_new_suggestion(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A worker's suggestion reaches the staff who keep the opinion archive, with its
    number, topic (in the staff member's language) and words; before, it was stored and
    read by nobody until the monthly figures counted it."""
    staff = await staff_chat(client, fake, tg, lang, code)
    worker = TgChat(client, fake, 7901)
    words = "食堂晚餐能不能多一个素菜窗口"
    await run(worker, [("提建议", "哪方面"), ("[食堂生活]", "请写下"), (words, "是否实名"),
                       ("[匿名]", "请核对"), ("[确认提交]", "S-2026-0001")])
    await asyncio.to_thread(tg.dispatcher.drain)
    assert staff.new_texts() == [t(lang, "notice.suggestion_staff", number="S-2026-0001",
                                   topic=t(lang, "opt.topic.living"), text=words)]
