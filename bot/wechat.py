"""WeChat official account (公众号) and WeCom (企业微信) channel adapters.

They only translate: a verified callback becomes an Inbound, stepped through the same
`Workroom.process_batch` as every channel, its replies written to the outbox in the
step's transaction (DESIGN rules 1, 2 and 4). WeChat waits 5 seconds for an answer and
asks three times:

- a step that commits before `wechat_reply_deadline_seconds` is answered by the passive
  reply, and the replies it holds are recorded as sent (ref "passive") in the step's own
  transaction: a crash after the answer cannot send them a second time;
- otherwise the callback answers `success` as soon as the message is durable: its step
  committed, or the message held (bot/wechat_jobs.py: a timer steps it again if this
  process dies); its replies then leave by customer-service (WeCom: application)
  message. If neither is done in time the answer is a 503, and WeChat's retry is the one
  answered.

Messages are stepped in batches, one per person at a time; a chat whose emergency
report may be sent any moment now goes first, in a short batch of its own kind, so the
leaders' alert does not wait behind routine steps (as in bot/pipeline.py).

A retry of a message already stepped is absorbed by the message id (events: sender +
create time): it gets the same passive reply again when that is how it was answered,
else `success`, never a second step; so does WeChat's retry that carries the nonce of
a request already taken (its answer never reached WeChat): a replay that changes
nothing. A request's nonce is spent when its step is taken and given back if the step
fails, so that WeChat's retry of it is not refused as a replay. Photos and voice
notes are fetched after the answer, before their media ids expire.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from sqlmodel import Session, col, select

from bot import wechat_jobs as jobs
from bot.channels import DeliveryError, located
from bot.wechat_api import Account, ApiError, WeChatApi, delivery_error
from bot.wechat_envelope import CallbackError, Envelope, check_signature, parse_xml, text_reply
from bot.wechat_files import FileSend
from bot.wechat_render import (
    MENU_KEYS,
    TEXT_LIMIT,
    chunks,
    merge_words,
    parse_text,
    pressed_words,
    render,
    word_key,
)
from conversations.clock import Clock
from conversations.engine import HEARD, LOCATION, UNREADABLE, Reply
from handlers.inbound import Inbound, Outgoing, Stepped, Workroom
from handlers.notices import FileReply
from handlers.notices import render as render_notice
from store import media as stored_media
from store import outbox, steps
from store.models import Contact, HeldInbound, Notification, Person
from store.shared import SharedStore
from store.steps import Settled

log = logging.getLogger(__name__)
PASSIVE = "passive"  # delivered_ref of a reply that went back as the passive reply
PHOTOS = "photos"  # the album of the photos a person sends one after another
_NOW = threading.Event()  # a gate that is open
_NOW.set()
# A step not done this long before the deadline (2.5 s into 4.5): its message is held
# meanwhile (made durable on its own), so that `success` can be answered by the deadline.
HOLD_AHEAD = 2.0
# The deadline's last moments are for answering `success` (if the message is durable).
LATE_CHECK = 0.05
# A step's messages to its sender wait for the callback's answer at most this long.
ANSWER_WAIT = 5.0
WORDS_TTL = timedelta(days=14)  # a push's buttons are pressed by their words this long
WORDS_KEPT = 40  # the words of a person's recent pushes, the newest kept
HEARD_MAX = 2000  # characters of a voice message's recognised words taken as an answer


def parse_message(channel: str, msg: Mapping[str, str]) -> Inbound | None:
    """A decrypted message as an Inbound; None for what the workroom does not answer."""
    sender = msg.get("FromUserName", "")
    if not sender or len(sender) > 128:
        raise CallbackError(400, "no sender")
    created = msg.get("CreateTime", "")
    kind = msg.get("MsgType", "")
    if kind == "event":
        event = msg.get("Event", "").lower()
        event_id = f"ev:{sender}:{created}"[:128]
        if event in ("subscribe", "scan"):
            # A follower; an invitation's QR code links them: "qrscene_<code>" when they
            # follow by scanning it, the bare code when they already followed (SCAN).
            key = msg.get("EventKey", "")[:80]
            scene = key.removeprefix("qrscene_") if event == "scan" or key.startswith(
                "qrscene_") else ""
            return Inbound(channel, sender, event_id, text="/start", link_code=scene or None,
                           push_replies=True)
        if event == "click" and msg.get("EventKey", "") in MENU_KEYS:
            return Inbound(channel, sender, event_id, action=msg["EventKey"],
                           push_replies=True)
        return None  # unsubscribe, view, location, enter_agent…: nothing to answer
    message_id = msg.get("MsgId") or f"{sender}:{created}"
    if len(message_id) > 128:
        raise CallbackError(400, "message id too long")
    if kind == "text":
        if stickers_only(msg.get("Content", "")):  # 【收到不支持的消息类型…】, [流泪][流泪]
            return Inbound(channel, sender, message_id, action=UNREADABLE, push_replies=True)
        text, action, code = parse_text(msg.get("Content", ""))
        return Inbound(channel, sender, message_id, text=text, action=action,
                       link_code=code, push_replies=True,
                       sent_at=int(created) if created.isdigit() else None)
    if kind == "link":  # a shared article: nothing a form can take as an answer
        return Inbound(channel, sender, message_id, action=UNREADABLE, push_replies=True)
    if kind in ("image", "voice") and msg.get("MediaId"):
        item: dict[str, Any] = {"kind": "photo", "file_ref": msg["MediaId"][:300],
                                "mime_type": "image/jpeg", "size": None}
        if kind == "voice":
            fmt = (msg.get("Format") or "amr").lower()[:20]
            item = {"kind": "voice", "file_ref": msg["MediaId"][:300],
                    "mime_type": f"audio/{fmt}", "size": None}
            # WeChat's recognition of the words spoken (when the account has it on): the
            # worker's answer, as if typed; the audio is kept where the form takes files.
            heard = " ".join((msg.get("Recognition") or "").split())[:HEARD_MAX]
            if heard:
                item[HEARD] = heard
            return Inbound(channel, sender, message_id, text=heard or None,
                           attachments=(item,), push_replies=True)
        # Nine photos picked at once come as nine messages, with nothing to say they belong
        # together: the photos a person sends one after another are taken as one album.
        return Inbound(channel, sender, message_id, attachments=(item,), push_replies=True,
                       album=PHOTOS)
    if kind in ("video", "shortvideo") and msg.get("MediaId"):  # a video of the gate
        item = {"kind": "video", "file_ref": msg["MediaId"][:300], "mime_type": "video/mp4",
                "size": None}
        return Inbound(channel, sender, message_id, attachments=(item,), push_replies=True)
    if kind == "location":  # a place picked on the map: it answers where an emergency is
        try:
            text = located(float(msg.get("Location_X", "")), float(msg.get("Location_Y", "")),
                           msg.get("Label"))
        except ValueError:  # no coordinates: as any message the form cannot take
            text = ""
        return Inbound(channel, sender, message_id, text=text,
                       action=LOCATION if text else None, push_replies=True)
    # link, file…: not something a form takes; the step says what it expects
    return Inbound(channel, sender, message_id, text="", push_replies=True)


# What WeChat writes for a sticker it does not pass on, and its built-in emoji as they
# arrive in a text: "[流泪]", "[Smile]".
_STICKER_TEXT = re.compile(r"【收到不支持的消息类型，暂无法显示】|\[[^\[\]\s]{1,8}\]")


def stickers_only(content: str) -> bool:
    """Whether a text is only stickers and built-in emoji: no answer to anything."""
    return bool(content.strip()) and not _STICKER_TEXT.sub("", content).strip()


class WeChatSender:
    """Deliver pushes by customer-service message (official account; alerts by template
    message when one is set) or by application message (WeCom)."""

    def __init__(self, channel: str, api: WeChatApi, *, clock: Clock | None = None,
                 files: Callable[[int], bytes | None] | None = None) -> None:
        self.channel, self.api, self.clock = channel, api, clock
        # The official account writes to a follower only within 48 hours of their last
        # message (a WeCom member is always reachable): see Sender.
        self.windowed = channel == "wechat"
        # The kept bytes of a record's file (MediaFile id), to upload.
        self.files = files

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        """The dispatcher's way in; WeChat cannot edit a message, so none is returned."""
        contact = session.exec(select(Contact).where(Contact.channel == self.channel,
                                                     Contact.address == address)).first()
        person = session.get(Person, contact.person_id) if contact else None
        row = session.get(Notification, notification_id)
        self.send(address, reply, (person.lang if person else None) or "zh", session=session,
                  push=row is not None and row.message_key != "notice.raw")
        return None

    def send(self, address: str, reply: Reply, lang: str, *,
             session: Session | None = None, push: bool = False) -> None:
        """Send a reply (`push`: not an answer in the person's conversation, whose
        buttons are then pressed by typing their words, see pressed)."""
        if isinstance(reply, FileReply):
            self.send_file(address, reply, lang, session=session)
            return
        alert = any(b.value.startswith("ack:") for b in reply.buttons)
        words = pressed_words(reply.buttons) if push else {}
        if words:  # before the send: the person may answer at once
            # Added to the words of the pushes before it (merge_words): "查看附件" under
            # this morning's alert still works after a later push without it, and
            # "办理此问题" after pushes of two cases asks which case.
            key = self._words_key(address)
            old = self.api.shared.get(key, session=session)
            merged = merge_words(json.loads(old) if old else {}, words)
            kept = dict(list(merged.items())[-WORDS_KEPT:])
            self.api.shared.put(key, json.dumps(kept, ensure_ascii=False), WORDS_TTL,
                                session=session)
        self.send_text(address, render(reply, lang, push=push), alert=alert, session=session)

    def _words_key(self, address: str) -> str:
        return f"words:{self.channel}:{address}"

    def pressed(self, msgs: list[Inbound]) -> list[Inbound]:
        """Texts that are the words of a button of a recent push their sender got (a
        liaison's "零报告"; of the latest push that had them): that button pressed, as a
        tap on Telegram. One read for all,
        on the step thread (on SQLite a read waits for the step's write)."""
        words = {i: word_key(m.text) for i, m in enumerate(msgs)
                 if m.text and m.action is None and not m.link_code}
        words = {i: w for i, w in words.items() if 2 <= len(w) <= 64 and not w.isdigit()}
        if not words:
            return msgs
        found = self.api.shared.get_many([self._words_key(msgs[i].address) for i in words])
        out = list(msgs)
        for i, word in words.items():
            raw = found.get(self._words_key(msgs[i].address))
            value = json.loads(raw).get(word) if raw else None
            if value:
                out[i] = dataclasses.replace(msgs[i], text=None, action=value)
        return out

    def send_file(self, address: str, reply: FileReply, lang: str, *,
                  session: Session | None = None) -> None:
        """One of a record's files, its caption before it (bot/wechat_files.py)."""
        send = FileSend(self.api, self.channel, files=self.files, session=session,
                        now=self.clock.now() if self.clock is not None else None)
        try:
            send.send(address, reply, lang)
        except (ApiError, httpx.HTTPError) as err:
            raise delivery_error(err) from err

    def send_text(self, address: str, text: str, *, alert: bool = False,
                  session: Session | None = None) -> None:
        template = alert and self.api.account.alert_template_id and self.channel == "wechat"
        try:
            for part in chunks(text):
                if template:
                    self.api.send_template(address, part, session=session)
                else:
                    self.api.send_text(address, part, session=session)
        except (ApiError, httpx.HTTPError) as err:
            raise delivery_error(err) from err


@dataclass
class Answer:
    """What the callback answers: a passive reply's XML, or `success`."""

    body: str = "success"
    xml: bool = False
    after: Callable[[], object] | None = None  # run once the answer has been sent


@dataclass
class _Done:
    passive: list[Outgoing] = field(default_factory=list)
    rest: list[Outgoing] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # of the passive reply, rendered
    media: list[str] = field(default_factory=list)  # media files to fetch (timer refs)


@dataclass(eq=False)
class _Work:
    """A queued message and what became of it; `late` and `passive` change under the
    channel's lock, so the callback and the step agree on how it is answered."""

    inbound: Inbound
    nonce: str | None  # the request's nonce key, spent when the step is taken
    answer_by: float  # time.monotonic() past which no passive reply can be given
    future: Future[_Done] = field(default_factory=Future)
    late: bool = False  # answered without it: its replies go by message
    passive: bool = False  # its replies are the passive reply, recorded so before commit
    done: _Done | None = None  # decided in the step's transaction
    # Set once the callback's answer has left: the sender's own messages wait for it.
    answered: threading.Event = field(default_factory=threading.Event)


class WeChatChannel:
    """One account's callbacks and sends: the official account or a WeCom application."""

    def __init__(self, *, channel: str, account: Account, token: str,
                 envelope: Envelope | None, workroom: Workroom, shared: SharedStore,
                 clock: Clock, deadline: float = 4.5, window: int = 300,
                 max_body: int = 32 * 1024, secret: str = "", client: httpx.Client | None = None,
                 max_batch: int = 64, urgent_batch: int = 8, send_threads: int = 4) -> None:
        self.channel, self.account, self.token = channel, account, token
        self.envelope, self.workroom, self.shared, self.clock = envelope, workroom, shared, clock
        self.deadline, self.window, self.max_body = deadline, window, max_body
        self.secret = secret
        self.api = WeChatApi(account, shared, client=client)
        self.sender = WeChatSender(channel, self.api, clock=clock,
                                   files=partial(stored_media.content_of, workroom.db))
        # One step thread: it takes every queued message at once (one transaction).
        self._steps = ThreadPoolExecutor(1, thread_name_prefix=f"{channel}-steps")
        self.max_batch, self.urgent_batch = max_batch, urgent_batch
        self._queue: deque[_Work] = deque()
        # Chats whose last step left an emergency report ready to send: they go first.
        self._urgent: set[str] = set()
        self._draining = False
        self._settles: list[Settled] = []  # sends recorded with the next batch
        self._sends = ThreadPoolExecutor(send_threads, thread_name_prefix=f"{channel}-sends")
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()  # claimed pushes this process is delivering
        self._tasks = 0  # sends, late steps and fetches under way on the send threads
        # Each chat's pushes in the order their steps committed, sent one chat at a time.
        self._chats: dict[tuple[str, str], deque[tuple[threading.Event, list[Outgoing]]]] = {}
        self.peers: dict[str, WeChatSender] = {channel: self.sender}
        self.media = jobs.MediaKeeper(workroom.db, clock, workroom.states, self._api_of)
        self._apis: dict[str, WeChatApi] = {channel: self.api}

    def join(self, other: WeChatChannel) -> None:
        """Deliver each other's pushes right after a step (an official-account user's
        emergency reaches the leaders' WeCom at once), sharing what is under way."""
        other._lock, other._in_flight, other._chats = self._lock, self._in_flight, self._chats
        self.peers[other.channel] = other.sender
        other.peers = self.peers
        self._apis[other.channel] = other.api
        other._apis = self._apis

    def _api_of(self, channel: str) -> WeChatApi | None:
        return self._apis.get(channel)

    # --- verifying -----------------------------------------------------------------------

    def _check_time(self, timestamp: str | None) -> None:
        if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackError(403, "no timestamp")
        skew = abs(self.clock.now().timestamp() - int(timestamp))
        if skew > self.window:
            raise CallbackError(403, f"timestamp {skew:.0f}s away")

    def verify_url(self, params: Mapping[str, str]) -> str:
        """The URL verification handshake: echo `echostr` (WeCom: decrypted)."""
        timestamp, nonce = params.get("timestamp"), params.get("nonce", "")
        echo = params.get("echostr", "")
        self._check_time(timestamp)
        assert timestamp is not None
        if not echo or len(echo) > 2048:
            raise CallbackError(400, "no echostr")
        if self.channel == "wecom":
            assert self.envelope is not None
            check_signature(params.get("msg_signature"), self.token, timestamp, nonce, echo)
            return self.envelope.open(echo)
        check_signature(params.get("signature"), self.token, timestamp, nonce)
        return echo

    def open(self, params: Mapping[str, str], body: bytes) -> tuple[dict[str, str], str]:
        """Verify a callback; return its message and its nonce's key (a request seen
        before is refused when its step is taken: see _drain); CallbackError when
        refused."""
        timestamp, nonce = params.get("timestamp"), params.get("nonce", "")
        self._check_time(timestamp)
        assert timestamp is not None
        if not nonce or len(nonce) > 64:
            raise CallbackError(400, "no nonce")
        fields = parse_xml(body)  # no DTD, no entity, before anything else
        if self.envelope is None:  # plaintext mode: development only (settings refuse it)
            check_signature(params.get("signature"), self.token, timestamp, nonce)
            return fields, self._nonce_key(timestamp, nonce)
        encrypted = fields.get("Encrypt")
        if not encrypted:
            raise CallbackError(400, "safe mode: no Encrypt")
        if self.channel == "wechat":
            check_signature(params.get("signature"), self.token, timestamp, nonce)
        check_signature(params.get("msg_signature"), self.token, timestamp, nonce, encrypted)
        msg = parse_xml(self.envelope.open(encrypted))
        agent = msg.get("AgentID")
        if self.channel == "wecom" and agent and agent != str(self.account.agent_id):
            raise CallbackError(403, "another application's message")
        return msg, self._nonce_key(timestamp, nonce)

    def _age(self, timestamp: str) -> float:
        """How long ago WeChat sent the request, by its timestamp (whole seconds, so at
        most a second too old): a request that waited before reaching us (a saturated
        machine) has less of WeChat's 5 seconds left. A difference of more than 30 s is
        clock skew, not waiting, and is not counted."""
        age = self.clock.now().timestamp() - int(timestamp) if timestamp.isdigit() else 0.0
        return age if 0 < age <= 30 else 0.0

    def _nonce_key(self, timestamp: str, nonce: str) -> str:
        return f"nonce:{self.channel}:{timestamp}:{nonce}"

    @property
    def _nonce_ttl(self) -> timedelta:
        return timedelta(seconds=2 * self.window)  # past that the timestamp is refused

    def _fresh(self, key: str) -> None:
        """Refuse a request seen before (in any process): a replay."""
        if not self.shared.add_once(key, "1", self._nonce_ttl):
            raise CallbackError(409, "replayed")

    # --- answering -----------------------------------------------------------------------

    async def handle(self, params: Mapping[str, str], body: bytes, started: float) -> Answer:
        """Verify, step, and answer within the deadline (measured from `started`)."""
        msg, nonce = self.open(params, body)  # no I/O: a millisecond of CPU
        inbound = parse_message(self.channel, msg)
        if inbound is None:
            await asyncio.to_thread(self._fresh, nonce)
            return Answer()
        remaining = self.deadline - max(time.monotonic() - started,
                                        self._age(params.get("timestamp", "")))
        answer_by = time.monotonic() + remaining
        work = self._submit(inbound, nonce, answer_by)
        future = asyncio.wrap_future(work.future)
        hold: asyncio.Future[None] | None = None
        try:
            done = await asyncio.wait_for(asyncio.shield(future),
                                          max(remaining - HOLD_AHEAD, 0.0))
        except TimeoutError:
            # The step may not make it: the message is made durable on its own meanwhile.
            hold = asyncio.ensure_future(asyncio.to_thread(self._hold, inbound))
            hold.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                done = await asyncio.wait_for(
                    asyncio.shield(future), max(answer_by - LATE_CHECK - time.monotonic(), 0.0))
            except TimeoutError:
                if self._go_late(work):
                    # Saturated: `success` if it is durable; the replies leave by message.
                    log.warning("%s: step of %s not done in %.1fs; answering success",
                                self.channel, inbound.message_id, self.deadline)
                    return await self._answer_late(work, future, hold, answer_by)
                done = await future  # committed as the passive reply a moment ago
        after = self._after(done, work, hold)
        if not done.texts:
            return Answer(after=after)
        xml = text_reply(to_user=inbound.address, from_user=msg.get("ToUserName", ""),
                         content="\n\n".join(done.texts), create_time=int(time.time()))
        if self.envelope is not None:
            xml = self.envelope.seal(xml, timestamp=str(int(time.time())))
        return Answer(xml, xml=True, after=after)

    def _after(self, done: _Done, work: _Work,
               hold: asyncio.Future[None] | None) -> Callable[[], object] | None:
        """Once the answer has left: the sender's messages may follow, the media are
        fetched, a hold that turned out not to be needed is let go."""
        if not done.rest and not done.media and hold is None:
            work.answered.set()
            return None

        async def after() -> None:
            work.answered.set()
            for ref in done.media:
                self._spawn(self.media.fetch_now, ref)
            if hold is not None:
                await asyncio.wait([hold])
                self._spawn(jobs.release, self.workroom.db, work.inbound)

        return after

    def _go_late(self, work: _Work) -> bool:
        """At the deadline: answer without the step, unless it is already committing as
        the passive reply (or committed)."""
        with self._lock:
            if work.passive or work.future.done():
                return False
            work.late = True
            work.answered.set()  # `success`, or a 503: nothing to wait for
            self._tasks += 1  # _finish_late, once the step is done
        work.future.add_done_callback(lambda _: self._sends.submit(self._finish_late, work))
        return True

    async def _answer_late(self, work: _Work, future: asyncio.Future[_Done],
                           hold: asyncio.Future[None], answer_by: float) -> Answer:
        """`success` once the message is durable: its step committed, or it is held (a
        timer steps it again if this process dies). When neither is done by the
        deadline, a 503: WeChat asks again and its retry is the one answered."""
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen in _finish_late
        waiting: set[asyncio.Future[Any]] = {future, hold}
        while waiting:
            done, waiting = await asyncio.wait(
                waiting, timeout=max(answer_by - time.monotonic(), 0.0),
                return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            if future in done and isinstance(future.exception(), CallbackError):
                raise future.exception()  # type: ignore[misc]  # a replay
            if any(f.exception() is None for f in done):
                return Answer()
        log.error("%s: message %s neither committed nor held in time; answering 503",
                  self.channel, work.inbound.message_id)
        raise CallbackError(503, "not durable in time")

    def _hold(self, inbound: Inbound) -> None:
        try:
            jobs.hold(self.workroom.db, self.clock, inbound)
        except Exception:
            log.exception("%s: holding message %s failed", self.channel, inbound.message_id)
            raise

    # --- stepping, in batches --------------------------------------------------------

    def _submit(self, inbound: Inbound, nonce: str | None, answer_by: float) -> _Work:
        """Queue a message for the step thread; its future is done once it committed
        (CallbackError 409 when its nonce was seen before: a replay)."""
        work = _Work(inbound, nonce, answer_by)
        with self._lock:
            self._queue.append(work)
            start = not self._draining
            self._draining = True
        if start:
            self._steps.submit(self._drain)
        return work

    def _drain(self) -> None:
        """Step what is queued, many conversations per transaction (one message each),
        carrying the settles of earlier sends along; until the queue is empty."""
        while True:
            with self._lock:
                batch = self._take()
                settle, self._settles = self._settles, []
                in_flight = set(self._in_flight)
                if not batch and not settle:
                    self._draining = False
                    return
            fresh: list[_Work] = []
            try:
                fresh = self._fresh_only(batch)
                self._step_batch(fresh, settle, in_flight)
            except Exception as err:
                # Nothing of it committed: the nonces are given back (WeChat's retry is
                # then taken); the settles' claims run out and the dispatcher resends.
                log.exception("%s: a batch of %s steps failed (%s settles not recorded)",
                              self.channel, len(batch), len(settle))
                with self._lock:
                    self._in_flight -= {d.notification_id for d in settle}
                self._give_back(fresh)
                for work in batch:
                    if not work.future.done():
                        work.future.set_exception(err)

    def _take(self) -> list[_Work]:
        """The next batch (under the lock): each waiting person's first message, a person's
        next one waiting for it. Messages of chats in an emergency report that may be
        sent any moment now go first, alone and a few at a time, so that the leaders'
        alert leaves with a short batch's commit rather than behind routine steps."""
        heads: list[_Work] = []
        keys: set[str] = set()
        for work in self._queue:
            key = work.inbound.conversation_key
            if key not in keys:
                keys.add(key)
                heads.append(work)
        urgent = [w for w in heads if w.inbound.conversation_key in self._urgent]
        batch = urgent[:self.urgent_batch] if urgent else heads[:self.max_batch]
        taken = set(batch)
        self._queue = deque(w for w in self._queue if w not in taken)
        return batch

    def _fresh_only(self, batch: list[_Work]) -> list[_Work]:
        """Record the batch's nonces in one statement; those seen before are not stepped
        (see _seen_before)."""
        nonces = [w.nonce for w in batch if w.nonce is not None]
        new = self.shared.add_new(nonces, self._nonce_ttl) if nonces else set()
        fresh: list[_Work] = []
        seen: list[_Work] = []
        for work in batch:
            if work.nonce is not None and work.nonce not in new:
                seen.append(work)
                continue
            new.discard(work.nonce or "")  # the same nonce twice in one batch: one is a replay
            fresh.append(work)
        if seen:
            self._seen_before(seen)
        return fresh

    def _seen_before(self, seen: list[_Work]) -> None:
        """Requests whose nonce was seen before. WeChat asks again with the same request
        when its answer never reached it: a message already recorded gets what it got
        (its passive reply again, or `success`), a message held gets `success`; nothing
        is stepped or stored. Any other is a replay, refused."""
        try:
            pairs = [(w.inbound.channel, w.inbound.message_id) for w in seen]
            with Session(self.workroom.db) as s:
                logged = steps.find_inbound(s, pairs)
                held = set(s.exec(select(HeldInbound.channel, HeldInbound.message_id).where(
                    col(HeldInbound.message_id).in_([m for _, m in pairs]))).all())
                for work, pair in zip(seen, pairs, strict=True):
                    row = logged.get(pair)
                    if row is not None:
                        given = self._answered(s, work.inbound, len(row.replies or ()))
                        work.future.set_result(_Done(texts=[render(r, lang)
                                                            for r, lang in given]))
                    elif pair in held:
                        work.future.set_result(_Done())
                    else:
                        work.future.set_exception(CallbackError(409, "replayed"))
        except Exception as err:
            log.exception("%s: looking up %s requests seen before failed", self.channel,
                          len(seen))
            for work in seen:
                if not work.future.done():
                    work.future.set_exception(err)

    def _give_back(self, failed: list[_Work]) -> None:
        """A failed step's nonce is released: WeChat's retry of the request (the same
        nonce) must be taken, not refused as a replay."""
        keys = [w.nonce for w in failed if w.nonce is not None]
        if keys:
            try:
                self.shared.delete_many(keys)
            except Exception:
                log.exception("%s: giving back %s nonces failed; WeChat's retries of "
                              "those requests will be refused", self.channel, len(keys))

    def _step_batch(self, batch: list[_Work], settle: list[Settled],
                    in_flight: set[int]) -> None:
        msgs = self.sender.pressed([w.inbound for w in batch])
        works = {w.inbound.conversation_key: w for w in batch}
        results = self.workroom.process_batch(
            msgs, direct=tuple(self.peers), in_flight=in_flight, settle=settle,
            before_commit=partial(self._before_commit, works))
        with self._lock:
            if not msgs or any(r.error is None for r in results) or len(msgs) > 1:
                self._in_flight -= {d.notification_id for d in settle}  # recorded
            else:
                self._settles = settle + self._settles  # a lone failed step took them along
            for work, r in zip(batch, results, strict=True):
                if r.error is None:
                    self._note_urgent(work.inbound, r)
                if r.error is None and work.done is not None:
                    given = {o.notification_id for o in work.done.passive}
                    self._in_flight |= {o.notification_id for o in r.outgoing} - given
        self._give_back([w for w, r in zip(batch, results, strict=True) if r.error is not None])
        for work, stepped in zip(batch, results, strict=True):  # in the order committed
            if stepped.error is None and work.done is not None and work.done.rest:
                self._enqueue(work.done.rest, work)
        for work, stepped in zip(batch, results, strict=True):
            if stepped.error is not None:
                work.future.set_exception(stepped.error)
            elif work.done is None:  # not seen before commit: a bug
                work.future.set_exception(RuntimeError("step committed without its answer"))
            else:
                work.future.set_result(work.done)

    def _note_urgent(self, inbound: Inbound, stepped: Stepped) -> None:
        """Remember (under the lock) whether the chat's next message goes first."""
        if stepped.urgent:
            self._urgent.add(inbound.conversation_key)
        else:
            self._urgent.discard(inbound.conversation_key)

    def _before_commit(self, works: Mapping[str, _Work], s: Session, msgs: list[Inbound],
                       results: list[Stepped]) -> None:
        """In the step's transaction: the replies given as the passive reply are recorded
        as sent (a crash after the answer cannot send them again), unless the callback
        has already answered; media files get their fetch scheduled."""
        given: list[Settled] = []
        for msg, stepped in zip(msgs, results, strict=True):
            work = works.get(msg.conversation_key)
            if work is None:
                continue
            with self._lock:
                # A passive reply would overtake this chat's messages still on their way.
                queued = (msg.channel, msg.address) in self._chats
                work.passive = not work.late and (work.passive or (
                    time.monotonic() < work.answer_by and not queued))
            work.done = self._split(s, msg, stepped) if work.passive \
                else _Done(rest=list(stepped.outgoing))
            given += [Settled(o.notification_id, o.channel, o.address, ref=PASSIVE,
                              keep_ref=True) for o in work.done.passive]
        if given:
            steps.settle(s, given, self.clock.now())
        for msg in msgs:  # fetched once the message is answered
            work = works.get(msg.conversation_key)
            if msg.attachments and work is not None and work.done is not None:
                work.done.media += jobs.schedule_media(s, self.clock, [msg])

    def _split(self, s: Session, inbound: Inbound, stepped: Stepped) -> _Done:
        """A step's pushes: the passive reply (whole replies that fit in one message, in
        order) and the rest."""
        mine = [o for o in stepped.outgoing if self._is_reply(o, inbound)]
        if not mine and stepped.replies:
            replayed = [render(r, lang) for r, lang in self._answered(
                s, inbound, len(stepped.replies))]
            return _Done(rest=list(stepped.outgoing), texts=replayed)
        passive: list[Outgoing] = []
        texts: list[str] = []
        size = 0
        for o in mine:
            text = render(self.workroom.render_push(o), o.lang)
            size += len(text.encode()) + 2
            if size > TEXT_LIMIT:
                break
            passive.append(o)
            texts.append(text)
        taken = {o.notification_id for o in passive}
        return _Done(passive, [o for o in stepped.outgoing if o.notification_id not in taken],
                     texts)

    @staticmethod
    def _is_reply(o: Outgoing, inbound: Inbound) -> bool:
        return (o.channel, o.address) == (inbound.channel, inbound.address) \
            and o.message == "notice.raw" and o.priority == outbox.REPLY and o.alert_id is None

    def _answered(self, s: Session, inbound: Inbound, count: int) -> list[tuple[Reply, str]]:
        """A message stepped before (a retry) with `count` replies: its replies again if
        they were the passive reply; none (`success`) if they go or went by message, or
        wait behind others."""
        keys = [f"reply:{inbound.channel}:{inbound.message_id}:{n}" for n in range(count)]
        rows = s.exec(select(Notification).where(col(Notification.idempotency_key)
                                                 .in_(keys))).all()
        contact = s.exec(select(Contact).where(Contact.channel == inbound.channel,
                                               Contact.address == inbound.address)).first()
        person = s.get(Person, contact.person_id) if contact else None
        lang = (person.lang if person else None) or self.workroom.options.default_lang
        opts = self.workroom.options
        return [(render_notice(n.message_key, n.params, lang, opts.zone, None, opts.secret), lang)
                for n in sorted(rows, key=lambda n: n.id or 0)
                if n.status == "sent" and n.delivered_ref == PASSIVE]

    # --- sending, after the answer ---------------------------------------------------

    def _spawn(self, fn: Callable[..., object], *args: Any) -> None:
        """Run on a send thread, counted until done (settle_all waits for it)."""
        with self._lock:
            self._tasks += 1

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("%s: %s failed", self.channel, getattr(fn, "__name__", fn))
            finally:
                with self._lock:
                    self._tasks -= 1

        self._sends.submit(run)

    def _send(self, group: list[Outgoing]) -> list[Settled]:
        """Send one push, or several replies to one person as one message."""
        first = group[0]
        try:
            sender = self.peers[first.channel]
            if len(group) == 1:
                sender.send(first.address, self.workroom.render_push(first), first.lang,
                            push=first.message != "notice.raw")
            else:
                sender.send_text(first.address, "\n\n".join(
                    render(self.workroom.render_push(o), o.lang) for o in group))
        except DeliveryError as err:
            return [Settled(o.notification_id, o.channel, o.address, error=str(err),
                            retry_after=err.retry_after, fallback=err.fallback) for o in group]
        except Exception as err:  # a bug: the claims run out and the dispatcher resends
            log.exception("%s: sending push %s failed", self.channel, first.notification_id)
            return [Settled(o.notification_id, o.channel, o.address, error=str(err))
                    for o in group]
        return [Settled(o.notification_id, o.channel, o.address) for o in group]

    def _groups(self, rest: list[Outgoing]) -> list[list[Outgoing]]:
        """Consecutive replies to one person that fit in one message go as one."""
        groups: list[list[Outgoing]] = []
        size = 0
        for o in rest:
            plain = o.message == "notice.raw" and o.alert_id is None
            text = len(render(self.workroom.render_push(o), o.lang).encode()) + 2 if plain else 0
            last = groups[-1] if groups else None
            if plain and last is not None \
                    and (last[-1].channel, last[-1].address) == (o.channel, o.address) \
                    and last[-1].message == "notice.raw" and last[-1].alert_id is None \
                    and size + text <= TEXT_LIMIT:
                last.append(o)
                size += text
            else:
                groups.append([o])
                size = text
        return groups

    def _enqueue(self, rest: list[Outgoing], work: _Work) -> None:
        """Queue a committed step's pushes behind each chat's earlier ones; those to its
        sender also wait for the callback's answer (a passive reply comes first)."""
        by_chat: dict[tuple[str, str], list[Outgoing]] = {}
        for o in rest:
            by_chat.setdefault((o.channel, o.address), []).append(o)
        mine = (work.inbound.channel, work.inbound.address)
        start: list[tuple[str, str]] = []
        with self._lock:
            for chat, items in by_chat.items():
                queue = self._chats.get(chat)
                if queue is None:
                    queue = self._chats[chat] = deque()
                    start.append(chat)
                queue.append((work.answered if chat == mine else _NOW, items))
        for chat in start:
            self._spawn(self._send_chat, chat)

    def _send_chat(self, chat: tuple[str, str]) -> None:
        """Send one chat's queued pushes in order; after a failure the rest wait in the
        outbox behind it. What became of them is recorded with the next batch of steps,
        or on its own."""
        settled: list[Settled] = []
        held = False
        while True:
            with self._lock:
                queue = self._chats[chat]
                if not queue:
                    del self._chats[chat]
                    break
                gate, items = queue.popleft()
            gate.wait(ANSWER_WAIT)
            for group in self._groups(items):
                if held:  # an earlier push to this chat failed: keep the order
                    settled += [Settled(o.notification_id, o.channel, o.address,
                                        error="an earlier push is waiting", retry_after=0.0)
                                for o in group]
                    continue
                done = self._send(group)
                settled += done
                held = any(d.error is not None for d in done)
        with self._lock:
            self._settles += settled
            start = not self._draining
            self._draining = True
        if start:
            self._steps.submit(self._drain)

    def _finish_late(self, work: _Work) -> None:
        """A step the callback did not wait for: once committed its replies go by message
        and the message is no longer held; if it failed, the held message is stepped
        again by the next timer sweep."""
        try:
            error = work.future.exception()
            if isinstance(error, CallbackError):  # a replay: the message's own step counts
                return
            if error is not None:
                log.error("%s: the late step of %s failed (%s); the timer sweep steps it "
                          "again", self.channel, work.inbound.message_id, error)
                jobs.retry_soon(self.workroom.db, self.clock, work.inbound)
                return
            done = work.future.result()  # its pushes were queued when it committed
            for ref in done.media:
                self.media.fetch_now(ref)
            jobs.release(self.workroom.db, work.inbound)
        except Exception:
            log.exception("%s: finishing the late step of %s failed; the timer sweep "
                          "steps it again", self.channel, work.inbound.message_id)
        finally:
            with self._lock:
                self._tasks -= 1

    def recover(self, ref: str) -> None:
        """The LATE timer: step a held message again (its process died, or its step
        failed), and send its replies by message."""
        inbound = jobs.held(self.workroom.db, ref)
        if inbound is None:
            jobs.forget_timer(self.workroom.db, jobs.LATE, ref)
            return
        work = _Work(inbound, None, 0.0, late=True)
        [inbound] = self.sender.pressed([inbound])
        with self._lock:
            in_flight = set(self._in_flight)
        [stepped] = self.workroom.process_batch(
            [inbound], direct=tuple(self.peers), in_flight=in_flight,
            before_commit=partial(self._before_commit, {inbound.conversation_key: work}))
        if stepped.error is not None:  # the sweep logs it; the timer fires again later
            raise stepped.error
        log.info("%s: held message %s stepped by the timer sweep", self.channel,
                 inbound.message_id)
        done = work.done or _Done(rest=list(stepped.outgoing))
        with self._lock:
            self._in_flight |= {o.notification_id for o in done.rest}
            self._note_urgent(inbound, stepped)
        work.answered.set()
        if done.rest:
            self._enqueue(done.rest, work)
        jobs.release(self.workroom.db, inbound)
        if done.media:  # this is the timer sweep: the download sweep fetches them
            jobs.fetch_soon(self.workroom.db, self.clock, done.media)

    def settle_all(self, timeout: float = 30) -> None:
        """Wait for sends, late steps and fetches under way, and for what became of the
        sends to be recorded (tests, shutdown); TimeoutError when they are not done."""
        end = time.monotonic() + timeout
        while True:
            with self._lock:
                busy = (len(self._in_flight), self._tasks, self._draining)
            if busy == (0, 0, False):
                return
            if time.monotonic() >= end:
                raise TimeoutError(f"{self.channel}: after {timeout}s still {busy[0]} pushes "
                                   f"unsettled, {busy[1]} tasks under way")
            time.sleep(0.01)

    def close(self) -> None:
        try:
            self.settle_all(timeout=10)
        except TimeoutError as err:  # their claims run out; the dispatcher sends them
            log.warning("%s at shutdown", err)
        self._steps.shutdown(wait=True)
        self._sends.shutdown(wait=True)
        self.api.close()


def timer_handlers(channels: list[WeChatChannel]) -> dict[str, Callable[[str], object]]:
    """The WeChat timers and what fires them: held messages, media files to fetch."""
    by_name = {c.channel: c for c in channels}

    def late(ref: str) -> None:
        channel = by_name.get(ref.partition(":")[0])
        if channel is None:
            raise LookupError(f"no WeChat channel for held message {ref}")
        channel.recover(ref)

    def media(ref: str) -> None:
        channel = by_name.get(ref.partition(":")[0])
        if channel is None:
            raise LookupError(f"no WeChat channel for media {ref}")
        channel.media.fetch(ref)

    return {jobs.LATE: late, jobs.MEDIA: media}


def build(channel: str, settings: Any, workroom: Workroom, shared: SharedStore,
          clock: Clock) -> WeChatChannel:
    """The official account (`wechat`) or the WeCom application (`wecom`) from settings."""
    common = {"deadline": settings.wechat_reply_deadline_seconds,
              "window": settings.wechat_timestamp_window_seconds,
              "max_body": settings.wechat_max_body_bytes, "secret": settings.secret_key}
    if channel == "wecom":
        account = Account("wecom", settings.wecom_api_url, settings.wecom_corp_id,
                          settings.wecom_secret, settings.wecom_agent_id)
        envelope = Envelope(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        return WeChatChannel(channel="wecom", account=account, token=settings.wecom_token,
                             envelope=envelope, workroom=workroom, shared=shared, clock=clock,
                             **common)
    account = Account("wechat", settings.wechat_api_url, settings.wechat_app_id,
                      settings.wechat_app_secret,
                      alert_template_id=settings.wechat_alert_template_id)
    sealed = None if settings.wechat_plaintext else Envelope(
        settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
    return WeChatChannel(channel="wechat", account=account, token=settings.wechat_token,
                         envelope=sealed, workroom=workroom, shared=shared, clock=clock,
                         **common)
