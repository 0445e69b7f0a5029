"""The one data flow: dedupe, lock, load state, step, run the handler, save, then reply.

Nothing is answered before it is durable (DESIGN rules 1 and 2): the reply leaves this
module only after the transaction holding the records, the outbox rows, the inbound id
and (SQL store) the new state has committed.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from conversations import catalog
from conversations.answers import Phone, masked
from conversations.clock import Clock
from conversations.engine import (
    HEARD,
    PASTE_WAIT,
    REVIEW,
    URGENT_WAIT,
    Button,
    Context,
    Engine,
    Outcome,
    Reply,
    State,
    merged,
)
from conversations.flow import (
    PENDING,
    Acknowledge,
    AddFiles,
    CalledBack,
    OpenFiles,
    Query,
    Submission,
)
from handlers import alerts, files, hotline, identity, incidents, queries, records
from handlers.context import Grouping, HandlerContext, derive_receipt_code, people_of
from handlers.directory import SqlDirectory
from handlers.grouping import channel_label
from handlers.notices import RECEIPT_MARK, quiet, render
from store import outbox, roster, steps, timers
from store.db import transaction
from store.models import Contact, Notification, Person, Unit, Workshop
from store.state import StateStore

log = logging.getLogger(__name__)
DRAFT_TIMEOUT = "draft_timeout"
# How long pushes claimed by a step stay the caller's to deliver; after that (the process
# died) the dispatcher sends them.
DIRECT_LEASE = timedelta(seconds=30)
# The answer to a file of an album that came without words ("kept, n so far" and the
# question again) waits this long, and the next file of the album replaces it: the worker
# who sends six photos at once gets one answer, not six copies of the question.
ALBUM_WAIT = timedelta(seconds=1)
ALBUM_KEY = "album:"  # the idempotency keys of those answers begin so
# The answer to a text that may be the first part of a longer one (Engine.PASTE_WAIT)
# waits as long, and the answer to the next part replaces it; its keys begin so.
PASTE_KEY = "paste:"
# Characters up to which the pushes answering a report the silence sent are run together
# (Engine.merged); a channel splits a longer text as it must (WeChat's 2,048 bytes).
PUSH_MERGE = 2000
_RECEIPT_MARK = RECEIPT_MARK
NO_ALERTS = ("employee", "liaison")  # roles no alert is addressed to
_NATIONAL = re.compile(r"^(\+86|0086|0)")  # a number's country or trunk prefix
# The writers of a batch, by id: built once (building the statement cost a third of it).
_PEOPLE = select(Person).where(col(Person.id).in_(bindparam("ids", expanding=True)))


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
    # Replies of one step sent as one message where the platform allows (up to this many
    # characters; 0: each reply its own message): a worker's phone buzzes once a step.
    merge_limit: int = 0
    # A one-time code from `workroom invite --channel ...`: links this address to a person.
    link_code: str | None = None
    # Photos / voice notes: {"kind", "file_ref", "mime_type", "size"} each.
    attachments: tuple[dict[str, Any], ...] = ()
    # At the menu, a text that picks nothing starts this flow (a text to the hotline).
    default_flow: str | None = None
    # Each reply costs a message and messages may arrive out of order (SMS): a step's
    # replies go out as one push.
    joined: bool = False
    # The album this file came in (Telegram sends each photo of an album as a message of
    # its own; WeChat has no albums, and takes photos sent one after another as one): see
    # ALBUM_WAIT.
    album: str | None = None
    # When the sender sent it (the platform's own time, whole seconds since the epoch),
    # where the platform says: two messages delivered together after an outage were still
    # typed minutes apart (Engine's SENT_TWICE).
    sent_at: int | None = None
    # The platform's apps cut a text longer than this many characters into several
    # messages sent back to back (Telegram: 4096); 0: they do not. See Engine.step.
    split_at: int = 0

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
    grouping: Grouping = field(default_factory=Grouping)
    call_last_step: bool = False  # see HandlerContext.call_last_step
    texts: bool = True  # see HandlerContext.texts
    quiet_hours: tuple[time, time] | None = None  # see handlers.notices.quiet


@dataclass(frozen=True)
class Outgoing:
    """A push written in a step's transaction and claimed by it, to deliver right after
    the commit (the dispatcher takes it over if that fails or this process dies)."""

    notification_id: int
    channel: str
    address: str
    lang: str
    priority: int
    message: str
    params: dict[str, Any]
    alert_id: int | None = None


@dataclass
class Stepped:
    """The outcome of one message of a batch."""

    replies: list[Reply]
    outgoing: list[Outgoing] = field(default_factory=list)
    error: BaseException | None = None
    urgent: bool = False  # the chat is in an urgent flow: its next message goes first
    closing: bool = False  # ... and its next answer files the report (the last question)


@dataclass
class _Batch:
    """The rows a batch writes, collected while its messages are stepped."""

    inbound: list[dict[str, Any]] = field(default_factory=list)
    states: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    timers_on: list[tuple[str, datetime]] = field(default_factory=list)
    timers_off: list[str] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (message, row)
    written: list[tuple[int, Notification | outbox.Written]] = field(default_factory=list)
    # (channel, address, key prefix): the answers waiting there that this batch's replace
    # (an album's, see _album; a text's first part's, PASTE_KEY)
    albums: list[tuple[str, str, str]] = field(default_factory=list)
    langs: dict[int, str] = field(default_factory=dict)  # message -> its reader's language


# Called in a batch's transaction once its rows are written: a channel records there what
# it does with the replies (WeChat: those given back as the passive reply are sent).
BeforeCommit = Callable[[Session, list[Inbound], list[Stepped]], None]


class Workroom:
    """Process inbound messages through the engine and the handlers."""

    def __init__(self, db: DbEngine, states: StateStore, clock: Clock,
                 options: Options | None = None, engine: Engine | None = None) -> None:
        self.db, self.states, self.clock = db, states, clock
        self.options = options or Options()
        self.engine = engine or Engine()
        self._first_unit: int | None = None
        self._phone_steps: dict[str, tuple[str, ...]] = {}  # flow -> its phone questions

    def process(self, msg: Inbound) -> list[Reply]:
        """Handle one inbound message; return the replies once its effects are committed."""
        done = self.process_batch([msg])[0]
        if done.error is not None:
            raise done.error
        return done.replies

    def process_batch(self, msgs: list[Inbound], *, direct: Collection[str] = (),
                      in_flight: Collection[int] = (),
                      settle: Sequence[steps.Settled] = (),
                      before_commit: BeforeCommit | None = None) -> list[Stepped]:
        """Step messages of different conversations in one transaction.

        `direct`: channels whose pushes the caller delivers itself right after the commit:
        those written by the batch are claimed and returned as Stepped.outgoing, unless an
        earlier push to the same chat is still pending (not one of `in_flight`, the ones
        the caller is delivering): then the dispatcher sends them all, in order.
        `settle`: what became of the caller's earlier deliveries, recorded in the same
        transaction. `before_commit`: see BeforeCommit. A message that fails does not fail
        the others: the batch is undone and its messages stepped one by one.
        """
        keys = [m.conversation_key for m in msgs]
        if len(set(keys)) != len(keys):
            raise ValueError("a batch holds one message per conversation")
        if not msgs:
            if settle:
                with transaction(self.db) as s:
                    steps.settle(s, settle, self.clock.now())
            return []
        try:
            return self._attempts(msgs, direct, in_flight, settle, before_commit)
        except Exception as err:
            if len(msgs) == 1:
                return [Stepped([], error=err)]
            log.warning("a batch of %s steps failed; stepping them one by one", len(msgs))
        if settle:
            with transaction(self.db) as s:
                steps.settle(s, settle, self.clock.now())
        return [self.process_batch([m], direct=direct, in_flight=in_flight,
                                   before_commit=before_commit)[0] for m in msgs]

    def _attempts(self, msgs: list[Inbound], direct: Collection[str],
                  in_flight: Collection[int], settle: Sequence[steps.Settled],
                  before_commit: BeforeCommit | None) -> list[Stepped]:
        return attempts(partial(self._batch, msgs, direct, in_flight, settle, before_commit))

    def _batch(self, msgs: list[Inbound], direct: Collection[str],
               in_flight: Collection[int], settle: Sequence[steps.Settled],
               before_commit: BeforeCommit | None = None) -> list[Stepped]:
        now = self.clock.now()
        keys = [m.conversation_key for m in msgs]
        batch = _Batch()
        with self.states.guard_many(keys):
            with transaction(self.db) as s:
                if settle:
                    steps.settle(s, settle, now)
                dups = steps.find_inbound(s, [(m.channel, m.message_id) for m in msgs])
                people = self._people(s, msgs, now)
                # They wrote: what could not reach them (WeChat's 48-hour window) can now.
                outbox.release(s, {p.id for p in people.values() if p.id is not None}, now)
                loaded = self.states.load_many(s, keys)
                workshops = self._workshops(s, people.values())
                s.info[outbox.WRITTEN] = []
                results = [
                    self._step(s, i, m, people[(m.channel, m.address)],
                               loaded[m.conversation_key], dups.get((m.channel, m.message_id)),
                               workshops, batch, now)
                    for i, m in enumerate(msgs)]
                s.info[outbox.STEP] = None
                # The alerts of every report the batch filed, in one statement per table.
                incidents.write_filed(s)
                batch.written = [(i, n) for i, n in s.info[outbox.WRITTEN] if i is not None]
                steps.log_inbound(s, batch.inbound)
                if self.states.transactional:
                    self.states.save_many(s, batch.states, now)
                steps.schedule_timers(s, DRAFT_TIMEOUT, batch.timers_on)
                steps.drop_timers(s, DRAFT_TIMEOUT, batch.timers_off)
                self._outgoing(s, msgs, results, batch, direct, in_flight, now)
                if before_commit is not None:
                    before_commit(s, msgs, results)
            if not self.states.transactional:
                self.states.save_many(s, batch.states, now)
        return results

    def _step(self, s: Session, i: int, msg: Inbound, person: Person,
              loaded: tuple[dict[str, Any] | None, int], dup: Any, workshops: dict[int, str],
              batch: _Batch, now: datetime) -> Stepped:
        s.info[outbox.STEP] = i  # the pushes written from here on are this message's
        key = msg.conversation_key
        hctx = self._hctx(s, person, msg.channel, msg.address)
        old, version = loaded
        if dup is not None:
            if not self.states.transactional and dup.state is not None \
                    and version < dup.state_version:
                batch.states.append((key, dup.state, dup.state_version))
            return Stepped(self._replayed(hctx, dup))
        raw = old if old is not None else State(
            lang=person.lang or msg.lang_hint or self.options.default_lang).to_dict()
        linked: list[Reply] = []
        if msg.link_code:
            person, linked = self._link(s, msg, person, State.from_dict(raw).lang)
            hctx = self._hctx(s, person, msg.channel, msg.address)
            if person.lang and person.lang != raw.get("lang"):
                # The person's own language, as the org file or their earlier chats set it,
                # not the phone's (or the default) this chat began in.
                raw = {**raw, "lang": person.lang}
        ctx = self._ctx(s, person, hctx, workshops)
        if msg.sent_at is not None:
            ctx.sent_at = datetime.fromtimestamp(msg.sent_at, UTC)
        ctx.split_at = msg.split_at
        # Before the step, which may change the saved dict's answers in place.
        before = self.engine.due_at(old, ctx) if old else None
        asked = (raw.get("flow"), raw.get("step"))
        out = self.engine.step(raw, text=msg.text, action=msg.action, ctx=ctx,
                               attachments=msg.attachments, default_flow=msg.default_flow)
        phones = self._phones(raw.get("flow"), raw.get("answers")) \
            | self._phones(out.state.flow, out.state.answers)
        replies, state, draft_key = self._apply(hctx, ctx, out)
        replies = linked + heard(msg, asked, state) + replies
        if msg.merge_limit:
            replies = merged(replies, msg.merge_limit)
        if person.lang != state.get("lang"):
            person.lang = state.get("lang")
            s.add(person)
        version += 1
        stored = [self._redact(r, draft_key, phones) for r in replies]
        batch.inbound.append({
            "channel": msg.channel, "message_id": msg.message_id, "conversation_key": key,
            "received_at": now, "replies": stored, "state_version": version,
            "draft_key": draft_key,
            "state": None if self.states.transactional else self._masked(state)})
        batch.states.append((key, state, version))
        batch.langs[i] = state.get("lang") or self.options.default_lang
        # The draft's inactivity timer is set when a draft begins and dropped when it ends;
        # in between the sweep finds the draft touched since and moves the timer on.
        due = self.engine.due_at(state, ctx)
        if due is not None and before is None and self.engine.urgent(state):
            # An emergency report's timer is set at its soonest (Engine.URGENT_WAIT) when
            # it begins: its answers then only move the due time later, which the sweep
            # finds when it looks (no write a step); else each answer moved it sooner.
            due = min(due, now + URGENT_WAIT)
        if due is None and before is not None:
            batch.timers_off.append(key)
        elif due is not None and (before is None or due < before):
            # Set when a draft begins, and moved sooner when a draft becomes one that
            # waits less (a form set aside for an emergency, taken up again).
            batch.timers_on.append((key, due))
        if msg.push_replies:
            album = _album(msg)
            key, due, joined = f"reply:{msg.channel}:{msg.message_id}:", now, msg.joined
            if album is not None:  # its answer tells all the album's answer waiting did
                batch.albums.append((msg.channel, msg.address, album))
                if not (msg.text or "").strip():  # ... and waits for the next file, as one
                    key, due, joined = f"{album}{msg.message_id}:", now + ALBUM_WAIT, True
            if out.continued:  # the next part of a text: its answer is the whole text's
                batch.albums.append((msg.channel, msg.address, f"{PASTE_KEY}{msg.channel}:"))
            if out.held:  # maybe the first part of more: its answer waits for the next
                key, due = f"{PASTE_KEY}{msg.channel}:{msg.message_id}:", now + PASTE_WAIT
            # The replies as stored: a receipt code is derived again by the renderer.
            for n, data in enumerate([_joined(stored)] if joined and stored else stored):
                params = {**data, "draft_key": draft_key} if draft_key else data
                batch.replies.append((i, reply_row(msg, f"{key}{n}", params, due, now)))
        # An urgent report that can be sent any moment now: its next message goes first;
        # the one that files it (the last answer, or review) in the shortest batches.
        flow = self.engine.flows.get(state.get("flow") or "")
        urgent = flow is not None and flow.urgent and \
            len(state.get("answers") or {}) >= (flow.send_now_after or 0)
        closing = urgent and flow is not None and \
            state.get("step") in (flow.steps[-1].name, REVIEW)
        return Stepped(replies, urgent=urgent, closing=closing)

    def render_push(self, out: Outgoing) -> Reply:
        """The words of a claimed push, in its reader's language."""
        reply = render(out.message, out.params, out.lang, self.options.zone, out.alert_id,
                       self.options.secret)
        reply.quiet = quiet(out.priority, self.clock.now(), self.options.zone,
                            self.options.quiet_hours)
        return reply

    def _people(self, s: Session, msgs: list[Inbound],
                now: datetime) -> dict[tuple[str, str], Person]:
        """Who writes each message: known contacts in one query; an unknown address
        becomes an unverified employee of the workroom's first unit."""
        pairs = list(dict.fromkeys((m.channel, m.address) for m in msgs))
        known = steps.contacts(s, pairs)
        steps.touch_contacts(s, known.values(), now)
        found: dict[tuple[str, str], steps.Found | steps.Known] = dict(known)
        by_id = {p.id: p for p in s.exec(_PEOPLE, params={
            "ids": [c.person_id for c in found.values()]})}
        hints = {(m.channel, m.address): m.lang_hint for m in msgs}
        new = [pair for pair in pairs if pair not in found]
        if new:  # first messages: the people and their contacts in one statement each
            if self._first_unit is None:
                self._first_unit = s.exec(select(Unit.id).order_by(col(Unit.id))).first()
            ids = steps.add_people(s, [
                {"key": f"{channel}-{uuid.uuid4().hex[:16]}", "role": "employee",
                 "verified": False, "unit_id": self._first_unit, "lang": hints[(channel, address)],
                 "created_at": now} for channel, address in new], [
                {"channel": channel, "address": address, "last_used_at": now}
                for channel, address in new])
            by_id |= {p.id: p for p in s.exec(_PEOPLE, params={"ids": ids})}
            found |= {pair: steps.Known(pid) for pair, pid in zip(new, ids, strict=True)}
        people: dict[tuple[str, str], Person] = {}
        for pair in pairs:
            person = by_id.get(found[pair].person_id)
            people[pair] = person if person is not None else identity.resolve(
                s, channel=pair[0], address=pair[1], now=now, lang=hints[pair])
        return people

    def _workshops(self, s: Session, people: Iterable[Person]) -> dict[int, str]:
        ids = {p.workshop_id for p in people if p.workshop_id is not None}
        if not ids:
            return {}
        rows = s.exec(select(Workshop.id, Workshop.name).where(col(Workshop.id).in_(ids)))
        return {wid: name for wid, name in rows if wid is not None}

    def write_replies(self, s: Session, msgs: list[Inbound], results: list[Stepped],
                      replies: list[tuple[int, dict[str, Any]]], langs: dict[int, str],
                      direct: Collection[str], in_flight: Collection[int],
                      now: datetime) -> None:
        """Write replies (reply_row()s, each with its message's index) to the outbox and
        claim for the caller those it may deliver, as a step does: for what answers
        messages without stepping a conversation (handlers/group_chats.py)."""
        self._outgoing(s, msgs, results, _Batch(replies=replies, langs=langs), direct,
                       in_flight, now)

    def _outgoing(self, s: Session, msgs: list[Inbound], results: list[Stepped],
                  batch: _Batch, direct: Collection[str], in_flight: Collection[int],
                  now: datetime) -> None:
        """Write the replies to the outbox; claim for the caller what it may deliver."""
        until = now + DIRECT_LEASE
        for channel, address, album in batch.albums:
            steps.replace_waiting(s, channel, address, album, now)
        blocked: set[tuple[str, str]] = set()
        mine = {n.id for _, n in batch.written}
        answered = {(row["channel"], row["address"]): i for i, row in batch.replies
                    if row["next_attempt_at"] <= now}  # not an album's answer: it waits
        waiting: dict[int, tuple[str, str]] = {}  # an album's answer, to go before these
        for channel in direct:
            addresses = {row["address"] for _, row in batch.replies if row["channel"] == channel}
            addresses |= {n.address for _, n in batch.written
                          if n.channel == channel and n.address is not None}
            for a, nid, key in steps.pending_to(s, channel, list(addresses)):
                if nid in in_flight or nid in mine:
                    continue
                if key.startswith((ALBUM_KEY, PASTE_KEY)) and (channel, a) in answered:
                    waiting[nid] = (channel, a)
                else:  # the dispatcher sends this chat's pushes, in the order written
                    blocked.add((channel, a))
        # The worker went on after an album: its answer goes now, ahead of this step's.
        taken = steps.take_waiting(s, list(waiting), now, until)
        blocked |= {chat for nid, chat in waiting.items()
                    if nid not in {r.id for r in taken}}  # a sender has it: the order
        for r in sorted(taken, key=lambda r: r.id):
            i = answered[(r.channel, r.address)]
            results[i].outgoing.append(Outgoing(
                r.id, r.channel, r.address, batch.langs.get(i) or self.options.default_lang,
                r.priority, r.message_key, dict(r.params)))
        for _, row in batch.replies:
            if row["channel"] in direct and (row["channel"], row["address"]) not in blocked \
                    and row["next_attempt_at"] <= now:  # an album's answer waits
                row["claimed_until"] = until
        ids = steps.enqueue_many(s, [row for _, row in batch.replies])
        claimed: list[int] = []
        for (i, row), nid in zip(batch.replies, ids, strict=True):
            if row["claimed_until"] is not None:
                lang = batch.langs.get(i) or self.options.default_lang
                results[i].outgoing.append(Outgoing(
                    nid, row["channel"], row["address"], lang, row["priority"],
                    row["message_key"], row["params"]))
        due = self.clock.now()  # handlers stamp their rows as they go
        written = [(i, n) for i, n in batch.written
                   if direct and n.next_attempt_at <= due and n.id is not None]
        # Each recipient's channel they last used, all in one query; a push goes out
        # from here only if that channel is one the caller delivers.
        reach = steps.contacts_of(s, {n.recipient_id for _, n in written
                                      if n.recipient_id is not None and not n.channel})
        for i, n in written:
            found: outbox.Route | None = None
            if n.channel:
                found = outbox.route(s, n, direct, self.options.default_lang)
            elif n.recipient_id is not None:
                said, pairs = reach.get(n.recipient_id, (None, []))
                first = next((c for c in pairs if c[0] not in n.tried_channels), None)
                if first is not None and first[0] in direct:
                    found = outbox.Route(first[0], first[1],
                                         said or self.options.default_lang)
            if found is None or n.id is None or (found.channel, found.address) in blocked:
                continue
            claimed.append(n.id)
            results[i].outgoing.append(Outgoing(
                n.id, found.channel, found.address, found.lang, n.priority, n.message_key,
                n.params, n.alert_id))
        steps.claim(s, claimed, until)
        for r in results:
            r.outgoing.sort(key=lambda o: o.priority)

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
        elif isinstance(effect, Acknowledge) and effect.alert_id == PENDING:
            # "收到" typed: the alert waiting, if one, else the list to press from.
            lang = out.state.lang
            waiting = queries.pending_alerts(hctx)
            # An alert of a case passed on from them since: the one named, or when none
            # waits, the one last pushed to them (its 收到 typed from a chat that cannot
            # lose it): said so, nothing recorded.
            passed = queries.passed_alert(hctx, effect.named) \
                if effect.named is not None or not waiting else None
            if effect.named is not None and passed is None:  # one of theirs, no other's
                meant = queries.alert_named(hctx, waiting, effect.named)
                if meant is None:
                    replies.insert(0, Reply(catalog.t(lang, "ack.not_waiting",
                                                      named=effect.named)))
                waiting = [meant] if meant is not None else []
            if passed is not None:
                result = alerts.passed_result(hctx, passed)
                replies.insert(0, Reply(catalog.t(lang, result.message, **result.params)))
            elif len(waiting) == 1 and waiting[0].id is not None:
                result = alerts.acknowledge(hctx, waiting[0].id)
                replies.insert(0, Reply("\n".join([
                    queries.alert_line(hctx, waiting[0], lang),
                    catalog.t(lang, result.message, **result.params)])))
            elif effect.named is None and not waiting and hctx.actor.role in NO_ALERTS:
                # A worker's "收到" to a text of ours: no list of alerts they never get.
                replies.insert(0, Reply(catalog.t(lang, "ack.courtesy")))
            elif effect.named is None:
                replies[0:0] = queries.my_alerts(hctx, lang)
            else:
                replies[1:1] = queries.my_alerts(hctx, lang)  # after "not waiting"
        elif isinstance(effect, Acknowledge):
            result = alerts.acknowledge(hctx, effect.alert_id)
            replies.insert(0, Reply(catalog.t(out.state.lang, result.message, **result.params)))
        elif isinstance(effect, AddFiles):
            result = records.add_files(hctx, effect)
            said = Reply(catalog.t(out.state.lang, result.message, **result.params))
            replies += self.engine.answer_query(state, [said], ctx)
        elif isinstance(effect, OpenFiles) and "," in effect.number:
            # Typed words of pushes about several records (WeChat): whose files?
            lang = out.state.lang
            label = catalog.t(lang, "nav.files")
            replies.insert(0, Reply(catalog.t(lang, "files.which"), [
                Button(f"{label} {n}", f"files:{n}", "action")
                for n in effect.number.split(",") if n]))
        elif isinstance(effect, CalledBack):
            result = hotline.called_back(hctx, effect.call_id)
            replies.insert(0, Reply(catalog.t(out.state.lang, result.message, **result.params)))
        elif isinstance(effect, OpenFiles):
            lang = out.state.lang
            result = files.send_files(hctx, effect.number, lang, hctx.address)
            notes = result.params.pop("notes", [])
            replies.insert(0, Reply("\n".join([catalog.t(lang, result.message, **result.params),
                                               *notes])))
        return replies, state, draft_key

    def _link(self, s: Session, msg: Inbound, person: Person,
              lang: str) -> tuple[Person, list[Reply]]:
        found = identity.redeem(s, code=msg.link_code or "", channel=msg.channel,
                                address=msg.address, now=self.clock.now())
        if found.outcome == "linked" and found.person is not None:
            return found.person, [Reply(catalog.t(found.person.lang or lang, "link.done",
                                                  name=found.person.name))]
        if found.outcome == "already" and found.person is not None:
            return found.person, [Reply(catalog.t(found.person.lang or lang, "link.already",
                                                  name=found.person.name))]
        if found.outcome == "taken" and found.person is not None:
            return person, [Reply(catalog.t(lang, "link.taken", name=found.person.name))]
        return person, [Reply(catalog.t(lang, "link.invalid"))]

    def _redact(self, reply: Reply, draft_key: str | None,
                phones: Collection[str] = ()) -> dict[str, Any]:
        """A reply as it is kept (the replay log, the outbox): no receipt code, and a
        caller's phone number masked (it lives in the contact vault only)."""
        data = reply.to_dict()
        if draft_key:
            code = derive_receipt_code(self.options.secret, draft_key)
            data["text"] = data["text"].replace(code, _RECEIPT_MARK)
        for number in phones:
            core = _NATIONAL.sub("", number)  # also found inside +86… and 0086… forms
            for form in {number, core}:
                if len(form) >= 5:
                    data["text"] = data["text"].replace(form, masked(form))
        return data

    def _phones(self, flow: str | None, answers: dict[str, Any] | None) -> set[str]:
        """The phone numbers answered in a draft of `flow`."""
        if not flow or not answers:
            return set()
        names = self._phone_steps.get(flow)
        if names is None:
            found = self.engine.flows.get(flow)
            names = self._phone_steps[flow] = tuple(
                a.name for a in (found.steps if found else ()) if isinstance(a.kind, Phone))
        return {answers[n] for n in names if isinstance(answers.get(n), str)}

    def _masked(self, state: dict[str, Any]) -> dict[str, Any]:
        """A state as the replay log keeps it: phone answers masked (a state restored
        from it asks for the number again, see handlers/hotline.file_for_caller)."""
        pasting = state.get("pasting")
        if pasting and pasting.get("before"):  # the state a paste began from, as well
            state = {**state, "pasting": {**pasting, "before": self._masked(pasting["before"])}}
        phones = self._phones(state.get("flow"), state.get("answers"))
        if not phones:
            return state
        answers = {k: masked(v) if isinstance(v, str) and v in phones else v
                   for k, v in state["answers"].items()}
        return {**state, "answers": answers}

    def _replayed(self, hctx: HandlerContext, dup: Any) -> list[Reply]:
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

    def _hctx(self, s: Session, person: Person, channel: str,
              address: str | None = None) -> HandlerContext:
        return HandlerContext(session=s, now=self.clock.now(), actor=person, channel=channel,
                              zone=self.options.zone, secret=self.options.secret,
                              grouping=self.options.grouping,
                              call_last_step=self.options.call_last_step,
                              texts=self.options.texts, address=address)

    def _ctx(self, s: Session, person: Person, hctx: HandlerContext,
             workshops: dict[int, str]) -> Context:
        workshop = workshops.get(person.workshop_id) if person.workshop_id else None
        duty_days = person.role != "leader" or person.id is None or roster.has_duty_days(
            s, hctx.unit_id(), person.id, hctx.today)
        in_chain = person.role not in ("leader", "staff") or any(
            person.id in people for people, _ in incidents.chain(s, hctx.unit_id()).values())
        return Context(
            now=hctx.now, role=person.role, workshop_name=workshop, duty_days=duty_days,
            in_chain=in_chain,
            directory=SqlDirectory(s, person, hctx.unit_id(), hctx.today,
                                   hctx.now.astimezone(hctx.zone).time(), hctx.zone),
            zone=self.options.zone,
            timeout=self.options.timeout, on_timeout=self.options.on_timeout,
            texts=self.options.texts)

    def _schedule_timeout(self, s: Session, key: str, state: dict[str, Any],
                          ctx: Context) -> None:
        due = self.engine.due_at(state, ctx)
        if due is None:
            timers.drop(s, kind=DRAFT_TIMEOUT, ref=key)
        else:
            timers.schedule(s, kind=DRAFT_TIMEOUT, ref=key, due_at=due)

    # --- a message no step can take ----------------------------------------------------

    def set_aside(self, msg: Inbound, error: BaseException) -> bool:
        """A message whose step fails every time it is tried (a bug, or something the
        step cannot take): record it as taken, so that it is not tried again and holds
        up nothing behind it, tell its sender in their language that it could not be
        handled, and tell the staff. Its conversation is left as it was. False if it was
        taken meanwhile (then nothing is written)."""
        now = self.clock.now()
        with transaction(self.db) as s:
            pair = (msg.channel, msg.message_id)
            if steps.find_inbound(s, [pair]):
                return False
            known = steps.contacts(s, [(msg.channel, msg.address)]).get(
                (msg.channel, msg.address))
            person = s.get(Person, known.person_id) if known is not None else None
            lang = (person.lang if person else None) or msg.lang_hint \
                or self.options.default_lang
            if lang not in catalog.LANGS:
                lang = self.options.default_lang
            reply = Reply(catalog.t(lang, "inbound.set_aside")).to_dict()
            steps.log_inbound(s, [{
                "channel": msg.channel, "message_id": msg.message_id,
                "conversation_key": msg.conversation_key, "received_at": now,
                "replies": [reply], "state_version": 0, "draft_key": None, "state": None}])
            unit_id = person.unit_id if person and person.unit_id is not None else \
                s.exec(select(Unit.id).order_by(col(Unit.id))).first()
            staff = people_of(s, unit_id, ("staff",)) or people_of(s, unit_id, ("director",))
            outbox.add_many(s, [{
                "key": f"reply:{msg.channel}:{msg.message_id}:0", "channel": msg.channel,
                "address": msg.address, "message": "notice.raw", "params": reply,
                "priority": outbox.REPLY}] + [{
                "key": f"set_aside:{msg.channel}:{msg.message_id}:{p.id}",
                "recipient_id": p.id, "message": "notice.inbound_set_aside",
                "params": {"channel": f"@channel.{channel_label(msg.channel)}",
                           "received_at": now.isoformat()},
                "priority": outbox.ALERT} for p in staff], now=now)
        log.error("%s: message %s of %s set aside after failing every try: %r", msg.channel,
                  msg.message_id, msg.conversation_key, error)
        return True

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
                ctx = self._ctx(s, person, hctx, self._workshops(s, [person]))
                out = self.engine.expire(raw, ctx)
                if not out.replies:
                    self._schedule_timeout(s, key, raw, ctx)
                    return False
                # An emergency report sent by the silence: filed here, as if sent now.
                replies, state, _ = self._apply(hctx, ctx, out)
                if isinstance(out.effect, Submission):
                    # One account, in order: "sent by the silence:" then what became of
                    # the report (its number, or the emergency it was added to), and
                    # the menu or the form taken up again under it.
                    replies = merged([Reply(f"{replies[0].text}\n{replies[1].text}",
                                            replies[1].buttons), *replies[2:]], PUSH_MERGE)
                version += 1
                self._schedule_timeout(s, key, state, ctx)  # a form taken up again
                # "草稿已经 30 分钟没有动静" answers nothing the person just wrote: a routine
                # push, silent in the quiet hours. A report the silence sent (its number,
                # who is being alerted) is the reporter's answer, and sounds.
                priority = outbox.REPLY if isinstance(out.effect, Submission) \
                    else outbox.ROUTINE
                for i, reply in enumerate(replies):
                    outbox.enqueue(
                        s, key=f"timeout:{key}:{version}:{i}", channel=channel, address=address,
                        message="notice.raw", now=now, priority=priority,
                        params={"text": reply.text,
                                "buttons": [b.__dict__ for b in reply.buttons]})
                if self.states.transactional:
                    self.states.save(s, key, state, version, now)
            if not self.states.transactional:
                self.states.save(s, key, state, version, now)
        return True


def heard(msg: Inbound, asked: tuple[Any, Any], state: dict[str, Any]) -> list[Reply]:
    """A voice note's recognised words, said back first so that the worker can correct
    them: "听到您说：「…」", and, where they answered the question asked, how to change
    that answer."""
    words = next((a[HEARD] for a in msg.attachments if a.get(HEARD)), None)
    if not words:
        return []
    lang = state.get("lang") or catalog.DEFAULT_LANG
    answered = asked[0] is not None and state.get("flow") == asked[0] \
        and state.get("step") != asked[1]
    return [Reply(catalog.t(lang, "voice.heard_answer" if answered else "voice.heard",
                            words=words))]


def reply_row(msg: Inbound, key: str, params: dict[str, Any], due: datetime,
              now: datetime) -> dict[str, Any]:
    """The outbox row of a reply to `msg` (a platform whose replies are API calls)."""
    return {"idempotency_key": key, "recipient_id": None, "channel": msg.channel,
            "address": msg.address, "message_key": "notice.raw", "alert_id": None,
            "params": params, "priority": outbox.REPLY, "next_attempt_at": due,
            "claimed_until": None, "tried_channels": [], "created_at": now}


def attempts(batch: Callable[[], list[Stepped]]) -> list[Stepped]:
    """Run a batch's transaction, again if a concurrent delivery of one of its messages
    won the insert of its id: the next try finds it and answers with what it answered."""
    for attempt in range(3):
        try:
            return batch()
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _album(msg: Inbound) -> str | None:
    """For a file of an album: the key prefix of the answers to its files sent without
    words, which wait ALBUM_WAIT for the album's next file to replace them (a file with a
    caption is answered at once: the caption is an answer, and what it brings, the next
    question or a report filed, is told then). None for anything else."""
    if msg.album is None or not msg.attachments:
        return None
    # Not the chat address: the key outlives it (store/retention.py blanks the address).
    return f"{ALBUM_KEY}{msg.channel}:{msg.album}:"


def _joined(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """A step's replies as one: the texts one after the other, every button kept."""
    return {"text": "\n\n".join(r["text"] for r in replies if r["text"]),
            "buttons": [b for r in replies for b in r.get("buttons", [])]}
