"""The Telegram pipeline: many chats at once, each in order, pushes sent right after the
commit — and whatever fails or is cut off on the way is still delivered, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.pipeline import Pipeline
from bot.telegram import parse
from conversations.catalog import t
from conversations.clock import FrozenClock
from handlers.inbound import Inbound
from store.models import InboundMessage, Notification
from tests.fakes.telegram_api import FakeBotApi, text_update
from tests.test_telegram import TgChat, client, fake, tg  # noqa: F401  (fixtures)
from tests.test_telegram_flows import ask


def _inbound(svc: Services, chat: int, text: str) -> Inbound:
    found = parse(text_update(chat, text))
    assert found is not None
    return found


def _watched(svc: Services, pipeline: Pipeline) -> list[list[str]]:
    """The chats of each batch the pipeline steps, as they are stepped."""
    seen: list[list[str]] = []
    real = svc.workroom.process_batch

    def batch(msgs: list[Inbound], **kw: Any) -> list[Any]:
        if msgs:
            seen.append([m.address for m in msgs])
        return real(msgs, **kw)

    pipeline.workroom = type("W", (), {"process_batch": staticmethod(batch),
                                       "render_push": svc.workroom.render_push})()
    return seen


def _replies_to(svc: Services, chat: int) -> list[Notification]:
    with Session(svc.db) as s:
        return list(s.exec(select(Notification).where(Notification.address == str(chat))
                           .order_by(Notification.id)).all())


async def test_a_reply_that_fails_to_send_comes_later_once(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services,  # noqa: F811
        clock: FrozenClock) -> None:
    chat = TgChat(client, fake, 9101)
    fake.fail_next("sendMessage", status=502)
    assert await chat.say("/start") == []  # the step is saved; Telegram is down
    [row] = _replies_to(tg, 9101)
    assert (row.status, row.attempts, row.claimed_until) == ("pending", 1, None)
    clock.advance(timedelta(seconds=6))  # the dispatcher's first back-off
    await asyncio.to_thread(tg.dispatcher.drain)
    assert chat.new_texts() == [t("zh", "menu.welcome")]
    await asyncio.to_thread(tg.dispatcher.drain)
    assert chat.new_texts() == []  # never twice
    assert [r.status for r in _replies_to(tg, 9101)] == ["sent"]


def test_pushes_claimed_by_a_process_that_died_are_sent_when_the_claim_runs_out(
        tg: Services, fake: FakeBotApi, clock: FrozenClock) -> None:  # noqa: F811
    # The step commits and claims its reply for its own process, which dies before
    # sending it: nobody else sends it while the claim holds, the dispatcher does after.
    [done] = tg.workroom.process_batch([_inbound(tg, 9102, "/start")], direct=("telegram",))
    assert done.error is None and len(done.outgoing) == 1
    assert tg.dispatcher.drain() == 0
    assert fake.sent_messages(9102) == []
    clock.advance(timedelta(seconds=31))
    assert tg.dispatcher.drain() == 1
    assert len(fake.sent_messages(9102)) == 1
    assert tg.dispatcher.drain() == 0


def test_a_message_that_fails_does_not_hold_up_the_others_in_its_batch(
        tg: Services, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    step = tg.workroom.engine.step

    def faulty(raw: Any, *, text: str | None = None, **kw: Any) -> Any:
        if text == "boom":
            raise RuntimeError("a bug in one step")
        return step(raw, text=text, **kw)

    monkeypatch.setattr(tg.workroom.engine, "step", faulty)
    msgs = [_inbound(tg, 9103, "/start"), _inbound(tg, 9104, "boom"),
            _inbound(tg, 9105, "/start")]
    first, broken, last = tg.workroom.process_batch(msgs)
    assert first.replies and last.replies and first.error is None and last.error is None
    assert isinstance(broken.error, RuntimeError) and broken.replies == []
    with Session(tg.db) as s:
        logged = {m.conversation_key for m in s.exec(select(InboundMessage)).all()}
    assert logged == {"telegram:9103", "telegram:9105"}  # the failed one comes again


async def test_each_chat_in_order_while_the_others_go_on(
        fake: FakeBotApi, tg: Services) -> None:  # noqa: F811
    said = ["紧急情况报告", "二十多人聚集在厂门口", "厂门口", "25"]
    others = list(range(9200, 9230))

    async def talk(chat: int, texts: list[str]) -> None:
        for text in texts:
            await tg.telegram.handle_from_other_loop(text_update(chat, text))

    await asyncio.gather(talk(9106, said), *(talk(c, ["/start"]) for c in others))
    await tg.telegram.settled()
    texts = [c.text for c in fake.sent_messages(9106)]
    asked = [next(i for i, t in enumerate(texts) if key in t)
             for key in ("发生了什么", "在哪里", "多少人", "措施")]
    assert asked == sorted(asked)  # every answer's next question, in order
    assert all(len(fake.sent_messages(c)) == 1 for c in others)
    with Session(tg.db) as s:
        assert all(n.status == "sent" for n in s.exec(select(Notification)).all())


async def test_after_a_failed_send_the_chats_next_push_waits_behind_it_in_order(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services,  # noqa: F811
        clock: FrozenClock) -> None:
    chat = TgChat(client, fake, 9107)
    fake.fail_next("sendMessage", status=502)  # the first step's reply
    assert await chat.say(t("zh", "menu.emergency")) == []
    # The next step's reply does not overtake it: it waits, untried, for the dispatcher.
    assert await chat.say("二十多人聚集在厂门口要求发工资") == []
    first, second = _replies_to(tg, 9107)
    assert (first.status, first.attempts, second.status, second.attempts) == (
        "pending", 1, "pending", 0)  # only the first was tried
    clock.advance(timedelta(seconds=6))
    await asyncio.to_thread(tg.dispatcher.drain)
    assert chat.new_texts() == [t("zh", "emergency.intro") + "\n\n"
                                + ask("zh", "emergency", "what", 1, 5),
                                ask("zh", "emergency", "place", 2, 5)]


async def test_a_batcher_that_dies_fails_its_waiting_updates_instead_of_hanging(
        tg: Services) -> None:  # noqa: F811
    """A bug in the batcher must not leave webhooks hanging: the updates waiting on it
    fail (so they are not confirmed and come again), and the next one is handled."""
    pipeline = Pipeline(tg.workroom, {})
    broken = {"on": True}
    real = tg.workroom.process_batch

    def batch(msgs: list[Inbound], **kw: Any) -> list[Any]:
        if broken["on"]:
            return []  # a bug: fewer results than messages
        return real(msgs, **kw)

    pipeline.workroom = type("W", (), {"process_batch": staticmethod(batch),
                                       "render_push": tg.workroom.render_push})()
    waiting = [pipeline.submit(_inbound(tg, 9200 + n, "/start")) for n in range(3)]
    done = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 10)
    assert all(isinstance(d, RuntimeError) for d in done), done
    with Session(tg.db) as s:
        assert s.exec(select(InboundMessage)).all() == []  # nothing was stored for them
    broken["on"] = False
    again = await asyncio.wait_for(pipeline.submit(_inbound(tg, 9200, "/start")), 10)
    assert again.error is None and again.replies
    await pipeline.close()


async def test_the_answer_that_files_an_emergency_is_stepped_before_waiting_chats(
        tg: Services) -> None:  # noqa: F811
    """Forty chats are waiting when a worker sends an emergency's last answer: that answer
    is stepped first, on its own, so the leaders' alert is not held behind their steps."""
    pipeline = Pipeline(tg.workroom, {})
    seen = _watched(tg, pipeline)
    said = ["紧急情况报告", "二十多人聚集在厂门口", "厂门口", "25", "车间主任已到场劝导"]
    for text in said:  # the worker reaches the last question
        done = await pipeline.submit(_inbound(tg, 9300, text))
    assert done.urgent and done.closing
    seen.clear()
    others = [pipeline.submit(_inbound(tg, 9400 + n, "/start")) for n in range(40)]
    last = pipeline.submit(_inbound(tg, 9300, "请财务部门到场说明"))
    results = await asyncio.wait_for(asyncio.gather(*others, last), 30)
    assert seen[0] == ["9300"]  # alone, ahead of the forty
    assert sorted(a for b in seen[1:] for a in b) == sorted(str(9400 + n) for n in range(40))
    assert any("E-2026-" in r.text for r in results[-1].replies)
    await pipeline.close()


async def test_send_now_typed_is_stepped_before_waiting_chats_as_the_button_is(
        tg: Services) -> None:  # noqa: F811
    """A worker types "/send" (or "立即发送") rather than pressing the button while forty
    chats wait: it files the report, and goes first, as the button does."""
    pipeline = Pipeline(tg.workroom, {})
    seen = _watched(tg, pipeline)
    for text in ["紧急情况报告", "二十多人聚集在厂门口", "厂门口"]:  # it may be sent now
        done = await pipeline.submit(_inbound(tg, 9350, text))
    assert done.urgent and not done.closing
    seen.clear()
    others = [pipeline.submit(_inbound(tg, 9450 + n, "/start")) for n in range(40)]
    last = pipeline.submit(_inbound(tg, 9350, "/send"))
    results = await asyncio.wait_for(asyncio.gather(*others, last), 30)
    assert seen[0] == ["9350"]  # alone, ahead of the forty
    assert any("E-2026-" in r.text for r in results[-1].replies)
    await pipeline.close()


async def test_routine_batches_stay_short_while_a_worker_is_in_an_emergency_report(
        tg: Services) -> None:  # noqa: F811
    """The report's last answer waits for the batch under way: while someone is in the
    middle of an emergency, seventy routine chats go in batches of at most 32, not one of
    seventy."""
    pipeline = Pipeline(tg.workroom, {})
    seen = _watched(tg, pipeline)
    said = ["紧急情况报告", "二十多人聚集在厂门口", "厂门口", "25", "车间主任已到场劝导",
            "请财务部门到场说明"]
    for text in said[:3]:  # what and where answered: the report can be sent any moment
        done = await pipeline.submit(_inbound(tg, 9500, text))
    assert done.urgent and not done.closing
    seen.clear()
    await asyncio.wait_for(asyncio.gather(
        *(pipeline.submit(_inbound(tg, 9600 + n, "/start")) for n in range(70))), 30)
    assert [len(b) for b in seen] == [32, 32, 6]
    for text in said[3:]:  # the report is sent: nobody is in an urgent flow any more
        done = await pipeline.submit(_inbound(tg, 9500, text))
    assert not done.urgent
    seen.clear()
    await asyncio.wait_for(asyncio.gather(
        *(pipeline.submit(_inbound(tg, 9700 + n, "/start")) for n in range(70))), 30)
    assert [len(b) for b in seen] == [64, 6]
    await pipeline.close()


async def test_reporters_are_stepped_in_turn_and_routine_chats_keep_moving(
        tg: Services) -> None:  # noqa: F811
    """Twelve workers in the middle of emergency reports answer the next question: they
    are stepped in the order they wrote, and routine chats that wrote before them are not
    held back until every urgent step is done: each batch takes a few of them."""
    pipeline = Pipeline(tg.workroom, {}, max_batch=8, routine_batch=8, routine_share=2)
    seen = _watched(tg, pipeline)
    reporters = [str(9800 + n) for n in range(12)]
    for chat in reporters:  # what and where answered: each report can be sent any moment
        for text in ["紧急情况报告", "二十多人聚集在厂门口", "厂门口"]:
            done = await pipeline.submit(_inbound(tg, int(chat), text))
        assert done.urgent and not done.closing
    seen.clear()
    routine = [pipeline.submit(_inbound(tg, 9900 + n, "/start")) for n in range(6)]
    urgent = [pipeline.submit(_inbound(tg, int(chat), "25")) for chat in reporters]
    await asyncio.wait_for(asyncio.gather(*routine, *urgent), 30)
    assert [a for b in seen for a in b if a in reporters] == reporters  # in turn
    assert seen == [[*reporters[:8], "9900", "9901"],
                    [*reporters[8:], "9902", "9903", "9904", "9905"]]
    await pipeline.close()
