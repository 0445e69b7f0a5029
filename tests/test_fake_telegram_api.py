"""The fake Telegram Bot API (tests/fakes/telegram_api.py), driven by the real PTB client
over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime as dtm
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import (
    BOT_ID,
    FakeBotApi,
    callback_update,
    photo_update,
    text_update,
    voice_update,
)

PRIVATE = 42
GROUP = -100123


class ManualClock:
    """A clock for the flood limits that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB v22.2+ warns (an error under our filterwarnings) when a time period such as
    # RetryAfter.retry_after or Voice.duration is read as an int; opt in to timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def make_bot(fake: FakeBotApi) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(fake) as b:
        yield b


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("预约", callback_data="book"),
            InlineKeyboardButton("投诉", callback_data="complain"),
        ],
        [InlineKeyboardButton("官网", url="https://example.org/")],
    ]
)
KEYBOARD_DICT = {
    "inline_keyboard": [
        [{"text": "预约", "callback_data": "book"}, {"text": "投诉", "callback_data": "complain"}],
        [{"text": "官网", "url": "https://example.org/"}],
    ]
}


async def test_get_me(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == BOT_ID
    assert me.username == "workroom_test_bot" == bot.username
    assert me.can_join_groups is True
    assert [c.method for c in fake.calls] == ["getMe", "getMe"]  # initialize() + ours
    assert fake.base_url.endswith("/bot") and fake.base_file_url.endswith("/file/bot")


async def test_send_message_with_inline_keyboard(fake: FakeBotApi, bot: Bot) -> None:
    first = await bot.send_message(PRIVATE, "您好，请选择服务：", reply_markup=KEYBOARD)
    second = await bot.send_message(PRIVATE, "123")
    in_group = await bot.send_message(GROUP, "大家好", disable_notification=True)

    assert first.text == "您好，请选择服务：" and first.reply_markup == KEYBOARD
    assert first.chat.id == PRIVATE and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == BOT_ID
    assert isinstance(first.date, dtm.datetime)
    assert second.message_id == first.message_id + 1 and second.reply_markup is None
    assert in_group.message_id == 1 and in_group.chat.type in ("group", "supergroup")

    sent = fake.sent_messages(PRIVATE)
    assert [c.params["text"] for c in sent] == ["您好，请选择服务：", "123"]
    assert sent[0].params["chat_id"] == PRIVATE  # decoded back to an int
    assert sent[0].params["reply_markup"] == KEYBOARD_DICT  # decoded from its JSON string
    assert sent[1].params["text"] == "123"  # a text stays a string
    group_call = fake.sent_messages(GROUP)[0]
    assert group_call.params["disable_notification"] is True
    assert fake.get_message(PRIVATE, first.message_id)["reply_markup"] == KEYBOARD_DICT
    assert len(fake.sent_messages()) == 3


async def test_edit_message_and_answer_callback_query(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(PRIVATE, "请选择：", reply_markup=KEYBOARD)
    new_markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])

    edited = await bot.edit_message_text(
        "已选择：预约", chat_id=PRIVATE, message_id=sent.message_id, reply_markup=new_markup
    )
    assert edited.text == "已选择：预约" and edited.message_id == sent.message_id
    assert edited.edit_date is not None and edited.reply_markup == new_markup

    cleared = await bot.edit_message_reply_markup(chat_id=PRIVATE, message_id=sent.message_id)
    assert cleared.reply_markup is None and cleared.text == "已选择：预约"

    assert await bot.answer_callback_query("cbq-1", text="已收到", show_alert=True) is True
    (call,) = fake.calls_to("answerCallbackQuery")
    assert call.params == {"callback_query_id": "cbq-1", "text": "已收到", "show_alert": True}
    (edit,) = fake.calls_to("editMessageText")
    assert edit.params["message_id"] == sent.message_id
    assert edit.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "确认", "callback_data": "ok"}]]
    }


async def test_my_commands_per_language(fake: FakeBotApi, bot: Bot) -> None:
    zh = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    en = [BotCommand("start", "Start"), BotCommand("help", "Help")]
    assert await bot.set_my_commands(zh, language_code="zh") is True
    assert await bot.set_my_commands(en, language_code="en") is True

    assert tuple(await bot.get_my_commands(language_code="zh")) == tuple(zh)
    assert tuple(await bot.get_my_commands(language_code="en")) == tuple(en)
    assert await bot.get_my_commands() == ()  # the default language has none
    assert fake.commands(language_code="zh")[1] == {"command": "help", "description": "帮助"}
    set_calls = fake.calls_to("setMyCommands")
    assert set_calls[0].params["commands"][0] == {"command": "start", "description": "开始"}

    assert await bot.delete_my_commands(language_code="en") is True
    assert await bot.get_my_commands(language_code="en") == ()


async def test_injected_429_raises_retry_after(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(PRIVATE, "x")
    # PTB v22.2+: a timedelta with PTB_TIMEDELTA=true (see the autouse fixture)
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    failed = fake.calls_to("sendMessage")[0]
    assert failed.status == 429
    assert failed.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert (await bot.send_message(PRIVATE, "again")).text == "again"  # only once
    assert [c.text for c in fake.sent_messages(PRIVATE)] == ["again"]
    assert len(fake.sent_messages(PRIVATE, include_failed=True)) == 2


async def test_retry_after_is_a_deprecated_int_by_default(
    fake: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA")
    fake.fail_next("sendMessage", retry_after=3)
    # Without PTB_TIMEDELTA, PTB 22.8 warns already while building the RetryAfter (its
    # __init__ reads .retry_after), so under filterwarnings=error the send would raise the
    # warning instead of RetryAfter.
    with pytest.warns(PTBDeprecationWarning), pytest.raises(RetryAfter) as caught:
        await bot.send_message(PRIVATE, "x")
    with pytest.warns(PTBDeprecationWarning, match="retry_after"):
        retry_after = caught.value.retry_after
    assert retry_after == 3 and isinstance(retry_after, int)


async def test_injected_failure_for_one_chat_only(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", chat_id=GROUP, retry_after=2, times=2)
    assert (await bot.send_message(PRIVATE, "fine")).text == "fine"
    for _ in range(2):
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "flood")
    assert (await bot.send_message(GROUP, "now")).text == "now"


async def test_injected_5xx_raise_network_error(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=502, times=2)
    fake.fail_next("editMessageText", status=500)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway") as caught:
            await bot.send_message(PRIVATE, "x")
        assert not isinstance(caught.value, RetryAfter)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.edit_message_text("y", chat_id=PRIVATE, message_id=1)
    assert (await bot.send_message(PRIVATE, "ok")).text == "ok"
    assert [c.status for c in fake.calls_to("sendMessage")] == [502, 502, 200]


async def test_blocked_user_and_unknown_method(fake: FakeBotApi, bot: Bot) -> None:
    fake.block(PRIVATE)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(PRIVATE, "x")
    fake.unblock(PRIVATE)
    await bot.send_message(PRIVATE, "x")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    (call,) = fake.calls_to("noSuchMethod")
    assert call.status == 404
    assert call.response == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


async def test_get_updates_keeps_updates_until_confirmed(fake: FakeBotApi, bot: Bot) -> None:
    first = fake.push_update(text_update(PRIVATE, "/start abc"))
    second = fake.push_update({"message": text_update(PRIVATE, "你好")["message"]})
    assert second["update_id"] == first["update_id"] + 1  # assigned when missing

    got = await bot.get_updates(timeout=0)
    assert [u.update_id for u in got] == [first["update_id"], second["update_id"]]
    assert got[0].effective_message.text == "/start abc"
    # Not confirmed yet: the same updates again.
    assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in got]
    # An offset above the first confirms (drops) it only.
    again = await bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    assert [u.update_id for u in again] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()
    assert fake.confirmed_offset == second["update_id"] + 1
    assert fake.pending_updates() == []
    assert fake.calls_to("getUpdates")[-1].params == {
        "offset": second["update_id"] + 1,
        "timeout": 0,
    }


async def test_get_updates_long_polls(fake: FakeBotApi, bot: Bot) -> None:
    def push_later() -> None:
        time.sleep(0.3)
        fake.push_update(text_update(PRIVATE, "到了"))

    pusher = threading.Thread(target=push_later)
    started = time.monotonic()
    pusher.start()
    try:
        updates = await bot.get_updates(timeout=10)
    finally:
        pusher.join()
    elapsed = time.monotonic() - started
    assert [u.effective_message.text for u in updates] == ["到了"]
    assert 0.2 < elapsed < 5  # waited for the push, returned long before the timeout


async def test_get_updates_long_poll_times_out_empty(fake: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_get_updates_refused_while_webhook_is_set(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/tg", secret_token="s3cret") is True
    assert fake.webhook_url == "https://example.org/tg" and fake.webhook_secret == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://example.org/tg"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook() is True
    assert fake.webhook_url == "" and (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_update_builders_parse_into_ptb_updates(fake: FakeBotApi, bot: Bot) -> None:
    start = Update.de_json(text_update(PRIVATE, "/start abc"), bot)
    assert start.effective_chat.id == PRIVATE and start.effective_chat.type == "private"
    assert start.effective_user.id == PRIVATE and start.effective_user.language_code == "zh-hans"
    assert start.effective_message.text == "/start abc"
    (entity,) = start.effective_message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    assert start.effective_message.parse_entity(entity) == "/start"
    assert Update.de_json(text_update(PRIVATE, "你好"), bot).effective_message.entities == ()

    in_group = Update.de_json(text_update(GROUP, "/help@workroom_test_bot", user_id=7), bot)
    assert in_group.effective_chat.id == GROUP and in_group.effective_user.id == 7
    assert in_group.effective_message.entities[0].length == len("/help@workroom_test_bot")

    pressed = Update.de_json(callback_update(GROUP, "book:3", message_id=17, user_id=7), bot)
    assert pressed.callback_query.data == "book:3"
    assert pressed.effective_chat.id == GROUP
    assert pressed.callback_query.message.message_id == 17
    assert pressed.callback_query.message.from_user.id == BOT_ID
    assert pressed.effective_user.id == 7

    photo = Update.de_json(photo_update(PRIVATE, caption="现场照片"), bot)
    assert photo.effective_message.caption == "现场照片"
    assert photo.effective_message.photo[-1].width == 1280

    voice = Update.de_json(voice_update(PRIVATE, duration=4), bot)
    assert voice.effective_message.voice.duration == dtm.timedelta(seconds=4)

    # Files of incoming media can be fetched and downloaded.
    fake.add_file(voice.effective_message.voice.file_id, b"OggS-voice-bytes")
    tg_file = await voice.effective_message.voice.get_file()
    assert tg_file.file_path.startswith(fake.base_file_url + fake.token + "/voice/")
    assert bytes(await tg_file.download_as_bytearray()) == b"OggS-voice-bytes"
    photo_file = await bot.get_file(photo.effective_message.photo[-1].file_id)
    assert (await photo_file.download_as_bytearray()).startswith(b"FAKE-FILE")
    assert len(fake.downloads) == 2


async def test_pushed_updates_continue_message_ids(fake: FakeBotApi, bot: Bot) -> None:
    fake.push_update(text_update(PRIVATE, "hi", message_id=500))
    reply = await bot.send_message(PRIVATE, "hello")
    assert reply.message_id == 501


async def test_multipart_upload_is_decoded(fake: FakeBotApi, bot: Bot) -> None:
    data = b"\x89PNG\r\n\r\n--binary--\r\n"
    message = await bot.send_photo(GROUP, data, caption="照片", reply_markup=KEYBOARD)
    assert message.photo and message.caption == "照片"
    (call,) = fake.calls_to("sendPhoto")
    assert call.params["chat_id"] == GROUP and call.params["caption"] == "照片"
    assert call.params["reply_markup"] == KEYBOARD_DICT
    assert call.params["photo"].data == data == call.files["photo"].data


async def test_send_chat_action(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(PRIVATE, "typing") is True
    assert fake.calls_to("sendChatAction")[0].params == {"chat_id": PRIVATE, "action": "typing"}


async def test_group_rate_limiter() -> None:
    clock = ManualClock()
    with FakeBotApi(limit_group_per_minute=20, clock=clock) as fake:
        async with make_bot(fake) as bot:
            for i in range(20):
                await bot.send_message(GROUP, f"消息 {i}")
                clock.now += 1  # the 20 messages take 20 seconds
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(GROUP, "one too many")
            # the first message left the window at t0 + 60; now is t0 + 20
            assert caught.value.retry_after == dtm.timedelta(seconds=40)
            # another chat is still served
            assert (await bot.send_message(PRIVATE, "私聊")).text == "私聊"

            clock.now += 40
            assert (await bot.send_message(GROUP, "again")).text == "again"
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(GROUP, "still too many")
            assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert len(fake.sent_messages(GROUP)) == 21
    assert [c.status for c in fake.sent_messages(GROUP, include_failed=True)][-3:] == [
        429,
        200,
        429,
    ]


async def test_rate_limiter_is_off_by_default(fake: FakeBotApi, bot: Bot) -> None:
    for i in range(25):
        await bot.send_message(GROUP, str(i))
    assert len(fake.sent_messages(GROUP)) == 25


async def test_per_chat_rate_limiter() -> None:
    clock = ManualClock()
    with FakeBotApi(limit_chat_per_second=1, clock=clock) as fake:
        async with make_bot(fake) as bot:
            await bot.send_message(PRIVATE, "a")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(PRIVATE, "b")
            assert caught.value.retry_after == dtm.timedelta(seconds=1)
            await bot.send_message(PRIVATE + 1, "other chat")
            clock.now += 1
            await bot.send_message(PRIVATE, "b")
    assert [c.text for c in fake.sent_messages(PRIVATE)] == ["a", "b"]


async def test_ptb_application_polls_and_replies(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"欢迎 {' '.join(context.args or [])}")

    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=5))
        pushed = fake.push_update(text_update(PRIVATE, "/start abc"))
        (reply,) = await fake.wait_for_messages(PRIVATE)
        assert reply.text == "欢迎 abc"
        await app.updater.stop()
        await app.stop()
    assert fake.calls_to("deleteWebhook")  # PTB's polling bootstrap
    assert fake.confirmed_offset == pushed["update_id"] + 1
    assert fake.pending_updates() == []
