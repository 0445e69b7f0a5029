"""After the replay window nothing ties a chat address to what it filed anonymously."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers.inbound import DRAFT_TIMEOUT
from scheduler.runner import purge
from store.models import Case, InboundMessage, Timer
from tests.test_pipeline import COMPLAINT
from tests.transcript import Chat

SECRET_STORY = "十月份加班费一直没有发，车间里很多人都有意见"


def _file_anonymously(svc: Services) -> Chat:
    chat = Chat(svc, person="zhang_wei")
    for said, _ in COMPLAINT[:-2]:
        chat.say(said)
    chat.say("匿名")
    chat.say("确认提交", message_id="anon-confirm")
    assert "回执码" in chat.text
    return chat


def test_replies_are_kept_for_the_replay_window_only(db_services: Services,
                                                     clock: FrozenClock) -> None:
    chat = _file_anonymously(db_services)
    with Session(db_services.db) as s:
        # the draft's timer left no trace (the case's deadline timers are the case's)
        assert s.exec(select(Timer).where(Timer.kind == DRAFT_TIMEOUT)).all() == []
        assert any(SECRET_STORY in str(r.replies) for r in s.exec(select(InboundMessage)))

    clock.advance(timedelta(minutes=30))
    assert purge(db_services) == (0, 0)  # still inside the window: a re-delivery replays
    assert "回执码" in chat.say("确认提交", message_id="anon-confirm")[0].text

    clock.advance(timedelta(minutes=31))
    blanked, _ = purge(db_services)
    assert blanked >= 10
    with Session(db_services.db) as s:
        rows = s.exec(select(InboundMessage)).all()
        assert rows and all(r.replies == [] and r.conversation_key == "" and
                            r.draft_key is None and "zhang_wei" not in r.message_id
                            for r in rows)
    late = chat.say("确认提交", message_id="anon-confirm")  # a very late re-delivery
    assert late[0].text == "这条消息已经收到并处理过了。"
    with Session(db_services.db) as s:
        assert s.exec(select(func.count()).select_from(Case)).one() == 1

    clock.advance(timedelta(hours=48))
    purge(db_services)
    with Session(db_services.db) as s:
        assert s.exec(select(func.count()).select_from(InboundMessage)).one() == 0
