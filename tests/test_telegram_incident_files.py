"""A leader paged about an emergency sees its photos and voice notes: the alert says how
many came with the report, and its "查看附件 / See the files" button sends them into the
leader's chat (by Telegram's own file id, or uploaded from the kept bytes of a file
received elsewhere), once per file and reader. Only the people alerted to it, and the
workroom's staff and director, may see them; on the web console too. A complaint's file
opened by its handler is an audited read. Through the webhook, over real HTTP against the
fake Bot API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session

import tests.test_telegram as webhook
import tests.test_telegram_media as media_tests
from bot.bootstrap import Services
from conversations.catalog import t
from store.models import Attachment, IdentityRead, Incident, MediaFile
from tests.case_helpers import tick
from tests.fakes.telegram_api import FakeBotApi, callback_update, photo_update
from tests.test_telegram import TgChat, run
from tests.test_telegram_flows import SAID, complaint_steps
from tests.test_wechat_media import staff_web
from tests.transcript import all_rows, person

fake = webhook.fake
tg = media_tests.tg  # on SQLite and on PostgreSQL
client = webhook.client
# The Telegram ids store/demo/org.yaml gives 陈丽华 (director), 赵国强, 孙红梅 (on duty),
# and 李明 and Daniel Hughes (English), employees.
DIRECTOR, ZHAO, SUN, LI_MING, DANIEL = 900000001, 900000002, 900000003, 900000101, 900000103
LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])
PHOTO = b"\xff\xd8\xff\xe0" + b"gate-photo" * 300


async def leader(client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int,
                 code: str = "zh-hans") -> TgChat:
    chat = TgChat(client, fake, chat_id, code)
    await chat.say("/start")
    chat.new_texts()
    return chat


async def report_with_photos(client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int,
                             *photos: str, lang: str = "zh", code: str = "zh-hans") -> TgChat:
    """A worker reports an emergency with photos of the gathering, then sends it."""
    worker = TgChat(client, fake, chat_id, code)
    said = SAID[lang]
    await run(worker, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask"))])
    for photo in photos:
        await worker.post(photo_update(chat_id, file_id=photo, language_code=code))
    await run(worker, [(said["what"], t(lang, "emergency.place.ask")),
                       (said["place"], t(lang, "emergency.people.ask")),
                       (f"[{t(lang, 'nav.send_now')}]", "E-2026-0001")])
    return worker


def photos_to(fake: FakeBotApi, chat_id: int) -> list[tuple[str, str]]:
    """(photo, caption) of each sendPhoto to the chat."""
    return [(c.params["photo"], c.params.get("caption")) for c in fake.calls_to("sendPhoto")
            if c.chat_id == chat_id]


async def press_files(client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int,
                      code: str = "zh-hans") -> list[str]:
    """The chat presses "files:E-2026-0001", as under an alert (forwarded to them, or
    their own): its answers."""
    chat = TgChat(client, fake, chat_id, code)
    chat.seen = len(fake.sent_messages(chat_id))
    r = await chat.post(callback_update(chat_id, "files:E-2026-0001", message_id=1,
                                        language_code=code))
    assert r.status_code == 200
    return chat.new_texts()


@LANGS
async def test_the_leader_on_duty_sees_the_photos_of_the_emergency_in_the_chat(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Two photos of the gathering came with the report: 孙红梅's alert says so and, once
    she has pressed 收到, still carries 查看附件; pressed, both photos come into her chat
    by their Telegram file ids, under a caption that names the report. A second press
    sends nothing twice."""
    sun = await leader(client, fake, SUN, code)
    await report_with_photos(client, fake, 7620, "PHOTO-gate", "PHOTO-crowd", lang=lang,
                             code=code)
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    counted = t(lang, "notice.files", files=t(lang, "notice.files.photo", count=2))
    assert counted in alert.splitlines()
    assert t(lang, "notice.files.voice", count=0) not in alert

    [acked] = await sun.press(t(lang, "nav.ack"))
    assert acked.startswith(t(lang, "ack.done", at="09:00"))
    said = await sun.press(t(lang, "nav.files"))  # the edited alert kept the button
    assert said[0].startswith(t(lang, "files.sending", number="E-2026-0001", count=2))
    caption = t(lang, "notice.file", number="E-2026-0001", index="{i}", total=2,
                file=t(lang, "file.kind.photo"))
    assert photos_to(fake, SUN) == [("PHOTO-gate-1280", caption.format(i=1)),
                                    ("PHOTO-crowd-1280", caption.format(i=2))]

    again = await press_files(client, fake, SUN, code)
    assert again[0].startswith(t(lang, "files.already", number="E-2026-0001", count=2))
    await asyncio.to_thread(tg.dispatcher.drain)
    assert len(photos_to(fake, SUN)) == 2


async def test_nobody_else_is_sent_the_files(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The alert's button forwarded to 李明 and Daniel, employees, and pressed: refused in
    their language, nothing sent. 赵国强, a leader the chain has not reached yet, is refused
    too; the director, alerted with the report, gets them."""
    await report_with_photos(client, fake, 7621, "PHOTO-gate")
    await asyncio.to_thread(tg.dispatcher.drain)
    for chat_id, lang, code in ((LI_MING, "zh", "zh-hans"), (DANIEL, "en", "en"),
                                (ZHAO, "zh", "zh-hans")):
        [said] = await press_files(client, fake, chat_id, code)
        assert said.split("\n\n")[0] == t(lang, "file.forbidden")
    await asyncio.to_thread(tg.dispatcher.drain)
    assert fake.calls_to("sendPhoto") == []
    said = await press_files(client, fake, DIRECTOR)
    assert said[0].startswith(t("zh", "files.sending", number="E-2026-0001", count=1))
    assert [p for p, _ in photos_to(fake, DIRECTOR)] == ["PHOTO-gate-1280"]

    # Nobody acknowledged: the chain's second step alerts 赵国强, and counts the photo.
    zhao = await leader(client, fake, ZHAO)
    await asyncio.to_thread(tick, tg, tg.clock, tg.clock.now() + timedelta(minutes=5),
                            timedelta(minutes=1))
    [alert] = [x for x in zhao.new_texts() if "E-2026-0001" in x]
    assert t("zh", "notice.files", files=t("zh", "notice.files.photo", count=1)) in alert
    await zhao.press(t("zh", "nav.files"))
    assert [p for p, _ in photos_to(fake, ZHAO)] == ["PHOTO-gate-1280"]


async def test_a_file_from_another_channel_is_uploaded_or_said_to_be_lost(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The report also holds a photo received on WeChat whose bytes are kept, and a voice
    note WeChat never gave: the photo is uploaded from its bytes, the voice note is said
    to be lost (the staff were told, to ask the reporter for it again)."""
    sun = await leader(client, fake, SUN)
    await report_with_photos(client, fake, 7622)
    [incident] = all_rows(tg, Incident)
    with Session(tg.db) as s:
        for ref, kind, mime, content in (("MEDIA-wx", "photo", "image/jpeg", PHOTO),
                                         ("MEDIA-amr", "voice", "audio/amr", None)):
            s.add(Attachment(subject="incident", subject_id=incident.id or 0, channel="wechat",
                             kind=kind, file_ref=ref, mime_type=mime,
                             created_at=tg.clock.now()))
            s.add(MediaFile(channel="wechat", file_ref=ref, mime_type=mime, content=content,
                            conversation_key="wechat:wx-worker", received_at=tg.clock.now()))
        s.commit()
    await asyncio.to_thread(tg.dispatcher.drain)
    sun.new_texts()
    said = await press_files(client, fake, SUN)
    assert said[0].split("\n\n")[0] == "\n".join([
        t("zh", "files.sending", number="E-2026-0001", count=1),
        t("zh", "files.lost", file=t("zh", "file.kind.voice"), index=2, total=2)])
    [sent] = [c for c in fake.calls_to("sendPhoto") if c.chat_id == SUN]
    assert sent.params["photo"].data == PHOTO
    assert sent.params["caption"] == t("zh", "notice.file", number="E-2026-0001", index=1,
                                       total=2, file=t("zh", "file.kind.photo"))


async def test_an_alerted_leader_opens_the_files_on_the_web_and_another_is_refused(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    fake.add_file("PHOTO-gate-1280", PHOTO)
    await report_with_photos(client, fake, 7623, "PHOTO-gate")
    await media_tests.sweep(tg)
    await staff_web(client, tg, "zhao_guoqiang")  # not alerted (yet)
    refused = await client.get("/api/records/E-2026-0001/files")
    assert (refused.status_code, refused.json()["detail"]) == (403, t("zh", "file.forbidden"))
    await staff_web(client, tg, "sun_hongmei")  # today's duty leader: alerted
    [listed] = (await client.get("/api/records/E-2026-0001/files")).json()["files"]
    await staff_web(client, tg, "zhao_guoqiang")
    assert (await client.get(listed["url"])).status_code == 403
    await staff_web(client, tg, "sun_hongmei")
    opened = await client.get(listed["url"])
    assert (opened.status_code, opened.content) == (200, PHOTO)


async def test_a_complaints_file_opened_by_its_handler_is_an_audited_read(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """赵国强 handles wage complaints: he opens the payslip photo of one; the read is
    recorded. 孙红梅, not on the case, may not."""
    fake.add_file("PHOTO-payslip-1280", PHOTO)
    worker = TgChat(client, fake, 7624)
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[:2])
    await worker.post(photo_update(7624, file_id="PHOTO-payslip"))
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[2:])
    await run(worker, [("[确认提交]", "C-2026-0001")])
    await media_tests.sweep(tg)
    await staff_web(client, tg, "sun_hongmei")
    assert (await client.get("/api/records/C-2026-0001/files")).status_code == 403
    await staff_web(client, tg, "zhao_guoqiang")
    [listed] = (await client.get("/api/records/C-2026-0001/files")).json()["files"]
    before = all_rows(tg, IdentityRead, IdentityRead.purpose == "attachment")
    opened = await client.get(listed["url"])
    assert (opened.status_code, opened.content) == (200, PHOTO)
    [read] = [r for r in all_rows(tg, IdentityRead, IdentityRead.purpose == "attachment")
              if r not in before]
    assert read.reader_id == person(tg, "zhao_guoqiang").id


async def test_the_handler_of_a_complaint_is_told_of_its_photo_and_gets_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """赵国强 is given a wage complaint that came with a payslip photo: his 【交办】 counts
    it and its button sends it to him; seeing it is a read of the complaint's files."""
    zhao = await leader(client, fake, ZHAO)
    worker = TgChat(client, fake, 7625)
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[:2])
    await worker.post(photo_update(7625, file_id="PHOTO-payslip"))
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named")[2:])
    await run(worker, [("[确认提交]", "C-2026-0001")])
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [x for x in zhao.new_texts() if "C-2026-0001" in x]
    assert t("zh", "notice.files", files=t("zh", "notice.files.photo", count=1)) \
        in alert.splitlines()
    before = all_rows(tg, IdentityRead, IdentityRead.purpose == "attachment")
    said = await zhao.press(t("zh", "nav.files"))
    assert said[0].startswith(t("zh", "files.sending", number="C-2026-0001", count=1))
    assert photos_to(fake, ZHAO) == [("PHOTO-payslip-1280", t(
        "zh", "notice.file", number="C-2026-0001", index=1, total=1,
        file=t("zh", "file.kind.photo")))]
    [read] = [r for r in all_rows(tg, IdentityRead, IdentityRead.purpose == "attachment")
              if r not in before]
    assert read.reader_id == person(tg, "zhao_guoqiang").id


async def test_a_second_report_with_photos_is_told_with_its_photos(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Another worker of the same workshop reports the same gathering with a photo: the
    leaders' 【紧急·补充】 says a photo came with it, and its button sends the incident's
    photos, both reports' ones."""
    sun = await leader(client, fake, SUN)
    for chat_id, photo in ((7626, "PHOTO-gate"), (7627, "PHOTO-side")):
        worker = TgChat(client, fake, chat_id)
        await run(worker, [(t("zh", "menu.emergency"), t("zh", "emergency.what.ask"))])
        await worker.post(photo_update(chat_id, file_id=photo))
        await run(worker, [(SAID["zh"]["what"], t("zh", "emergency.place.ask")),
                           ("铸造车间", t("zh", "emergency.people.ask")),
                           (f"[{t('zh', 'nav.send_now')}]", "E-2026-0001")])
        await asyncio.to_thread(tg.dispatcher.drain)
        if chat_id == 7626:
            sun.new_texts()
    [more] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    assert more.startswith(t("zh", "notice.incident_added_full", number="E-2026-0001",
                             count=2, what="", place="", people="", channel="",
                             measures="", suggestion="", reporter="", reported_at="")[:8])
    assert t("zh", "notice.files", files=t("zh", "notice.files.photo", count=1)) \
        in more.splitlines()
    assert f"{t('zh', 'person.unverified')}，2026-11-23" in more  # who added it, and when
    await sun.press(t("zh", "nav.files"))
    assert [p for p, _ in photos_to(fake, SUN)] == ["PHOTO-gate-1280", "PHOTO-side-1280"]


async def test_the_director_sees_the_photo_in_the_web_chat(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The director reads the alert in the web chat and presses 查看附件: the photo comes
    into her chat as a message that shows it (from its kept bytes, on this server), once;
    a voice note not fetched yet is said to be on its way. Before, the web chat said to
    open the files "in the web console", a page it does not have."""
    fake.add_file("PHOTO-gate-1280", PHOTO)
    await report_with_photos(client, fake, 7628, "PHOTO-gate")
    await media_tests.sweep(tg)
    await staff_web(client, tg, "chen_lihua")

    presses = iter(range(10))

    async def press() -> str:
        r = await client.post("/api/chat", json={"id": f"files-press-{next(presses)}",
                                                 "action": "files:E-2026-0001"})
        assert r.status_code == 200, r.text
        return "\n".join(x["text"] for x in r.json()["replies"])

    assert (await press()).startswith(t("zh", "files.sending", number="E-2026-0001",
                                        count=1))
    await asyncio.to_thread(tg.dispatcher.drain)
    inbox = (await client.get("/api/inbox")).json()["messages"]
    [shown] = [m for m in inbox if m["buttons"] and m["buttons"][0]["kind"] == "file:photo"]
    caption = t("zh", "notice.file", number="E-2026-0001", index=1, total=1,
                file=t("zh", "file.kind.photo"))
    assert shown["text"] == caption
    [photo] = shown["buttons"]
    opened = await client.get(photo["value"])
    assert (opened.status_code, opened.content) == (200, PHOTO)
    # A second press sends nothing again.
    assert (await press()).startswith(t("zh", "files.already", number="E-2026-0001",
                                        count=1))
    await asyncio.to_thread(tg.dispatcher.drain)
    again = (await client.get("/api/inbox", params={"after": shown["id"]})).json()["messages"]
    assert [m for m in again if m["buttons"] and m["buttons"][0]["kind"].startswith("file:")] \
        == []


async def test_a_file_not_fetched_yet_is_said_so_in_the_web_chat(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The web chat shows a file from its kept bytes only: one still being fetched from
    its platform is said to be on its way, and nothing is sent."""
    await report_with_photos(client, fake, 7629, "PHOTO-late")  # not fetched (no sweep)
    await staff_web(client, tg, "chen_lihua")
    r = await client.post("/api/chat", json={"id": "files-late", "action": "files:E-2026-0001"})
    said = "\n".join(x["text"] for x in r.json()["replies"])
    assert said.startswith(t("zh", "files.not_yet", number="E-2026-0001")), said
    assert t("zh", "files.fetching", file=t("zh", "file.kind.photo"), index=1, total=1) in said
    await asyncio.to_thread(tg.dispatcher.drain)
    inbox = (await client.get("/api/inbox")).json()["messages"]
    assert [m for m in inbox if m["buttons"] and m["buttons"][0]["kind"].startswith("file:")] \
        == []


@LANGS
async def test_see_the_files_pressed_before_acknowledge_leaves_the_acknowledge_button(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """孙红梅 looks at the photos first: the alert is not edited (an edit without its
    keyboard took 收到 away, and the emergency then climbed the chain), and 收到 still
    acknowledges it afterwards."""
    sun = await leader(client, fake, SUN, code)
    await report_with_photos(client, fake, 7621, "PHOTO-gate", lang=lang, code=code)
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [c for c in fake.sent_messages(SUN) if "E-2026-0001" in c.text]
    sun.new_texts()
    said = await sun.press(t(lang, "nav.files"))
    assert said[0].startswith(t(lang, "files.sending", number="E-2026-0001", count=1))
    edits = [c for c in fake.calls_to("editMessageText") + fake.calls_to(
        "editMessageReplyMarkup") if c.chat_id == SUN
        and c.params.get("message_id") == alert.result["message_id"]]
    assert edits == []
    [acked] = await sun.press(t(lang, "nav.ack"))
    assert acked.startswith(t(lang, "ack.done", at="09:00"))
