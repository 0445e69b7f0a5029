"""Photos and voice notes of a complaint or an emergency outlive WeChat's media ids (three
days): their bytes are fetched with media/get after the answer, retried by the timer sweep,
kept with the record, and forgotten when no record took them."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from bot import invites, wechat_jobs
from bot.bootstrap import Services
from store.models import Attachment, Case, IdentityRead, MediaFile, Timer
from tests.fakes.wechat_api import FakeWeChatApi
from tests.transcript import all_rows, person, t
from tests.wechat_chat import WxChat, api, ask, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

KINDS = pytest.mark.parametrize("kind", ["wechat", "wecom"])
PHOTO = b"\xff\xd8\xff\xe0" + b"gate-photo" * 500  # a JPEG's first bytes, then some
VOICE = b"#!AMR\n" + b"voice" * 300


def media_timers(svc: Services) -> list[Timer]:
    return all_rows(svc, Timer, Timer.kind == wechat_jobs.MEDIA, col(Timer.done_at).is_(None))


def kept(svc: Services, subject: str) -> dict[str, bytes | None]:
    with Session(svc.db) as s:
        files = s.exec(select(Attachment).where(Attachment.subject == subject)).all()
        return {f.file_ref: wechat_jobs.kept_bytes(s, f) for f in files}


async def report_start(chat: WxChat) -> None:
    await run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])


async def report_with_photo_and_voice(client: httpx.AsyncClient, wx: Services,
                                      api: FakeWeChatApi, kind: str, who: str) -> WxChat:
    """A worker sends a photo of the gate and a voice note during an emergency report,
    then sends it at once (E-2026-0001)."""
    api.add_media("MEDIA-gate", PHOTO, "image/jpeg")
    api.add_media("MEDIA-voice", VOICE, "audio/amr")
    chat = WxChat(client, wx, api, kind, f"o_{who}" if kind == "wechat" else f"wk_{who}")
    await report_start(chat)
    await chat.media("image", "MEDIA-gate")
    await run(chat, [("二十多人聚集在厂门口", ask("zh", "emergency", "place", 2, 5)),
                     ("厂门口", ask("zh", "emergency", "people", 3, 5))])
    await chat.media("voice", "MEDIA-voice")
    assert any("E-2026-0001" in x for x in await chat.say("立即发送"))
    return chat


@KINDS
async def test_the_bytes_of_a_reports_photo_and_voice_are_kept_with_it(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    await report_with_photo_and_voice(client, wx, api, kind, "reporter")
    assert kept(wx, "incident") == {"MEDIA-gate": PHOTO, "MEDIA-voice": VOICE}
    files = {f.file_ref: f for f in all_rows(wx, MediaFile)}
    assert (files["MEDIA-gate"].size, files["MEDIA-gate"].mime_type) == (len(PHOTO), "image/jpeg")
    assert files["MEDIA-voice"].mime_type == "audio/amr"
    # Long after, the bytes stay: a record took them.
    wx.clock.advance(wechat_jobs.MEDIA_KEEP + timedelta(days=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx.sweeper.drain)
    assert kept(wx, "incident") == {"MEDIA-gate": PHOTO, "MEDIA-voice": VOICE}
    assert media_timers(wx) == []
    fetched = [c for c in api.calls if c.path == "/cgi-bin/media/get"]
    assert sorted(c.params["media_id"] for c in fetched) == ["MEDIA-gate", "MEDIA-voice"]


VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"gate-video" * 800


@KINDS
async def test_a_video_of_the_gate_is_kept_with_the_report_and_opened_by_the_staff(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """A worker films the gathering at the gate during an emergency report: the video is
    the report's like a photo. WeCom's media/get gives its bytes; the official account's
    gives a link to download them from."""
    api.add_media("MEDIA-film", VIDEO, "video/mp4", as_link=kind == "wechat")
    chat = WxChat(client, wx, api, kind, "o_film" if kind == "wechat" else "wk_film")
    await report_start(chat)
    said = await chat.media("shortvideo" if kind == "wechat" else "video", "MEDIA-film")
    assert any(x.startswith("已收到附件（共 1 个）") for x in said), said
    await run(chat, [("二十多人聚集在厂门口", ask("zh", "emergency", "place", 2, 5)),
                     ("厂门口", ask("zh", "emergency", "people", 3, 5))])
    assert any("E-2026-0001" in x for x in await chat.say("立即发送"))
    await asyncio.to_thread(chat.channel.settle_all)
    await asyncio.to_thread(wx.sweeper.drain)
    assert kept(wx, "incident") == {"MEDIA-film": VIDEO}
    [row] = all_rows(wx, MediaFile)
    assert (row.mime_type, row.size) == ("video/mp4", len(VIDEO))
    assert [c.path for c in api.calls if c.path in ("/cgi-bin/media/get", "/video")] == (
        ["/cgi-bin/media/get", "/video"] if kind == "wechat" else ["/cgi-bin/media/get"])
    await staff_web(client, wx, "liu_fang")
    [listed] = (await client.get("/api/records/E-2026-0001/files")).json()["files"]
    opened = await client.get(listed["url"])
    assert (listed["kind"], opened.status_code, opened.content) == ("video", 200, VIDEO)
    assert opened.headers["content-disposition"].endswith('.mp4"')


async def test_a_slow_download_does_not_hold_up_the_answer(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("MEDIA-slow", PHOTO, "image/jpeg")
    api.media_delay = 1.5
    chat = WxChat(client, wx, api, "wechat", "o_slowmedia")
    await report_start(chat)
    params, body = chat.callbacks.post(chat.inner("image", MediaId="MEDIA-slow",
                                                  PicUrl="http://mmbiz.example/x"))
    began = time.monotonic()
    r = await client.post("/wechat/callback", params=params, content=body)
    assert time.monotonic() - began < 1.0  # answered before the download ended
    assert r.text == "success"  # the photo's answer waits for the album's next photo
    await asyncio.to_thread(wx.wechat.settle_all)
    await chat.album_waited()
    [said] = chat.new_texts()
    assert "已收到附件" in said
    [row] = all_rows(wx, MediaFile)
    assert row.content == PHOTO


async def test_a_failed_download_is_tried_again_by_the_sweep(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("MEDIA-later", PHOTO, "image/jpeg")
    api.fail_next("/cgi-bin/media/get", 0, status=502)
    chat = WxChat(client, wx, api, "wechat", "o_outage")
    await report_start(chat)
    [said] = await chat.media("image", "MEDIA-later")
    assert said.startswith("已收到附件")
    [row] = all_rows(wx, MediaFile)
    assert row.content is None
    [timer] = media_timers(wx)
    assert timer.due_at > wx.clock.now()  # after a back-off
    assert await asyncio.to_thread(wx.sweeper.drain) == 0  # not due yet
    wx.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    # The retry (the emergency draft's timer may be looked at too: not due, moved on).
    assert await asyncio.to_thread(wx.sweeper.drain) >= 1
    [row] = all_rows(wx, MediaFile)
    assert row.content == PHOTO


async def test_an_expired_media_id_is_given_up_and_its_id_kept(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi,
        caplog: pytest.LogCaptureFixture) -> None:
    chat = WxChat(client, wx, api, "wecom", "wk_expired")
    await report_start(chat)
    await chat.media("image", "MEDIA-gone")  # WeChat no longer has it: 40007
    assert "cannot be fetched" in caplog.text
    [row] = all_rows(wx, MediaFile)
    assert row.content is None and media_timers(wx) == []
    await run(chat, [("车间冒烟", "在哪里"), ("铸造车间", "多少人")])
    assert any("E-2026-0001" in x for x in await chat.say("立即发送"))
    assert kept(wx, "incident") == {"MEDIA-gone": None}  # the record keeps the id


async def test_photos_no_record_took_are_not_kept(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("MEDIA-outside", PHOTO, "image/jpeg")
    api.add_media("MEDIA-dropped", PHOTO, "image/jpeg")
    chat = WxChat(client, wx, api, "wechat", "o_nokeep")
    # Outside a report: refused, and never fetched.
    await run(chat, [("提建议", "哪方面")])
    [said] = await chat.media("image", "MEDIA-outside")
    assert "没有保存" in said
    assert all_rows(wx, MediaFile) == [] and media_timers(wx) == []
    await run(chat, [("取消", "已取消")])
    # In a report that is then cancelled: fetched, and forgotten in time.
    await report_start(chat)
    await chat.media("image", "MEDIA-dropped")
    await run(chat, [("取消", "已取消")])
    [row] = all_rows(wx, MediaFile)
    assert row.content == PHOTO
    wx.clock.advance(wechat_jobs.MEDIA_KEEP + timedelta(days=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx.sweeper.drain)
    assert all_rows(wx, MediaFile) == [] and media_timers(wx) == []
    assert [c.params["media_id"] for c in api.calls if c.path == "/cgi-bin/media/get"] == [
        "MEDIA-dropped"]


async def staff_web(client: httpx.AsyncClient, svc: Services, key: str) -> None:
    """Log the web client in as the person `key` (their invitation link)."""
    r = await client.get(f"/i/{invites.make_token(svc.settings.secret_key, key)}")
    assert r.status_code == 303


@KINDS
async def test_the_staff_open_a_reports_photo_and_voice_from_its_attachments(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, kind: str) -> None:
    """Regression: the fetched bytes were kept but nothing gave them to the staff."""
    chat = await report_with_photo_and_voice(client, wx, api, kind, "opened")
    await asyncio.to_thread(chat.channel.settle_all)
    web = client  # the same app: its web session cookie is the staff's from here on
    refused = await web.get("/api/records/E-2026-0001/files")
    assert (refused.status_code, refused.json()["detail"]) == (403, t("zh", "file.forbidden"))
    await staff_web(web, wx, "li_ming")  # an employee
    assert (await web.get("/api/records/E-2026-0001/files")).status_code == 403
    await staff_web(web, wx, "liu_fang")
    listed = (await web.get("/api/records/E-2026-0001/files")).json()["files"]
    assert [(f["kind"], f["channel"], f["mime_type"], f["size"], f["kept"]) for f in listed] == [
        ("photo", kind, "image/jpeg", len(PHOTO), True),
        ("voice", kind, "audio/amr", len(VOICE), True)]
    opened = [await web.get(f["url"]) for f in listed]
    assert [(r.status_code, r.content, r.headers["content-type"]) for r in opened] == [
        (200, PHOTO, "image/jpeg"), (200, VOICE, "audio/amr")]
    assert opened[0].headers["content-disposition"].endswith('.jpg"')
    missing = await web.get("/api/records/E-2026-0999/files")
    assert (missing.status_code, missing.json()["detail"]) == (
        404, t("zh", "file.no_record", number="E-2026-0999"))


async def test_a_complaints_photo_is_opened_by_the_staff_and_the_read_audited(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("MEDIA-payslip", PHOTO, "image/jpeg")
    chat = WxChat(client, wx, api, "wecom", "wk_payslip")
    await run(chat, [("反映问题", ask("zh", "complaint", "category", 1, 8))])
    await chat.media("image", "MEDIA-payslip")
    await run(chat, [("1", ask("zh", "complaint", "description", 2, 8)),
                     ("十月份的加班费没有发", ask("zh", "complaint", "since", 3, 8)),
                     ("2026-10-15", ask("zh", "complaint", "affected", 4, 8)),
                     ("3", ask("zh", "complaint", "cosigners", 5, 8)),
                     ("跳过", ask("zh", "complaint", "workshop", 6, 8)),
                     ("铸造车间", ask("zh", "complaint", "outcome", 7, 8)),
                     ("补发加班费", ask("zh", "complaint", "identity", 8, 8)),
                     ("1", t("zh", "review.title"))])
    assert any("C-2026-0001" in x for x in await chat.say("确认提交"))
    await asyncio.to_thread(chat.channel.settle_all)
    # A Telegram photo on the same record keeps only its file id: listed, not served.
    [case] = all_rows(wx, Case)
    with Session(wx.db) as s:
        s.add(Attachment(subject="case", subject_id=case.id or 0, channel="telegram",
                         kind="photo", file_ref="TG-file-id", created_at=wx.clock.now()))
        s.commit()
    await staff_web(client, wx, "liu_fang")
    listed = (await client.get("/api/records/C-2026-0001/files")).json()["files"]
    assert [(f["channel"], f["kept"], f["url"] is not None) for f in listed] == [
        ("wecom", True, True), ("telegram", False, False)]
    assert all_rows(wx, IdentityRead, IdentityRead.purpose == "attachment") == []
    r = await client.get(listed[0]["url"])
    assert (r.status_code, r.content) == (200, PHOTO)
    [read] = all_rows(wx, IdentityRead, IdentityRead.purpose == "attachment")
    assert (read.case_id, read.reader_id) == (case.id, person(wx, "liu_fang").id)
    tg = await client.get(f"/files/{listed[1]['id']}")
    assert (tg.status_code, tg.json()["detail"]) == (
        404, t("zh", "file.not_kept", id=listed[1]["id"]))
    assert (await client.get("/files/999999")).status_code == 404
