"""A leader alerted on WeCom to an emergency sees its photos in the chat: the alert's
"查看附件" (typed, as WeChat has no buttons) uploads each kept file as WeCom temporary
material and sends it as an image message, its caption as a text before it; a file
received on the same account within its media id's three days goes by that id. Once per
file and reader. Someone else pressing it is refused and sent nothing. Over real HTTP
against the fake WeChat API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session

from bot.bootstrap import Services
from bot.wechat_files import message_type
from conversations.catalog import t
from conversations.engine import Button, Reply
from handlers.files import files_words
from handlers.inbound import Inbound
from handlers.notices import local_time
from store.models import Attachment, Incident, MediaFile
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat_flows import EMPLOYEE, leader
from tests.transcript import all_rows
from tests.wechat_chat import WxChat, api, ask, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

GATE = b"\xff\xd8\xff\xe0" + b"gate-photo" * 400
CROWD = b"\xff\xd8\xff\xe0" + b"crowd-photo" * 300
SUN = "demo_sunhongmei"  # on duty today: alerted with the report


def caption(index: int, total: int = 2, lang: str = "zh") -> str:
    return t(lang, "notice.file", number="E-2026-0001", index=index, total=total,
             file=t(lang, "file.kind.photo"))


async def report_with_photos(client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi,
                             kind: str) -> WxChat:
    """A worker reports a gathering at the gate with two photos, and sends it at once."""
    api.add_media("MEDIA-gate", GATE, "image/jpeg")
    api.add_media("MEDIA-crowd", CROWD, "image/jpeg")
    worker = WxChat(client, wx, api, kind, EMPLOYEE[kind])
    await run(worker, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
    await worker.media("image", "MEDIA-gate")
    await worker.media("image", "MEDIA-crowd")
    await run(worker, [("二十多人聚集在厂门口", ask("zh", "emergency", "place", 2, 5)),
                       ("厂门口", ask("zh", "emergency", "people", 3, 5))])
    assert any("E-2026-0001" in x for x in await worker.say("立即发送"))
    return worker


def messages_to(api: FakeWeChatApi, to: str) -> list[tuple[str, str]]:
    """(msgtype, text or media id) of each message to `to`, in order."""
    out = []
    for c in api.sent(to=to):
        kind = c.body.get("msgtype", "text")
        out.append((kind, c.text if kind == "text" else c.body[kind]["media_id"]))
    return out


async def test_a_leader_on_wecom_sees_the_photos_of_an_emergency_filed_on_the_official_account(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Two photos came with a report on the official account: their media ids are not
    the WeCom application's, so each is uploaded from its kept bytes and sent to 孙红梅
    as an image, after its caption. A second press sends nothing again."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    [alert] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    assert t("zh", "notice.files", files=t("zh", "notice.files.photo", count=2)) in alert
    assert "「查看附件」" in alert
    before = len(api.sent(to=SUN))

    said = await sun.say("查看附件")
    assert said[0].split("\n\n")[0] == t("zh", "files.sending", number="E-2026-0001", count=2)
    assert [(u.kind, u.content, u.mime_type, u.account) for u in api.uploads] == [
        ("image", GATE, "image/jpeg", "wecom"), ("image", CROWD, "image/jpeg", "wecom")]
    up = [u.media_id for u in api.uploads]
    assert messages_to(api, SUN)[before:] == [
        ("text", caption(1)), ("image", up[0]), ("text", caption(2)), ("image", up[1])]
    assert all(c.path == "/cgi-bin/message/send" for c in api.sent(to=SUN)[before:])

    again = await sun.say("查看附件")
    assert again[0].split("\n\n")[0] == t("zh", "files.already", number="E-2026-0001", count=2)
    await asyncio.to_thread(wx.dispatcher.drain)
    assert len(api.uploads) == 2 and len(api.media_sent(SUN)) == 2


async def test_a_photo_received_on_wecom_goes_by_its_id_until_the_id_expires(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """The report came through the WeCom application itself: its photos go to the leader
    by their own media ids, nothing uploaded. Four days later (the ids have expired) the
    director, pressing first then, gets them uploaded from the kept bytes."""
    sun = await leader(client, wx, api, SUN)
    director = await leader(client, wx, api, "demo_chenlihua")
    await report_with_photos(client, wx, api, "wecom")
    sun.new_texts()
    director.new_texts()
    await sun.say("查看附件")
    assert api.media_sent(SUN) == [("image", "MEDIA-gate"), ("image", "MEDIA-crowd")]
    assert api.uploads == []

    wx.clock.advance(timedelta(days=4))  # type: ignore[attr-defined]
    api.media.pop("MEDIA-gate")  # WeChat forgot them
    api.media.pop("MEDIA-crowd")
    said = await director.say("查看附件")
    assert said[0].split("\n\n")[0] == t("zh", "files.sending", number="E-2026-0001", count=2)
    assert [u.content for u in api.uploads] == [GATE, CROWD]
    assert api.media_sent("demo_chenlihua") == [("image", u.media_id) for u in api.uploads]


async def test_an_employee_pressing_a_forwarded_see_the_files_is_refused(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """An employee on the official account got the alert's words from someone (typed
    "查看附件" as if they had the alert): refused, nothing uploaded or sent. 孙红梅's
    press then sends her the two photos, and only to her."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    other = "o6_bmjrPTlm6_other_worker"
    wx.wechat.sender.api.shared.put(  # the button's words, as a push would leave them
        f"words:wechat:{other}", json.dumps({"查看附件": "files:E-2026-0001"}),
        timedelta(days=1))
    chat = WxChat(client, wx, api, "wechat", other)
    said = await chat.say("查看附件")
    assert said[0].split("\n\n")[0] == t("zh", "file.forbidden")
    await asyncio.to_thread(wx.dispatcher.drain)
    assert api.uploads == [] and api.media_sent() == []
    await sun.say("查看附件")
    assert [to for c in api.sent() if c.body.get("msgtype") == "image" for to in [c.to]] == [
        SUN, SUN]


async def test_the_words_of_an_alert_still_work_after_a_later_push(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """孙红梅 is alerted on WeCom (回复「查看附件」), then another push comes with words of
    its own: "查看附件" still sends the alert's photos (before, only the latest push's
    words were understood). The words two pushes of different cases share open the case's
    actions with the case to be chosen (tests/test_wechat_case_words.py)."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    sender = wx.wecom.sender

    def push(text: str, label: str, value: str) -> None:
        sender.send(SUN, Reply(text, [Button(label, value, "action")]), "zh", push=True)

    push("【交办】C-2026-0007", t("zh", "nav.work_on_case"), "flow:case_action?case=7")
    said = await sun.say("查看附件")
    assert said[0].split("\n\n")[0] == t("zh", "files.sending", number="E-2026-0001", count=2)
    await asyncio.to_thread(wx.dispatcher.drain)
    assert len(api.media_sent(SUN)) == 2

    push("【交办】C-2026-0008", t("zh", "nav.work_on_case"), "flow:case_action?case=8")
    [pressed] = sender.pressed([Inbound("wecom", SUN, "m-8", text=t("zh", "nav.work_on_case"))])
    assert pressed.action == "flow:case_action"
    [files] = sender.pressed([Inbound("wecom", SUN, "m-9", text="查看附件")])
    assert files.action == "files:E-2026-0001"


async def test_the_words_of_two_alerts_with_files_ask_whose(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Two alerts with files reached 孙红梅: "查看附件" cannot say which, so it asks,
    naming each record's words; those words send that record's files, and no other's."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    sun.new_texts()
    later = Reply("【紧急】E-2026-0009 …", [Button(t("zh", "nav.files"), "files:E-2026-0009",
                                                  "action")])
    wx.wecom.sender.send(SUN, later, "zh", push=True)
    sun.new_texts()
    said = await sun.say("查看附件")
    assert said[0].startswith("\n".join([
        t("zh", "files.which"), "回复「查看附件 E-2026-0001」、「查看附件 E-2026-0009」。"]))
    await asyncio.to_thread(wx.dispatcher.drain)
    assert api.media_sent(SUN) == []  # nothing sent before the answer
    said = await sun.say("查看附件 E-2026-0001")
    assert said[0].split("\n\n")[0] == t("zh", "files.sending", number="E-2026-0001", count=2)
    await asyncio.to_thread(wx.dispatcher.drain)
    assert len(api.media_sent(SUN)) == 2


async def test_a_failed_upload_is_retried_by_the_outbox(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """WeChat answers the first upload with an error: nothing of that file is sent (no
    caption twice); the outbox sends it on its next try."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    sun.new_texts()
    api.fail_next("/cgi-bin/media/upload", -1)  # system busy: try again later
    await sun.say("查看附件")
    wx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx.dispatcher.drain)
    assert len([c for c in api.calls if c.path == "/cgi-bin/media/upload"]) == 3
    texts = [x for k, x in messages_to(api, SUN) if k == "text"]
    assert texts.count(caption(1)) == 1 and texts.count(caption(2)) == 1
    assert sorted(m for _, m in api.media_sent(SUN)) == sorted(
        u.media_id for u in api.uploads)
    assert sorted(u.content for u in api.uploads) == sorted([GATE, CROWD])


async def test_what_wecom_cannot_show_as_its_kind_goes_as_a_file_or_is_said(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """Besides the two photos the report holds a voice note received on Telegram (Ogg:
    WeCom plays AMR only) and a 21 MB document: the voice note comes as a file named after
    the report, the document as its caption saying to open it in the web console."""
    sun = await leader(client, wx, api, SUN)
    await report_with_photos(client, wx, api, "wechat")
    [incident] = all_rows(wx, Incident)
    with Session(wx.db) as s:
        for ref, kind, mime, content in (("TG-voice", "voice", "audio/ogg", b"OggS" * 500),
                                         ("TG-doc", "file", "application/pdf",
                                          b"%PDF" + b"x" * (21 * 1024 * 1024))):
            s.add(Attachment(subject="incident", subject_id=incident.id or 0,
                             channel="telegram", kind=kind, file_ref=ref, mime_type=mime,
                             created_at=wx.clock.now()))
            s.add(MediaFile(channel="telegram", file_ref=ref, mime_type=mime, content=content,
                            conversation_key="telegram:7630", received_at=wx.clock.now()))
        s.commit()
    sun.new_texts()
    said = await sun.say("查看附件")
    assert said[0].split("\n\n")[0] == t("zh", "files.sending", number="E-2026-0001",
                                            count=4)
    assert [(u.kind, u.filename) for u in api.uploads] == [
        ("image", "E-2026-0001-1.jpg"), ("image", "E-2026-0001-2.jpg"),
        ("file", "E-2026-0001-3.ogg")]
    assert [k for k, _ in api.media_sent(SUN)] == ["image", "image", "file"]
    doc = t("zh", "notice.file", number="E-2026-0001", index=4, total=4,
            file=t("zh", "file.kind.file"))
    assert [x for k, x in messages_to(api, SUN) if k == "text"][-1] == "\n".join(
        [doc, t("zh", "files.not_shown", file=t("zh", "file.kind.file"))])


@pytest.mark.parametrize(("account", "kind", "mime", "size", "shown"), [
    ("wecom", "photo", "image/jpeg", 300_000, "image"),
    ("wecom", "photo", "image/heic", 300_000, "file"),  # not an image WeCom shows
    ("wecom", "voice", "audio/amr", 40_000, "voice"),
    ("wecom", "voice", "audio/ogg", 40_000, "file"),  # a Telegram voice note: WeCom wants AMR
    ("wecom", "video", "video/mp4", 12 * 1024 * 1024, "file"),  # over 10 MB
    ("wecom", "file", "application/pdf", 25 * 1024 * 1024, None),  # over 20 MB
    ("wechat", "photo", "image/jpeg", 3 * 1024 * 1024, None),  # over 2 MB; no file message
    ("wechat", "voice", "audio/amr", 40_000, "voice"),
    ("wechat", "file", "application/pdf", 40_000, None),
])
def test_what_each_account_shows_a_file_as(account: str, kind: str, mime: str, size: int,
                                           shown: str | None) -> None:
    assert message_type(account, kind, mime, size) == shown


async def test_every_file_added_after_the_report_reaches_the_leaders_by_its_kind(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """After 立即发送 the reporter sends two photos, a video, then a voice note with
    WeChat's recognition of it. The first photo is told at once; the photo and the video
    right after it are told together once the wait for more is over, by kind (a video is
    not "照片或语音"); the voice note three minutes later with its words. Before, one push
    per five minutes said "照片或语音" with the count of the first file: the video and the
    voice note were never announced."""
    sun = await leader(client, wx, api, SUN)
    worker = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(worker, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5)),
                       ("铸造车间有人受伤倒地", ask("zh", "emergency", "place", 2, 5)),
                       ("铸造车间二号炉旁", ask("zh", "emergency", "people", 3, 5)),
                       ("立即发送", "E-2026-0001")])
    sun.new_texts()
    for name, mime in (("P1", "image/jpeg"), ("P2", "image/jpeg"), ("VID", "video/mp4"),
                       ("VOX", "audio/amr")):
        api.add_media(name, b"x" * 100, mime)

    def more() -> list[list[str]]:
        """The first two lines of each 【紧急·补充】 the leader got since last asked."""
        return [x.splitlines()[:2] for x in sun.new_texts() if x.startswith("【紧急·补充】")]

    def told(added: dict[str, int], total: dict[str, int], at: str,
             **words: str) -> list[list[str]]:
        key = "notice.incident_files_added_said" if words else "notice.incident_files_added"
        return [[t("zh", key, number="E-2026-0001", added=files_words(added, "zh"),
                   reported_at=at, **words),
                 t("zh", "notice.files", files=files_words(total, "zh"))]]

    def now() -> str:
        return local_time(wx.clock.now().isoformat(), wx.settings.zone)

    wx.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    at = now()
    await worker.media("image", "P1")
    assert more() == told({"photo": 1}, {"photo": 1}, at)
    at = now()
    await worker.media("image", "P2")
    await worker.media("video", "VID")
    assert more() == []  # gathered: one push for both, when the wait is over
    wx.clock.advance(timedelta(seconds=10))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx.dispatcher.drain)
    assert more() == told({"photo": 1, "video": 1}, {"photo": 2, "video": 1}, at)
    wx.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    at = now()
    r = await worker.send_inner(worker.inner("voice", MediaId="VOX", Format="amr",
                                             Recognition="伤员左腿出血很多，已经打了120"))
    assert r.status_code == 200
    await asyncio.to_thread(wx.dispatcher.drain)
    assert more() == told({"voice": 1}, {"photo": 2, "video": 1, "voice": 1}, at,
                          caption="伤员左腿出血很多，已经打了120")
    assert [a.kind for a in all_rows(wx, Attachment)] == ["photo", "photo", "video", "voice"]
