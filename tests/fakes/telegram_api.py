"""An in-process fake of the Telegram Bot API, for tests that drive the real
python-telegram-bot (PTB) stack over real HTTP.

``FakeBotApi`` serves Telegram's URL scheme on ``127.0.0.1:<free port>``::

    POST/GET /bot<TOKEN>/<method>          -> {"ok": true, "result": ...}
    GET      /file/bot<TOKEN>/<file_path>  -> the file's bytes

from a FastAPI app run by uvicorn in a background thread.  Point PTB at it with
``Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)`` or
``ApplicationBuilder().token(fake.token).base_url(fake.base_url)
.base_file_url(fake.base_file_url)`` (PTB appends the token to both URLs).

How PTB encodes a request (``telegram/request/_requestdata.py``, ``_httpxrequest.py``):
every API method is a POST; string parameters are sent as they are, every other value
(ints, bools, lists, dicts such as ``reply_markup``) is ``json.dumps``-ed to a string; the
strings go out as ``application/x-www-form-urlencoded`` or, when a file is uploaded, as
``multipart/form-data`` whose file parts are named after the parameter (or after an
``attach://<name>`` reference).  This fake reverses that: each call's parameters become a
plain dict in which JSON objects/arrays are decoded, numeric parameters (``chat_id``,
``message_id``, ``offset``...) are ints, boolean ones are bools, and uploaded files are
``UploadedFile`` objects.

Every call is recorded as a ``Call`` (``fake.calls``), errors can be injected
(``fail_next``), Telegram's flood limits can be switched on (``limit_group_per_minute``,
``limit_chat_per_second``) and updates are queued for long polling (``push_update``),
with Telegram's ``getUpdates`` offset semantics.  The module-level builders
(``text_update``, ``callback_update``, ``photo_update``, ``voice_update``) make update dicts
in Telegram's JSON shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "TOKEN",
    "ApiError",
    "Call",
    "FakeBotApi",
    "UploadedFile",
    "callback_update",
    "command_entities",
    "photo_update",
    "text_update",
    "voice_update",
]

TOKEN = "123456:TEST-TOKEN"
BOT_ID = 123456
BOT_USERNAME = "workroom_test_bot"
BOT_FIRST_NAME = "Workroom Test Bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}
_GET_ME: dict[str, Any] = {
    **BOT_USER,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}

#: Telegram's limits that the fake enforces on sendMessage / editMessageText.
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
#: Update types Telegram leaves out unless they are asked for in ``allowed_updates``.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: Methods that send a message to ``chat_id``; the flood limits apply to these.
_SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendMediaGroup",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
    }
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# --------------------------------------------------------------------------------------------
# Decoding requests
# --------------------------------------------------------------------------------------------

# Parameters that are strings in the Bot API: never JSON- or number-decoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "file_id",
        "language_code",
        "action",
        "emoji",
        "title",
        "description",
        "short_description",
        "name",
        "question",
        "explanation",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "custom_emoji_id",
        "switch_pm_text",
        "switch_pm_parameter",
        "next_offset",
        "result_id",
        "sticker_set_name",
        "invite_link",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "duration",
        "width",
        "height",
        "length",
        "max_connections",
        "cache_time",
        "until_date",
        "live_period",
        "heading",
        "proximity_alert_radius",
        "open_period",
        "close_date",
        "correct_option_id",
        "sender_chat_id",
        "member_limit",
        "expire_date",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "show_alert",
        "drop_pending_updates",
        "is_personal",
        "has_spoiler",
        "show_caption_above_media",
        "supports_streaming",
        "is_anonymous",
        "allows_multiple_answers",
        "is_closed",
        "revoke_messages",
        "only_if_banned",
        "use_independent_chat_permissions",
        "creates_join_request",
        "for_channels",
    }
)
_FLOAT_PARAMS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_INT_RE = re.compile(r"-?\d+")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _decode_value(key: str, value: Any) -> Any:
    """Undo PTB's encoding of one parameter (see the module docstring)."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            decoded = json.loads(stripped)
        except ValueError:
            return value
        if isinstance(decoded, dict | list):
            return decoded
        return value
    if (key in _INT_PARAMS or key.endswith("_id")) and _INT_RE.fullmatch(stripped):
        return int(stripped)
    if key in _BOOL_PARAMS and stripped in ("true", "false"):
        return stripped == "true"
    if key in _FLOAT_PARAMS:
        try:
            return float(stripped)
        except ValueError:
            return value
    return value


_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


_Part = tuple[str, str | None, str | None, bytes]


def _parse_multipart(body: bytes, content_type: str) -> list[_Part]:
    """Split a multipart/form-data body into (name, filename, content type, data) parts."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return []
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: list[_Part] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        part = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        part = part[:-2] if part.endswith(b"\r\n") else part
        head, _, data = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, val = line.partition(":")
            headers[key.strip().lower()] = val.strip()
        disposition: dict[str, str] = {}
        for m in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", "")):
            raw = m.group(2) if m.group(2) is not None else m.group(3)
            disposition[m.group(1).lower()] = raw.replace('\\"', '"')
        name = disposition.get("name")
        if name is None:
            continue
        parts.append((name, disposition.get("filename"), headers.get("content-type"), data))
    return parts


def _attach_refs(value: Any) -> Iterator[str]:
    """Names referenced as ``attach://<name>`` anywhere inside a decoded parameter."""
    if isinstance(value, str):
        if value.startswith("attach://"):
            yield value[len("attach://") :]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _attach_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _attach_refs(item)


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode a Bot API request (query string, urlencoded, JSON or multipart body)."""
    raw: list[tuple[str, Any]] = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    body = await request.body()
    files: dict[str, UploadedFile] = {}
    if body and mime == "application/json":
        payload = json.loads(body)
        if isinstance(payload, dict):
            raw.extend(payload.items())
    elif body and mime == "application/x-www-form-urlencoded":
        raw.extend(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body and mime == "multipart/form-data":
        for name, filename, part_type, data in _parse_multipart(body, content_type):
            if filename is None and part_type in (None, "text/plain"):
                raw.append((name, data.decode("utf-8")))
            else:
                files[name] = UploadedFile(name, filename, part_type, data)
    params = {key: _decode_value(key, value) for key, value in raw}
    attached = {ref for value in params.values() for ref in _attach_refs(value)}
    for name, upload in files.items():
        if name not in attached:
            params.setdefault(name, upload)
    return params, files


# --------------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake received.

    ``status`` and ``response`` are filled in once the answer is sent (a long-polling
    ``getUpdates`` is recorded on arrival with ``status=None``)."""

    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> Any:
        return self.params.get("text")

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")


class ApiError(Exception):
    """Raise from a custom handler (``FakeBotApi.set_handler``) to answer with an error."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class _FailureRule:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    chat_id: int | str | None
    description: str | None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if method.lower() != self.method.lower():
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def error(self) -> ApiError:
        if self.status == 429:
            err = _too_many_requests(self.retry_after or 1)
            if self.description:
                err.description = self.description
            return err
        description = self.description or _DEFAULT_DESCRIPTIONS.get(self.status, "Error")
        parameters = {"retry_after": self.retry_after} if self.retry_after else None
        return ApiError(self.status, description, parameters)


@dataclass
class _Waiter:
    """A long-polling getUpdates request parked on the server's event loop."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event
    terminated: bool = False

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the server's loop may be closed already
            self.loop.call_soon_threadsafe(self.event.set)


# --------------------------------------------------------------------------------------------
# Shapes of Telegram objects
# --------------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _chat(chat_id: int | str, first_name: str = "测试") -> dict[str, Any]:
    if isinstance(chat_id, str):  # "@channelusername"
        return {"id": -1000000000001, "type": "channel", "title": chat_id, "username": chat_id[1:]}
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    # Supergroup (and channel) ids look like -100xxxxxxxxxx; smaller negatives are groups.
    kind = "supergroup" if chat_id <= -1000000000000 else "group"
    return {"id": chat_id, "type": kind, "title": "测试群"}


def _user(user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    return user


def _is_inline_keyboard(markup: Any) -> bool:
    return isinstance(markup, dict) and "inline_keyboard" in markup


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], Any]


class _QuickServer(uvicorn.Server):
    """uvicorn looks at ``should_exit`` every 0.1 s; look every 10 ms so that ``stop()``
    (once per test) is quick."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            await asyncio.sleep(0.01)


class FakeBotApi:
    """A fake Telegram Bot API server on 127.0.0.1, for use as a context manager::

        with FakeBotApi() as fake:
            bot = telegram.Bot(fake.token, base_url=fake.base_url,
                               base_file_url=fake.base_file_url)

    All public methods are thread-safe: the server runs in its own thread and event loop.

    Options:
        limit_group_per_minute: when set (Telegram: 20), a message sent to a group chat
            (negative id) beyond that many within 60 s answers 429 with ``retry_after`` = the
            seconds until a slot frees.
        limit_chat_per_second: when set (Telegram: about 1), likewise for any one chat.
        clock: the clock (seconds) the flood limits use; ``time.monotonic`` by default.
        strict_edits: when True, editing a message the fake never saw answers 400 "message
            to edit not found" and an edit that changes nothing answers 400 "message is not
            modified", like Telegram.  Off by default so tests can edit messages they made up.
    """

    def __init__(
        self,
        *,
        token: str = TOKEN,
        limit_group_per_minute: int | None = None,
        limit_chat_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        strict_edits: bool = False,
    ) -> None:
        self.token = token
        self.limit_group_per_minute = limit_group_per_minute
        self.limit_chat_per_second = limit_chat_per_second
        self.clock = clock
        self.strict_edits = strict_edits
        self.host = "127.0.0.1"
        self.port: int | None = None

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._downloads: list[str] = []
        self._failures: list[_FailureRule] = []
        self._custom: dict[str, Handler] = {}
        self._blocked: set[int | str] = set()
        # sending history for the flood limits: chat id -> clock() of each accepted message
        self._sent_at: defaultdict[int | str, deque[float]] = defaultdict(deque)
        # messages
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._last_message_id: defaultdict[int | str, int] = defaultdict(int)
        self._chats: dict[int | str, dict[str, Any]] = {}
        # commands per (scope, language_code)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # webhook
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self._webhook_allowed_updates: list[str] | None = None
        # long polling
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._allowed_updates: list[str] = []
        self._waiters: list[_Waiter] = []
        self.confirmed_offset = 0
        # files: file_id -> (file_path, content)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._file_counter = itertools.count(1)

        self._stopping = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._builtin: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendVideo": self._send_video,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in [*self._builtin, "getUpdates"]}
        self.app = self._make_app()

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token, then ``/<method>``."""
        return f"http://{self.host}:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)``: PTB appends the token, then ``/<file_path>``."""
        return f"http://{self.host}:{self._require_port()}/file/bot"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self.port

    def start(self) -> FakeBotApi:
        if self._thread is not None:
            raise RuntimeError("FakeBotApi is already started")
        # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (with
        # proto 0 it does not, and every answer waits ~40 ms for a delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )
        self._stopping = False
        self._server = _QuickServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"FakeBotApi:{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()
                raise RuntimeError("FakeBotApi's uvicorn server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        with self._lock:
            self._stopping = True
            waiters = list(self._waiters)
        for waiter in waiters:  # answer parked long polls now, not at their timeout
            waiter.wake()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        alive = self._thread.is_alive()
        self._server = None
        self._thread = None
        if alive:
            raise RuntimeError("FakeBotApi's server thread did not stop")

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every API call received, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def downloads(self) -> list[str]:
        """The file paths downloaded through ``/file/bot<TOKEN>/...``."""
        with self._lock:
            return list(self._downloads)

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one method (names are case-insensitive, like Telegram's)."""
        wanted = method.lower()
        with self._lock:
            return [call for call in self._calls if call.method.lower() == wanted]

    def sent_messages(
        self, chat_id: int | str | None = None, *, include_failed: bool = False
    ) -> list[Call]:
        """sendMessage calls (optionally to one chat) that Telegram accepted; with
        ``include_failed=True`` also those answered with an error (429, 5xx...)."""
        return [
            call
            for call in self.calls_to("sendMessage")
            if (chat_id is None or call.chat_id == chat_id) and (include_failed or call.ok)
        ]

    def clear(self) -> None:
        """Forget the recorded calls and downloads (not the state: updates, messages...)."""
        with self._lock:
            self._calls.clear()
            self._downloads.clear()

    def reset(self) -> None:
        """Forget everything (calls, queued updates, messages, commands, webhook, injected
        failures, flood history, files), e.g. to share one server between tests."""
        with self._lock:
            self._calls.clear()
            self._downloads.clear()
            self._failures.clear()
            self._custom.clear()
            self._blocked.clear()
            self._sent_at.clear()
            self._messages.clear()
            self._last_message_id.clear()
            self._chats.clear()
            self._commands.clear()
            self.webhook_url, self.webhook_secret = "", None
            self._webhook_allowed_updates = None
            self._updates.clear()
            self._last_update_id = 0
            self._allowed_updates = []
            self.confirmed_offset = 0
            self._files.clear()
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.wake()

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait (without blocking the event loop) until ``count`` answered calls of
        ``method`` (matching ``predicate``) were recorded; return them.  Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                call
                for call in self.calls_to(method)
                if call.status is not None and (predicate is None or predicate(call))
            ]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} {method} calls after {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_for_messages(
        self, chat_id: int | str | None = None, count: int = 1, *, timeout: float = 5.0
    ) -> list[Call]:
        """Wait until ``count`` messages were delivered (to ``chat_id``); return them."""
        return await self.wait_for_calls(
            "sendMessage",
            count,
            timeout=timeout,
            predicate=lambda c: c.ok and (chat_id is None or c.chat_id == chat_id),
        )

    # ---------------------------------------------------------------- test controls

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (only those to ``chat_id`` if given)
        with an error, like Telegram: 429 -> "Too Many Requests: retry after N" with
        ``parameters.retry_after`` (N = ``retry_after`` or 1); 5xx -> "Bad Gateway" etc.;
        any other status with ``description`` (e.g. 403 "Forbidden: bot was blocked by the
        user").  Rules apply in the order they were added."""
        if times < 1:
            raise ValueError("times must be >= 1")
        if status < 400:
            raise ValueError("status must be an HTTP error status")
        with self._lock:
            self._failures.append(
                _FailureRule(method, status, times, retry_after, chat_id, description)
            )

    def block(self, chat_id: int | str) -> None:
        """From now on, sending to this chat answers 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def set_handler(self, method: str, handler: Handler | None) -> None:
        """Override (or, with None, restore) a method: ``handler(params)`` returns the
        ``result`` or raises ``ApiError``.  It runs on the server thread under the fake's
        lock, so it must be quick."""
        with self._lock:
            if handler is None:
                self._custom.pop(method.lower(), None)
            else:
                self._custom[method.lower()] = handler
                self._canonical.setdefault(method.lower(), method)

    def add_file(self, file_id: str, content: bytes, *, file_path: str | None = None) -> str:
        """Make ``getFile(file_id)`` and the download of its ``file_path`` serve ``content``.
        Returns the file path."""
        with self._lock:
            path = file_path or self._new_file_path(file_id)
            self._files[file_id] = (path, content)
            return path

    def user_deletes(self, chat_id: int | str, message_id: int) -> None:
        """The user deleted the bot's message from their chat: it can no longer be edited."""
        with self._lock:
            self._messages.pop((chat_id, message_id), None)

    def get_message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The latest state of a message the bot sent (or edited), as Telegram returned it."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            return copy.deepcopy(message)

    def commands(
        self, *, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The commands set for a scope (default scope if None) and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    # ---------------------------------------------------------------- long polling

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assigns the next ``update_id`` when missing.
        Returns the queued update (a copy).  Update ids must increase, as Telegram's do."""
        update = copy.deepcopy(update)
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self._last_update_id + 1
            update_id = update["update_id"]
            if update_id <= self._last_update_id or update_id < self.confirmed_offset:
                raise ValueError(
                    f"update_id {update_id} must be above the last one pushed "
                    f"({self._last_update_id}) and the confirmed offset "
                    f"({self.confirmed_offset})"
                )
            self._last_update_id = update_id
            self._updates.append(update)
            self._note_incoming(update)
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.wake()
        return copy.deepcopy(update)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def _note_incoming(self, update: dict[str, Any]) -> None:
        """Remember chats and message ids of incoming messages, so the bot's own message ids
        continue after them (message ids are per chat)."""
        for key in ("message", "edited_message", "channel_post", "callback_query"):
            message = update.get(key)
            if key == "callback_query" and isinstance(message, dict):
                message = message.get("message")
            if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
                continue
            chat = message["chat"]
            self._chats.setdefault(chat["id"], chat)
            if isinstance(message.get("message_id"), int):
                last = self._last_message_id[chat["id"]]
                self._last_message_id[chat["id"]] = max(last, message["message_id"])

    @staticmethod
    def _update_type(update: dict[str, Any]) -> str | None:
        return next((key for key in update if key != "update_id"), None)

    def _take_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """Apply ``offset`` (confirming what is below it) and return up to ``limit`` updates.
        Caller holds the lock."""
        if offset is not None:
            if offset < 0:  # the last -offset updates; all previous ones are forgotten
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self.confirmed_offset = max(self.confirmed_offset, offset)
        allowed = set(self._allowed_updates)
        kept = []
        for update in self._updates:
            kind = self._update_type(update)
            wanted = kind in allowed if allowed else kind not in _OPT_IN_UPDATE_TYPES
            if wanted:
                kept.append(update)
        self._updates = kept  # Telegram never delivers updates of types not asked for
        return copy.deepcopy(kept[:limit])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        waiter: _Waiter | None = None
        with self._lock:
            if self.webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            for other in self._waiters:  # like Telegram, a new poll ends the previous one
                other.terminated = True
                other.wake()
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = list(params["allowed_updates"])
            updates = self._take_updates(offset if isinstance(offset, int) else None, limit)
            if updates or timeout == 0 or self._stopping:
                return updates
            waiter = _Waiter(asyncio.get_running_loop(), asyncio.Event())
            self._waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.event.wait(), timeout)
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if waiter.terminated:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        with self._lock:
            return self._take_updates(None, limit)

    # ---------------------------------------------------------------- HTTP plumbing

    def _make_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def api(request: Request, token: str, method: str) -> Response:
            if token != self.token:
                return _json(ApiError(401, "Unauthorized").body(), 401)
            params, files = await _read_params(request)
            return await self._dispatch(method, params, files)

        @app.get("/file/bot{token}/{file_path:path}")
        async def download(token: str, file_path: str) -> Response:
            if token != self.token:
                return _json(ApiError(401, "Unauthorized").body(), 401)
            with self._lock:
                content = next((c for p, c in self._files.values() if p == file_path), None)
                if content is not None:
                    self._downloads.append(file_path)
            if content is None:
                return _json(ApiError(404, "Not Found").body(), 404)
            return Response(content, media_type="application/octet-stream")

        @app.api_route("/{rest:path}", methods=["GET", "POST"])
        async def not_found(rest: str) -> Response:
            return _json(ApiError(404, "Not Found").body(), 404)

        return app

    async def _dispatch(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Response:
        with self._lock:
            name = self._canonical.get(method.lower(), method)
            call = Call(method=name, params=params, at=time.monotonic(), files=files)
            self._calls.append(call)
        try:
            if name == "getUpdates" and name.lower() not in self._custom:
                with self._lock:
                    self._check_injected_failure(name, params)
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = self._run_sync(name, params)
                if inspect.isawaitable(result):
                    result = await result
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as err:
            body, status = err.body(), err.status
        with self._lock:
            call.status, call.response = status, body
        return _json(body, status)

    def _run_sync(self, name: str, params: dict[str, Any]) -> Any:
        """Everything but getUpdates; caller holds the lock."""
        self._check_injected_failure(name, params)
        handler = self._custom.get(name.lower()) or self._builtin.get(name)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        chat_id = params.get("chat_id")
        limited = name in _SEND_METHODS and isinstance(chat_id, int | str)
        if chat_id in self._blocked and (limited or name.startswith("edit")):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if limited:
            self._check_flood(chat_id)
        result = handler(params)
        if limited:
            self._sent_at[chat_id].append(self.clock())
        return result

    def _check_injected_failure(self, name: str, params: dict[str, Any]) -> None:
        for rule in self._failures:
            if rule.matches(name, params):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                raise rule.error()

    def _check_flood(self, chat_id: int | str) -> None:
        now = self.clock()
        history = self._sent_at[chat_id]
        windows: list[tuple[float, int]] = []  # (window seconds, messages allowed in it)
        if self.limit_group_per_minute is not None and isinstance(chat_id, int) and chat_id < 0:
            windows.append((60.0, self.limit_group_per_minute))
        if self.limit_chat_per_second is not None and self.limit_chat_per_second > 0:
            window = max(1.0, 1.0 / self.limit_chat_per_second)
            windows.append((window, max(1, int(self.limit_chat_per_second * window))))
        longest = max((w for w, _ in windows), default=60.0)
        while history and history[0] + longest <= now:
            history.popleft()
        retry_after = 0
        for window, allowed in windows:
            recent = [t for t in history if t + window > now]
            if len(recent) >= allowed:
                # the slot frees when the oldest message that still counts leaves the window
                frees_at = recent[len(recent) - allowed] + window
                retry_after = max(retry_after, max(1, math.ceil(frees_at - now)))
        if retry_after:
            raise _too_many_requests(retry_after)

    # ---------------------------------------------------------------- methods

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(_GET_ME)

    def _chat_of(self, chat_id: int | str) -> dict[str, Any]:
        return copy.deepcopy(self._chats.get(chat_id) or _chat(chat_id))

    def _new_message(self, chat_id: int | str, **content: Any) -> dict[str, Any]:
        self._last_message_id[chat_id] += 1
        message_id = self._last_message_id[chat_id]
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(BOT_USER),
            "chat": self._chat_of(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return copy.deepcopy(message)

    @staticmethod
    def _require_chat_id(params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        return chat_id

    @staticmethod
    def _check_text(text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if not _is_inline_keyboard(markup):
            return
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not (
                    0 < len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise _bad_request("BUTTON_DATA_INVALID")

    @staticmethod
    def _optional_content(params: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if isinstance(params.get("entities"), list):
            content["entities"] = params["entities"]
        if _is_inline_keyboard(params.get("reply_markup")):
            content["reply_markup"] = params["reply_markup"]
        return content

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._require_chat_id(params)
        text = self._check_text(params.get("text"))
        self._check_markup(params.get("reply_markup"))
        return self._new_message(chat_id, text=text, **self._optional_content(params))

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = self._require_chat_id(params)
        media = params.get(kind)
        if media is None or media == "":
            raise _bad_request(f"there is no {kind} in the request")
        self._check_markup(params.get("reply_markup"))
        file_id = media if isinstance(media, str) else f"{kind.upper()}-{next(self._file_counter)}"
        content: dict[str, Any] = {}
        if isinstance(media, UploadedFile):
            self._files[file_id] = (self._new_file_path(file_id), media.data)
        size = len(media.data) if isinstance(media, UploadedFile) else 1_000
        if kind == "photo":
            content["photo"] = [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": 800,
                    "height": 600,
                    "file_size": size,
                }
            ]
        else:
            document: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
            if isinstance(media, UploadedFile):
                document["file_size"] = len(media.data)
                if media.filename:
                    document["file_name"] = media.filename
                if media.content_type:
                    document["mime_type"] = media.content_type
            content[kind] = document  # a document, a voice note or a video
        if isinstance(params.get("caption"), str):
            content["caption"] = params["caption"]
        if _is_inline_keyboard(params.get("reply_markup")):
            content["reply_markup"] = params["reply_markup"]
        return self._new_message(chat_id, **content)

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "photo")

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "document")

    def _send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "voice")

    def _send_video(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "video")

    def _edit(self, params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        chat_id = self._require_chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            if self.strict_edits:
                raise _bad_request("message to edit not found")
            message = {
                "message_id": message_id,
                "from": dict(BOT_USER),
                "chat": self._chat_of(chat_id),
                "date": int(time.time()),
            }
        updated = {key: val for key, val in message.items() if key != "edit_date"}
        for key, val in changes.items():
            if val is None:
                updated.pop(key, None)
            else:
                updated[key] = val
        if self.strict_edits and all(
            updated.get(key) == message.get(key) for key in ("text", "reply_markup", "entities")
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        updated["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = updated
        return copy.deepcopy(updated)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text = self._check_text(params.get("text"))
        self._check_markup(params.get("reply_markup"))
        markup = params.get("reply_markup")
        return self._edit(
            params,
            {
                "text": text,
                "entities": params.get("entities"),
                "reply_markup": markup if _is_inline_keyboard(markup) else None,
            },
        )

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        self._check_markup(params.get("reply_markup"))
        markup = params.get("reply_markup")
        return self._edit(params, {"reply_markup": markup if _is_inline_keyboard(markup) else None})

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._require_chat_id(params)
        message_id = params.get("message_id")
        found = self._messages.pop((chat_id, message_id), None)
        if found is None and self.strict_edits:
            raise _bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands must be an array")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description must be non-empty")
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if url is None:
            raise _bad_request('parameter "url" is required')
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if url == "":
            self.webhook_url, self.webhook_secret = "", None
            return True
        self.webhook_url = str(url)
        self.webhook_secret = params.get("secret_token")
        allowed = params.get("allowed_updates")
        self._webhook_allowed_updates = allowed if isinstance(allowed, list) else None
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self.webhook_secret = "", None
        self._webhook_allowed_updates = None
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._webhook_allowed_updates is not None:
                info["allowed_updates"] = list(self._webhook_allowed_updates)
        return info

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._require_chat_id(params)
        if not params.get("action"):
            raise _bad_request("wrong parameter action in request")
        return True

    def _new_file_path(self, file_id: str) -> str:
        number = next(self._file_counter)
        upper = file_id.upper()
        if upper.startswith("PHOTO"):
            return f"photos/file_{number}.jpg"
        if upper.startswith("VOICE"):
            return f"voice/file_{number}.oga"
        return f"documents/file_{number}"

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        if not file_id:
            raise _bad_request("invalid file_id")
        if file_id not in self._files:
            path = self._new_file_path(file_id)
            self._files[file_id] = (path, f"FAKE-FILE {file_id}".encode())
        path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": path,
        }


def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True, ensure_ascii=False)


def _json(body: dict[str, Any], status: int) -> Response:
    return JSONResponse(body, status_code=status)


# --------------------------------------------------------------------------------------------
# Update builders
# --------------------------------------------------------------------------------------------

# Process-wide counters, so updates built in any test have increasing ids.
_update_ids = itertools.count(10_001)
_message_ids = itertools.count(5_001)
_callback_ids = itertools.count(1)
_media_ids = itertools.count(1)
DEFAULT_GROUP_MEMBER_ID = 10_000_001

_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")


def _sender(chat_id: int, user_id: int | None) -> int:
    if user_id is not None:
        return user_id
    return chat_id if chat_id > 0 else DEFAULT_GROUP_MEMBER_ID


def _incoming_message(
    chat_id: int,
    *,
    user_id: int | None,
    first_name: str,
    language_code: str | None,
    message_id: int | None,
    date: int | None,
    **content: Any,
) -> dict[str, Any]:
    return {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": _user(_sender(chat_id, user_id), first_name, language_code),
        "chat": _chat(chat_id, first_name),
        "date": date if date is not None else int(time.time()),
        **content,
    }


def _wrap(update_id: int | None, key: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id if update_id is not None else next(_update_ids), key: payload}


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entities Telegram marks in a text (offsets in UTF-16 units)."""
    return [
        {
            "offset": _utf16_len(text[: m.start()]),
            "length": _utf16_len(m.group()),
            "type": "bot_command",
        }
        for m in _COMMAND_RE.finditer(text)
    ]


def text_update(
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    update_id: int | None = None,
    first_name: str = "测试",
    language_code: str | None = "zh-hans",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A ``message`` update with ``text`` from a user (the chat's own user in a private
    chat, ``chat_id > 0``); commands such as ``/start abc`` get their ``bot_command``
    entity."""
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    message = _incoming_message(
        chat_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        message_id=message_id,
        date=date,
        **content,
    )
    return _wrap(update_id, "message", message)


def callback_update(
    chat_id: int,
    data: str,
    *,
    message_id: int,
    user_id: int | None = None,
    update_id: int | None = None,
    first_name: str = "测试",
    language_code: str | None = "zh-hans",
    message_text: str = "请选择：",
    reply_markup: dict[str, Any] | None = None,
    callback_query_id: str | None = None,
) -> dict[str, Any]:
    """A ``callback_query`` update: a user pressed a button (``data``) under the bot's
    message ``message_id`` in ``chat_id``."""
    bot_message: dict[str, Any] = {
        "message_id": message_id,
        "from": dict(BOT_USER),
        "chat": _chat(chat_id, first_name),
        "date": int(time.time()),
        "text": message_text,
    }
    if reply_markup is not None:
        bot_message["reply_markup"] = reply_markup
    query = {
        "id": callback_query_id or f"{next(_callback_ids)}{abs(chat_id)}",
        "from": _user(_sender(chat_id, user_id), first_name, language_code),
        "message": bot_message,
        "chat_instance": f"-{abs(chat_id) * 7919}",
        "data": data,
    }
    return _wrap(update_id, "callback_query", query)


def photo_update(
    chat_id: int,
    *,
    caption: str | None = None,
    user_id: int | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
    first_name: str = "测试",
    language_code: str | None = "zh-hans",
    file_id: str | None = None,
) -> dict[str, Any]:
    """A ``message`` update with a photo (three sizes, largest last) and an optional
    caption.  ``getFile`` on any of the sizes' ``file_id`` works."""
    base = file_id or f"PHOTO-{next(_media_ids)}"
    sizes = [(90, 67, 1_200), (320, 240, 14_000), (1280, 960, 98_000)]
    content: dict[str, Any] = {
        "photo": [
            {
                "file_id": f"{base}-{width}",
                "file_unique_id": f"u{base}-{width}",
                "width": width,
                "height": height,
                "file_size": size,
            }
            for width, height, size in sizes
        ]
    }
    if caption is not None:
        content["caption"] = caption
    message = _incoming_message(
        chat_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        message_id=message_id,
        date=None,
        **content,
    )
    return _wrap(update_id, "message", message)


def voice_update(
    chat_id: int,
    *,
    duration: int = 3,
    caption: str | None = None,
    user_id: int | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
    first_name: str = "测试",
    language_code: str | None = "zh-hans",
    file_id: str | None = None,
    mime_type: str = "audio/ogg",
    file_size: int = 12_345,
) -> dict[str, Any]:
    """A ``message`` update with a voice note."""
    fid = file_id or f"VOICE-{next(_media_ids)}"
    content: dict[str, Any] = {
        "voice": {
            "file_id": fid,
            "file_unique_id": f"u{fid}",
            "duration": duration,
            "mime_type": mime_type,
            "file_size": file_size,
        }
    }
    if caption is not None:
        content["caption"] = caption
    message = _incoming_message(
        chat_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        message_id=message_id,
        date=None,
        **content,
    )
    return _wrap(update_id, "message", message)
