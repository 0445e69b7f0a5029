"""Every flow in Chinese through the official account and through WeCom: what the person
reads (passive replies and messages at the fake WeChat API) and the rows each flow leaves.

Choices are typed as their number or as their words; leaders are WeCom users whose userid
the demo org file lists, so their alerts arrive as WeCom application messages once they
have opened the application (it is then the channel they last used)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from bot.wechat_render import TEXT_LIMIT, chunks, custom_menu, parse_text
from conversations.catalog import LANGS, t
from handlers.identity import issue_code
from store.calendar_models import ScreeningReturn
from store.db import transaction
from store.models import (
    Acknowledgement,
    Alert,
    Attachment,
    Booking,
    Case,
    Contact,
    Conversation,
    Incident,
    Person,
    Suggestion,
)
from tests.calendar_helpers import at, publish_roster, run_until
from tests.fakes.wechat_api import FakeWeChatApi
from tests.transcript import all_rows, person
from tests.wechat_chat import WxChat, api, ask, client, run, said, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

KINDS = pytest.mark.parametrize("kind", ["wechat", "wecom"])
# An employee's address: an official-account openid, or a WeCom userid not in the org file.
EMPLOYEE = {"wechat": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "wecom": "worker_0042"}


async def leader(client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi,
                 userid: str) -> WxChat:
    """A leader opens the WeCom application: their userid is theirs in the org file. They
    are welcomed as a leader (the director as the director), in the words to reply."""
    chat = WxChat(client, wx, api, "wecom", userid)
    [menu] = await chat.say("菜单")
    welcome = "menu.welcome_director" if userid == "demo_chenlihua" else "menu.welcome_leader"
    assert menu.startswith(said("zh", welcome) + "\n\n1. 待确认的提醒")
    return chat


def complaint_steps(what: str, outcome: str) -> list[tuple[str, str]]:
    """A complaint typed on WeChat up to its review: a wage problem of three people in
    the casting workshop, named, no co-signers."""
    return [
        ("反映问题", ask("zh", "complaint", "category", 1, 8)),
        ("1", ask("zh", "complaint", "description", 2, 8)),
        (what, ask("zh", "complaint", "since", 3, 8)),
        ("2026-10-15", ask("zh", "complaint", "affected", 4, 8)),
        ("3", ask("zh", "complaint", "cosigners", 5, 8)),
        ("跳过", ask("zh", "complaint", "workshop", 6, 8)),
        ("铸造车间", ask("zh", "complaint", "outcome", 7, 8)),
        (outcome, ask("zh", "complaint", "identity", 8, 8)),
        ("1", t("zh", "review.title")),
    ]


def numbered(*labels: str) -> str:
    return "\n".join(f"{i}. {label}" for i, label in enumerate(labels, start=1))


@KINDS
async def test_a_suggestion_with_numbers_and_words(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    [menu] = await chat.say("你好")
    assert menu == "\n".join([
        said("zh", "menu.welcome"), "",
        numbered("提建议", "反映问题", "预约领导接访", "紧急情况报告", "我反映的问题", "我的预约",
                 "凭回执码查进度", "评价答复", "写信给领导", "English"),
        "回复 1、2、3…10 选择，也可以直接回复选项的文字。"])
    [question] = await chat.say("1")
    assert question.startswith(t("zh", "suggestion.intro") + "\n\n"
                               + ask("zh", "suggestion", "topic", 1, 3))
    assert "4. 食堂生活" in question and question.endswith("也可回复：返回 / 取消 / 帮助")
    await run(chat, [("4", ask("zh", "suggestion", "text", 2, 3)),
                     ("食堂晚餐能不能多一个素菜窗口", ask("zh", "suggestion", "identity", 3, 3))])
    [review] = await chat.say("实名")
    assert review.startswith(t("zh", "review.title"))
    # No buttons: the words to reply, each said once (the review's sentence names 确认提交
    # and 返回, so the lines after it name only the others).
    assert review.endswith("无误请回复“确认提交”；需要修改请回复“返回”。\n也可回复：取消 / 帮助")
    assert review.count("确认提交") == 1 and review.count("返回") == 1
    texts = await chat.say("确认提交")
    assert texts[0].startswith("建议已登记，编号 S-2026-0001")
    [row] = all_rows(wx, Suggestion)
    assert (row.topic, row.channel, row.anonymous) == ("living", kind, False)
    assert row.text == "食堂晚餐能不能多一个素菜窗口"
    me = all_rows(wx, Contact, Contact.channel == kind, Contact.address == EMPLOYEE[kind])[0]
    employee = wx_person(wx, me.person_id)
    assert (employee.role, employee.verified) == ("employee", False)  # an unknown follower


def wx_person(wx: Services, person_id: int) -> Person:
    with Session(wx.db) as s:
        found = s.get(Person, person_id)
    assert found is not None
    return found


@KINDS
async def test_a_complaint_reaches_the_responsible_leader_who_acknowledges_on_wecom(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    zhao = await leader(client, wx, api, "demo_zhaoguoqiang")
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(chat, complaint_steps("十月份的加班费到现在还没有发下来", "补发十月加班费"))
    texts = await chat.say("确认提交")
    assert texts == [
        t("zh", "complaint.done", number="C-2026-0001", due_on="2027-01-22", days=60)
        + "\n\n" + said("zh", "menu.prompt") + "\n\n"
        + numbered("提建议", "反映问题", "预约领导接访", "紧急情况报告", "我反映的问题",
                   "我的预约", "凭回执码查进度", "评价答复", "写信给领导", "English")
        + "\n回复 1、2、3…10 选择，也可以直接回复选项的文字。"]
    [case] = all_rows(wx, Case)
    assert (case.category, case.affected, case.cosigners, case.channel, case.anonymous) == (
        "wages", 3, 0, kind, False)
    assert case.handler_id == person(wx, "zhao_guoqiang").id
    [alert] = all_rows(wx, Alert)
    [notice] = zhao.new_texts()  # sent right after the step: zhao's WeCom
    if kind == "wecom":
        assert api.sent(to="demo_zhaoguoqiang")[-1].path == "/cgi-bin/message/send"
    assert notice.startswith("【交办】C-2026-0001 工资福利")
    assert notice.endswith("回复「办理此问题」、「收到 C-2026-0001」。")
    # A stranger has no such alert waiting; the leader acknowledges by the reply keyword.
    # A number is never another person's alert (it was the alert's id, once).
    assert any(said("zh", "ack.not_waiting", named="C-2026-0001") in x
               for x in await chat.say("收到 C-2026-0001"))
    assert any(said("zh", "ack.not_waiting", named=str(alert.id)) in x
               for x in await chat.say(f"收到 {alert.id}"))
    assert any("已确认收到" in x for x in await zhao.say("收到C-2026-0001"))
    [ack] = all_rows(wx, Acknowledgement)
    assert (ack.person_id, ack.channel) == (person(wx, "zhao_guoqiang").id, "wecom")
    # The push's other words open the case's actions.
    assert any("记录进展" in x for x in await zhao.say("办理此问题"))
    await zhao.say("取消")
    # My cases, from the official account's menu or by its words.
    if kind == "wechat":
        [mine] = await chat.click("query:my_cases")
    else:
        [mine] = await chat.say("我反映的问题")
    assert mine.startswith("\n".join([t("zh", "query.my_cases.title"), t(
        "zh", "case.line", number="C-2026-0001", category="工资福利",
        status=t("zh", "status.assigned"), due_on="2027-01-22")]))


@KINDS
async def test_a_visit_is_booked_with_the_duty_leader(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    publish_roster(wx)  # the receptions the employees were told of (公示)
    sun = await leader(client, wx, api, "demo_sunhongmei")  # on duty today
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    if kind == "wechat":
        [question] = await chat.click("flow:booking")
    else:
        [question] = await chat.say("预约领导接访")
    assert ask("zh", "booking", "slot", 1, 2) in question and "\n10. " in question
    await run(chat, [("1", ask("zh", "booking", "topic", 2, 2)),
                     ("想谈谈十月加班费的问题", t("zh", "review.title"))])
    texts = await chat.say("确认提交")
    assert "V-2026-0001" in texts[0] and "11:30" in texts[0] and "孙红梅" in texts[0]
    [row] = all_rows(wx, Booking)
    assert (row.number, row.status, row.channel) == ("V-2026-0001", "booked", kind)
    [notice] = sun.new_texts()  # at 09:00 her 08:30-11:30 reception is under way
    assert notice.startswith("【正在接访】新的预约 V-2026-0001")
    assert "2026-11-23 周一 08:30-11:30" in notice


@KINDS
async def test_an_emergency_keeps_its_photos_and_voice_and_alerts_the_leaders(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    director = await leader(client, wx, api, "demo_chenlihua")
    duty = await leader(client, wx, api, "demo_sunhongmei")
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
    [kept] = await chat.media("image", "MEDIA-gate-photo")
    assert kept.startswith(t("zh", "attachment.kept", count=1))
    assert ask("zh", "emergency", "what", 1, 5) in kept  # the question is asked again
    await run(chat, [("二十多人聚集在厂门口要求发工资", ask("zh", "emergency", "place", 2, 5)),
                     ("厂门口", ask("zh", "emergency", "people", 3, 5))])
    [kept] = await chat.media("voice", "MEDIA-voice-1")
    assert kept.startswith(t("zh", "attachment.kept", count=2))
    texts = await chat.say("立即发送")
    assert any("E-2026-0001" in x for x in texts)
    [incident] = all_rows(wx, Incident)
    assert (incident.what, incident.place, incident.channel) == (
        "二十多人聚集在厂门口要求发工资", "厂门口", kind)
    files = all_rows(wx, Attachment, Attachment.subject == "incident")
    assert sorted((f.kind, f.file_ref, f.mime_type, f.channel) for f in files) == [
        ("photo", "MEDIA-gate-photo", "image/jpeg", kind),
        ("voice", "MEDIA-voice-1", "audio/amr", kind)]
    assert len(all_rows(wx, Alert, Alert.subject == "incident")) == 2
    for who in (director, duty):
        [shown] = who.new_texts()
        assert shown.startswith("【紧急】E-2026-0001") and "「收到 E-2026-0001」" in shown


@KINDS
async def test_where_an_emergency_is_may_be_a_location_sent_from_the_map(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """WeChat's "location" message (a place picked on its map, with an address label)
    answers where; the leaders' alerts say it. Sent at the menu, it says where it is used
    and starts nothing."""
    director = await leader(client, wx, api, "demo_chenlihua")
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])

    async def pin() -> list[str]:
        r = await chat.send_inner(chat.inner(
            "location", Location_X="31.230416", Location_Y="121.473701", Scale="15",
            Label="和平路 8 号二号门"))
        assert r.status_code == 200
        return chat.new_texts()

    await chat.say("菜单")
    [told] = await pin()
    assert told.startswith(t("zh", "inbound.location_not_here"))
    assert all_rows(wx, Incident) == []
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5)),
                     ("二十多人聚集在厂门口要求发工资", ask("zh", "emergency", "place", 2, 5))])
    [asked] = await pin()
    assert ask("zh", "emergency", "people", 3, 5) in asked
    texts = await chat.say("立即发送")
    assert any("E-2026-0001" in x for x in texts)
    [incident] = all_rows(wx, Incident)
    assert incident.place == "📍 和平路 8 号二号门 (31.23042, 121.47370)"
    [shown] = director.new_texts()
    assert shown.startswith("【紧急】E-2026-0001") and f"地点：{incident.place}" in shown


@KINDS
async def test_a_menu_item_asked_for_in_a_form_says_which_words_leave_it(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """No buttons on WeChat: the way out of the form is the word to reply, not a button
    to tap; and the question comes again."""
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await chat.say("你好")
    await chat.say("1")
    texts = await chat.say("写信给领导")
    said = "\n".join(texts)
    assert t("zh", "flow.menu_in_flow_typed", flow=t("zh", "suggestion.title"),
             cancel="取消") in said
    assert t("zh", "flow.menu_in_flow", flow=t("zh", "suggestion.title"),
             cancel="取消") not in said
    assert ask("zh", "suggestion", "topic", 1, 3) in said


@KINDS
async def test_the_place_the_words_named_is_offered_as_words_to_reply(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """What happened named the casting workshop's gate: asked where, WeChat (no buttons)
    says those words may be replied, and replying them answers where."""
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
    [asked] = await chat.say("铸造车间门口有二十多人聚集")
    assert ask("zh", "emergency", "place", 2, 5) in asked
    assert t("zh", "wechat.words", words="「铸造车间门口」") in asked
    helped = "\n".join(await chat.say("帮助"))  # the help says to reply it, not to tap it
    assert t("zh", "flow.place_said_help_typed", place="铸造车间门口") in helped
    assert t("zh", "flow.place_said_help", place="铸造车间门口") not in helped
    [asked] = await chat.say("铸造车间门口")
    assert ask("zh", "emergency", "people", 3, 5) in asked
    await chat.say("立即发送")
    [incident] = all_rows(wx, Incident)
    assert incident.place == "铸造车间门口"


@KINDS
async def test_a_sticker_or_emoji_alone_is_no_answer_and_is_said_so(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """A sticker reaches the account as 【收到不支持的消息类型，暂无法显示】 and built-in
    emoji as "[流泪]": neither is what happened or where; nor is a shared article. Each is
    said to be unreadable, the question asked again, and nothing is filed."""
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
    for sent in ("【收到不支持的消息类型，暂无法显示】", "[流泪][流泪]", " [Smile] "):
        [said] = await chat.say(sent)
        assert said.startswith(t("zh", "inbound.unreadable"))
        assert ask("zh", "emergency", "what", 1, 5) in said
    r = await chat.send_inner(chat.inner("link", Title="厂里通知", Description="",
                                         Url="https://example.invalid/a"))
    assert r.status_code == 200
    [said] = chat.new_texts()
    assert said.startswith(t("zh", "inbound.unreadable"))
    await run(chat, [("[流泪]车间着火了", ask("zh", "emergency", "place", 2, 5))])
    assert all_rows(wx, Incident) == []


@KINDS
async def test_photos_sent_one_after_another_get_one_answer(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """Photos picked together reach the workroom as a message each: all are kept, and
    answered once, not once a photo. A text sent right after them brings that answer
    along, ahead of its own."""
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    what = ask("zh", "emergency", "what", 1, 5)
    await run(chat, [("紧急情况报告", what)])

    async def photo(media_id: str) -> None:
        r = await chat.send_inner(chat.inner("image", MediaId=media_id,
                                             PicUrl=f"http://mmbiz.example/{media_id}"))
        assert r.status_code == 200

    for n in range(3):
        await photo(f"MEDIA-crowd-{n}")
    assert chat.new_texts() == []  # the answer waits for the next photo
    await chat.album_waited()
    [said] = chat.new_texts()
    assert said.startswith(t("zh", "attachment.kept", count=3) + "\n\n" + what)

    for n in (3, 4):
        await photo(f"MEDIA-crowd-{n}")
    [said] = await chat.say("二十多人聚集在厂门口要求发工资")  # one passive reply
    assert said.startswith(t("zh", "attachment.kept", count=5) + "\n\n" + what)
    assert ask("zh", "emergency", "place", 2, 5) in said
    await chat.album_waited()
    assert chat.new_texts() == []  # nothing twice
    with Session(wx.db) as s:
        state = s.get(Conversation, f"{kind}:{EMPLOYEE[kind]}")
        assert state is not None
        assert [a["file_ref"] for a in state.state["attachments"]] == [
            f"MEDIA-crowd-{n}" for n in range(5)]


async def test_a_photo_outside_a_report_is_not_kept(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("提建议", "哪方面")])
    [said] = await chat.media("image", "MEDIA-x")
    assert said.startswith(t("zh", "attachment.not_here"))
    assert all_rows(wx, Attachment) == []


@KINDS
async def test_a_photo_sent_right_after_an_emergency_joins_the_report(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """'Send now', then the photo of the scene: it is kept with the incident, the worker
    told so, and the leaders alerted get a 【紧急·补充】 with the button to see it. Later
    than a quarter of an hour, it is not taken as part of that report."""
    from datetime import timedelta

    director = await leader(client, wx, api, "demo_chenlihua")
    chat = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5)),
                     ("二十多人聚集在厂门口要求发工资", ask("zh", "emergency", "place", 2, 5)),
                     ("厂门口", ask("zh", "emergency", "people", 3, 5))])
    await chat.say("立即发送")
    [incident] = all_rows(wx, Incident)
    director.new_texts()
    [said] = await chat.media("image", "MEDIA-scene-1")
    assert said.startswith(t("zh", "attachment.added", number=incident.number, count=1))
    [kept] = all_rows(wx, Attachment)
    assert (kept.subject, kept.subject_id, kept.file_ref) == ("incident", incident.id,
                                                           "MEDIA-scene-1")
    [more] = [x for x in director.new_texts() if x.startswith("【紧急·补充】")]
    assert incident.number in more and t("zh", "nav.files") in more
    # The next photo of an album (a message each): kept, but no second push a photo.
    [said] = await chat.media("image", "MEDIA-scene-1b")
    assert said.startswith(t("zh", "attachment.added", number=incident.number, count=1))
    assert not [x for x in director.new_texts() if x.startswith("【紧急·补充】")]
    assert len(all_rows(wx, Attachment)) == 2
    wx.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    [late] = await chat.media("image", "MEDIA-scene-2")
    assert late.startswith(t("zh", "attachment.not_here"))
    assert len(all_rows(wx, Attachment)) == 2


async def test_the_menu_switches_language_and_a_follow_is_welcomed(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    r = await chat.send_inner(chat.inner("event", event=True, Event="subscribe"))
    assert r.status_code == 200
    [welcome] = chat.new_texts()
    assert welcome.startswith(said("zh", "menu.welcome"))
    [switched] = await chat.click("cmd:lang@en")
    assert switched.startswith(t("en", "lang.switched"))
    assert "1. Make a suggestion" in switched and "Reply 1, 2, 3…10 to choose" in switched
    assert "、" not in switched
    # Unfollowing is not a message to answer.
    r = await chat.send_inner(chat.inner("event", event=True, Event="unsubscribe"))
    assert (r.status_code, r.text) == (200, "success")


async def test_the_menus_language_entries_choose_the_language_they_name(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """The custom menu is one for every follower, pushed in the workroom's language. Its
    entry "English" used to switch to "the other language": pressed again by someone
    already in English, it switched back to Chinese. Now "中文" and "English" each choose
    the language they name, whatever the follower's."""
    menu = custom_menu("zh")
    [mine] = [b for b in menu["button"] if b["name"] == t("zh", "wechat.menu.mine")]
    entries = {s["name"]: s["key"] for s in mine["sub_button"]}
    assert entries["English"] == "cmd:lang@en" and entries["中文"] == "cmd:lang@zh"
    [mine_en] = [b for b in custom_menu("en")["button"]
                 if b["name"] == t("en", "wechat.menu.mine")]
    assert {(s["name"], s["key"]) for s in mine_en["sub_button"]} >= {
        ("English", "cmd:lang@en"), ("中文", "cmd:lang@zh")}
    chat = WxChat(client, wx, api, "wechat", "o_foreign_tech")
    for _ in range(2):
        [said] = await chat.click(entries["English"])
        assert said.startswith(t("en", "lang.switched"))
    [said] = await chat.click(entries["中文"])
    assert said.startswith(t("zh", "lang.switched"))
    [said] = await chat.click(entries["中文"])
    assert said.startswith(t("zh", "lang.switched"))
    # The entry of a menu pushed before this change still works (the other language).
    [said] = await chat.click("cmd:lang")
    assert said.startswith(t("en", "lang.switched"))


async def test_an_invitations_qr_code_links_the_follower(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    def invite(key: str) -> str:
        with transaction(wx.db) as s:
            found = s.exec(select(Person).where(Person.key == key)).one()
            return issue_code(s, person=found, channel="wechat", now=wx.clock.now(),
                              ttl=timedelta(hours=1))

    # Following by scanning the code: the event key is "qrscene_<code>".
    chat = WxChat(client, wx, api, "wechat", "o_scanned")
    follow = chat.inner("event", event=True, Event="subscribe",
                        EventKey=f"qrscene_{invite('chen_lihua')}", Ticket="gQH47joAAAAAAAAAAS")
    for _ in range(3):  # with WeChat's retries: one step
        assert (await chat.send_inner(follow)).status_code == 200
    texts = chat.new_texts()
    assert len(set(texts)) == 1 and texts[0].startswith(t("zh", "link.done", name="陈丽华"))
    [contact] = all_rows(wx, Contact, Contact.channel == "wechat", Contact.address == "o_scanned")
    assert contact.person_id == person(wx, "chen_lihua").id
    # A follower already following scans one (SCAN: the bare code); a used code is refused.
    other = WxChat(client, wx, api, "wechat", "o_following")
    await other.send_inner(other.inner("event", event=True, Event="subscribe", EventKey=""))
    assert other.new_texts()[0].startswith(said("zh", "menu.welcome"))
    code = invite("zhao_guoqiang")
    await other.send_inner(other.inner("event", event=True, Event="SCAN", EventKey=code))
    assert other.new_texts()[0].startswith(t("zh", "link.done", name="赵国强"))
    await other.send_inner(other.inner("event", event=True, Event="SCAN", EventKey=code))
    assert other.new_texts()[0].startswith(t("zh", "link.already", name="赵国强"))
    third = WxChat(client, wx, api, "wechat", "o_third")  # used: refused to another
    await third.send_inner(third.inner("event", event=True, Event="SCAN", EventKey=code))
    assert third.new_texts()[0].startswith(t("zh", "link.invalid"))
    [contact] = all_rows(wx, Contact, Contact.address == "o_following")
    assert contact.person_id == person(wx, "zhao_guoqiang").id


@pytest.mark.parametrize("lang", LANGS)
def test_every_keyword_of_the_catalog_is_understood(lang: str) -> None:
    from conversations.engine import _typed_ack

    for word in t(lang, "keywords.ack").split(","):  # words: the engine's (every channel)
        assert parse_text(f"{word.strip()} E-2026-0001")[0] == f"{word.strip()} E-2026-0001"
        assert _typed_ack(f"{word.strip()} E-2026-0001") == (True, "E-2026-0001"), word
        assert _typed_ack(f"{word.strip()} 12") == (True, "12"), word
    for word in t(lang, "wechat.keywords.bind").split(","):
        assert parse_text(f"{word.strip()} Ab3dEf6h") == ("/start", None, "Ab3dEf6h"), word
    assert _typed_ack(f"{t(lang, 'nav.ack')} #7") == (True, "7")


async def test_a_leader_reading_english_acknowledges_with_english_words(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    director = await leader(client, wx, api, "demo_chenlihua")
    [switched] = await director.say("English")
    assert switched.startswith(t("en", "lang.switched"))
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("紧急情况报告", "发生了什么"), ("仓库起火", "在哪里"), ("三号仓库", "多少人"),
                     ("立即发送", "E-2026-0001")])
    [alert] = all_rows(wx, Alert, Alert.recipient_id == person(wx, "chen_lihua").id)
    [shown] = director.new_texts()
    assert shown.startswith("[EMERGENCY] E-2026-0001") and "“Acknowledge E-2026-0001”" in shown
    [done] = await director.say("got it E-2026-0001")
    assert t("en", "ack.done", at="09:00") in done.splitlines()  # under what it was
    [ack] = all_rows(wx, Acknowledgement)
    assert (ack.alert_id, ack.channel) == (alert.id, "wecom")


async def test_a_leader_on_wecom_is_told_when_another_leader_has_the_emergency(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """WeCom cannot edit the alert as Telegram does ("✅ … 正在处理" under it): 孙红梅,
    alerted with the director, gets one short message when the director acknowledges,
    instead of setting out for nothing. Her own 收到 still works; nobody else is told."""
    director = await leader(client, wx, api, "demo_chenlihua")
    sun = await leader(client, wx, api, "demo_sunhongmei")
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("紧急情况报告", "发生了什么"), ("仓库起火", "在哪里"), ("三号仓库", "多少人"),
                     ("立即发送", "E-2026-0001")])
    director.new_texts()
    sun.new_texts()
    [alert] = all_rows(wx, Alert, Alert.recipient_id == person(wx, "chen_lihua").id)
    await director.say(f"收到 {alert.id}")  # an older push's words: her own alert's id
    await asyncio.to_thread(wx.dispatcher.drain)
    told = t("zh", "notice.alert_taken_told", number="E-2026-0001", name="陈丽华",
             acked_at="2026-11-23 09:00")
    assert sun.new_texts() == [told]
    assert told not in director.new_texts()
    [done] = await sun.say("收到 E-2026-0001")
    assert done.splitlines()[0].endswith("（陈丽华 已于 09:00 确认收到，正在处理）")
    assert done.splitlines()[1] == t("zh", "ack.done", at="09:00")
    await asyncio.to_thread(wx.dispatcher.drain)
    assert told not in director.new_texts()  # a second acknowledgement tells nobody again


async def test_a_wecom_userid_from_the_org_file_is_that_person(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    before = len(all_rows(wx, Person))
    chat = WxChat(client, wx, api, "wecom", "demo_liufang")
    [menu] = await chat.say("菜单")
    assert "在办的问题" in menu  # the staff member's menu
    unknown = WxChat(client, wx, api, "wecom", "someone_new")
    [menu] = await unknown.say("菜单")
    assert "在办的问题" not in menu
    assert len(all_rows(wx, Person)) == before + 1  # only the unknown user is new
    [new] = all_rows(wx, Person, col(Person.key).startswith("wecom-"))
    assert (new.role, new.verified) == ("employee", False)


async def test_a_long_text_is_split_under_the_limit(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    long = "车间通风设备长期损坏，夏天温度过高。" * 100  # 1,800 characters, 5,400 bytes
    await run(chat, [("反映问题", "哪一类"), ("2", "发生了什么")])
    texts = await chat.say(long)
    assert texts == [ask("zh", "complaint", "since", 3, 8) + "\n也可回复：返回 / 取消 / 帮助"]
    for answer in ("今天", "5", "跳过", "铸造车间", "改善通风", "匿名"):
        texts = await chat.say(answer)
    # The review holds the whole description: it came by message, in parts under 2048 bytes.
    assert len(texts) >= 3 and all(len(x.encode()) <= TEXT_LIMIT for x in texts)
    joined = "".join(texts).replace("\n", "")
    assert long in joined
    for piece in chunks("甲乙丙\n" * 1000):
        assert len(piece.encode()) <= TEXT_LIMIT


async def test_a_liaison_answers_the_screening_push_by_its_words_on_wecom(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Regression: a push's options were numbered like a question's, but "1" answered the
    liaison's conversation (it started a suggestion) and the words were not understood."""
    zhou = WxChat(client, wx, api, "wecom", "demo_zhoumin")
    await zhou.say("菜单")
    await asyncio.to_thread(run_until, wx, wx.clock, at(11, 25, 9, 30))
    ask = next(x for x in zhou.new_texts() if x.startswith("【矛盾纠纷排查】"))
    assert ask.endswith("有就回复“登记一条矛盾纠纷”逐条登记，没有请回复“零报告”。")
    assert "1." not in ask and "回复 1" not in ask  # no number to mistake for the menu's
    [done] = await zhou.say("零报告")
    assert done.startswith(t("zh", "screening.done_zero", workshop="机加工车间",
                             month="2026-11"))
    assert [r.status for r in all_rows(wx, ScreeningReturn) if r.status != "pending"] == [
        "zero"]
    # A number still answers the conversation, and other words are the conversation's.
    [menu] = await zhou.say("1")
    assert menu.startswith("感谢您提建议")


def test_a_question_with_one_option_is_numbered_so_that_1_answers_it() -> None:
    """An anonymous complainant's 评价答复 offers one option (输入回执码): WeChat has no
    buttons, so it must be numbered like any question's, or nothing says "1" answers it.
    A push's one suggestion stays words."""
    from bot.wechat_render import render
    from conversations.engine import Button, Reply

    one = Button(t("zh", "opt.rate_case.code"), "opt:code@case")
    nav = [Button(t("zh", "nav.back"), "cmd:back@case", "nav"),
           Button(t("zh", "nav.cancel"), "cmd:cancel@x", "nav")]
    shown = render(Reply(t("zh", "rate.case.ask"), [one, *nav]), "zh")
    assert f"1. {one.label}" in shown
    assert t("zh", "wechat.numbers", numbers="1") in shown
    pushed = render(Reply("问题 C-2026-0001 已有答复", [Button("评价答复", "flow:rate?case=1")]),
                    "zh", push=True)
    assert "1. " not in pushed and "评价答复" in pushed


async def test_the_second_of_a_directors_list_on_wechat_is_her_own_second_alert(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Two emergencies wait for the director on WeCom; the list numbers them and she
    replies "收到 2": her own alert of the second in the list, never 孙红梅's alert that
    happens to have id 2 (a director may press anyone's, but a number typed is hers)."""
    director = await leader(client, wx, api, "demo_chenlihua")
    await leader(client, wx, api, "demo_sunhongmei")
    for n, (what, place) in enumerate((("仓库起火", "三号仓库"), ("食堂有人打架", "食堂")), 1):
        chat = WxChat(client, wx, api, "wechat", f"o_reporter_{n}")
        await run(chat, [("紧急情况报告", "发生了什么"), (what, "在哪里"), (place, "多少人"),
                         ("立即发送", f"E-2026-000{n}")])
    director.new_texts()
    [listed] = await director.say("收到")
    assert "1. 紧急情况 E-2026-0002" in listed and "2. 紧急情况 E-2026-0001" in listed
    [done] = await director.say("收到 2")
    assert "E-2026-0001" in done.splitlines()[0]
    chen = person(wx, "chen_lihua").id
    [ack] = all_rows(wx, Acknowledgement)
    alert = next(a for a in all_rows(wx, Alert) if a.id == ack.alert_id)
    assert (ack.person_id, alert.recipient_id, alert.subject_id) == (chen, chen, 1)
