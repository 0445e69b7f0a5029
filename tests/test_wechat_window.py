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
from tests.wechat_chat import WxChat, api, client, client_db, run, wx, wx_db

__all__ = ["api", "client", "client_db", "wx", "wx_db"]  # fixtures from tests/wechat_chat

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


async def _alert_held_for_sun(client: httpx.AsyncClient, svc: Services,
                               api: FakeWeChatApi) -> tuple[WxChat, Notification]:
    """孙红梅, on reception duty today, reads the workroom only on the official account
    (his WeCom is gone) and last wrote to it three days ago. 张伟 reports an emergency: WeChat
    refuses the alert to 孙红梅 (45015), and it is held for his next message."""
    from sqlmodel import delete

    from store.db import transaction
    from store.models import Alert, Contact

    sun_wx = "o_sun_hongmei"
    with transaction(svc.db) as s:
        sun = s.exec(select(Person).where(Person.key == "sun_hongmei")).one()
        s.exec(delete(Contact).where(col(Contact.person_id) == sun.id,  # type: ignore[call-overload]
                                     col(Contact.channel) == "wecom"))
        s.add(Contact(person_id=sun.id or 0, channel="wechat", address=sun_wx,
                      last_used_at=svc.clock.now() - timedelta(days=3)))
    api.fail_next(SEND, 45015, to=sun_wx, times=100)
    worker = WxChat(client, svc, api, "wechat", ZHANG_WEI)
    await run(worker, [("紧急情况报告", ""), ("车间起火冒烟", ""), ("铸造车间", "")])
    assert any("E-2026-0001" in x for x in await worker.say("立即发送"))
    await drain(svc)
    [held] = all_rows(svc, Notification, col(Notification.alert_id).in_(
        select(Alert.id).where(Alert.recipient_id == sun.id)))
    assert held.status == "held"
    return WxChat(client, svc, api, "wechat", sun_wx), held


async def test_an_alert_held_past_the_emergencys_handling_is_dropped(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi) -> None:
    """The director handles the emergency that afternoon; 孙红梅 writes two days later.
    The alert is not sent then as if the emergency were happening: it is dropped; the
    notice that it was handled (held too) comes, saying when it was written."""
    from tests.test_emergency_chain import director_does
    from tests.transcript import Chat

    sun, held = await _alert_held_for_sun(client_db, wx_db, api)
    wx_db.clock.advance(timedelta(hours=5))  # type: ignore[attr-defined]
    director_does(Chat(wx_db, person="chen_lihua"), "zh", "handled", "已扑灭，无人受伤")
    await drain(wx_db)  # the notice that it is handled is refused too
    wx_db.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    api.clear_failures()  # the window opens as she writes
    await sun.say("你好")
    await drain(wx_db)
    [told] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    assert "【紧急】" not in told
    assert told.startswith(t("zh", "notice.held_from", at="2026-11-23 14:00"))
    assert "【已处置】紧急情况 E-2026-0001" in told
    [row] = all_rows(wx_db, Notification, Notification.id == held.id)
    assert row.status == "cancelled"


async def test_an_alert_held_while_the_emergency_is_open_says_when_and_who_has_it(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi) -> None:
    """The director acknowledges the emergency; 孙红梅 writes the next morning, while it is
    still being handled. His alert comes then, saying when it was written and that the
    director has it, and still asks for his own 收到."""
    from tests.transcript import Chat

    sun, held = await _alert_held_for_sun(client_db, wx_db, api)
    director = Chat(wx_db, person="chen_lihua")
    director.say("待确认的提醒")
    wx_db.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    director.press(t("zh", "nav.ack"))
    assert "已确认收到" in director.text
    wx_db.clock.advance(timedelta(hours=23))  # type: ignore[attr-defined]
    api.clear_failures()  # the window opens as she writes
    await sun.say("你好")
    await drain(wx_db)
    [alert] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    assert alert.startswith(t("zh", "notice.held_from", at="2026-11-23 09:00"))
    assert "【紧急】E-2026-0001" in alert
    assert t("zh", "notice.alert_taken", name="陈丽华", acked_at="2026-11-23 09:03") in alert
    [row] = all_rows(wx_db, Notification, Notification.id == held.id)
    assert (row.status, row.delivered_channel) == ("sent", "wechat")
