"""Telegram channel adapter (python-telegram-bot): parse updates, render replies, send.

It only translates: every flow, menu and alert comes from the same engine and handlers.
Updates go through the channel's Pipeline (bot/pipeline.py): a webhook is answered and a
polling offset confirmed only after the update's step has committed (DESIGN rule 1);
replies are outbox rows (Inbound.push_replies) that the pipeline sends right after the
commit, and that the dispatcher retries if that send fails, so none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import re
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import orjson
from sqlmodel import Session
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardMarkup,
    InputFile,
    ReplyKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot import telegram_media
from bot.channels import DeliveryError, located, pin_of, split_text
from bot.pipeline import Pipeline
from conversations import catalog
from conversations.engine import (
    EDITED,
    GROUP_CHAT,
    GROUP_NOTICES,
    LOCATION,
    PRIVATE_ONLY,
    STALE,
    UNREADABLE,
    Button,
    Reply,
    refusal,
)
from handlers.group_chats import GroupChats
from handlers.inbound import Inbound
from handlers.notices import FileReply
from store import media as stored_media

# Read Telegram's time periods (RetryAfter.retry_after, Voice.duration) as timedeltas,
# the behaviour PTB v22 moves to; without it every 429 also raises a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# bot.do_api_request("sendMessage" / "getUpdates") is used on purpose: see
# TelegramSender.send and parse().
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.(sendMessage|getUpdates)' instead of",
                        category=PTBUserWarning)

log = logging.getLogger(__name__)
CHANNEL = "telegram"
TEXT_LIMIT = 4096
CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
START_TIMEOUT = 15.0  # getMe at start: past this the workroom starts without it
PIN_WAIT = 2.0  # seconds an alert's map pin may wait for the chat's pace; longer, it is let go
_MENU_PREFIXES = ("flow:", "query:", "cmd:lang")
_MENU_MARK = "cmd:lang"  # every role's menu offers the other language
T = TypeVar("T")

# What the bot asks Telegram for: messages, their edits (answered: edits are not read),
# button presses.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# What a person sends that the workroom cannot read (photos, videos, voice notes and
# documents it keeps). A GIF ("animation") is a reaction, not evidence: Telegram sends it
# with a "document" too, which is not kept either.
_UNREADABLE = ("sticker", "contact", "animation", "poll", "dice", "game", "story",
               "invoice")
# How a record's file of each kind is sent: the Bot API method and its file parameter.
_SEND_FILE = {"photo": ("send_photo", "photo"), "video": ("send_video", "video"),
              "voice": ("send_voice", "voice"), "file": ("send_document", "document")}
_PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
# Telegram's answers to an edit of a message that is no longer there to edit.
_EDIT_MOOT = ("message to edit not found", "message can't be edited")
# Bot commands, in both languages, as shown in Telegram's command menu.
COMMANDS = ("start", "menu", "cancel", "help", "status", "lang")
# A command as some apps send it, with the bot it is meant for: "/skip@workroom_bot".
_COMMAND_TO_BOT = re.compile(r"(/[A-Za-z0-9_]{1,32})@[A-Za-z0-9_]{3,32}(?=\s|$)")
# A mention of a bot (every bot's username ends in "bot"): "@workroom_bot 你好".
_BOT_MENTION = re.compile(r"@[A-Za-z0-9_]{2,29}bot(?![A-Za-z0-9_])", re.IGNORECASE)


def parse(update: Mapping[str, Any]) -> Inbound | None:
    """Turn an update, as Telegram sends it (JSON), into an Inbound; None for updates the
    workroom does not handle. Read from the JSON itself: building python-telegram-bot's
    Update object for every update was half of the adapter's time, and only a few of
    its fields are read. ValueError for something that is not an update."""
    try:
        return _parse(update)
    except (AttributeError, TypeError, KeyError, IndexError) as err:
        raise ValueError(f"not a Telegram update: {err!r}") from err


def _parse(update: Mapping[str, Any]) -> Inbound | None:
    if not isinstance(update["update_id"], int):
        raise TypeError("update_id is not a number")
    uid = str(update["update_id"])
    query = update.get("callback_query")
    if query is not None:
        sender = query["from"]
        message = query.get("message")
        chat = message["chat"]["id"] if message else sender["id"]
        if message and _in_group(message):  # a button pressed in a group: see _group
            return _inbound(str(chat), uid, action=GROUP_CHAT, lang_hint=_hint(sender))
        return _inbound(str(chat), uid, action=str(query.get("data") or ""),
                        lang_hint=_hint(sender))
    message = update.get("message")
    if message is None:
        edit = update.get("edited_message")  # the only other kind the bot asks for
        if edit is None or "location" in edit or _in_group(edit):
            # A live location moving on the map is an edit every few seconds: not one
            # the sender made, so not answered (the shared location itself was). In a
            # group, the message itself was answered.
            return None
        return _inbound(str(edit["chat"]["id"]), uid, action=EDITED,
                        lang_hint=_hint(edit.get("from")))
    chat_id = str(message["chat"]["id"])
    hint = _hint(message.get("from"))
    if _in_group(message):
        return _group(message, chat_id, uid, hint)
    text = message.get("text")
    if text is None:
        text = message.get("caption")
    files = _attachments(message)
    if files:
        album = message.get("media_group_id")
        return _inbound(chat_id, uid, text=text, lang_hint=hint, attachments=files,
                        album=None if album is None else str(album))
    place = message.get("venue") or message.get("location")
    if isinstance(place, Mapping):  # a pin or a place picked on the map (a venue has both)
        point = place.get("location", place)
        return _inbound(chat_id, uid, action=LOCATION, lang_hint=hint, text=located(
            point["latitude"], point["longitude"], place.get("title"), place.get("address")))
    # Something the workroom cannot keep (a GIF, a sticker), even with a caption: its sender
    # is told, rather than the caption taken as the answer and the GIF silently dropped.
    if any(kind in message for kind in _UNREADABLE):
        return _inbound(chat_id, uid, action=UNREADABLE, lang_hint=hint)
    if text is None:
        return None  # a service message
    addressed = _COMMAND_TO_BOT.match(text.strip())
    if addressed:  # "/skip@workroom_bot": as "/skip"
        text = addressed[1] + text.strip()[addressed.end():]
    command, _, argument = text.strip().partition(" ")
    command = command.lower()
    if command == "/start" and argument.strip():
        return _inbound(chat_id, uid, text="/start", lang_hint=hint, link_code=argument.strip())
    if command == "/status":
        return _inbound(chat_id, uid, action="query:my_cases", lang_hint=hint)
    if command.startswith("/") and command[1:] in COMMANDS:
        text = command
    sent = message.get("date")
    return _inbound(chat_id, uid, text=text, lang_hint=hint,
                    sent_at=sent if isinstance(sent, int) else None)


def _in_group(message: Mapping[str, Any]) -> bool:
    return message["chat"].get("type", "private") != "private"


def _group(message: Mapping[str, Any], chat_id: str, uid: str,
           hint: str | None) -> Inbound | None:
    """A message in a group chat: a group is many people, and what one member reports
    must not reach the others, so nothing said there starts or steps a form. What is said
    to the bot (a command, a reply to it, a mention of it) is answered with where to go
    instead; an invitation opened there, that it only works in private. The rest is not
    the bot's to answer: a bot in privacy mode (Telegram's default) is sent nothing else,
    one made an admin of the group every message, and must not answer each. Service
    messages (someone joined, a title changed) get no answer either."""
    said = message.get("text")
    if said is None:
        said = message.get("caption") or ""
    replied_to = (message.get("reply_to_message") or {}).get("from") or {}
    if not (said.lstrip().startswith("/") or _BOT_MENTION.search(said)
            or replied_to.get("is_bot")):
        return None
    command, _, argument = said.strip().partition(" ")
    if command.split("@", 1)[0].lower() == "/start" and argument.strip():
        return _inbound(chat_id, uid, action=PRIVATE_ONLY, lang_hint=hint)
    return _inbound(chat_id, uid, action=GROUP_CHAT, lang_hint=hint)


def _hint(user: Mapping[str, Any] | None) -> str | None:
    """English for a Telegram app set to English; otherwise the workroom's default."""
    return "en" if user and str(user.get("language_code") or "").startswith("en") else None


def _inbound(address: str, uid: str, **fields: Any) -> Inbound:
    """Replies leave as outbox rows, each step's replies run into one message; a text
    longer than a message holds comes cut into several (Inbound.split_at)."""
    return Inbound(CHANNEL, address, uid, push_replies=True, merge_limit=TEXT_LIMIT,
                   split_at=TEXT_LIMIT, **fields)


def _attachments(message: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The files of a message worth keeping as a report's evidence, by their lasting file
    id: a photo (its largest size), a video or round video note, a voice note or audio
    recording, a document (a payslip as a PDF, a notice as a Word file). Files over the
    20 MB a bot may download are taken all the same: a self-hosted Bot API server fetches
    them, Telegram's refuses, and then the record's staff are told to ask for it again."""
    found: list[dict[str, Any]] = []

    def keep(kind: str, item: Mapping[str, Any], mime: str | None) -> None:
        found.append({"kind": kind, "file_ref": item["file_id"], "mime_type": mime,
                      "size": item.get("file_size")})

    if message.get("photo"):
        keep("photo", message["photo"][-1], "image/jpeg")
    for key in ("video", "video_note"):
        video = message.get(key)
        if video is not None:  # a round video note has no type: Telegram's are MP4
            keep("video", video, video.get("mime_type") or "video/mp4")
    # A photo sent "as a file" (uncompressed) is a photo still; a recording sent as an
    # audio file, a voice note; any other file is kept as a document.
    document = message.get("document")
    if document is not None and "animation" not in message:
        mime = str(document.get("mime_type") or "") or None
        kind = "photo" if mime and mime.startswith("image/") else \
            "video" if mime and mime.startswith("video/") else "file"
        keep(kind, document, mime)
    for key in ("voice", "audio"):
        voice = message.get(key)
        if voice is not None:
            keep("voice", voice, voice.get("mime_type"))
    return tuple(found)


def _chunks(text: str) -> list[str]:
    """Split under Telegram's limit, at line ends where possible."""
    return split_text(text, TEXT_LIMIT)


def is_menu(reply: Reply) -> bool:
    """The engine's main menu, which ends with the language switch: its labels come back
    as typed text. A push's own buttons ("flow:screening?return=3&answer=zero", "flow:rate")
    are not: their labels mean nothing at the menu, and they must not take the menu's
    place on the worker's keyboard. They stay inline, under their message."""
    values = [b.value for b in reply.buttons if b.kind != "nav"]
    return _MENU_MARK in values and all(v.startswith(_MENU_PREFIXES) and "?" not in v
                                        for v in values)


def layout(reply: Reply) -> dict[str, Any] | None:
    """The keyboard as Telegram's JSON: the main menu as a reply keyboard (its labels
    come back as text); other choices as inline buttons, one row for the navigation
    words. A reply without buttons that carries the menu (the language switched during a
    form) brings the menu's keyboard in its new words: it stays under the input field.
    Plain dicts: an alert's one-off 收到 button is not worth building objects."""
    if not reply.buttons:
        return layout(Reply(reply.text, reply.menu)) if reply.menu else None
    if is_menu(reply):
        labels = [{"text": b.label} for b in reply.buttons]
        return {"keyboard": [labels[i:i + 2] for i in range(0, len(labels), 2)],
                "resize_keyboard": True}
    main: list[list[dict[str, str]]] = []
    nav: list[dict[str, str]] = []
    for b in reply.buttons:
        if len(b.value.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data too long for Telegram: {b.value!r}")
        button = {"text": b.label, "callback_data": b.value}
        if b.kind == "nav":
            nav.append(button)
        elif main and len(main[-1]) == 1 and len(b.label) <= 8 \
                and len(main[-1][0]["text"]) <= 8:
            main[-1].append(button)  # short options two to a row
        else:
            main.append([button])
    return {"inline_keyboard": [*main, nav] if nav else main}


def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """layout() as python-telegram-bot's objects."""
    found = layout(reply)
    if found is None:
        return None
    if "keyboard" in found:
        return ReplyKeyboardMarkup.de_json(found, None)
    return InlineKeyboardMarkup.de_json(found, None)


def render(reply: Reply) -> list[tuple[str, Any]]:
    """Messages to send for one reply: text chunks, the keyboard on the last."""
    parts = _chunks(reply.text)
    return [(p, markup(reply) if i == len(parts) - 1 else None) for i, p in enumerate(parts)]


def wire(reply: Reply) -> list[tuple[str, str | None]]:
    """render() as sent: each keyboard already in its JSON form. The same few keyboards
    (the menu, a question's options) come back on every step, so each is built once."""
    parts = _chunks(reply.text)
    shown = reply.buttons or reply.menu  # see layout()
    keyboard = _keyboard_json(tuple((b.label, b.value, b.kind) for b in shown)) \
        if shown else None
    return [(p, keyboard if i == len(parts) - 1 else None) for i, p in enumerate(parts)]


@functools.lru_cache(maxsize=1024)
def _keyboard_json(buttons: tuple[tuple[str, str, str], ...]) -> str | None:
    # Cached for the menu; a form's keyboards name its draft (cmd:cancel@…), so most are
    # built once each: orjson writes them at about a seventh of json's cost.
    built = layout(Reply("", [Button(label, value, kind) for label, value, kind in buttons]))
    return None if built is None else orjson.dumps(built).decode()


def _edited_tail(text: str) -> str:
    """The text an edit puts on a push's message. A push longer than one message was sent
    in parts and its reference is the last part's (the one with the buttons), so an edit
    of it shows the end of the new text: the line it adds (who acknowledged, and when)
    with as much before it as fits, from a line's start, and never the first part again."""
    if len(text) <= TEXT_LIMIT:
        return text
    start = len(text) - (TEXT_LIMIT - len(_CUT))
    line = text.find("\n", start)
    return _CUT + (text[line + 1:] if 0 <= line < len(text) - 1 else text[start:])


_CUT = "…\n"  # what stands for the earlier parts above an edited last part


def messages(replies: list[Reply]) -> int:
    """How many Telegram messages these replies make."""
    return sum(len(_chunks(r.text)) for r in replies)


def _has_other_push_buttons(update: Mapping[str, Any]) -> bool:
    """Whether the pressed button leaves its message's keyboard as it is: 查看附件 (it
    stays on the alert), or any button of an alert whose 收到 is still to press."""
    query = update.get("callback_query") or {}
    pressed = str(query.get("data") or "")
    markup = (query.get("message") or {}).get("reply_markup") or {}
    return pressed.startswith("files:") or any(
        str(button.get("callback_data") or "").startswith("ack:")
        for row in markup.get("inline_keyboard") or () for button in row)


def chosen_label(update: Mapping[str, Any]) -> str | None:
    """The label of the inline button a callback query pressed."""
    query = update.get("callback_query") or {}
    message = query.get("message") or {}
    for row in (message.get("reply_markup") or {}).get("inline_keyboard") or ():
        for button in row:
            if button.get("callback_data") == query.get("data"):
                return str(button.get("text"))
    return None


class LoopRunner:
    """An event loop on its own thread, so sync code (the dispatcher) can await PTB."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="telegram-loop")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def make_bot(token: str, api_url: str, file_url: str) -> Bot:
    return Bot(token, base_url=api_url, base_file_url=file_url)


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


class Pace:
    """Telegram's limits, kept by this process: to one chat a short burst then about one
    message a second, twenty a minute to a group, thirty a second in all. A 429 holds
    that chat only; every other chat goes on."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, chat_burst: int = 4,
                 chat_per_second: float = 1.0, group_per_minute: int = 20,
                 per_second: int = 30) -> None:
        self.clock, self.burst, self.rate = clock, chat_burst, chat_per_second
        self.group_per_minute, self.per_second = group_per_minute, per_second
        self._tokens: dict[str, tuple[float, float]] = {}  # chat -> (tokens, as of)
        self._held: dict[str, float] = {}
        self._groups: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def hold(self, address: str, seconds: float) -> None:
        with self._lock:
            self._held[address] = max(self._held.get(address, 0.0), self.clock() + seconds)

    def reserve(self, address: str) -> float:
        """0 and the slot is taken; otherwise how many seconds this chat must wait."""
        with self._lock:
            now = self.clock()
            wait = self._held.get(address, 0.0) - now
            tokens, since = self._tokens.get(address, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) * self.rate)
            if tokens < 1:
                wait = max(wait, (1 - tokens) / self.rate)
            while self._all and self._all[0] <= now - 1:
                self._all.popleft()
            if len(self._all) >= self.per_second:
                wait = max(wait, self._all[0] + 1 - now)
            group = self._groups.setdefault(address, deque()) if address.startswith("-") \
                else None
            if group is not None:
                while group and group[0] <= now - 60:
                    group.popleft()
                if len(group) >= self.group_per_minute:
                    wait = max(wait, group[0] + 60 - now)
            if wait > 0:
                self._tokens[address] = (tokens, now)
                return wait
            self._tokens[address] = (tokens - 1, now)
            self._all.append(now)
            if group is not None:
                group.append(now)
            return 0.0


# Pace's rules for every process of the workroom at once, on Redis's clock. KEYS: the
# chat's bucket, its hold, all sends of the last second, the group's sends of the last
# minute. ARGV: burst, rate, per second, group per minute, is a group, a unique member.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local per_second, per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) - now
local b = redis.call('HMGET', KEYS[1], 'tokens', 'since')
local tokens = tonumber(b[1]) or burst
local since = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - since) * rate)
if tokens < 1 then wait = math.max(wait, (1 - tokens) / rate) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 1)
if redis.call('ZCARD', KEYS[3]) >= per_second then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(first[2]) + 1 - now)
end
local group = ARGV[5] == '1'
if group then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 60)
  if redis.call('ZCARD', KEYS[4]) >= per_minute then
    local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(first[2]) + 60 - now)
  end
end
if wait > 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'since', tostring(now))
  redis.call('EXPIRE', KEYS[1], 3600)
  return tostring(wait)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'since', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
redis.call('ZADD', KEYS[3], now, ARGV[6])
redis.call('EXPIRE', KEYS[3], 2)
if group then
  redis.call('ZADD', KEYS[4], now, ARGV[6])
  redis.call('EXPIRE', KEYS[4], 61)
end
return '0'
"""
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untl = now + tonumber(ARGV[1])
local old = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if untl > old then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class SharedPace(Pace):
    """Pace kept in Redis (WORKROOM_REDIS_URL): Telegram's limits are per bot, so every
    web process and dispatcher of a production workroom draws on the same budget; the
    time is Redis's own, the same for all of them. One round trip per send."""

    def __init__(self, url: str, *, prefix: str = "workroom", **limits: Any) -> None:
        import redis

        super().__init__(**limits)
        self.redis = redis.Redis.from_url(url)
        self.prefix = f"{{{prefix}:pace}}"  # one hash slot: the script's keys together
        self._reserve = self.redis.register_script(_RESERVE)
        self._hold = self.redis.register_script(_HOLD)
        self._members = itertools.count()
        self._me = os.urandom(6).hex()

    def hold(self, address: str, seconds: float) -> None:
        self._hold(keys=[f"{self.prefix}:hold:{address}"], args=[seconds])

    def reserve(self, address: str) -> float:
        p = self.prefix
        wait = self._reserve(
            keys=[f"{p}:chat:{address}", f"{p}:hold:{address}", f"{p}:all",
                  f"{p}:group:{address}"],
            args=[self.burst, self.rate, self.per_second, self.group_per_minute,
                  "1" if address.startswith("-") else "0",
                  f"{self._me}:{next(self._members)}"])
        return max(0.0, float(wait))


class TelegramSender:
    """Deliver outbox rows to Telegram chats."""

    channel = CHANNEL

    def __init__(self, bot: Bot, runner: LoopRunner, pace: Pace | None = None,
                 files: Callable[[int], bytes | None] | None = None) -> None:
        self.bot, self.runner = bot, runner
        self.pace = pace or Pace()
        # The kept bytes of a file received on another channel (MediaFile id), to upload.
        self.files = files
        try:
            runner.run(bot.initialize(), timeout=START_TIMEOUT)
        except InvalidToken:
            raise  # a wrong token is said at once, not found out at the first alert
        except (TelegramError, TimeoutError):
            # Telegram out of reach (blocked, a self-hosted server still starting): every
            # other channel and the scheduler come up all the same; sends and the long poll
            # try again on their own, the bot's name is asked when it is needed.
            log.warning("telegram: the Bot API cannot be reached at start", exc_info=True)

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        """The dispatcher's way in: a chat that must wait is handed back at once."""
        return self.runner.run(self.send(address, reply, edit_ref))

    async def send(self, address: str, reply: Reply, edit_ref: str | None = None,
                   *, max_wait: float = 0.0) -> str | None:
        """Send (or edit) a push on the bot's loop; waits up to `max_wait` seconds for
        the chat's pace, else raises DeliveryError with when to try again."""
        wait = self.pace.reserve(address)
        while wait > 0:  # stay inside Telegram's limits: this chat waits, the others go on
            if wait > max_wait:
                raise DeliveryError(f"paced: {wait:.1f}s", retry_after=wait)
            await asyncio.sleep(wait)
            max_wait -= wait
            wait = self.pace.reserve(address)
        try:
            if edit_ref is not None:
                wired = wire(reply)
                keyboard = wired[-1][1]
                markup = InlineKeyboardMarkup.de_json(json.loads(keyboard), self.bot) \
                    if keyboard is not None and '"inline_keyboard"' in keyboard else None
                # Without a keyboard the alert's button goes; with one, it stays.
                await self.bot.edit_message_text(chat_id=int(address), message_id=int(edit_ref),
                                                 text=_edited_tail(reply.text),
                                                 reply_markup=markup)
                return edit_ref
            if isinstance(reply, FileReply):
                return await self._send_file(address, reply)
            ref = None
            for text, keyboard in wire(reply):
                # The raw call: only the new message's id is read, so the Message object
                # send_message() would build (half the cost of a send) is not.
                kwargs: dict[str, Any] = {"chat_id": int(address), "text": text}
                if reply.quiet:  # at night: it arrives without a sound (see notices.quiet)
                    kwargs["disable_notification"] = True
                if keyboard is not None:
                    kwargs["reply_markup"] = keyboard
                sent = await self.bot.do_api_request("sendMessage", api_kwargs=kwargs)
                ref = str(sent["message_id"])
            if any(b.value.startswith("ack:") for b in reply.buttons):
                await self._pin(address, reply)
            return ref
        except RetryAfter as err:
            seconds = _seconds(err.retry_after)
            self.pace.hold(address, seconds)
            raise DeliveryError(f"429: retry after {seconds}", retry_after=seconds) from err
        except Forbidden as err:  # blocked the bot: try the person's next channel
            if edit_ref is not None:  # ... but an edit of what they can no longer see is moot
                log.info("telegram: edit of message %s in chat %s not made: %s", edit_ref,
                         address, err.message)
                return edit_ref
            raise DeliveryError(f"forbidden: {err.message}", fallback=True) from err
        except BadRequest as err:  # e.g. chat not found: this channel cannot take it
            said = err.message.lower()
            if edit_ref is not None and "message is not modified" in said:
                return edit_ref  # the message already reads so: an edit sent again
            if edit_ref is not None and any(gone in said for gone in _EDIT_MOOT):
                # The message was deleted (or can no longer be edited): there is nothing to
                # show the acknowledgement on, and nobody to alarm about a fact recorded.
                log.info("telegram: edit of message %s in chat %s not made: %s", edit_ref,
                         address, err.message)
                return edit_ref
            raise DeliveryError(f"bad request: {err.message}", fallback=True) from err
        except (NetworkError, TelegramError) as err:
            raise DeliveryError(f"network: {err}") from err

    async def _pin(self, address: str, reply: Reply) -> None:
        """An alert whose place is a shared location is followed by its pin on Telegram's
        map, for the leader to tap for the way there. Only a help: the alert (which says
        the coordinates too) is sent already, so a pin that cannot go is let go."""
        pin = pin_of(reply.text)
        if pin is None:
            return
        wait = self.pace.reserve(address)
        if wait > PIN_WAIT:
            return
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            await self.bot.send_location(chat_id=int(address), latitude=pin[0],
                                         longitude=pin[1], disable_notification=True)
            # (without a sound: the alert above has rung already)
        except TelegramError as err:
            log.info("telegram: the pin of an alert to chat %s was not sent: %s", address, err)

    async def _send_file(self, address: str, reply: FileReply) -> str:
        """One of a record's files, its caption under it: a file received by this bot by
        its file id (valid for the same bot), any other uploaded from its kept bytes; a
        file with neither is its caption alone."""
        f = reply.file
        kind, mime = str(f.get("kind") or "file"), str(f.get("mime_type") or "")
        media: str | InputFile | None = None
        if f.get("channel") == CHANNEL and f.get("file_ref"):
            media = str(f["file_ref"])
        elif f.get("media_id") and self.files is not None:
            data = await asyncio.to_thread(self.files, int(f["media_id"]))
            if data is not None:
                name = f"{kind}.{mime.rpartition('/')[2] or 'bin'}"
                media = InputFile(data, filename=name)
            # An upload is a photo or a video only in a type Telegram shows as one; a
            # voice note of another platform (AMR, Speex) goes as a document.
            shown = {"photo": mime in _PHOTO_TYPES, "video": mime == "video/mp4"}
            if media is not None and not shown.get(kind, False):
                kind = "file"
        if media is None:
            sent = await self.bot.do_api_request("sendMessage", api_kwargs={
                "chat_id": int(address), "text": reply.text,
                **({"disable_notification": True} if reply.quiet else {})})
            return str(sent["message_id"])
        method, field = _SEND_FILE.get(kind, _SEND_FILE["file"])
        message = await getattr(self.bot, method)(chat_id=int(address), caption=reply.text,
                                                  disable_notification=reply.quiet or None,
                                                  **{field: media})
        return str(message.message_id)

    def close(self) -> None:
        try:
            self.runner.run(self.bot.shutdown(), timeout=5)
        except Exception:  # closing must never stop a shutdown
            log.exception("telegram: closing the bot failed")


async def acknowledge_press(bot: Bot, update: Mapping[str, Any],
                            replies: list[Reply] | None = None) -> None:
    """After the step committed: stop the button's spinner, show what was chosen. An
    alert's 收到 is not marked here: the step itself edits the alert to say who
    acknowledged it and when, and a second edit racing it could overwrite that. A press
    the step turned down (`replies` say so) is not shown as chosen: a button of an
    earlier question loses its keyboard, a push's button pressed during a form stays."""
    query = update.get("callback_query")
    if query is None:
        return
    try:
        await bot.answer_callback_query(query["id"])
        if str(query.get("data") or "").startswith(("ack:", "called:")):
            return  # the step edits the push itself (who, when): no edit racing it
        message = query.get("message") or {}
        if message and _in_group(message):
            # A form's button left in a group from before: it starts nothing there now.
            if message.get("date"):
                await bot.edit_message_reply_markup(chat_id=message["chat"]["id"],
                                                    message_id=message["message_id"])
            return
        if _has_other_push_buttons(update):
            # An alert's 查看附件 or 办理 pressed before its 收到: the message keeps its
            # keyboard as it is (an edit without it would take 收到 away, and the alert
            # could then only climb the chain).
            return
        refused = refusal(replies or [])
        if refused == STALE and message.get("date"):  # 0: too old for the bot to see
            await bot.edit_message_reply_markup(chat_id=message["chat"]["id"],
                                                message_id=message["message_id"])
        if refused is not None:
            return
        label = chosen_label(update)
        shown = message.get("text")  # none on a message too old for the bot to see
        marked = f"{shown}\n→ {label}" if label and shown else None
        if marked is not None and len(marked) <= TEXT_LIMIT:
            await bot.edit_message_text(chat_id=message["chat"]["id"],
                                        message_id=message["message_id"], text=marked)
        elif marked is not None:  # no room below a long text: its buttons go, it stays whole
            await bot.edit_message_reply_markup(chat_id=message["chat"]["id"],
                                                message_id=message["message_id"])
    except TelegramError:  # cosmetic: the step itself is already saved and answered
        log.warning("telegram: could not mark the pressed button", exc_info=True)


# The command menu as registered: Chinese for everyone (Telegram's default), Chinese and
# English for apps set to those languages; (language of the texts, Telegram's code).
MENUS: tuple[tuple[str, str | None], ...] = (("zh", None), ("zh", "zh"), ("en", "en"))
MENU_FIRST_PAUSE = 1.0  # seconds before the menu is tried again, doubling
MENU_MAX_PAUSE = 300.0  # up to this


async def register_menu(bot: Bot, lang: str, code: str | None) -> None:
    """Register the command menu in one language."""
    commands = [BotCommand(c, catalog.t(lang, f"telegram.command.{c}")) for c in COMMANDS]
    await bot.set_my_commands(commands, language_code=code)


async def register_commands(bot: Bot) -> None:
    """Register the command menu in Chinese (default) and English, once."""
    for lang, code in MENUS:
        await register_menu(bot, lang, code)



# An update is set aside (TelegramChannel.take) once it failed this many tries over at
# least this many seconds: not while the database or Redis is down for a moment (then
# every update fails, and is tried again until it is back).
SET_ASIDE_AFTER = 5
SET_ASIDE_AGE = 120.0


class TelegramChannel:
    """The running Telegram side: one bot on its own loop, the sender, long polling, and
    the keeper of the photos and voice notes it receives (bot/telegram_media.py)."""

    def __init__(self, *, token: str, api_url: str, file_url: str, workroom: Any,
                 poll_timeout: int = 25, pace: Pace | None = None) -> None:
        self.runner = LoopRunner()
        self.bot = make_bot(token, api_url, file_url)
        self.sender = TelegramSender(self.bot, self.runner, pace,
                                     files=functools.partial(stored_media.content_of,
                                                             workroom.db))
        self.workroom, self.poll_timeout = workroom, poll_timeout
        self.pipeline = Pipeline(workroom, {CHANNEL: self.sender},
                                 before_commit=telegram_media.scheduling(workroom.clock))
        # Group chats' messages: answered without a person or a conversation, through a
        # pipeline of their own (see bot/pipeline.Stepper).
        self.groups = Pipeline(GroupChats(workroom, self.private_link), {CHANNEL: self.sender})
        self.media = telegram_media.keeper(workroom, self.bot, self.runner.loop, CHANNEL)
        self._stop: asyncio.Event | None = None
        self._polling: Any = None
        self._stopped = self._closed = False
        self._tries: dict[int, tuple[int, float]] = {}  # update id -> failed tries, first
        self.retry_pause = 1.0  # seconds before a failed update is fetched again
        self.set_aside_age = SET_ASIDE_AGE
        self._menu: asyncio.Task[None] | None = None  # the command menu being registered
        self.commands_pause = MENU_FIRST_PAUSE
        self.commands_max_pause = MENU_MAX_PAUSE

    async def take(self, update: Mapping[str, Any], inbound: Inbound | None = None) -> None:
        """handle(); but an update that failed SET_ASIDE_AFTER tries over set_aside_age
        seconds is set aside: the workroom records it as taken and tells its sender and
        the staff, rather than try it for ever. A message no step can take must not hold
        up those after it (polling fetches from the oldest unconfirmed update on)."""
        uid = update.get("update_id")
        try:
            await self.handle(update, inbound)
        except Exception as err:
            if not isinstance(uid, int):
                raise
            tries, first = self._tries.pop(uid, (0, time.monotonic()))
            tries += 1
            if len(self._tries) >= 10_000:  # forget the oldest, not the memory
                self._tries.pop(next(iter(self._tries)))
            self._tries[uid] = (tries, first)  # until it is set aside: that may fail too
            inbound = inbound or parse(update)
            if inbound is None or tries < SET_ASIDE_AFTER \
                    or time.monotonic() - first < self.set_aside_age:
                raise
            await asyncio.to_thread(self.workroom.set_aside, inbound, err)
            self._tries.pop(uid, None)
            return
        if isinstance(uid, int):
            self._tries.pop(uid, None)

    async def handle(self, update: Mapping[str, Any], inbound: Inbound | None = None) -> None:
        """Step an update (Telegram's JSON; `inbound`: parse() of it, if done already) on
        the bot's loop; return once its effects are committed, raise if they could not
        be (the update must then come again)."""
        if inbound is None:
            inbound = parse(update)
        replies: list[Reply] = []
        if inbound is not None:
            group = inbound.action in GROUP_NOTICES
            done = await (self.groups if group else self.pipeline).submit(inbound)
            if done.error is not None:
                raise done.error
            replies = done.replies
        await acknowledge_press(self.bot, update, replies)

    async def settled(self) -> None:
        """Wait, from any loop, until every push under way has been sent and recorded."""
        for pipeline in (self.pipeline, self.groups):
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(pipeline.flush(),
                                                                       self.runner.loop))

    async def handle_from_other_loop(self, update: Mapping[str, Any],
                                     inbound: Inbound | None = None) -> None:
        """take() for a caller on another event loop (the web app's)."""
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            self.take(update, inbound), self.runner.loop))

    def register_commands(self) -> None:
        """Register the command menu once, now; raise if Telegram refuses or cannot be
        reached. The workroom itself uses start_commands()."""
        self.runner.run(register_commands(self.bot))

    def start_commands(self) -> None:
        """Register the command menu on the bot's loop, in the background: the start does
        not wait for Telegram, and a Telegram out of reach at start (network down, its
        server restarting) gets the menu as soon as it answers again, without a restart."""
        async def begin() -> None:
            if self._menu is None and not self._stopped:
                self._menu = asyncio.create_task(self._register_menus())

        self.runner.run(begin())

    async def _register_menus(self) -> None:
        """Each language's menu until Telegram has taken all three: tried again after a
        pause doubling from commands_pause to commands_max_pause, or as long as a 429
        says. The first failure is a warning; the tries after it, debug lines."""
        try:
            await self._try_menus()
        except Exception:  # a fault of ours, not Telegram's: said, not tried for ever
            log.exception("telegram: registering the command menu failed")

    async def _try_menus(self) -> None:
        pending = list(MENUS)
        pause, tries = self.commands_pause, 0
        while pending:
            lang, code = pending[0]
            try:
                await register_menu(self.bot, lang, code)
            except BadRequest as err:  # the same request would be refused again
                log.error("telegram: Telegram refused the command menu: %s", err.message)
                return
            except TelegramError as err:
                tries += 1
                if isinstance(err, RetryAfter):
                    wait = _seconds(err.retry_after)
                else:
                    wait, pause = pause, min(pause * 2, self.commands_max_pause)
                if tries == 1:
                    log.warning("telegram: the command menu could not be registered (%s); "
                                "trying again in the background", err)
                else:
                    log.debug("telegram: the command menu, try %d: %s", tries, err)
                await asyncio.sleep(wait)
                continue
            pending.pop(0)
        if tries:
            log.info("telegram: the command menu is registered, after %d failed tries", tries)

    async def _end_menu(self) -> None:
        """Stop registering the menu, wherever it is: in a pause or a request."""
        if self._menu is not None and not self._menu.done():
            self._menu.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._menu

    def username(self) -> str:
        """The bot's @name as Telegram gives it (getMe, asked again if the start missed it)."""
        self.runner.run(self.bot.initialize())
        return str(self.bot.username)

    def private_link(self) -> str | None:
        """The link that opens a private chat with the bot; None while its name is not
        known (Telegram could not be reached at the start: not asked again for this)."""
        try:
            return f"https://t.me/{self.bot.username}"
        except RuntimeError:  # getMe not answered yet
            return None

    def timer_handlers(self) -> dict[str, Callable[[str], object]]:
        """The channel's timers: photos and voice notes to fetch."""
        return {telegram_media.MEDIA: self.media.fetch}

    async def _poll(self) -> None:
        assert self._stop is not None
        offset: int | None = None
        pause = 1.0
        stopping = asyncio.ensure_future(self._stop.wait())
        cleared = False  # no webhook set: getUpdates refuses to run beside one
        while not self._stop.is_set():
            if not cleared:
                try:
                    cleared = bool(await self.bot.delete_webhook())
                except TelegramError:  # Telegram out of reach at start: try again
                    log.warning("telegram: deleteWebhook failed; trying again", exc_info=True)
                    await asyncio.wait({stopping}, timeout=pause)
                    pause = min(pause * 2, 30)
                    continue
            fetch = asyncio.ensure_future(self._get_updates(offset, self.poll_timeout))
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():  # stopping: leave the parked long poll
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except RetryAfter as err:
                await asyncio.wait({stopping}, timeout=_seconds(err.retry_after))
                continue
            except TelegramError:
                log.warning("telegram: getUpdates failed; trying again", exc_info=True)
                await asyncio.wait({stopping}, timeout=pause)
                pause = min(pause * 2, 30)
                continue
            pause = 1.0
            # Every update at once: the pipeline keeps each chat's in order.
            done = await asyncio.gather(*(self.take(u) for u in updates),
                                        return_exceptions=True)
            for update, outcome in zip(updates, done, strict=True):
                if isinstance(outcome, BaseException):
                    # Not confirmed: this update and those after it come again; the
                    # dedupe absorbs whatever part of them had committed.
                    log.error("telegram: update %s failed; will retry", update.get("update_id"),
                              exc_info=outcome)
                    await asyncio.wait({stopping}, timeout=self.retry_pause)
                    break
                # Confirmed to Telegram only by the next getUpdates, after this commit.
                offset = update["update_id"] + 1
        if offset is not None:  # confirm what was handled, so a restart does not redo it
            try:
                await self._get_updates(offset, 0, limit=1)
            except TelegramError:
                log.warning("telegram: could not confirm the last offset", exc_info=True)

    async def _get_updates(self, offset: int | None, timeout: int,
                           limit: int | None = None) -> list[dict[str, Any]]:
        """getUpdates, its updates as Telegram's JSON (see parse())."""
        kwargs: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        if offset is not None:
            kwargs["offset"] = offset
        if limit is not None:
            kwargs["limit"] = limit
        # A long poll is parked for `timeout` seconds: wait that long for the answer.
        found = await self.bot.do_api_request("getUpdates", api_kwargs=kwargs,
                                              read_timeout=timeout + 10)
        updates = [u for u in found if isinstance(u, dict)] if isinstance(found, list) else []
        for u in updates:  # one that cannot be read is skipped, not retried for ever
            if not isinstance(u.get("update_id"), int):
                log.error("telegram: getUpdates gave something that is not an update: %r", u)
        return [u for u in updates if isinstance(u.get("update_id"), int)]

    def start_polling(self) -> None:
        """Poll on the bot's loop; the webhook is cleared there, so a Telegram out of reach
        at start does not stop the workroom from starting."""
        async def begin() -> None:
            self._stop = asyncio.Event()

        self.runner.run(begin())
        self._polling = asyncio.run_coroutine_threadsafe(self._poll(), self.runner.loop)

    def stop(self) -> None:
        """Leave the long poll with the last offset confirmed, then send and record every
        push under way: after a graceful stop (a deploy, SIGTERM) no update is taken again
        and no reply is sent twice. Called by the web app's shutdown; once is enough."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.runner.run(self._end_menu(), timeout=5)
        except Exception:
            log.exception("telegram: ending the command menu's registration failed")
        if self._polling is not None and self._stop is not None:
            self.runner.loop.call_soon_threadsafe(self._stop.set)
            try:
                self._polling.result(timeout=self.poll_timeout + 5)
            except Exception:
                log.exception("telegram: polling ended with an error")
        for pipeline in (self.pipeline, self.groups):
            try:
                self.runner.run(pipeline.close(), timeout=10)
            except Exception:
                log.exception("telegram: closing the pipeline failed")

    def close(self) -> None:
        self.stop()
        if self._closed:
            return
        self._closed = True
        self.sender.close()
        self.runner.close()
