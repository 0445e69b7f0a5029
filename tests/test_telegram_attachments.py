"""Photos, videos, voice notes and documents sent during a complaint or an emergency are
kept with the record."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.catalog import t
from store.models import Attachment, Incident, Suggestion
from tests.fakes.telegram_api import FakeBotApi, photo_update, text_update, voice_update
from tests.test_telegram import TgChat, client, fake, run, tg

__all__ = ["client", "fake", "tg"]  # fixtures used below


async def test_photo_and_voice_during_an_emergency_are_kept(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7400)
    await run(chat, [("紧急情况报告", "发生了什么")])
    await chat.post(photo_update(7400, file_id="PHOTO-gate"))
    texts = chat.new_texts()
    assert any("已收到附件（共 1 个）" in t for t in texts)
    assert any("发生了什么" in t for t in texts)  # the question is asked again
    await run(chat, [("二十多人在厂门口聚集", "在哪里")])
    # A photo with a caption: kept, and the caption answers the question.
    await chat.post(photo_update(7400, file_id="PHOTO-east", caption="厂区东门"))
    assert any("多少人" in t for t in chat.new_texts())
    await chat.post(voice_update(7400, file_id="VOICE-1"))
    await run(chat, [("[立即发送]", "已报告")])
    with Session(tg.db) as s:
        incident = s.exec(select(Incident)).one()
        files = s.exec(select(Attachment).where(Attachment.subject == "incident",
                                                Attachment.subject_id == incident.id)).all()
    assert incident.place == "厂区东门"
    # the largest size of each photo is the one kept
    assert sorted((f.kind, f.file_ref) for f in files) == [
        ("photo", "PHOTO-east-1280"), ("photo", "PHOTO-gate-1280"), ("voice", "VOICE-1")]


async def test_a_photo_outside_a_report_is_not_kept(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7401)
    await run(chat, [("提建议", "哪方面")])
    await chat.post(photo_update(7401, file_id="PHOTO-x"))
    assert any("这一份没有保存" in t for t in chat.new_texts())
    await run(chat, [("取消", "已取消")])
    with Session(tg.db) as s:
        assert s.exec(select(Attachment)).all() == []


async def test_a_photos_caption_answers_a_form_that_keeps_no_photos(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A worker writing a suggestion sends a photo of the broken canteen table with the
    suggestion as its caption: the photo is not kept (a suggestion takes none), but the
    words are the answer: the worker is told so and not made to type them again."""
    chat = TgChat(client, fake, 7404)
    await run(chat, [("提建议", "哪方面"), ("[食堂生活]", "请写下")])
    await chat.post(photo_update(7404, file_id="PHOTO-table", caption="食堂桌椅需要修理"))
    [said] = chat.new_texts()
    assert "这一份没有保存" in said and "是否实名" in said  # the next question
    assert t("zh", "attachment.caption_kept", said="食堂桌椅需要修理", n=2,
             label=t("zh", "suggestion.text.label")) in said  # and how to change it
    await run(chat, [("[实名]", "请核对"), ("[确认提交]", "S-2026-0001")])
    with Session(tg.db) as s:
        assert s.exec(select(Attachment)).all() == []
        assert s.exec(select(Suggestion.text)).all() == ["食堂桌椅需要修理"]


def _file_update(chat_id: int, kind: str, file_id: str, mime_type: str) -> dict[str, object]:
    """A message carrying a file, as Telegram sends a photo "as a file" (document) or an
    audio recording (audio)."""
    update = text_update(chat_id, "-")
    message = update["message"]
    del message["text"]
    message[kind] = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                     "mime_type": mime_type, "file_size": 2_345_678}
    return update


async def test_a_photo_sent_as_a_file_a_recording_a_video_and_a_pdf_are_kept(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Desktop Telegram sends an uncompressed photo as a file, a recording made with
    another app arrives as audio, a worker films the gathering or sends the payslip as a
    PDF: all are the report's evidence. A GIF and a sticker are not, and their sender is
    told what can be sent."""
    chat = TgChat(client, fake, 7402)
    await run(chat, [("紧急情况报告", "发生了什么")])
    await chat.post(_file_update(7402, "document", "DOC-gate", "image/jpeg"))
    assert any("已收到附件（共 1 个）" in t for t in chat.new_texts())
    await chat.post(_file_update(7402, "audio", "AUDIO-1", "audio/mpeg"))
    assert any("已收到附件（共 2 个）" in t for t in chat.new_texts())
    await chat.post(_file_update(7402, "video", "VIDEO-gate", "video/mp4"))
    assert any("已收到附件（共 3 个）" in t for t in chat.new_texts())
    note = _file_update(7402, "video_note", "ROUND-1", "")
    del note["message"]["video_note"]["mime_type"]  # type: ignore[index]
    await chat.post(note)
    assert any("已收到附件（共 4 个）" in t for t in chat.new_texts())
    await chat.post(_file_update(7402, "document", "DOC-pdf", "application/pdf"))
    assert any("已收到附件（共 5 个）" in t for t in chat.new_texts())
    gif = _file_update(7402, "animation", "GIF-1", "video/mp4")
    gif["message"]["document"] = gif["message"]["animation"]  # type: ignore[index]
    await chat.post(gif)
    said = chat.new_texts()
    assert any("读取不了" in t and "视频" in t for t in said), said
    await run(chat, [("二十多人在厂门口聚集", "在哪里"), ("厂门口", "多少人"),
                     ("[立即发送]", "已报告")])
    with Session(tg.db) as s:
        files = s.exec(select(Attachment)).all()
    assert sorted((f.kind, f.file_ref, f.mime_type) for f in files) == [
        ("file", "DOC-pdf", "application/pdf"), ("photo", "DOC-gate", "image/jpeg"),
        ("video", "ROUND-1", "video/mp4"), ("video", "VIDEO-gate", "video/mp4"),
        ("voice", "AUDIO-1", "audio/mpeg")]


async def test_an_english_user_is_told_in_english_what_can_be_sent(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7403)
    sticker = text_update(7403, "-")
    del sticker["message"]["text"]  # type: ignore[attr-defined]
    sticker["message"]["sticker"] = {"file_id": "STK", "file_unique_id": "uSTK"}  # type: ignore[index]
    sticker["message"]["from"]["language_code"] = "en"  # type: ignore[index]
    await chat.post(sticker)
    said = chat.new_texts()
    assert any("cannot be read" in t and "videos" in t and "documents" in t for t in said), said
    assert not any("读取" in t for t in said)


async def test_a_photo_with_words_after_the_report_joins_it_and_the_words_reach_the_leaders(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Sent, then the photo of the burst pipe with "this is the pipe" under it: kept with
    the incident (it used to be thrown away for its caption), and the leaders' 【紧急·补充】
    says what the reporter wrote."""
    import asyncio

    from conversations.catalog import t

    director = TgChat(client, fake, 900000001)
    await director.say("/start")
    chat = TgChat(client, fake, 7405)
    await run(chat, [("紧急情况报告", "发生了什么"), ("车间水管爆了，地面全是水", "在哪里"),
                     ("铸造车间", "多少人"), ("[立即发送]", "已报告")])
    await chat.post(photo_update(7405, file_id="PHOTO-pipe", caption="这是爆开的水管"))
    [said] = chat.new_texts()
    assert said.startswith(t("zh", "attachment.added", number="E-2026-0001", count=1))
    with Session(tg.db) as s:
        [kept] = s.exec(select(Attachment)).all()
    assert (kept.subject, kept.file_ref) == ("incident", "PHOTO-pipe-1280")
    await asyncio.to_thread(tg.dispatcher.drain)
    [more] = [p for p in director.new_texts() if p.startswith("【紧急·补充】")]
    assert more.splitlines()[0].endswith("并说明：这是爆开的水管")
    from store.models import IncidentLink  # kept: the leaders paged later read it too

    with Session(tg.db) as s:
        assert [x.what for x in s.exec(select(IncidentLink)).all()] == ["这是爆开的水管"]


async def test_a_photo_after_the_report_joins_it_though_a_form_was_taken_up_again(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A suggestion was half written when the worker reported the emergency; once sent,
    the suggestion is taken up again. The photo of the scene sent then is the report's,
    not refused as 'not for a suggestion'; the suggestion's question is asked again."""
    from conversations.catalog import t

    chat = TgChat(client, fake, 7406)
    await run(chat, [("提建议", "哪方面"), ("[食堂生活]", "请写下"),
                     ("紧急情况报告", "发生了什么"), ("车间水管爆了，地面全是水", "在哪里"),
                     ("铸造车间", "多少人"), ("[立即发送]", "已报告")])
    await chat.post(photo_update(7406, file_id="PHOTO-floor"))
    said = "\n".join(chat.new_texts())
    assert said.startswith(t("zh", "attachment.added", number="E-2026-0001", count=1))
    assert t("zh", "suggestion.text.ask") in said
    with Session(tg.db) as s:
        [kept] = s.exec(select(Attachment)).all()
    assert (kept.subject, kept.file_ref) == ("incident", "PHOTO-floor-1280")


CAPTIONED = {  # a photo's caption, then what the worker meant for the first question
    "zh-hans": ("zh", "门口的情况", "三十多人在厂门口聚集", "厂门口"),
    "en": ("en", "the gate right now", "about thirty people gathered at the gate",
           "the main gate")}


@pytest.mark.parametrize("language", list(CAPTIONED))
async def test_a_photos_caption_taken_as_the_answer_is_said_so_and_back_changes_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, language: str) -> None:
    """A worker taps 紧急情况报告 and, before writing what happened, sends a photo
    captioned "门口的情况". The caption is taken as what happened: they are told so,
    quoting it and naming the question, and how to change it; "返回" asks it again, and
    what they then type is what happened, not the place."""
    lang, caption, what, place = CAPTIONED[language]
    chat = TgChat(client, fake, 7406, language)
    await run(chat, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask"))])
    await chat.post(photo_update(7406, file_id="PHOTO-gate", caption=caption,
                                 language_code=language))
    [said] = chat.new_texts()
    assert said.startswith(t(lang, "attachment.kept", count=1) + "\n" + t(
        lang, "attachment.caption_kept", said=caption, n=1,
        label=t(lang, "emergency.what.label")))
    assert said.endswith(t(lang, "emergency.place.ask"))
    await run(chat, [(t(lang, "nav.back"), t(lang, "emergency.what.ask")),
                     (what, t(lang, "emergency.place.ask")),
                     (place, t(lang, "emergency.people.ask")),
                     (f"[{t(lang, 'nav.send_now')}]", "E-2026-0001")])
    with Session(tg.db) as s:
        incident = s.exec(select(Incident)).one()
        files = s.exec(select(Attachment.file_ref)).all()
    assert (incident.what, incident.place) == (what, place)
    assert files == ["PHOTO-gate-1280"]


@pytest.mark.parametrize("language", list(CAPTIONED))
async def test_a_caption_that_only_points_at_the_photo_answers_nothing(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, language: str) -> None:
    """"如图", "see photo" under the picture of the scene say nothing of what happened:
    the photo is kept and the question is asked again, not answered by them."""
    lang = CAPTIONED[language][0]
    chat = TgChat(client, fake, 7407, language)
    await run(chat, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask"))])
    for n, caption in enumerate(("如图", "看这个！", "see photo", "Look at this"), start=1):
        await chat.post(photo_update(7407, file_id=f"PHOTO-{n}", caption=caption,
                                     language_code=language))
        [said] = chat.new_texts()
        assert said == t(lang, "attachment.kept", count=n) + "\n\n" + t(
            lang, "flow.progress", n=1, total=5) + " " + t(lang, "emergency.what.ask"), caption


@pytest.mark.parametrize("language", list(CAPTIONED))
async def test_a_caption_the_complaint_cannot_take_is_said_why(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, language: str) -> None:
    """In the complaint form: a caption under the payslip at "what happened" is taken and
    said so; one under a photo where a category is asked, that names none, is said not to
    be taken and why, with its words."""
    lang = CAPTIONED[language][0]
    chat = TgChat(client, fake, 7408, language)
    await run(chat, [(t(lang, "menu.complaint"), t(lang, "complaint.category.ask"))])
    await chat.post(photo_update(7408, file_id="PHOTO-1", caption="门口的情况",
                                 language_code=language))
    [said] = chat.new_texts()
    assert said.startswith(t(lang, "attachment.kept", count=1) + "\n" + t(
        lang, "attachment.caption_not_kept", said="门口的情况", n=1,
        label=t(lang, "complaint.category.label"), why=t(lang, "invalid.choice", count=7)))
    await run(chat, [("1", t(lang, "complaint.description.ask"))])
    words = "车间主任三个月没发加班费，工资条上也没有"
    await chat.post(photo_update(7408, file_id="PHOTO-2", caption=words,
                                 language_code=language))
    [said] = chat.new_texts()
    assert t(lang, "attachment.caption_kept", said=words, n=2,
             label=t(lang, "complaint.description.label")) in said
    assert said.endswith(t(lang, "complaint.since.ask"))
