"""Steps of many chats at once, each chat's in order; pushes sent as soon as they commit.

A channel hands every parsed message to `Pipeline.submit`. Each chat has its own queue:
its next message waits until the previous one has committed, while other chats go on.
A batcher takes the head message of every waiting chat and steps them together in one
transaction (`Workroom.process_batch`, on one database thread), so a step costs a share
of a commit. As soon as a batch commits, `submit` returns (the update may be confirmed
to the platform: it is durable) and the pushes the batch wrote and claimed are sent on
the event loop: emergencies and alerts first, then replies, in the order written to
each chat. What they became is recorded with the next batch; a push that failed, or
that this process never got to send because it died, is the dispatcher's to retry once
its claim runs out (DESIGN rules 1, 2 and 4).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from bot.channels import DeliveryError
from conversations.engine import Reply, command_of
from handlers.inbound import BeforeCommit, Inbound, Outgoing, Stepped
from store.steps import Settled

log = logging.getLogger(__name__)
SEND_NOW = "cmd:send"  # the "send now" button of an urgent report


class Stepper(Protocol):
    """What the pipeline steps its batches with: the workroom (handlers/inbound.py), or
    what answers group chats in its stead (handlers/group_chats.py)."""

    def process_batch(self, msgs: list[Inbound], *, direct: Collection[str] = (),
                      in_flight: Collection[int] = (), settle: Sequence[Settled] = (),
                      before_commit: BeforeCommit | None = None) -> list[Stepped]: ...

    def render_push(self, out: Outgoing) -> Reply: ...


class AsyncSender(Protocol):
    async def send(self, address: str, reply: Reply, edit_ref: str | None = None,
                   *, max_wait: float = 0.0) -> str | None:
        """Send (or edit) one push; the platform's message id, or DeliveryError."""
        ...


@dataclass
class _Chat:
    queue: deque[tuple[Inbound, asyncio.Future[Stepped]]]
    busy: bool = False


class Pipeline:
    """Per-chat order, many chats in flight, one transaction per batch of steps."""

    def __init__(self, workroom: Stepper, senders: dict[str, AsyncSender], *,
                 max_batch: int = 64, urgent_batch: int = 32, routine_batch: int = 32,
                 routine_share: int = 4,
                 pace_wait: float = 5.0, settle_after: float = 0.05,
                 before_commit: BeforeCommit | None = None) -> None:
        self.workroom, self.senders = workroom, senders
        self.before_commit = before_commit  # the channel's own rows, in each batch's commit
        self.urgent_batch, self.routine_batch = urgent_batch, routine_batch
        self.routine_share = routine_share  # routine steps in a batch of urgent ones
        self.settle_after = settle_after
        self.max_batch, self.pace_wait = max_batch, pace_wait
        self._chats: dict[str, _Chat] = {}
        # Chats whose next message is ready, in three lanes, each first come first served:
        # messages that file an urgent report, the rest of urgent reports, routine steps.
        self._filing: deque[str] = deque()
        self._pressing: deque[str] = deque()
        self._routine: deque[str] = deque()
        self._urgent: set[str] = set()  # chats whose last step left them in an urgent flow
        self._closing: set[str] = set()  # ... whose next answer files the report
        self._wake: asyncio.Event | None = None
        self._stepping = asyncio.Lock()  # one batch at a time, on the database thread
        self._task: asyncio.Task[None] | None = None
        self._db = ThreadPoolExecutor(1, thread_name_prefix="workroom-steps")
        self._settled: list[Settled] = []
        self._in_flight: set[int] = set()  # claimed pushes not yet recorded as settled
        self._tails: dict[tuple[str, str], asyncio.Future[None]] = {}  # last send per chat
        self._held: set[tuple[str, str]] = set()  # a send to this chat failed: keep order
        self._sending: set[asyncio.Task[None]] = set()
        self._current: list[tuple[Inbound, asyncio.Future[Stepped]]] = []  # being stepped

    async def submit(self, msg: Inbound) -> Stepped:
        """Step one message; return once its effects are committed."""
        loop = asyncio.get_running_loop()
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
            self._task.add_done_callback(self._stopped)
        future: asyncio.Future[Stepped] = loop.create_future()
        key = msg.conversation_key
        chat = self._chats.setdefault(key, _Chat(deque()))
        chat.queue.append((msg, future))
        if not chat.busy and len(chat.queue) == 1:
            self._queue_up(key)
            self._wake.set()
        return await future

    async def sent(self) -> None:
        """Wait until every push under way has been sent (or handed back)."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def flush(self) -> None:
        """Wait for every send under way and record what became of them."""
        await self.sent()
        async with self._stepping:  # a batch under way may be recording some of them
            pass
        if self._settled:
            await self._step([])

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
        self._db.shutdown(wait=True)

    # --- batches -----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._filing or self._pressing or self._routine:
                keys = self._next_batch()
                items = self._current = []
                for key in keys:
                    chat = self._chats[key]
                    chat.busy = True
                    items.append(chat.queue.popleft())
                results = await self._step([m for m, _ in items])
                # The batch's pushes are on their way before any caller resumes: alerts
                # first, across the whole batch, then replies, each chat's in order.
                outgoing = sorted((out for r in results for out in r.outgoing),
                                  key=lambda o: o.priority)
                for out in outgoing:
                    self._in_flight.add(out.notification_id)
                self._after(outgoing)
                for key, (_, future), result in zip(keys, items, results, strict=True):
                    if result.urgent:
                        self._urgent.add(key)
                    else:
                        self._urgent.discard(key)
                    if result.closing:
                        self._closing.add(key)
                    else:
                        self._closing.discard(key)
                    if not future.done():
                        future.set_result(result)
                    self._release(key)
            if self._settled and not self._sending:
                # Quiet: record the last sends, unless a message comes to carry them.
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settle_after)
                except TimeoutError:
                    await self._step([])

    def _stopped(self, task: asyncio.Task[None]) -> None:
        """The batcher died of a bug: every message waiting on it fails (a webhook
        answers 500, polling does not confirm the offset: the update comes again) rather
        than hang; the next message starts a new batcher."""
        if task.cancelled() or task.exception() is None:
            return
        err = task.exception()
        log.error("pipeline: the batcher stopped", exc_info=err)
        for chat in self._chats.values():
            for _, future in chat.queue:
                if not future.done():
                    future.set_exception(RuntimeError(f"pipeline stopped: {err!r}"))
        for _, future in self._current:
            if not future.done():
                future.set_exception(RuntimeError(f"pipeline stopped: {err!r}"))
        self._chats.clear()
        self._filing.clear()
        self._pressing.clear()
        self._routine.clear()
        self._current = []

    async def _step(self, msgs: list[Inbound]) -> list[Stepped]:
        async with self._stepping:
            return await self._step_locked(msgs)

    async def _step_locked(self, msgs: list[Inbound]) -> list[Stepped]:
        settle, self._settled = self._settled, []
        call = partial(self.workroom.process_batch, msgs, direct=tuple(self.senders),
                       in_flight=set(self._in_flight), settle=settle,
                       before_commit=self.before_commit)
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._db, call)
        except Exception as err:  # the settle itself failed: claims run out, rows resent
            log.exception("pipeline: a batch failed")
            results = [Stepped([], error=err) for _ in msgs]
        for s in settle:
            self._in_flight.discard(s.notification_id)
            if (s.channel, s.address) not in self._tails:  # from now on the database
                self._held.discard((s.channel, s.address))  # keeps that chat's order
        return results

    def _release(self, key: str) -> None:
        chat = self._chats[key]
        chat.busy = False
        if chat.queue:
            self._queue_up(key)
        else:
            del self._chats[key]

    def _next_batch(self) -> list[str]:
        """The next batch: messages that file an urgent report (its last answer, "send
        now") alone and a few at a time, since the leaders' alert leaves with that
        batch's commit; otherwise the steps of urgent reports first, with a few routine
        ones. Within a lane, the chat that has waited longest goes first."""
        if self._filing:
            return self._take(self._filing, self.urgent_batch)
        # While someone is in the middle of an urgent report, batches stay short: the
        # report's last answer waits for the batch under way, not for 64 steps of it; and
        # the reports a batch brings to their last question are filed together next.
        # Yet every batch takes a few routine steps: urgent reports arriving one after
        # another never hold a routine chat back for long.
        limit = self.routine_batch if self._urgent else self.max_batch
        keys = self._take(self._pressing, limit)
        return keys + self._take(self._routine, max(limit - len(keys), self.routine_share))

    @staticmethod
    def _take(lane: deque[str], limit: int) -> list[str]:
        return [lane.popleft() for _ in range(min(limit, len(lane)))]

    def _files(self, key: str) -> bool:
        """Whether the chat's next message may file its urgent report."""
        if key not in self._urgent:
            return False
        msg = self._chats[key].queue[0][0]
        typed = msg.action is None and msg.text is not None and command_of(msg.text) == "send"
        return key in self._closing or msg.action == SEND_NOW or typed

    def _queue_up(self, key: str) -> None:
        """A chat about to file an urgent report goes in the first lane, one in the middle
        of such a report in the second, anyone else in the third."""
        if self._files(key):
            self._filing.append(key)
        elif key in self._urgent:
            self._pressing.append(key)
        else:
            self._routine.append(key)

    # --- sends -------------------------------------------------------------------------

    def _after(self, outgoing: list[Outgoing]) -> None:
        loop = asyncio.get_running_loop()
        for out in outgoing:  # in priority order: alerts leave first
            chat = (out.channel, out.address)
            before = self._tails.get(chat)
            done: asyncio.Future[None] = loop.create_future()
            self._tails[chat] = done
            task = loop.create_task(self._send(out, before, done))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, out: Outgoing, before: Awaitable[None] | None,
                    done: asyncio.Future[None]) -> None:
        chat = (out.channel, out.address)
        try:
            if before is not None:
                await before  # the chat's earlier push first
            settled = await self._deliver(out, chat)
        except Exception as err:  # a bug: the claim runs out and the dispatcher resends
            log.exception("pipeline: sending push %s failed", out.notification_id)
            settled = Settled(out.notification_id, out.channel, out.address, error=str(err))
            self._held.add(chat)
        finally:
            done.set_result(None)
            if self._tails.get(chat) is done:
                del self._tails[chat]
        self._settled.append(settled)
        task = asyncio.current_task()
        if task is not None:
            self._sending.discard(task)  # so the batcher sees it is quiet and records this
        if self._wake is not None:
            self._wake.set()

    async def _deliver(self, out: Outgoing, chat: tuple[str, str]) -> Settled:
        if chat in self._held:  # an earlier push to this chat failed: keep the order
            # Not a failed try: due at once, it waits in the outbox behind the earlier one.
            return Settled(out.notification_id, out.channel, out.address,
                           error="an earlier push to this chat is waiting", retry_after=0.0)
        reply = self.workroom.render_push(out)
        try:
            ref = await self.senders[out.channel].send(
                out.address, reply, out.params.get("edit_ref"), max_wait=self.pace_wait)
        except DeliveryError as err:
            self._held.add(chat)
            return Settled(out.notification_id, out.channel, out.address, error=str(err),
                           retry_after=err.retry_after, fallback=err.fallback)
        return Settled(out.notification_id, out.channel, out.address, ref=ref,
                       keep_ref=out.alert_id is not None)
