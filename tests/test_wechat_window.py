"""WeChat's 48-hour customer-service window: the official account may write to a follower
only within 48 hours of their last message. A push it refuses (45015) is not "sent" to a
web inbox the worker never opened: it waits for the worker's next message and goes then;
the handler and the staff are told, in words that say so; the worker can read the answer
under 我反映的问题 before rating it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.catalog import t
from handlers.notices import render
from store.models import Booking, InboxMessage, Notification, Person
from tests.calendar_helpers import run_until
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat_flows import complaint_steps, leader
from tests.transcript import all_rows
from tests.wechat_chat import WxChat, api, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

ZHANG_WEI = "demo_openid_zhangwei"  # 张伟's official-account openid in the demo org file
SEND = "/cgi-bin/message/custom/send"
REPLY = "十月加班费将于本月 30 日随工资补发，请注意查收。"


async def drain(svc: Services) -> None:
    await asyncio.to_thread(svc.dispatcher.drain)


async def answer_after_three_days(client: httpx.AsyncClient, wx: Services,
                                  api: FakeWeChatApi, openid: str) -> tuple[WxChat, WxChat]:
    """A worker files a complaint on the official account and says nothing for three
    days; 赵国强 answers it on WeCom and WeChat refuses the push (45015)."""
    zhao = await leader(client, wx, api, "demo_zhaoguoqiang")
    worker = WxChat(client, wx, api, "wechat", openid)
    await run(worker, [*complaint_steps("十月份的加班费到现在还没有发下来", "补发十月加班费"),
                       ("确认提交", "C-2026-0001")])
    await drain(wx)
    zhao.new_texts()
    wx.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    api.fail_next(SEND, 45015, to=openid)
    await run(zhao, [("办理此问题", "答复反映人"), ("答复反映人", ""), (REPLY, ""),
                     ("确认提交", "C-2026-0001")])
    await drain(wx)
    return worker, zhao


def _reply_push(wx: Services) -> Notification:
    [row] = all_rows(wx, Notification, Notification.message_key == "notice.case_replied")
    return row


async def test_a_reply_refused_for_the_window_waits_for_the_workers_next_message(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    worker, zhao = await answer_after_three_days(client, wx, api, ZHANG_WEI)
    row = _reply_push(wx)
    assert (row.status, row.delivered_channel) == ("held", None)
    # Not "delivered" to the web inbox 张伟 never opened.
    assert all_rows(wx, InboxMessage, InboxMessage.address == "p:zhang_wei") == []
    assert worker.new_texts() == []
    # The leader who wrote the answer is told what happened and what will happen.
    text = render("notice.case_replied", row.params, "zh", wx.settings.zone).text
    told = t("zh", "notice.delivery_held", recipient="张伟", channels="微信", text=text)
    assert told in zhao.new_texts()
    with Session(wx.db) as s:
        staff = {s.get(Person, n.recipient_id).key for n in s.exec(  # type: ignore[union-attr]
            select(Notification).where(Notification.message_key == "notice.delivery_held"))}
    assert staff == {"zhao_guoqiang", "chen_lihua", "liu_fang"}
    assert all_rows(wx, Notification, Notification.message_key == "notice.delivery_failed") \
        == []
    # A week later 张伟 writes again: his list shows the answer, and the push goes now.
    wx.clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
    [mine, *_] = await worker.say("我反映的问题")
    assert t("zh", "query.my_cases.reply", reply=REPLY) in mine
    assert t("zh", "query.my_cases.rate") in mine
    await drain(wx)
    assert any(REPLY in x and "C-2026-0001" in x for x in worker.new_texts())
    row = _reply_push(wx)
    assert (row.status, row.delivered_channel) == ("sent", "wechat")


async def test_a_follower_not_in_the_org_file_is_waited_for_and_the_staff_say_so(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """No other way to reach an unknown follower: not given up after one refusal with
    "多次发送失败", but kept for their next message, and the words say just that."""
    worker, zhao = await answer_after_three_days(client, wx, api, "o_new_follower")
    row = _reply_push(wx)
    assert row.status == "held" and row.attempts == 1
    text = render("notice.case_replied", row.params, "zh", wx.settings.zone).text
    told = t("zh", "notice.delivery_held_unknown", recipient=t("zh", "person.unverified"),
             channels="微信", text=text)
    assert told in zhao.new_texts()
    assert all_rows(wx, Notification, Notification.message_key == "notice.delivery_failed") \
        == []
    await worker.say("你好")
    await drain(wx)
    assert any(REPLY in x for x in worker.new_texts())
    assert _reply_push(wx).status == "sent"


async def test_a_visit_reminder_held_past_the_visit_is_dropped_not_sent_late(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """The day-before reminder is refused: kept for 张伟's next message (the staff are
    told, to phone him), but once the visit has begun it is no use and is not sent."""
    from tests.calendar_helpers import publish_roster

    publish_roster(wx)  # a workroom running a while: its receptions are published
    worker = WxChat(client, wx, api, "wechat", ZHANG_WEI)
    await worker.say("预约领导接访")
    await worker.say("10")
    await worker.say("想谈谈十月加班费的问题")
    await worker.say("确认提交")
    [booking] = all_rows(wx, Booking)
    api.fail_next(SEND, 45015, to=ZHANG_WEI, times=100)
    wx.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(run_until, wx, wx.clock,  # type: ignore[arg-type]
                            wx.clock.now() + timedelta(days=16))
    reminders = all_rows(wx, Notification, col(Notification.message_key).like(
        "notice.booking_remind_%_visitor"))
    assert [r.status for r in reminders] == ["held", "held"]
    assert all_rows(wx, InboxMessage, InboxMessage.address == "p:zhang_wei") == []
    assert len(all_rows(wx, Notification,
                        Notification.message_key == "notice.delivery_held")) >= 2
    api.clear_failures()  # the window is open again once he writes
    worker.new_texts()
    await worker.say("你好")
    await drain(wx)
    assert not any(booking.number in x and "【提醒】" in x for x in worker.new_texts())
    assert [r.status for r in all_rows(wx, Notification, col(Notification.message_key).like(
        "notice.booking_remind_%_visitor"))] == ["cancelled", "cancelled"]
