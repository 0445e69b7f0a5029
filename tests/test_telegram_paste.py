"""A worker pastes a text longer than a Telegram message holds: their app cuts it into
messages sent back to back (Android at 4096 characters, Desktop at a break past half of
that). The parts are one text: refused together, with its whole length, or taken together
when the whole fits; never the first refused and the rest taken as the next answer.
Through the webhook and by long polling, the parts as two updates back to back; on
SQLite and PostgreSQL, the conversation's state in the database or in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session

import tests.test_telegram as webhook
from bot.bootstrap import Services
from conversations.catalog import t
from conversations.clock import FrozenClock
from conversations.engine import PASTE_WAIT
from store.models import Case
from store.state import SqlStateStore, StateStore
from tests.conftest import make_services, prepared_engine
from tests.fakes.telegram_api import FakeBotApi, text_update
from tests.test_telegram import SECRET, TgChat, telegram_services
from tests.test_telegram_flows import LANGS, SAID, ask, one
from tests.transcript import all_rows

client, fake = webhook.client, webhook.fake


@pytest.fixture(params=["sql", "redis"])
def tg(request: pytest.FixtureRequest, db_url: str, clock: FrozenClock,
       fake: FakeBotApi) -> Iterator[Services]:
    """tests/test_telegram's workroom on SQLite and PostgreSQL, states in SQL or Redis."""
    engine = prepared_engine(db_url, clock.now())
    states: StateStore = request.getfixturevalue("redis_store") \
        if request.param == "redis" else SqlStateStore(engine)
    svc = make_services(db_url, clock, states=states, engine=engine,
                        telegram_token=fake.token, telegram_api_url=fake.base_url,
                        telegram_file_url=fake.base_file_url, telegram_mode="webhook",
                        telegram_webhook_secret=SECRET, telegram_chat_burst=1000,
                        telegram_per_second=1000)
    yield svc
    svc.close()


def saved_state(svc: Services, chat_id: int) -> dict[str, Any]:
    """The chat's conversation as its state store keeps it."""
    with Session(svc.db) as s:
        state, _ = svc.workroom.states.load(s, f"telegram:{chat_id}")
    return dict(state or {})

SENT = 1_795_000_000  # when the worker sent the paste (Telegram's "date"), whole seconds
# A description pasted from a notice the worker wrote elsewhere: 5,300 characters.
LONG = {"zh": ("十月份的加班费到现在还没有发下来，车间主任说要等财务核对，"
               "可是已经拖了一个多月了。") * 130,
        "en": ("October's overtime pay has still not been paid; the shift manager says "
               "finance must check it first. ") * 54}


def pasted(lang: str) -> tuple[str, str]:
    """The paste as Telegram's Android app sends it: 4,096 characters, then the rest."""
    text = LONG[lang][:5299] + "。" if lang == "zh" else LONG[lang][:5299] + "."
    return text[:4096], text[4096:]


async def paste(chat: TgChat, *parts: str, sent: int = SENT) -> list[str]:
    """The parts of one paste, delivered one after the other as Telegram does; what the
    chat shows once they are all taken."""
    for part in parts:
        update = text_update(chat.chat_id, part, language_code=chat.language, date=sent)
        assert (await chat.post(update)).status_code == 200
    return chat.new_texts()


async def say_later(chat: TgChat, text: str, seconds: int = 60) -> list[str]:
    """A text typed afterwards (the sender's clock moved on)."""
    update = text_update(chat.chat_id, text, language_code=chat.language, date=SENT + seconds)
    assert (await chat.post(update)).status_code == 200
    return chat.new_texts()


async def to_description(chat: TgChat, lang: str) -> None:
    await chat.say(t(lang, "menu.complaint"))
    await chat.press(t(lang, "opt.category.wages"))
    assert chat.new_texts() == []


@LANGS
async def test_a_paste_cut_in_two_is_refused_as_one_with_its_whole_length(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7901, code)
    await to_description(chat, lang)
    first, rest = pasted(lang)
    description = ask(lang, "complaint", "description", 2, 8)

    # One answer, for the whole paste: its length, and the same question again.
    assert await paste(chat, first, rest) == [
        one(t(lang, "invalid.too_long", max=2000, got=5300), description)]
    assert "answers" not in saved_state(tg, 7901) or \
        "description" not in saved_state(tg, 7901)["answers"]

    # The shortened text that follows is the description; the form goes on from there.
    assert await say_later(chat, SAID[lang]["description"]) == [
        ask(lang, "complaint", "since", 3, 8)]
    assert await say_later(chat, "2026-10-15", 90) == [ask(lang, "complaint", "affected", 4, 8)]
    assert saved_state(tg, 7901)["answers"]["description"] == SAID[lang]["description"]


async def test_a_paste_by_long_polling_is_refused_as_one(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """Both parts in one getUpdates: the worker gets one answer, and no part is an answer."""
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        fake.push_update(text_update(8901, t("zh", "menu.complaint")))
        await fake.wait_for_messages(8901, 1)
        fake.push_update(text_update(8901, "工资福利"))
        await fake.wait_for_messages(8901, 2)
        first, rest = pasted("zh")
        for part in (first, rest):
            fake.push_update(text_update(8901, part, date=SENT))
        fake.push_update(text_update(8901, SAID["zh"]["description"], date=SENT + 60))
        sent = await fake.wait_for_messages(8901, 4, timeout=15)
    finally:
        svc.close()
    assert [c.text for c in sent[2:]] == [
        one(t("zh", "invalid.too_long", max=2000, got=5300),
            ask("zh", "complaint", "description", 2, 8)),
        ask("zh", "complaint", "since", 3, 8)]
    assert len(fake.sent_messages(8901)) == 4


async def test_a_paste_cut_in_three_is_one_text(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7902)
    await to_description(chat, "zh")
    text = (LONG["zh"] * 2)[:9000]
    assert await paste(chat, text[:4096], text[4096:8192], text[8192:]) == [
        one(t("zh", "invalid.too_long", max=2000, got=9000),
            ask("zh", "complaint", "description", 2, 8))]


async def test_a_paste_that_fits_once_joined_is_taken_whole(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Telegram Desktop cuts at a paragraph's end past half the limit: a letter of 2,900
    characters comes as 2,500 and 400. A letter may have 3,000: the first part alone
    would be taken, and the rest asked whether the letter is signed."""
    chat = TgChat(client, fake, 7903)
    await chat.say(t("zh", "menu.letter"))
    await chat.press(t("zh", "opt.letter_to.any"))
    await chat.press(t("zh", "opt.category.wages"))
    chat.new_texts()
    first = ("食堂饭菜一个月涨了三次价，职工意见很大。" * 125)[:2500]
    rest = ("希望领导过问一下，给大家一个说法。" * 24)[:400]
    assert await paste(chat, first, rest) == [ask("zh", "letter", "identity", 4, 4)]
    assert saved_state(tg, 7903)["answers"]["description"] == f"{first}\n{rest}"
    await chat.press(t("zh", "opt.identity.named"))
    await chat.press(t("zh", "nav.confirm"))
    [case] = all_rows(tg, Case)
    assert case.description == f"{first}\n{rest}"


async def test_a_text_at_the_limit_alone_is_answered_after_a_moment(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """4,096 characters and nothing after them: its answer waits a moment for a next part,
    then goes; the next text is an answer of its own."""
    chat = TgChat(client, fake, 7904)
    await to_description(chat, "zh")
    first, _ = pasted("zh")
    assert await paste(chat, first) == []  # a next part may be on its way
    tg.clock.advance(PASTE_WAIT)  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.dispatcher.drain)
    assert chat.new_texts() == [one(t("zh", "invalid.too_long", max=2000, got=4096),
                                    ask("zh", "complaint", "description", 2, 8))]
    assert await say_later(chat, SAID["zh"]["description"]) == [
        ask("zh", "complaint", "since", 3, 8)]


async def test_a_press_right_after_a_long_text_brings_its_answer_first(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Whatever comes next that is no part of the text (a button) is answered after the
    text's answer, which goes at once then."""
    chat = TgChat(client, fake, 7905)
    await to_description(chat, "zh")
    first, _ = pasted("zh")
    assert await paste(chat, first) == []
    assert await chat.press(t("zh", "nav.back")) == [
        one(t("zh", "invalid.too_long", max=2000, got=4096),
            ask("zh", "complaint", "description", 2, 8)),
        ask("zh", "complaint", "category", 1, 8)]


async def test_a_paste_at_the_menu_is_kept_as_one_text(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Pasted before any form was chosen: one answer (what was kept, as it begins), and
    the form chosen next finds the whole text, its length the whole's."""
    chat = TgChat(client, fake, 7906)
    await chat.say("/start")
    chat.new_texts()
    first, rest = pasted("zh")
    [kept] = await paste(chat, first, rest)
    assert kept.startswith(t("zh", "menu.told", said=first[:30] + "…"))
    label = t("zh", "complaint.description.label")
    why = t("zh", "invalid.too_long", max=2000, got=5300)
    [told] = await say_later(chat, t("zh", "menu.complaint"))
    assert t("zh", "flow.told_not_kept", label=label, why=why) in told


# --- what the worker sends right after a long text --------------------------------------
# A command typed or tapped within the moment a long text's answer waits is no part of
# it: the text's answer goes first, then the command's, and the command does what it says.

# A letter of 2,500 characters: a letter may have 3,000, so it is taken, and its answer
# (the next question) waits a moment for a next part.
LETTER = {lang: LONG[lang][:2500].rstrip() for lang in LONG}
CANCEL = {"zh": "取消", "en": "cancel"}


async def to_letter(chat: TgChat, lang: str) -> None:
    await chat.say(t(lang, "menu.letter"))
    await chat.press(t(lang, "opt.letter_to.any"))
    await chat.press(t(lang, "opt.category.wages"))
    chat.new_texts()


async def then_nothing(tg: Services, chat: TgChat) -> list[str]:
    """What comes once the moment a long text's answer waits is over."""
    tg.clock.advance(PASTE_WAIT)  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.dispatcher.drain)
    return chat.new_texts()


@LANGS
@pytest.mark.parametrize("slash", [True, False], ids=["slash", "word"])
async def test_a_cancel_typed_right_after_a_long_answer_cancels_the_form(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str, code: str,
        slash: bool) -> None:
    """/cancel (or 取消 typed) a second after the letter: the letter's answer (the next
    question), then the form cancelled; the word is not added to the letter, and nothing
    comes after the cancel's answer."""
    chat = TgChat(client, fake, 7911, code)
    await to_letter(chat, lang)
    assert await paste(chat, LETTER[lang]) == []
    assert await say_later(chat, "/cancel" if slash else CANCEL[lang], 1) == [
        ask(lang, "letter", "identity", 4, 4),
        one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    assert await then_nothing(tg, chat) == []
    state = saved_state(tg, 7911)
    assert state["flow"] is None and state["answers"] == {} and not state["pasting"]
    assert all_rows(tg, Case) == []


@LANGS
async def test_a_cancel_typed_right_after_a_text_too_long_cancels_the_form(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The text refused, with its own length (not the command's added), then cancelled."""
    chat = TgChat(client, fake, 7912, code)
    await to_description(chat, lang)
    first, _ = pasted(lang)
    assert await paste(chat, first) == []
    assert await say_later(chat, "/cancel", 1) == [
        one(t(lang, "invalid.too_long", max=2000, got=4096),
            ask(lang, "complaint", "description", 2, 8)),
        one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    assert await then_nothing(tg, chat) == []
    assert saved_state(tg, 7912)["flow"] is None


@LANGS
async def test_cancel_tapped_right_after_a_long_answer_cancels_the_form(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The question's 取消 button, tapped a second after the letter: the same."""
    chat = TgChat(client, fake, 7913, code)
    await to_letter(chat, lang)
    assert await paste(chat, LETTER[lang]) == []
    assert await chat.press(t(lang, "nav.cancel")) == [
        ask(lang, "letter", "identity", 4, 4),
        one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    assert await then_nothing(tg, chat) == []
    state = saved_state(tg, 7913)
    assert state["flow"] is None and state["answers"] == {}
    assert all_rows(tg, Case) == []


@LANGS
@pytest.mark.parametrize("command", ["/menu", "/start"])
async def test_the_menu_asked_right_after_a_long_answer_keeps_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str, code: str,
        command: str) -> None:
    """/menu or /start a second after the letter: the letter is kept as written (the
    command is not added to it), the form says it is under way, and it is sent whole."""
    chat = TgChat(client, fake, 7914, code)
    await to_letter(chat, lang)
    assert await paste(chat, LETTER[lang]) == []
    identity = ask(lang, "letter", "identity", 4, 4)
    assert await say_later(chat, command, 1) == [identity, one(
        t(lang, "flow.menu_in_flow", flow=t(lang, "letter.title"),
          cancel=t(lang, "nav.cancel")), identity)]
    assert await then_nothing(tg, chat) == []
    assert saved_state(tg, 7914)["answers"]["description"] == LETTER[lang]
    await chat.press(t(lang, "opt.identity.named"))
    await chat.press(t(lang, "nav.confirm"))
    [case] = all_rows(tg, Case)
    assert case.description == LETTER[lang]


async def at_the_menu(chat: TgChat, lang: str) -> str:
    """A long text sent at the menu, before any form is chosen; what it is told."""
    await chat.say("/start")
    chat.new_texts()
    assert await paste(chat, LETTER[lang]) == []
    return t(lang, "menu.told", said=LETTER[lang][:30] + "…")


@LANGS
async def test_a_cancel_right_after_a_long_text_at_the_menu_drops_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Words kept for the form chosen next, then /cancel: they are dropped, and said so
    (not "nothing to cancel"); the form chosen next does not find them."""
    chat = TgChat(client, fake, 7915, code)
    told = await at_the_menu(chat, lang)
    assert await say_later(chat, "/cancel", 1) == [
        told, one(t(lang, "menu.told_cancelled"), t(lang, "menu.prompt"))]
    assert await then_nothing(tg, chat) == []
    assert saved_state(tg, 7915)["told"] is None
    [intro] = await say_later(chat, t(lang, "menu.letter"))
    assert t(lang, "flow.told_kept", label=t(lang, "letter.description.label")) not in intro


@LANGS
async def test_the_menu_asked_right_after_a_long_text_at_the_menu_keeps_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """/start a second after: the welcome, and the words still wait for the form chosen
    (a tap on the menu keyboard, a second later still), which takes them whole."""
    chat = TgChat(client, fake, 7916, code)
    told = await at_the_menu(chat, lang)
    assert await say_later(chat, "/start", 1) == [told, t(lang, "menu.welcome")]
    [intro] = await say_later(chat, t(lang, "menu.letter"), 2)
    assert t(lang, "flow.told_kept", label=t(lang, "letter.description.label")) in intro
    assert await then_nothing(tg, chat) == []
    assert saved_state(tg, 7916)["answers"]["description"] == LETTER[lang]


@LANGS
async def test_a_form_tapped_right_after_a_long_text_at_the_menu_takes_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The menu keyboard's 写信给领导 tapped a second after the text: the form starts
    with the text as the letter, the label not added to it."""
    chat = TgChat(client, fake, 7917, code)
    told = await at_the_menu(chat, lang)
    got = await say_later(chat, t(lang, "menu.letter"), 1)
    assert got[0] == told and len(got) == 2
    assert t(lang, "flow.told_kept", label=t(lang, "letter.description.label")) in got[1]
    assert await then_nothing(tg, chat) == []
    assert saved_state(tg, 7917)["answers"]["description"] == LETTER[lang]
