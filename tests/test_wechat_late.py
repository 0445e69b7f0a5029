"""WeChat's 5 seconds without losing or doubling anything: a late message is durable before
it is answered `success`, a passive reply is recorded as sent in its step's transaction, a
failed step gives its nonce back for WeChat's retry, and one message posted three times
at once is one record and one reply. Regression tests of the review of issue 5."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from bot import wechat_jobs
from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.db import make_engine
from store.models import HeldInbound, InboundMessage, Notification, Suggestion, Timer
from store.shared import RedisShared, SharedStore, SqlShared
from tests.conftest import REDIS_URL, prepared_engine
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat import SUGGESTION
from tests.transcript import all_rows
from tests.wechat_chat import (
    WxChat,
    api,
    app_client,
    client,
    client_db,
    count,
    failing_steps,
    run,
    slow_steps,
    wechat_services,
    wx,
    wx_db,
)

__all__ = ["api", "client", "client_db", "wx", "wx_db"]  # fixtures from tests/wechat_chat

LATE = 1.2  # the deadline of these tests: a cold first step (and the hold waiting on its
# SQLite write lock) fits in it on a busy machine
SLOW = 2.0  # how long a late step takes


def stuck_steps(svc: Services) -> threading.Event:
    """Steps wait until the event is set (a machine that stalls, or a process about to
    die mid-step); then they go on."""
    go = threading.Event()
    real = svc.workroom.process_batch

    def stuck(msgs: list[Any], **kw: Any) -> Any:
        if msgs:
            go.wait(30)
        return real(msgs, **kw)

    svc.workroom.process_batch = stuck  # type: ignore[method-assign]
    return go


def late_timers(svc: Services) -> list[Timer]:
    return all_rows(svc, Timer, Timer.kind == wechat_jobs.LATE, col(Timer.done_at).is_(None))


# --- 1. durable before `success` ------------------------------------------------------


async def test_a_late_message_is_held_before_success_and_another_process_steps_it(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    engine = prepared_engine(sqlite_url, clock.now())
    first = wechat_services(sqlite_url, clock, api, engine=engine,
                            wechat_reply_deadline_seconds=LATE)
    go = stuck_steps(first)
    try:
        async for client in app_client(first):
            chat = WxChat(client, first, api, "wechat", "o_crash")
            message = chat.inner("text", Content="提建议")
            params, body = chat.callbacks.post(message)
            r = await client.post("/wechat/callback", params=params, content=body)
            assert (r.status_code, r.text) == (200, "success")
            # Answered before the step: the message is on disk all the same.
            [held] = all_rows(first, HeldInbound)
            assert (held.channel, held.inbound["text"]) == ("wechat", "提建议")
            assert count(first, InboundMessage) == 0 and len(late_timers(first)) == 1
        # This process is gone before its step commits; another one's timer sweep finds
        # the held message once its lease is over, steps it, and sends its reply.
        second = wechat_services(sqlite_url, clock, api, engine=make_engine(sqlite_url))
        try:
            clock.advance(wechat_jobs.HOLD_LEASE + timedelta(seconds=1))
            assert await asyncio.to_thread(second.sweeper.drain) == 1
            await asyncio.to_thread(second.dispatcher.drain)
            await asyncio.to_thread(second.wechat.settle_all)
            [sent] = api.sent(to="o_crash")  # the step's replies, as one message
            assert sent.path == "/cgi-bin/message/custom/send"
            assert "感谢您提建议" in sent.text and "（1/3）" in sent.text
            assert count(second, InboundMessage) == 1 and all_rows(second, HeldInbound) == []
            assert late_timers(second) == []
            # WeChat asks again (the `success` was lost): absorbed, nothing sent twice.
            async for client in app_client(second):
                retry = WxChat(client, second, api, "wechat", "o_crash")
                r = await retry.post_raw(*retry.callbacks.post(message))
                assert (r.status_code, r.text) == (200, "success")
            # The stalled step of the first process ends after all: a repeat, no reply.
            go.set()
            await asyncio.to_thread(first.wechat.settle_all)
            await asyncio.to_thread(second.dispatcher.drain)
            assert len(api.sent(to="o_crash")) == 1 and count(second, InboundMessage) == 1
            assert [n.status for n in all_rows(second, Notification)] == ["sent", "sent"]
        finally:
            second.close()
    finally:
        go.set()
        first.close()


async def test_a_late_step_that_fails_is_stepped_again_by_the_sweep(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_failing")
            slow_steps(svc, SLOW, fail=1)
            r = await chat.send_inner(chat.inner("text", Content="提建议"))
            assert (r.status_code, r.text) == (200, "success")
            assert chat.new_texts() == [] and count(svc, InboundMessage) == 0
            [timer] = late_timers(svc)
            assert timer.due_at <= clock.now()  # due at once, not after the lease
            assert await asyncio.to_thread(svc.sweeper.drain) == 1
            await asyncio.to_thread(svc.wechat.settle_all)
            [text] = chat.new_texts()
            assert "哪方面" in text and count(svc, InboundMessage) == 1
            assert all_rows(svc, HeldInbound) == [] and late_timers(svc) == []
            await run(chat, [("4", "请写下")])  # the conversation goes on
    finally:
        svc.close()


async def test_a_late_step_that_commits_is_no_longer_held_and_replies_once(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_late")
            slow_steps(svc, SLOW)
            message = chat.inner("text", Content="提建议")
            r = await chat.send_inner(message)
            assert (r.status_code, r.text) == (200, "success")
            [text] = chat.new_texts()
            assert "哪方面" in text
            assert all_rows(svc, HeldInbound) == [] and late_timers(svc) == []
            for _ in range(2):  # WeChat's retries, each signed afresh: absorbed
                r = await chat.send_inner(message)
                assert (r.status_code, r.text) == (200, "success")
            clock.advance(timedelta(minutes=5))
            await asyncio.to_thread(svc.sweeper.drain)
            await asyncio.to_thread(svc.dispatcher.drain)
            assert chat.new_texts() == [] and count(svc, InboundMessage) == 1
    finally:
        svc.close()


async def test_a_message_neither_committed_nor_held_in_time_gets_a_503(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi,
        monkeypatch: pytest.MonkeyPatch) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    real_hold = wechat_jobs.hold

    def slow_hold(*args: Any) -> None:  # the database is stalled too
        time.sleep(SLOW + 0.6)
        real_hold(*args)

    monkeypatch.setattr(wechat_jobs, "hold", slow_hold)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_stalled")
            quick = svc.workroom.process_batch
            slow_steps(svc, SLOW)
            message = chat.inner("text", Content="提建议")
            params, body = chat.callbacks.post(message)
            began = time.monotonic()
            r = await client.post(chat.path, params=params, content=body)
            assert r.status_code == 503 and time.monotonic() - began < SLOW
            await asyncio.to_thread(svc.wechat.settle_all)
            # Not acknowledged, and not lost either: the step went on and replied.
            [text] = chat.new_texts()
            assert "哪方面" in text
            # WeChat's retry is the one answered (the machine has recovered).
            svc.workroom.process_batch = quick  # type: ignore[method-assign]
            r = await chat.send_inner(message)
            assert (r.status_code, r.text) == (200, "success")
            assert chat.new_texts() == [] and count(svc, InboundMessage) == 1
            # The hold finished late: the sweep finds the message stepped, and lets go.
            await asyncio.sleep(max(0.0, began + SLOW + 0.8 - time.monotonic()))
            clock.advance(wechat_jobs.HOLD_LEASE + timedelta(seconds=1))
            await asyncio.to_thread(svc.sweeper.drain)
            await asyncio.to_thread(svc.dispatcher.drain)
            assert chat.new_texts() == [] and all_rows(svc, HeldInbound) == []
            assert late_timers(svc) == [] and count(svc, InboundMessage) == 1
    finally:
        svc.close()


async def test_a_message_held_while_its_step_was_slow_is_let_go_after_a_passive_reply(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_slowish")
            await run(chat, [("你好", "提建议")])
            slow_steps(svc, LATE / 4)  # slow enough to be held, in time to be answered
            [text] = await chat.say("提建议")
            assert "哪方面" in text and api.sent() == []  # the passive reply
            assert all_rows(svc, HeldInbound) == [] and late_timers(svc) == []
    finally:
        svc.close()


async def test_a_persons_replies_arrive_in_the_order_of_their_steps(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_order")
            await run(chat, [("你好", "提建议")])
            quick = svc.workroom.process_batch
            slow_steps(svc, SLOW)
            api.delay_next("/cgi-bin/message/custom/send", 1.5, to="o_order")
            first = chat.callbacks.post(chat.inner("text", Content="提建议"))
            r = await client.post(chat.path, params=first[0], content=first[1])
            assert r.text == "success"  # late: its replies go by message, slowly
            while count(svc, InboundMessage) < 2:
                await asyncio.sleep(0.02)
            svc.workroom.process_batch = quick  # type: ignore[method-assign]
            # The next message's step is quick, but its reply would overtake the first's:
            # it goes by message too, after the first's.
            second = chat.callbacks.post(chat.inner("text", Content="4"))
            r = await client.post(chat.path, params=second[0], content=second[1])
            assert r.text == "success"
            await asyncio.to_thread(svc.wechat.settle_all)
            texts = chat.new_texts()
            assert len(texts) == 2 and "哪方面" in texts[0] and "请写下" in texts[1]
    finally:
        svc.close()


# --- 2. a passive reply is recorded with its step ---------------------------------------


class _Dead:
    """A send pool of a process that died right after answering: nothing runs."""

    def submit(self, *args: Any, **kw: Any) -> None:
        return None

    def shutdown(self, wait: bool = True) -> None:
        return None


async def test_a_passive_reply_is_recorded_as_sent_with_its_step(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", "o_passive")
    alive = wx.wechat._sends
    wx.wechat._sends = _Dead()  # type: ignore[assignment]
    try:
        params, body = chat.callbacks.post(chat.inner("text", Content="提建议"))
        r = await client.post("/wechat/callback", params=params, content=body)
        assert r.status_code == 200 and "哪方面" in chat.callbacks.read_reply(r.text)["Content"]
        replies = all_rows(wx, Notification)  # the introduction and the first question
        assert [(n.status, n.delivered_channel, n.delivered_ref, n.claimed_until)
                for n in replies] == [("sent", "wechat", "passive", None)] * 2
        # Past every claim, the dispatcher finds nothing to send again.
        wx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        assert await asyncio.to_thread(wx.dispatcher.drain) == 0
        assert api.sent() == []
    finally:
        wx.wechat._sends = alive


# --- 3. a failed step gives its nonce back ----------------------------------------------


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_a_failed_step_gives_its_nonce_back_for_wechats_retry(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi, kind: str) -> None:
    chat = WxChat(client_db, wx_db, api, kind, "o_retried" if kind == "wechat" else "wk_retried")
    failing_steps(wx_db, 1)
    params, body = chat.callbacks.post(chat.inner("text", Content="提建议"))
    r = await chat.post_raw(params, body)
    assert r.status_code == 500 and count(wx_db, InboundMessage) == 0
    r = await chat.post_raw(params, body)  # WeChat's retry: the very same request
    assert r.status_code == 200
    [text] = chat.new_texts()
    assert "哪方面" in text
    assert count(wx_db, InboundMessage) == 1 and api.sent() == []
    r = await chat.post_raw(params, body)  # once more: given what it got, nothing stored
    assert r.status_code == 200 and chat.new_texts() == [text]
    assert count(wx_db, InboundMessage) == 1 and api.sent() == []


async def test_a_batch_that_fails_gives_every_nonce_back(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    slow_steps(wx, 0.05, fail=1)  # the whole batch fails before it is stepped
    chats = [WxChat(client, wx, api, "wechat", f"o_batch{i}") for i in range(3)]
    posts = [c.callbacks.post(c.inner("text", Content="提建议")) for c in chats]
    first = await asyncio.gather(*(client.post("/wechat/callback", params=p, content=b)
                                   for p, b in posts))
    await asyncio.to_thread(wx.wechat.settle_all)
    failed = [p for p, r in zip(posts, first, strict=True) if r.status_code == 500]
    assert failed and all(r.status_code in (200, 500) for r in first)
    again = await asyncio.gather(*(client.post("/wechat/callback", params=p, content=b)
                                   for p, b in failed))
    assert [r.status_code for r in again] == [200] * len(failed)
    assert count(wx, InboundMessage) == 3


@pytest.mark.parametrize("backend", ["sql", "redis"])
def test_the_shared_store_gives_nonces_back(
        sqlite_url: str, clock: FrozenClock, backend: str,
        request: pytest.FixtureRequest) -> None:
    engine = prepared_engine(sqlite_url, clock.now())
    shared: SharedStore
    if backend == "redis":
        request.getfixturevalue("redis_store")  # fails loudly when Redis is down
        shared = RedisShared(REDIS_URL, prefix=f"wrtest:nonces:{id(request)}:")
    else:
        shared = SqlShared(engine, clock)
    try:
        ttl = timedelta(minutes=10)
        assert shared.add_new(["n:a", "n:b", "n:c"], ttl) == {"n:a", "n:b", "n:c"}
        assert shared.add_new(["n:a", "n:b"], ttl) == set()
        shared.delete_many(["n:a", "n:b"])
        assert shared.add_new(["n:a", "n:b", "n:c"], ttl) == {"n:a", "n:b"}
        # Many values in one read: those there and not expired.
        shared.put("w:x", "零报告", ttl)
        shared.put("w:y", "old", timedelta(seconds=1))
        if backend == "sql":  # the SQL store's expiry follows the clock
            clock.advance(timedelta(seconds=2))
            assert shared.get_many(["w:y"]) == {}
        assert shared.get_many(["w:x", "w:x", "w:none"]) == {"w:x": "零报告"}
        assert shared.get_many([]) == {}
    finally:
        if isinstance(shared, RedisShared):
            shared.clear_all()
        engine.dispose()


# --- retries at once --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_one_message_posted_three_times_at_once_is_one_record_and_one_reply(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi, kind: str) -> None:
    chat = WxChat(client_db, wx_db, api, kind, "o_thrice" if kind == "wechat" else "wk_thrice")
    await run(chat, SUGGESTION[:-1])
    confirm = chat.inner("text", Content="确认提交")
    posts = [chat.callbacks.post(confirm) for _ in range(3)]  # each signed afresh
    answers = await asyncio.gather(*(client_db.post(chat.path, params=p, content=b)
                                     for p, b in posts))
    await asyncio.to_thread(chat.channel.settle_all)
    assert [r.status_code for r in answers] == [200, 200, 200]
    texts = {chat.callbacks.read_reply(r.text)["Content"] for r in answers}
    assert len(texts) == 1 and "S-2026-0001" in texts.pop()
    # Not by message to the worker (the staff's notice goes on their WeCom).
    assert count(wx_db, Suggestion) == 1 and api.sent(to=chat.user) == []
    with Session(wx_db.db) as s:
        mid = confirm.split("<MsgId>")[1].split("<")[0]
        replies = s.exec(select(Notification).where(
            col(Notification.idempotency_key).startswith(f"reply:{kind}:{mid}:"))).all()
        [logged] = s.exec(select(InboundMessage).where(InboundMessage.message_id == mid)).all()
    # One step's replies (the receipt, the menu), each written once, given passively.
    assert [(n.status, n.delivered_ref) for n in replies] == [("sent", "passive")] * len(
        logged.replies) and len(replies) == 2
    await asyncio.to_thread(wx_db.dispatcher.drain)
    assert api.sent(to=chat.user) == []


async def test_settle_all_says_so_when_work_is_still_under_way(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    go = stuck_steps(svc)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_waiting")
            params, body = chat.callbacks.post(chat.inner("text", Content="提建议"))
            r = await client.post(chat.path, params=params, content=body)
            assert (r.status_code, r.text) == (200, "success")
            with pytest.raises(TimeoutError, match="1 tasks under way"):
                await asyncio.to_thread(svc.wechat.settle_all, 0.3)
            go.set()
            await asyncio.to_thread(svc.wechat.settle_all)
            assert "哪方面" in chat.new_texts()[0]
    finally:
        go.set()
        svc.close()


# --- an emergency goes first --------------------------------------------------------


async def test_an_emergency_ready_to_send_is_stepped_before_routine_messages_queued_first(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Regression: the adapter's own batching had no priority lane: "立即发送" waited in
    one batch with every routine message queued before it."""
    reporter = WxChat(client, wx, api, "wechat", "o_urgent")
    await run(reporter, [("紧急情况报告", "发生了什么"), ("二十多人聚集在厂门口", "在哪里"),
                         ("厂门口", "多少人")])
    batches: list[list[str]] = []
    go = threading.Event()
    real = wx.workroom.process_batch

    def recorded(msgs: list[Any], **kw: Any) -> Any:
        if msgs:
            batches.append([m.address for m in msgs])
            go.wait(30)
        return real(msgs, **kw)

    wx.workroom.process_batch = recorded  # type: ignore[method-assign]
    channel = wx.wechat
    routine = [WxChat(client, wx, api, "wechat", f"o_routine{i}") for i in range(6)]
    posts = [c.callbacks.post(c.inner("text", Content="提建议")) for c in routine]

    async def until(done: Any) -> None:
        for _ in range(500):
            with channel._lock:
                if done():
                    return
            await asyncio.sleep(0.01)
        raise AssertionError("never came")

    def post(p: dict[str, str], b: bytes) -> asyncio.Future[httpx.Response]:
        return asyncio.ensure_future(client.post("/wechat/callback", params=p, content=b))

    tasks = [post(*posts[0])]
    await until(lambda: batches)  # its step is held up; the others wait behind it
    tasks += [post(p, b) for p, b in posts[1:]]
    await until(lambda: len(channel._queue) == len(routine) - 1)
    urgent = reporter.callbacks.post(reporter.inner("text", Content="立即发送"))
    tasks.append(post(*urgent))
    await until(lambda: len(channel._queue) == len(routine))
    go.set()
    answers = await asyncio.gather(*tasks)
    await asyncio.to_thread(channel.settle_all)
    assert [r.status_code for r in answers] == [200] * len(answers)
    assert "E-2026-0001" in reporter.callbacks.read_reply(answers[-1].text)["Content"]
    # The batch held up first, then the emergency alone, then the routine ones.
    assert batches[:2] == [["o_routine0"], ["o_urgent"]], batches
    assert sorted(a for b in batches[2:] for a in b) == [c.user for c in routine[1:]]


# --- WeChat's retry with the nonce it used --------------------------------------------


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_a_lost_passive_answer_is_given_again_to_the_retry_with_the_same_nonce(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi, kind: str) -> None:
    """Regression: the retry was refused as a replay (409): the record kept, its receipt
    never reached the worker."""
    chat = WxChat(client_db, wx_db, api, kind, "o_lost" if kind == "wechat" else "wk_lost")
    await run(chat, SUGGESTION[:-1])
    params, body = chat.callbacks.post(chat.inner("text", Content="确认提交"))
    first = await chat.post_raw(params, body)  # its answer never reaches WeChat
    assert first.status_code == 200
    [given] = chat.new_texts()
    assert "S-2026-0001" in given
    rows = [count(wx_db, m) for m in (Suggestion, InboundMessage, Notification)]
    again = await chat.post_raw(params, body)  # WeChat asks again: the very same request
    assert again.status_code == 200 and chat.new_texts() == [given]
    assert [count(wx_db, m) for m in (Suggestion, InboundMessage, Notification)] == rows
    wx_db.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx_db.dispatcher.drain)
    assert api.sent(to=chat.user) == []  # given passively, twice; never by message


async def test_a_retry_with_the_nonce_of_a_message_answered_success_gets_success(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    """The first process answered `success` and holds the message, its step stalled;
    WeChat's retry (the same request) reaches another process: `success`, not a 409."""
    engine = prepared_engine(sqlite_url, clock.now())
    first = wechat_services(sqlite_url, clock, api, engine=engine,
                            wechat_reply_deadline_seconds=LATE)
    go = stuck_steps(first)
    second = wechat_services(sqlite_url, clock, api, engine=make_engine(sqlite_url))
    try:
        async for client in app_client(first):
            chat = WxChat(client, first, api, "wechat", "o_held_retry")
            request = chat.callbacks.post(chat.inner("text", Content="提建议"))
            r = await client.post("/wechat/callback", params=request[0], content=request[1])
            assert (r.status_code, r.text) == (200, "success")
            assert len(all_rows(first, HeldInbound)) == 1
        async for client in app_client(second):
            r = await client.post("/wechat/callback", params=request[0], content=request[1])
            assert (r.status_code, r.text) == (200, "success")
        assert count(second, InboundMessage) == 0  # the held message is not stepped here
        go.set()
        await asyncio.to_thread(first.wechat.settle_all)
        assert count(second, InboundMessage) == 1
        [sent] = api.sent(to="o_held_retry")
        assert "哪方面" in sent.text
    finally:
        go.set()
        second.close()
        first.close()
