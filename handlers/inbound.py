"""The one data flow: dedupe, lock, load state, step, run the handler, save, then reply.

Nothing is answered before it is durable (DESIGN rules 1 and 2): the reply leaves this
module only after the transaction holding the records, the outbox rows, the inbound id
and (SQL store) the new state has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from conversations import catalog
from conversations.clock import Clock
from conversations.engine import Context, Engine, Outcome, Reply, State
from conversations.flow import Acknowledge, Query, Submission
from handlers import alerts, identity, queries, records
from handlers.context import HandlerContext, derive_receipt_code
from handlers.directory import SqlDirectory
from handlers.notices import RECEIPT_MARK
from store import outbox, timers
from store.db import transaction
from store.models import Contact, InboundMessage, Person, Workshop
from store.state import StateStore

DRAFT_TIMEOUT = "draft_timeout"
_RECEIPT_MARK = RECEIPT_MARK


@dataclass(frozen=True)
class Inbound:
    """A message from any channel, already verified and parsed by its adapter."""

    channel: str
    address: str
    message_id: str
    text: str | None = None
    action: str | None = None
    lang_hint: str | None = None
    # Platforms whose replies are separate API calls (Telegram, WeChat customer service):
    # the replies become outbox rows in the step's transaction, so none is lost.
    push_replies: bool = False
    # A one-time code from `workroom invite --channel ...`: links this address to a person.
    link_code: str | None = None
    # Photos / voice notes: {"kind", "file_ref", "mime_type", "size"} each.
    attachments: tuple[dict[str, Any], ...] = ()

    @property
    def conversation_key(self) -> str:
        return f"{self.channel}:{self.address}"


@dataclass
class Options:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    secret: str = "change-me-in-production"
    default_lang: str = "zh"
    timeout: timedelta = timedelta(minutes=30)
    on_timeout: str = "keep"


class Workroom:
    """Process inbound messages through the engine and the handlers."""

    def __init__(self, db: DbEngine, states: StateStore, clock: Clock,
                 options: Options | None = None, engine: Engine | None = None) -> None:
        self.db, self.states, self.clock = db, states, clock
        self.options = options or Options()
        self.engine = engine or Engine()

    def process(self, msg: Inbound) -> list[Reply]:
        """Handle one inbound message; return the replies once its effects are committed."""
        for attempt in range(3):
            try:
                return self._process_once(msg)
            except IntegrityError:
                # A concurrent delivery of the same message won the insert; the next try
                # finds it and answers with what it answered.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _process_once(self, msg: Inbound) -> list[Reply]:
        key = msg.conversation_key
        now = self.clock.now()
        with self.states.guard(key):
            with transaction(self.db) as s:
                dup = s.exec(select(InboundMessage).where(
                    InboundMessage.channel == msg.channel,
                    InboundMessage.message_id == msg.message_id)).first()
                person = identity.resolve(s, channel=msg.channel, address=msg.address, now=now,
                                          lang=msg.lang_hint)
                hctx = self._hctx(s, person, msg.channel)
                raw, version = self.states.load(s, key)
                if dup is not None:
                    if not self.states.transactional and dup.state is not None \
                            and version < dup.state_version:
                        self.states.save(s, key, dup.state, dup.state_version, now)
                    return self._replayed(hctx, dup)
                if raw is None:
                    raw = State(lang=person.lang or msg.lang_hint
                                or self.options.default_lang).to_dict()
                linked: list[Reply] = []
                if msg.link_code:
                    person, linked = self._link(s, msg, person, State.from_dict(raw).lang)
                    hctx = self._hctx(s, person, msg.channel)
                ctx = self._ctx(s, person, hctx)
                out = self.engine.step(raw, text=msg.text, action=msg.action, ctx=ctx,
                                       attachments=msg.attachments)
                replies, state, draft_key = self._apply(hctx, ctx, out)
                replies = linked + replies
                if person.lang != state.get("lang"):
                    person.lang = state.get("lang")
                    s.add(person)
                version += 1
                stored = [self._redact(r, draft_key) for r in replies]
                s.add(InboundMessage(
                    channel=msg.channel, message_id=msg.message_id, conversation_key=key,
                    received_at=now, replies=stored, state_version=version,
                    draft_key=draft_key,
                    state=None if self.states.transactional else state))
                if self.states.transactional:
                    self.states.save(s, key, state, version, now)
                if msg.push_replies:
                    self._push(s, msg, stored, draft_key, now)
                self._schedule_timeout(s, key, state, ctx)
                s.flush()
            if not self.states.transactional:
                self.states.save(s, key, state, version, now)
        return replies

    def _apply(self, hctx: HandlerContext, ctx: Context,
               out: Outcome) -> tuple[list[Reply], dict[str, Any], str | None]:
        replies = list(out.replies)
        state = out.state.to_dict()
        effect = out.effect
        draft_key = None
        if isinstance(effect, Submission):
            result = records.submit(hctx, effect)
            finished = self.engine.finish(state, result, ctx)
            if "code" in result.params:
                draft_key = effect.draft_id
            replies += finished.replies
            state = finished.state.to_dict()
        elif isinstance(effect, Query):
            found = queries.run(hctx, effect.name, out.state.lang)
            replies += self.engine.answer_query(state, found, ctx)
        elif isinstance(effect, Acknowledge):
            result = alerts.acknowledge(hctx, effect.alert_id)
            replies.insert(0, Reply(catalog.t(out.state.lang, result.message, **result.params)))
        return replies, state, draft_key

    def _push(self, s: Session, msg: Inbound, stored: list[dict[str, Any]],
              draft_key: str | None, now: datetime) -> None:
        # The replies as stored: a receipt code is derived again by the outbox's renderer.
        for i, data in enumerate(stored):
            outbox.enqueue(s, key=f"reply:{msg.channel}:{msg.message_id}:{i}",
                           channel=msg.channel, address=msg.address, message="notice.raw",
                           params={**data, "draft_key": draft_key} if draft_key else data,
                           priority=outbox.REPLY, now=now)

    def _link(self, s: Session, msg: Inbound, person: Person,
              lang: str) -> tuple[Person, list[Reply]]:
        found = identity.redeem(s, code=msg.link_code or "", channel=msg.channel,
                                address=msg.address, now=self.clock.now())
        if found is None:
            return person, [Reply(catalog.t(lang, "link.invalid"))]
        return found, [Reply(catalog.t(found.lang or lang, "link.done", name=found.name))]

    def _redact(self, reply: Reply, draft_key: str | None) -> dict[str, Any]:
        data = reply.to_dict()
        if draft_key:
            code = derive_receipt_code(self.options.secret, draft_key)
            data["text"] = data["text"].replace(code, _RECEIPT_MARK)
        return data

    def _replayed(self, hctx: HandlerContext, dup: InboundMessage) -> list[Reply]:
        if not dup.replies:  # past the replay window: what was said is no longer kept
            lang = hctx.actor.lang or self.options.default_lang
            return [Reply(catalog.t(lang, "inbound.already"))]
        replies = []
        for data in dup.replies:
            reply = Reply.from_dict(data)
            if dup.draft_key and _RECEIPT_MARK in reply.text:
                reply.text = reply.text.replace(_RECEIPT_MARK, hctx.receipt_code(dup.draft_key))
            replies.append(reply)
        return replies

    def _hctx(self, s: Session, person: Person, channel: str) -> HandlerContext:
        return HandlerContext(session=s, now=self.clock.now(), actor=person, channel=channel,
                              zone=self.options.zone, secret=self.options.secret)

    def _ctx(self, s: Session, person: Person, hctx: HandlerContext) -> Context:
        workshop = s.get(Workshop, person.workshop_id) if person.workshop_id else None
        return Context(
            now=hctx.now, role=person.role, workshop_name=workshop.name if workshop else None,
            directory=SqlDirectory(s, person, hctx.unit_id(), hctx.today), zone=self.options.zone,
            timeout=self.options.timeout, on_timeout=self.options.on_timeout,
        )

    def _schedule_timeout(self, s: Session, key: str, state: dict[str, Any],
                          ctx: Context) -> None:
        due = self.engine.due_at(state, ctx)
        if due is None:
            timers.drop(s, kind=DRAFT_TIMEOUT, ref=key)
        else:
            timers.schedule(s, kind=DRAFT_TIMEOUT, ref=key, due_at=due)

    # --- the inactivity timeout, fired by the timer sweep -------------------------------

    def expire_draft(self, key: str) -> bool:
        """Tell the user their draft was kept or dropped; True if a notice was queued."""
        channel, _, address = key.partition(":")
        now = self.clock.now()
        with self.states.guard(key):
            with transaction(self.db) as s:
                contact = s.exec(select(Contact).where(Contact.channel == channel,
                                                       Contact.address == address)).first()
                person = s.get(Person, contact.person_id) if contact else None
                raw, version = self.states.load(s, key)
                if person is None or raw is None:
                    timers.drop(s, kind=DRAFT_TIMEOUT, ref=key)
                    return False
                hctx = self._hctx(s, person, channel)
                ctx = self._ctx(s, person, hctx)
                out = self.engine.expire(raw, ctx)
                if not out.replies:
                    self._schedule_timeout(s, key, raw, ctx)
                    return False
                state = out.state.to_dict()
                version += 1
                for i, reply in enumerate(out.replies):
                    outbox.enqueue(
                        s, key=f"timeout:{key}:{version}:{i}", channel=channel, address=address,
                        message="notice.raw", now=now,
                        params={"text": reply.text,
                                "buttons": [b.__dict__ for b in reply.buttons]})
                if self.states.transactional:
                    self.states.save(s, key, state, version, now)
                timers.drop(s, kind=DRAFT_TIMEOUT, ref=key)
            if not self.states.transactional:
                self.states.save(s, key, state, version, now)
        return True
