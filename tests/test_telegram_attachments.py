"""Photos and voice notes sent during a complaint or an emergency are kept with the record."""

from __future__ import annotations

import httpx
from sqlmodel import Session, select

from bot.bootstrap import Services
from store.models import Attachment, Incident
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


def _file_update(chat_id: int, kind: str, file_id: str, mime_type: str) -> dict[str, object]:
    """A message carrying a file, as Telegram sends a photo "as a file" (document) or an
    audio recording (audio)."""
    update = text_update(chat_id, "-")
    message = update["message"]
    del message["text"]
    message[kind] = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                     "mime_type": mime_type, "file_size": 2_345_678}
    return update


async def test_a_photo_sent_as_a_file_and_a_recording_are_kept_a_pdf_is_not(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Desktop Telegram sends an uncompressed photo as a file, and a recording made with
    another app arrives as audio: both are the report's evidence like a photo and a voice
    note. A PDF is not kept, and its sender is told so."""
    chat = TgChat(client, fake, 7402)
    await run(chat, [("紧急情况报告", "发生了什么")])
    await chat.post(_file_update(7402, "document", "DOC-gate", "image/jpeg"))
    assert any("已收到附件（共 1 个）" in t for t in chat.new_texts())
    await chat.post(_file_update(7402, "audio", "AUDIO-1", "audio/mpeg"))
    assert any("已收到附件（共 2 个）" in t for t in chat.new_texts())
    await chat.post(_file_update(7402, "document", "DOC-pdf", "application/pdf"))
    assert any("读取不了" in t for t in chat.new_texts())
    await run(chat, [("二十多人在厂门口聚集", "在哪里"), ("厂门口", "多少人"),
                     ("[立即发送]", "已报告")])
    with Session(tg.db) as s:
        files = s.exec(select(Attachment)).all()
    assert sorted((f.kind, f.file_ref, f.mime_type) for f in files) == [
        ("photo", "DOC-gate", "image/jpeg"), ("voice", "AUDIO-1", "audio/mpeg")]
