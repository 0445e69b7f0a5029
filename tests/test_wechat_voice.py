"""A voice message on WeChat carries the words WeChat recognised in it (Recognition): they
are the worker's answer, as if typed, said back so that a mishearing can be corrected;
the audio is kept where the form takes files, and a form that takes none still gets
the words (no "this file was not kept" in place of an answer)."""

from __future__ import annotations

import httpx
from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.wechat import parse_message
from conversations.catalog import t
from conversations.engine import HEARD
from store.models import Attachment, Case, Conversation, Suggestion
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat_flows import EMPLOYEE
from tests.transcript import all_rows
from tests.wechat_chat import WxChat, api, ask, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

SAID = "我们车间的通风机坏了三个星期了，没人修。"


async def voice(chat: WxChat, media_id: str, recognition: str | None) -> list[str]:
    """A voice message, with WeChat's recognition of it when the account has it on."""
    extra = {"MediaId": media_id, "Format": "amr"}
    if recognition is not None:
        extra["Recognition"] = recognition
    r = await chat.send_inner(chat.inner("voice", **extra))
    assert r.status_code == 200
    return chat.new_texts()


def test_a_voice_messages_recognised_words_are_its_text_and_kept_with_the_file() -> None:
    msg = {"FromUserName": "o_worker", "CreateTime": "1", "MsgType": "voice", "MsgId": "7",
           "MediaId": "V-1", "Format": "amr", "Recognition": f"  {SAID}\n"}
    inbound = parse_message("wechat", msg)
    assert inbound is not None and inbound.text == SAID
    assert [(a["kind"], a["file_ref"], a.get(HEARD)) for a in inbound.attachments] == [
        ("voice", "V-1", SAID)]
    silent = parse_message("wechat", {**msg, "Recognition": ""})
    assert silent is not None and silent.text is None and HEARD not in silent.attachments[0]


async def test_a_spoken_description_answers_the_question_and_keeps_the_audio(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("V-1", b"x" * 100, "audio/amr")
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("反映问题", ask("zh", "complaint", "category", 1, 8)),
                     ("2", ask("zh", "complaint", "description", 2, 8))])
    texts = "\n".join(await voice(chat, "V-1", SAID))
    assert t("zh", "voice.heard_answer", words=SAID) in texts
    assert t("zh", "attachment.kept", count=1) in texts
    assert ask("zh", "complaint", "since", 3, 8) in texts
    # Misheard: "返回" goes back to the question the words answered.
    assert any(ask("zh", "complaint", "description", 2, 8) in x
               for x in await chat.say("返回"))
    await run(chat, [("通风机坏了三个星期，一直没人来修", ask("zh", "complaint", "since", 3, 8)),
                     ("上个月", ask("zh", "complaint", "affected", 4, 8)),
                     ("12", ask("zh", "complaint", "cosigners", 5, 8)),
                     ("跳过", ask("zh", "complaint", "workshop", 6, 8)),
                     ("铸造车间", ask("zh", "complaint", "outcome", 7, 8)),
                     ("尽快修好通风机", ask("zh", "complaint", "identity", 8, 8)),
                     ("1", t("zh", "review.title")), ("确认提交", "C-2026-0001")])
    [case] = all_rows(wx, Case)
    assert case.description == "通风机坏了三个星期，一直没人来修"
    assert [(a.subject, a.kind, a.file_ref) for a in all_rows(wx, Attachment)] == [
        ("case", "voice", "V-1")]


async def test_a_spoken_suggestion_is_its_words(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """A suggestion takes no files: the recognised words are still the answer."""
    said = "建议食堂晚上多开一个窗口。"
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("提建议", ask("zh", "suggestion", "topic", 1, 3)),
                     ("4", ask("zh", "suggestion", "text", 2, 3))])
    texts = "\n".join(await voice(chat, "SV-1", said))
    assert t("zh", "voice.heard_answer", words=said) in texts
    assert t("zh", "attachment.not_here") not in texts
    assert ask("zh", "suggestion", "identity", 3, 3) in texts
    await run(chat, [("1", t("zh", "review.title")), ("确认提交", "")])
    [suggestion] = all_rows(wx, Suggestion)
    assert suggestion.text == said


async def test_a_voice_note_without_recognition_still_asks_to_type(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    api.add_media("V-2", b"x" * 100, "audio/amr")
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    await run(chat, [("反映问题", ask("zh", "complaint", "category", 1, 8)),
                     ("2", ask("zh", "complaint", "description", 2, 8))])
    texts = "\n".join(await voice(chat, "V-2", None))
    assert "🎤" not in texts and ask("zh", "complaint", "description", 2, 8) in texts
    with Session(wx.db) as s:
        conv = s.exec(select(Conversation)).all()
    assert [c.state["step"] for c in conv if c.key.endswith(EMPLOYEE["wechat"])] == [
        "description"]


async def test_spoken_words_at_the_menu_pick_from_it_without_a_file_notice(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    texts = "\n".join(await voice(chat, "V-3", "提建议"))
    assert t("zh", "voice.heard", words="提建议") in texts
    assert t("zh", "attachment.not_here") not in texts
    assert ask("zh", "suggestion", "topic", 1, 3) in texts
