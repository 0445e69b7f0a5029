"""Photos, videos, voice notes and documents sent on Telegram are kept as bytes with
their record: fetched (getFile, then the download) by the timer sweep after the step that
took them, retried on a 5xx, given up on when Telegram will never give them, and opened by
the staff on the web. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select

from bot import media, telegram_media
from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.db import transaction
from store.models import IdentityRead, MediaFile, Person, Timer
from tests.fakes.telegram_api import FakeBotApi, photo_update, voice_update
from tests.test_telegram import TgChat, client, fake, run, telegram_services
from tests.test_telegram_flows import complaint_steps
from tests.test_wechat_media import staff_web
from tests.transcript import all_rows, person, t

__all__ = ["client", "fake"]  # fixtures from tests/test_telegram

PHOTO = b"\xff\xd8\xff\xe0" + b"payslip-photo" * 400  # a JPEG's first bytes, then some
VOICE = b"OggS" + b"voice-note" * 300


@pytest.fixture
def tg(db_url: str, clock: FrozenClock, fake: FakeBotApi) -> Iterator[Services]:
    """tests/test_telegram's workroom, on SQLite and on PostgreSQL."""
    svc = telegram_services(db_url, clock, fake, "webhook")
    yield svc
    svc.close()


def media_timers(svc: Services) -> list[Timer]:
    return all_rows(svc, Timer, Timer.kind == telegram_media.MEDIA,
                    col(Timer.done_at).is_(None))


def kept(svc: Services) -> dict[str, bytes | None]:
    return {row.file_ref: row.content for row in all_rows(svc, MediaFile)}


async def sweep(svc: Services) -> int:
    return await asyncio.to_thread(svc.sweeper.drain)


async def emergency_with_voice(chat: TgChat, voice: str) -> None:
    await run(chat, [("紧急情况报告", "发生了什么"), ("二十多人在厂门口聚集", "在哪里"),
                     ("厂区东门", "多少人")])
    await chat.post(voice_update(chat.chat_id, file_id=voice))
    assert any("已收到附件（共 1 个）" in x for x in chat.new_texts())
    await run(chat, [("[立即发送]", "已报告")])


async def test_the_staff_open_a_complaints_photo_and_an_emergencys_voice_note(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    fake.add_file("PHOTO-payslip-1280", PHOTO)
    fake.add_file("VOICE-gate", VOICE)
    worker = TgChat(client, fake, 7600)
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[:2])
    await worker.post(photo_update(7600, file_id="PHOTO-payslip"))
    assert any("已收到附件（共 1 个）" in x for x in worker.new_texts())
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[2:])
    await run(worker, [("[确认提交]", "C-2026-0001")])
    # The steps only set the fetch: nothing was downloaded on their way.
    assert fake.calls_to("getFile") == [] and fake.downloads == []
    assert kept(tg) == {"PHOTO-payslip-1280": None}

    await staff_web(client, tg, "liu_fang")
    [listed] = (await client.get("/api/records/C-2026-0001/files")).json()["files"]
    assert (listed["kept"], listed["fetching"], listed["url"]) == (False, True, None)
    early = await client.get(f"/files/{listed['id']}")
    assert (early.status_code, early.json()["detail"]) == (
        409, t("zh", "file.fetching", id=listed["id"]))

    assert await sweep(tg) == 1
    assert kept(tg) == {"PHOTO-payslip-1280": PHOTO}
    [listed] = (await client.get("/api/records/C-2026-0001/files")).json()["files"]
    assert [listed[k] for k in ("kind", "channel", "mime_type", "size", "kept", "fetching")] \
        == ["photo", "telegram", "image/jpeg", len(PHOTO), True, False]
    opened = await client.get(listed["url"])
    assert (opened.status_code, opened.content, opened.headers["content-type"]) == (
        200, PHOTO, "image/jpeg")
    [read] = all_rows(tg, IdentityRead, IdentityRead.purpose == "attachment")
    assert read.reader_id == person(tg, "liu_fang").id

    await emergency_with_voice(TgChat(client, fake, 7601), "VOICE-gate")
    assert await sweep(tg) == 1
    [voice] = (await client.get("/api/records/E-2026-0001/files")).json()["files"]
    opened = await client.get(voice["url"])
    assert (voice["kind"], voice["size"], opened.status_code, opened.content,
            opened.headers["content-type"]) == ("voice", len(VOICE), 200, VOICE, "audio/ogg")
    # Saved under a name the staff's computer plays, not as an unknown ".bin".
    assert opened.headers["content-disposition"].endswith('.ogg"')
    # Kept for good: a record took them, so the later sweep does not forget them.
    tg.clock.advance(media.KEEP + timedelta(days=1))  # type: ignore[attr-defined]
    await sweep(tg)
    assert kept(tg) == {"PHOTO-payslip-1280": PHOTO, "VOICE-gate": VOICE}
    assert media_timers(tg) == []
    assert sorted(c.params["file_id"] for c in fake.calls_to("getFile")) == [
        "PHOTO-payslip-1280", "VOICE-gate"]


async def test_the_staff_open_a_complaints_video_and_pdf_by_names_that_open(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A worker films the canteen notice and sends the payslip as a PDF; the staff open
    both, each under the extension of its type. A file of a type that could run on the
    staff's computer is served as .bin."""
    video, pdf, exe = b"\x00\x00\x00\x18ftypmp42" + b"v" * 999, b"%PDF-1.4 payslip", b"MZ\x90"
    for file_id, content in (("VIDEO-notice", video), ("DOC-payslip", pdf), ("DOC-run", exe)):
        fake.add_file(file_id, content)
    worker = TgChat(client, fake, 7605)
    steps = complaint_steps("zh", "wages", "铸造车间", "named")
    await run(worker, steps[:2])
    for kind, file_id, mime in (("video", "VIDEO-notice", "video/mp4"),
                                ("document", "DOC-payslip", "application/pdf"),
                                ("document", "DOC-run", "application/x-msdownload")):
        update = photo_update(7605, file_id="unused")
        message = update["message"]
        del message["photo"]
        message[kind] = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                         "mime_type": mime, "file_size": 1000}
        await worker.post(update)
    assert any("已收到附件（共 3 个）" in x for x in worker.new_texts())
    await run(worker, steps[2:])
    await run(worker, [("[确认提交]", "C-2026-0001")])
    assert await sweep(tg) == 3
    await staff_web(client, tg, "liu_fang")
    listed = (await client.get("/api/records/C-2026-0001/files")).json()["files"]
    assert [(f["kind"], f["mime_type"], f["kept"]) for f in listed] == [
        ("video", "video/mp4", True), ("file", "application/pdf", True),
        ("file", "application/x-msdownload", True)]
    opened = [await client.get(f["url"]) for f in listed]
    assert [(r.status_code, r.content) for r in opened] == [(200, video), (200, pdf),
                                                            (200, exe)]
    assert [r.headers["content-disposition"].rsplit(".", 1)[1] for r in opened] == [
        'mp4"', 'pdf"', 'bin"']


async def test_a_5xx_on_get_file_is_tried_again_later(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    fake.add_file("VOICE-outage", VOICE)
    fake.fail_next("getFile", status=502)
    await emergency_with_voice(TgChat(client, fake, 7602), "VOICE-outage")
    await sweep(tg)
    assert kept(tg) == {"VOICE-outage": None}
    [timer] = media_timers(tg)
    assert timer.due_at > tg.clock.now()  # after a back-off
    await staff_web(client, tg, "liu_fang")
    with transaction(tg.db) as s:  # the reader's language: English
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
        staff.lang = "en"
        s.add(staff)
    [listed] = (await client.get("/api/records/E-2026-0001/files")).json()["files"]
    assert listed["fetching"] is True
    early = await client.get(f"/files/{listed['id']}")
    assert (early.status_code, early.json()["detail"]) == (
        409, t("en", "file.fetching", id=listed["id"]))
    tg.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    await sweep(tg)
    assert kept(tg) == {"VOICE-outage": VOICE}
    assert (await client.get(f"/files/{listed['id']}")).content == VOICE
    assert len(fake.calls_to("getFile")) == 2


async def test_a_file_too_big_is_given_up_and_the_record_still_read(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services,
        caplog: pytest.LogCaptureFixture) -> None:
    fake.fail_next("getFile", status=400, description="Bad Request: file is too big")
    await emergency_with_voice(TgChat(client, fake, 7603), "VOICE-huge")
    await sweep(tg)
    assert "cannot be fetched" in caplog.text and "file is too big" in caplog.text.lower()
    assert kept(tg) == {"VOICE-huge": None} and media_timers(tg) == []
    tg.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    await sweep(tg)
    assert len(fake.calls_to("getFile")) == 1  # never asked again
    await staff_web(client, tg, "liu_fang")
    [listed] = (await client.get("/api/records/E-2026-0001/files")).json()["files"]
    assert (listed["kind"], listed["kept"], listed["fetching"]) == ("voice", False, False)
    r = await client.get(f"/files/{listed['id']}")
    assert (r.status_code, r.json()["detail"]) == (404, t("zh", "file.not_kept",
                                                          id=listed["id"]))


async def test_a_photo_outside_a_report_is_never_downloaded(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7604)
    await run(chat, [("提建议", "哪方面")])
    await chat.post(photo_update(7604, file_id="PHOTO-x"))
    assert any("这一份没有保存" in x for x in chat.new_texts())
    await sweep(tg)
    assert all_rows(tg, MediaFile) == [] and media_timers(tg) == []
    assert fake.calls_to("getFile") == []


async def test_a_self_hosted_bot_api_server_set_by_its_one_url_also_serves_the_files(
        db_url: str, clock: FrozenClock, fake: FakeBotApi) -> None:
    """WORKROOM_TELEGRAM_API_URL alone points the bot at a local Bot API server: the
    photos and voice notes are fetched from that server too, not from api.telegram.org."""
    from tests.conftest import make_services
    from tests.test_telegram import SECRET
    from web.app import create_app

    svc = make_services(db_url, clock, telegram_token=fake.token, telegram_api_url=fake.base_url,
                        telegram_mode="webhook", telegram_webhook_secret=SECRET,
                        telegram_chat_burst=1000, telegram_per_second=1000)
    try:
        assert svc.settings.telegram_file_url == fake.base_file_url
        fake.add_file("VOICE-local", VOICE)
        transport = httpx.ASGITransport(app=create_app(svc, run_scheduler=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
            c.telegram = svc.telegram  # type: ignore[attr-defined]
            await emergency_with_voice(TgChat(c, fake, 7605), "VOICE-local")
        assert await sweep(svc) == 1
        assert kept(svc) == {"VOICE-local": VOICE}
        assert len(fake.downloads) == 1
    finally:
        svc.close()
