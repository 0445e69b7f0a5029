"""Downloads of photos and voice notes are swept apart from the other timers: one that
hangs holds up no escalation, and none is fetched twice because its claim ran out behind
another. A file given up on is told to the staff of its record, once, in their language;
one that no record took is told to nobody. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session, select

from bot import media, telegram_media, wechat_jobs
from bot.bootstrap import Services
from conversations.clock import FrozenClock
from scheduler import runner
from store import media as stored_media
from store.db import make_engine, transaction
from store.models import Alert, MediaFile, Notification, Person
from tests.case_helpers import pushes
from tests.fakes.telegram_api import FakeBotApi, photo_update
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_telegram import TgChat, client, fake, run, telegram_services
from tests.test_telegram_flows import ask, complaint_steps
from tests.test_telegram_media import VOICE, emergency_with_voice, kept, tg
from tests.test_wechat_late import LATE, SLOW
from tests.transcript import all_rows, person, t
from tests.wechat_chat import WxChat, api, app_client, client_db, slow_steps, wechat_services, wx_db
from tests.wechat_chat import run as wx_run

__all__ = ["api", "client", "client_db", "fake", "tg", "wx_db"]  # fixtures

WAIT = 30.0  # seconds a test waits for a thread before it fails; never for a deadline
LOST = "notice.file_lost"


class Download:
    """A platform whose downloads wait at a gate the test opens: the first download of
    each file blocks until released, one gate per call in the order they began."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.began = [threading.Event() for _ in range(4)]
        self.gates = [threading.Event() for _ in range(4)]
        self._lock = threading.Lock()

    def __call__(self, file_ref: str) -> tuple[bytes, str | None]:
        with self._lock:
            n = len(self.calls)
            first = file_ref not in self.calls
            self.calls.append(file_ref)
        if first and n < len(self.gates):
            self.began[n].set()
            self.gates[n].wait(WAIT)
        return VOICE, None

    def release(self) -> None:
        for gate in self.gates:
            gate.set()


def sweep_as_served(svc: Services) -> tuple[BackgroundScheduler, dict[str, threading.Event]]:
    """The scheduler of `workroom serve`, its sweeps run now (and not again by themselves);
    for each job, an event set when a run of it has ended."""
    svc.settings = svc.settings.model_copy(update={"timer_interval_seconds": 3600.0,
                                                   "outbox_interval_seconds": 3600.0})
    sched = runner.start(svc)
    ended = {job.id: threading.Event() for job in sched.get_jobs()}

    def on_end(event: JobExecutionEvent) -> None:
        if event.job_id in ended:
            ended[event.job_id].set()

    sched.add_listener(on_end, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    for job in sched.get_jobs():
        if job.id not in ("outbox", "calendar", "heartbeat", "retention"):  # the sweeps
            job.modify(next_run_time=datetime.now(UTC))
    return sched, ended


def alerted(svc: Services, key: str) -> bool:
    with Session(svc.db) as s:
        return s.exec(select(Alert.id).where(
            Alert.recipient_id == person(svc, key).id)).first() is not None


def lost_notices(svc: Services) -> list[Notification]:
    return all_rows(svc, Notification, Notification.message_key == LOST)


def set_lang(svc: Services, key: str, lang: str) -> None:
    with transaction(svc.db) as s:
        row = s.exec(select(Person).where(Person.key == key)).one()
        row.lang = lang
        s.add(row)


def lost_text(lang: str, number: str, kind: str, received: datetime, svc: Services) -> str:
    return t(lang, LOST, number=number, file=t(lang, f"file.kind.{kind}"),
             received_at=received.astimezone(svc.settings.zone).strftime("%Y-%m-%d %H:%M"))


# --- a download never holds up another timer ---------------------------------------------


async def test_a_hanging_download_does_not_hold_up_the_next_leaders_alert(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    await emergency_with_voice(TgChat(client, fake, 7700), "VOICE-hangs")
    download = Download()
    tg.telegram.media.source = lambda channel: download
    assert not alerted(tg, "zhao_guoqiang")  # the chain's first step: not him yet
    tg.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]  # step 2 is due
    sched, ended = sweep_as_served(tg)
    try:
        assert await asyncio.to_thread(download.began[0].wait, WAIT)  # downloading...
        assert await asyncio.to_thread(ended["timers"].wait, WAIT)
        # ... and meanwhile the escalation went out: the next leaders' alerts and pushes.
        assert download.calls == ["VOICE-hangs"] and not download.gates[0].is_set()
        assert alerted(tg, "zhao_guoqiang") and alerted(tg, "liu_fang")
        zhao = person(tg, "zhao_guoqiang").id
        assert all_rows(tg, Notification, Notification.recipient_id == zhao) != []
    finally:
        download.release()
        await asyncio.to_thread(sched.shutdown, True)
    assert kept(tg) == {"VOICE-hangs": VOICE}


async def test_a_download_behind_another_is_not_fetched_again_by_a_second_sweeper(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, db_url: str) -> None:
    """Two files due at once: each download runs inside its own claim, so a second
    process sweeping while the second file downloads leaves it alone."""
    await emergency_with_voice(TgChat(client, fake, 7701), "VOICE-one")
    await emergency_with_voice(TgChat(client, fake, 7702), "VOICE-two")
    download, elsewhere = Download(), Download()
    elsewhere.release()  # the other process's downloads would not wait
    tg.telegram.media.source = lambda channel: download
    second = telegram_services(db_url, tg.clock, fake, "webhook",  # type: ignore[arg-type]
                               engine=make_engine(db_url))
    second.telegram.media.source = lambda channel: elsewhere
    sched, _ = sweep_as_served(tg)
    try:
        assert await asyncio.to_thread(download.began[0].wait, WAIT)
        tg.clock.advance(timedelta(seconds=80))  # type: ignore[attr-defined]  # slow, in time
        download.gates[0].set()
        assert await asyncio.to_thread(download.began[1].wait, WAIT)
        tg.clock.advance(timedelta(seconds=50))  # type: ignore[attr-defined]
        # 130 s after the sweep began: the other process sweeps while it downloads.
        await asyncio.to_thread(second.sweeper.drain)
        assert elsewhere.calls == []
    finally:
        download.release()
        await asyncio.to_thread(sched.shutdown, True)
        second.close()
    assert sorted(download.calls) == ["VOICE-one", "VOICE-two"]
    assert kept(tg) == {"VOICE-one": VOICE, "VOICE-two": VOICE}


def test_workroom_serve_sweeps_downloads_on_a_job_of_their_own(tg: Services) -> None:
    assert tg.sweeper.slow == set(stored_media.KINDS)
    sched = runner.start(tg)
    try:
        jobs = {job.id: job.func for job in sched.get_jobs()}
    finally:
        sched.shutdown(wait=False)
    assert (jobs["timers"], jobs["downloads"]) == (tg.sweeper.run_once, tg.sweeper.run_slow)


async def test_a_wechat_photo_fetched_after_the_answer_is_not_fetched_again_by_the_sweep(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi) -> None:
    download = Download()
    wx_db.wechat.media.source = lambda channel: download
    chat = WxChat(client_db, wx_db, api, "wechat", "o_slow_fetch")
    await wx_run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
    params, body = chat.callbacks.post(chat.inner("image", MediaId="MEDIA-slow",
                                                  PicUrl="http://mmbiz.example/slow"))
    assert (await client_db.post(chat.path, params=params, content=body)).status_code == 200
    try:
        assert await asyncio.to_thread(download.began[0].wait, WAIT)  # after the answer
        # It takes longer than the grace of its timer: the download sweep comes by.
        wx_db.clock.advance(wechat_jobs.MEDIA_GRACE + timedelta(seconds=1))  # type: ignore[attr-defined]
        await asyncio.to_thread(wx_db.sweeper.drain)
        assert download.calls == ["MEDIA-slow"]
    finally:
        download.release()
        await asyncio.to_thread(chat.channel.settle_all)
    [row] = all_rows(wx_db, MediaFile)
    assert row.content == VOICE


async def test_a_held_messages_photo_is_left_to_the_download_sweep(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    """A late step that failed is stepped again by the timer sweep; the photo it took is
    fetched by the download sweep, not on the way of the other timers."""
    api.add_media("MEDIA-held", VOICE, "audio/amr")
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=LATE)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_held_media")
            await wx_run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
            slow_steps(svc, SLOW, fail=1)
            r = await chat.send_inner(chat.inner("voice", MediaId="MEDIA-held", Format="amr"))
            assert (r.status_code, r.text) == (200, "success")
            assert await asyncio.to_thread(svc.sweeper.run_once) == 1  # stepped again
            assert media_gets(api) == []
            assert await asyncio.to_thread(svc.sweeper.run_slow) == 1
            assert media_gets(api) == ["MEDIA-held"]
            [row] = all_rows(svc, MediaFile)
            assert row.content == VOICE
    finally:
        svc.close()


def media_gets(api: FakeWeChatApi) -> list[str]:
    return [c.params["media_id"] for c in api.calls if c.path == "/cgi-bin/media/get"]


# --- a file given up on is told to the staff ---------------------------------------------


async def test_a_voice_note_telegram_no_longer_has_is_told_to_the_staff_once(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    set_lang(tg, "liu_fang", "en")
    received = tg.clock.now()
    fake.fail_next("getFile", status=400, description="Bad Request: invalid file_id")
    await emergency_with_voice(TgChat(client, fake, 7703), "VOICE-gone")
    await asyncio.to_thread(tg.sweeper.drain)
    await asyncio.to_thread(tg.dispatcher.drain)
    [notice] = lost_notices(tg)
    assert notice.recipient_id == person(tg, "liu_fang").id  # the unit's staff
    told = [p for p in pushes(tg, "liu_fang") if "ATTACHMENT NOT KEPT" in p]
    assert told == [lost_text("en", "E-2026-0001", "voice", received, tg)]
    assert "E-2026-0001" in told[0] and "voice note" in told[0]
    # Swept again, and again a day later: never told twice, never fetched again.
    await asyncio.to_thread(tg.sweeper.drain)
    tg.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.sweeper.drain)
    await asyncio.to_thread(tg.dispatcher.drain)
    assert len(lost_notices(tg)) == 1
    assert [p for p in pushes(tg, "liu_fang") if "ATTACHMENT NOT KEPT" in p] == told
    assert len(fake.calls_to("getFile")) == 1


async def test_a_video_too_big_for_a_bot_is_told_to_the_staff_as_a_video(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A phone's video of the gate is often over the 20 MB Telegram gives a bot: the report
    keeps it and goes on, and the staff are told which record's video to ask for again."""
    set_lang(tg, "liu_fang", "en")
    received = tg.clock.now()
    fake.fail_next("getFile", status=400, description="Bad Request: file is too big")
    chat = TgChat(client, fake, 7706)
    await run(chat, [("紧急情况报告", "发生了什么")])
    update = photo_update(7706, file_id="unused", caption="二十多人在厂门口聚集")
    del update["message"]["photo"]
    update["message"]["video"] = {"file_id": "VIDEO-big", "file_unique_id": "uVIDEO-big",
                                  "mime_type": "video/mp4", "file_size": 48_000_000}
    await chat.post(update)
    assert any("在哪里" in x for x in chat.new_texts())  # the caption answered
    await run(chat, [("厂门口", "多少人"), ("[立即发送]", "已报告")])
    await asyncio.to_thread(tg.sweeper.drain)
    await asyncio.to_thread(tg.dispatcher.drain)
    told = [p for p in pushes(tg, "liu_fang") if "ATTACHMENT NOT KEPT" in p]
    assert told == [lost_text("en", "E-2026-0001", "video", received, tg)]
    assert "E-2026-0001" in told[0] and "video" in told[0] and "file.kind" not in told[0]


async def test_an_anonymous_complaints_photo_past_its_life_is_told_without_who_sent_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    received = tg.clock.now()
    worker = TgChat(client, fake, 7704)
    steps = complaint_steps("zh", "wages", "铸造车间", "anonymous")
    await run(worker, steps[:2])
    await worker.post(photo_update(7704, file_id="PHOTO-night"))
    await run(worker, steps[2:])
    await run(worker, [("[确认提交]", "C-2026-0001")])
    fake.fail_next("getFile", status=502, times=2)  # Telegram is down, and stays down
    await asyncio.to_thread(tg.sweeper.drain)
    assert lost_notices(tg) == []  # tried again later
    tg.clock.advance(telegram_media.MEDIA_LIFE + timedelta(hours=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.sweeper.drain)
    await asyncio.to_thread(tg.dispatcher.drain)
    [notice] = lost_notices(tg)
    assert set(notice.params) == {"number", "file", "received_at"}  # nothing of the sender
    told = [p for p in pushes(tg, "liu_fang") if "附件未能保存" in p]
    assert told == [lost_text("zh", "C-2026-0001", "photo", received, tg)]
    await asyncio.to_thread(tg.sweeper.drain)
    assert len(lost_notices(tg)) == 1


async def test_a_lost_photo_is_told_once_its_report_is_sent_and_never_if_abandoned(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi) -> None:
    """WeChat fetches a photo right after the answer, while the form is still open: one
    it will never give is told when the report is sent, and forgotten when it is not."""
    sent = WxChat(client_db, wx_db, api, "wecom", "wk_lost_sent")
    dropped = WxChat(client_db, wx_db, api, "wechat", "o_lost_dropped")
    for chat, media_id in ((sent, "MEDIA-gone-1"), (dropped, "MEDIA-gone-2")):
        await wx_run(chat, [("紧急情况报告", ask("zh", "emergency", "what", 1, 5))])
        await chat.media("image", media_id)  # WeChat no longer has it: 40007
        await asyncio.to_thread(chat.channel.settle_all)
    assert len(all_rows(wx_db, MediaFile)) == 2 and lost_notices(wx_db) == []
    await wx_run(dropped, [("取消", "已取消")])
    await wx_run(sent, [("车间冒烟", "在哪里"), ("铸造车间", "多少人")])
    assert any("E-2026-0001" in x for x in await sent.say("立即发送"))
    wx_db.clock.advance(media.LOST_CHECK)  # type: ignore[attr-defined]
    await asyncio.to_thread(wx_db.sweeper.drain)
    [notice] = lost_notices(wx_db)
    assert (notice.recipient_id, notice.params["number"], notice.params["file"]) == (
        person(wx_db, "liu_fang").id, "E-2026-0001", "@file.kind.photo")
    # The abandoned form's photo: nobody told, and its row forgotten.
    assert [m.file_ref for m in all_rows(wx_db, MediaFile)] == ["MEDIA-gone-1"]
    wx_db.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx_db.sweeper.drain)
    assert len(lost_notices(wx_db)) == 1


async def test_a_photo_given_up_while_its_form_is_open_waits_for_the_form(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    fake.fail_next("getFile", status=400, description="Bad Request: file is too big")
    worker = TgChat(client, fake, 7705)
    await run(worker, [("紧急情况报告", "发生了什么")])
    await worker.post(photo_update(7705, file_id="PHOTO-huge"))
    await asyncio.to_thread(tg.sweeper.drain)  # given up while the form is open
    # The form stays open a while: nothing to tell yet. (Not ten minutes: an emergency
    # report holding only a photo is then sent by the silence, the photo with it.)
    tg.clock.advance(media.LOST_CHECK)  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.sweeper.drain)
    assert lost_notices(tg) == [] and len(all_rows(tg, MediaFile)) == 1
    await run(worker, [("二十多人在厂门口聚集", "在哪里"), ("厂区东门", "多少人"),
                       ("[立即发送]", "已报告")])
    tg.clock.advance(media.LOST_CHECK)  # type: ignore[attr-defined]
    await asyncio.to_thread(tg.sweeper.drain)
    [notice] = lost_notices(tg)
    assert (notice.params["number"], notice.params["file"]) == ("E-2026-0001",
                                                                "@file.kind.photo")
    assert len(fake.calls_to("getFile")) == 1
