"""A worker sends several photos at once (an album): Telegram delivers each as a message of
its own. Every photo is kept at once; the worker gets one answer for the album, not the
question again after every photo. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlmodel import col

import tests.test_telegram as webhook
import tests.test_telegram_media as media_tests
from bot.bootstrap import Services
from conversations.catalog import t
from conversations.clock import FrozenClock
from handlers.inbound import ALBUM_WAIT
from store.models import Attachment, InboundMessage, Incident, Notification
from tests.fakes.telegram_api import FakeBotApi, photo_update
from tests.test_telegram import TgChat, telegram_services
from tests.test_telegram_flows import (
    LANGS,
    SAID,
    PolledChat,
    ask,
    captioned,
    one,
    saved_state,
)
from tests.transcript import all_rows

client, fake, tg = webhook.client, webhook.fake, media_tests.tg


def album(chat: TgChat | PolledChat, *files: str, caption: str | None = None,
          group: str = "13579") -> list[dict[str, Any]]:
    """The messages of one album, as Telegram sends them: one per photo, the caption (if
    any) on the first."""
    out = []
    for n, file_id in enumerate(files):
        update = photo_update(chat.chat_id, file_id=file_id, language_code=chat.language,
                              caption=caption if n == 0 else None)
        update["message"]["media_group_id"] = group
        out.append(update)
    return out


async def send(chat: TgChat, updates: list[dict[str, Any]]) -> None:
    for update in updates:
        assert (await chat.post(update)).status_code == 200


async def wait_out(svc: Services) -> None:
    """The album's wait passes and the outbox sends what is due."""
    svc.clock.advance(ALBUM_WAIT)  # type: ignore[attr-defined]
    await asyncio.to_thread(svc.dispatcher.drain)


def files(state: dict[str, Any]) -> list[str]:
    return [a["file_ref"] for a in state.get("attachments", [])]


@LANGS
async def test_an_album_gets_one_answer_and_every_photo_is_kept(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7701, code)
    await chat.say(t(lang, "menu.emergency"))
    chat.new_texts()
    what = ask(lang, "emergency", "what", 1, 5)

    await send(chat, album(chat, "GATE-1", "GATE-2", "GATE-3", "GATE-4"))
    assert chat.new_texts() == []  # the answer waits for the album's last photo
    # ... but the photos are in the report already: nothing waits in memory.
    assert files(saved_state(tg, 7701)) == [f"GATE-{n}-1280" for n in range(1, 5)]
    await wait_out(tg)
    assert chat.new_texts() == [one(t(lang, "attachment.kept", count=4), what)]

    # An album with the answer as its caption: the caption's answer (and the next
    # question) comes at once; the album's other photos are told in one answer after it.
    place = ask(lang, "emergency", "place", 2, 5)
    await send(chat, album(chat, "CROWD-1", "CROWD-2", "CROWD-3", caption=SAID[lang]["what"],
                           group="24680"))
    answered = captioned(lang, 5, "emergency", "what", 1, SAID[lang]["what"])
    assert chat.new_texts() == [one(answered, place)]
    await wait_out(tg)
    assert chat.new_texts() == [one(t(lang, "attachment.kept", count=7), place)]
    assert saved_state(tg, 7701)["answers"] == {"what": SAID[lang]["what"]}

    # Filed: all seven photos are the incident's.
    await chat.say(SAID[lang]["place"])
    await chat.press(t(lang, "nav.send_now"))
    [incident] = all_rows(tg, Incident)
    kept = all_rows(tg, Attachment, Attachment.subject == "incident",
                    Attachment.subject_id == incident.id)
    assert sorted(a.file_ref for a in kept) == sorted(
        [f"GATE-{n}-1280" for n in range(1, 5)] + [f"CROWD-{n}-1280" for n in range(1, 4)])
    # The replaced answers stay in the outbox as cancelled: none of them is sent later.
    replaced = all_rows(tg, Notification, col(Notification.idempotency_key).startswith(
        "album:"), Notification.status == "cancelled")
    assert len(replaced) == 3 + 1


async def test_an_album_sent_again_changes_nothing_and_an_answer_after_it_brings_its_answer(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Telegram delivers an album's photo again (the webhook's answer was lost): it is
    not kept twice nor answered again. The worker answers the question before the album's
    answer has gone: it goes at once, then the next question, in that order."""
    chat = TgChat(client, fake, 7702)
    await chat.say("紧急情况报告")
    chat.new_texts()
    photos = album(chat, "EXIT-1", "EXIT-2")
    await send(chat, photos)
    await send(chat, photos[1:])  # delivered again
    assert files(saved_state(tg, 7702)) == ["EXIT-1-1280", "EXIT-2-1280"]
    assert len(all_rows(tg, InboundMessage)) == 1 + 2

    assert await chat.say(SAID["zh"]["what"]) == [
        one(t("zh", "attachment.kept", count=2), ask("zh", "emergency", "what", 1, 5)),
        ask("zh", "emergency", "place", 2, 5)]
    await wait_out(tg)
    assert chat.new_texts() == []  # nothing twice


async def test_a_caption_on_an_albums_later_photo_is_answered_at_once_and_once(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The worker captions the album's second photo, not its first: the answer to the
    first (still waiting) is not sent after all, since the caption's answer tells the
    count and asks the next question; the worker is not shown the question just answered."""
    chat = TgChat(client, fake, 7704)
    await chat.say("紧急情况报告")
    chat.new_texts()
    first, second, third = album(chat, "YARD-1", "YARD-2", "YARD-3", group="11111")
    second["message"]["caption"] = SAID["zh"]["what"]
    await send(chat, [first, second])
    place = ask("zh", "emergency", "place", 2, 5)
    answered = captioned("zh", 2, "emergency", "what", 1, SAID["zh"]["what"])
    assert chat.new_texts() == [one(answered, place)]
    await send(chat, [third])
    await wait_out(tg)
    assert chat.new_texts() == [one(t("zh", "attachment.kept", count=3), place)]
    await wait_out(tg)
    assert chat.new_texts() == []


async def test_an_album_outside_a_report_is_told_once(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """At the menu, five photos at once are not kept: the worker is told so once."""
    chat = TgChat(client, fake, 7703)
    await chat.say("/start")
    chat.new_texts()
    await send(chat, album(chat, *(f"X-{n}" for n in range(5))))
    await wait_out(tg)
    [said] = chat.new_texts()
    assert said.startswith(t("zh", "attachment.not_here"))
    assert all_rows(tg, Attachment) == []


async def test_an_album_fetched_by_long_polling_gets_one_answer(
        db_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """By long polling the album's photos come in one getUpdates, and are stepped at once
    (each chat's in order): one answer all the same."""
    svc = telegram_services(db_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        chat = PolledChat(fake, 8701)
        await chat.send("紧急情况报告", 1)
        for update in album(chat, "DOOR-1", "DOOR-2", "DOOR-3"):
            fake.push_update(update)
        for _ in range(300):  # until the three steps have committed
            if len(files(saved_state(svc, 8701))) == 3:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert fake.sent_messages(8701)[chat.seen:] == []
        await wait_out(svc)
        assert await chat.wait(chat.seen + 1) == [one(
            t("zh", "attachment.kept", count=3), ask("zh", "emergency", "what", 1, 5))]
    finally:
        svc.close()
