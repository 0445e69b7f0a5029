"""Telegram translation, offline: updates become Inbounds, replies become messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.telegram import TEXT_LIMIT, parse, render, wire
from conversations.engine import EDITED, UNREADABLE, Button, Reply, merged


def _message(text: str, chat_id: int = 501, language: str = "zh-hans") -> dict[str, Any]:
    return {"update_id": 77, "message": {
        "message_id": 5, "date": 1795000000, "text": text,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "明", "language_code": language},
    }}


def test_text_message_becomes_an_inbound_keyed_by_update_id() -> None:
    inbound = parse(_message("食堂的菜太咸"))
    assert inbound is not None
    assert (inbound.channel, inbound.address, inbound.message_id, inbound.text) == (
        "telegram", "501", "77", "食堂的菜太咸")
    assert inbound.push_replies and inbound.lang_hint is None


def test_commands_map_to_the_engine_words() -> None:
    assert parse(_message("/cancel@workroom_bot")).text == "/cancel"  # type: ignore[union-attr]
    assert parse(_message("/status")).action == "query:my_cases"  # type: ignore[union-attr]
    start = parse(_message("/start Ab3_x-9"))
    assert start is not None and (start.text, start.link_code) == ("/start", "Ab3_x-9")
    assert parse(_message("hello", language="en-GB")).lang_hint == "en"  # type: ignore[union-attr]


def test_button_press_becomes_an_action() -> None:
    update = {"update_id": 78, "callback_query": {
        "id": "cb1", "chat_instance": "x", "data": "opt:wages",
        "from": {"id": 501, "is_bot": False, "first_name": "明"},
        "message": {"message_id": 9, "date": 1795000000, "text": "问题属于哪一类？",
                    "chat": {"id": 501, "type": "private"}},
    }}
    inbound = parse(update)
    assert inbound is not None and (inbound.action, inbound.address) == ("opt:wages", "501")


def test_photos_and_voice_notes_are_kept_by_their_lasting_file_ids() -> None:
    update = _message("")
    message = update["message"]
    del message["text"]
    message["caption"] = "车间门口"
    message["photo"] = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                        {"file_id": "big", "file_unique_id": "b", "width": 1280,
                         "height": 960, "file_size": 80000}]
    message["voice"] = {"file_id": "v1", "file_unique_id": "v", "duration": 4,
                        "mime_type": "audio/ogg", "file_size": 9000}
    inbound = parse(update)
    assert inbound is not None and inbound.text == "车间门口"
    assert [(a["kind"], a["file_ref"], a["size"]) for a in inbound.attachments] == [
        ("photo", "big", 80000), ("voice", "v1", 9000)]


def test_updates_the_bot_does_not_handle_are_skipped_and_broken_ones_refused() -> None:
    edited = {"update_id": 79, "edited_message": _message("改一下")["message"]}
    assert parse(edited).action == EDITED  # type: ignore[union-attr]  # answered: not read
    sticker = _message("")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "s", "file_unique_id": "s"}
    assert parse(sticker).action == UNREADABLE  # type: ignore[union-attr]
    joined = _message("")
    del joined["message"]["text"]
    joined["message"]["new_chat_members"] = [{"id": 9, "is_bot": False, "first_name": "新"}]
    assert parse(joined) is None
    assert parse({"update_id": 80, "my_chat_member": {}}) is None
    for broken in ({"message": {}}, {"update_id": "80", "message": {}},
                   {"update_id": 81, "message": {"text": "无聊天"}},
                   {"update_id": 82, "callback_query": {"data": "opt:x"}}):
        with pytest.raises(ValueError):
            parse(broken)


def test_menu_is_a_reply_keyboard_and_options_are_inline() -> None:
    menu = Reply("请选择", [Button("提建议", "flow:suggestion"), Button("English", "cmd:lang")])
    [(text, keyboard)] = render(menu)
    assert text == "请选择" and isinstance(keyboard, ReplyKeyboardMarkup)
    ask = Reply("类别？", [Button("工资福利", "opt:wages"), Button("返回", "cmd:back", "nav")])
    [(_, inline)] = render(ask)
    assert isinstance(inline, InlineKeyboardMarkup)
    rows = [[b.callback_data for b in row] for row in inline.inline_keyboard]
    assert rows == [["opt:wages"], ["cmd:back"]]


def test_long_text_is_split_under_the_limit_at_line_ends() -> None:
    text = "\n".join(f"第{i}行：" + "字" * 60 for i in range(200))
    parts = render(Reply(text, [Button("确认提交", "cmd:confirm", "action")]))
    assert len(parts) > 1 and all(len(p) <= TEXT_LIMIT for p, _ in parts)
    assert "\n".join(p for p, _ in parts) == text
    assert all(k is None for _, k in parts[:-1]) and parts[-1][1] is not None


def test_user_text_is_sent_as_plain_text() -> None:
    [(text, _)] = render(Reply("<b>*_[李明]_*</b>"))
    assert text == "<b>*_[李明]_*</b>"  # no parse mode: nothing the user writes is markup


def test_a_steps_replies_run_into_one_message_with_the_last_keyboard() -> None:
    done = Reply("已报告，编号 E-2026-0001。")
    menu = Reply("请选择", [Button("提建议", "flow:suggestion")])
    assert merged([done, menu], TEXT_LIMIT) == [Reply("已报告，编号 E-2026-0001。\n\n请选择",
                                                      menu.buttons)]
    # A reply with buttons ends its message: its keyboard stays under its own words.
    ask = Reply("类别？", [Button("工资福利", "opt:wages")])
    assert merged([ask, done], TEXT_LIMIT) == [ask, done]
    # Past the platform's limit the replies stay apart rather than split mid-sentence.
    long = Reply("字" * (TEXT_LIMIT - 3))
    assert merged([long, menu], TEXT_LIMIT) == [long, menu]


def test_keyboards_go_out_as_the_json_telegram_reads() -> None:
    ask = Reply("类别？", [Button("工资福利", "opt:wages"), Button("返回", "cmd:back", "nav")])
    [(text, keyboard)] = wire(ask)
    [(_, built)] = render(ask)
    assert text == "类别？" and keyboard is not None
    assert json.loads(keyboard) == built.to_dict()
    assert wire(Reply("好的")) == [("好的", None)]
