"""WeChat shows no buttons, only words to reply: its texts never say "点“跳过”" or 'tap
"Skip"' but what to reply. Each catalog sentence that says to tap has a `_typed`
wording, which the WeChat renderer puts in its place (bot/wechat_render.typed_words)."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.bootstrap import Services
from bot.wechat_render import TYPED, render, typed_words, word_key
from conversations import catalog
from conversations.catalog import t
from conversations.engine import Button, Reply
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat_flows import EMPLOYEE, complaint_steps, leader
from tests.wechat_chat import WxChat, api, ask, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

# A sentence that says to press a button, in each language.
TAPS = {"zh": re.compile(r"点[“\"]|点按钮|点选|点下面|点这个|点它"),
        "en": re.compile(r"\b(tap|press)\b(?! (1|0|the hash))", re.IGNORECASE)}
# Said only where there are buttons or links to tap (a Telegram group, the web chat), or
# only to a button pressed (a second tap on a form just sent).
NOT_ON_WECHAT = {"group.private", "group.private_link", "files.elsewhere",
                 "button.after_sent"}


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_every_sentence_that_says_to_tap_has_its_typed_words(lang: str) -> None:
    found = catalog.load(lang)
    tapping = {k for k, v in found.items() if TAPS[lang].search(v)
               and not k.endswith(TYPED) and not k.startswith("hotline.voice.")}
    assert sorted(tapping - NOT_ON_WECHAT - {k.removesuffix(TYPED) for k in found
                                             if k.endswith(TYPED)}) == []
    for key in (k for k in found if k.endswith(TYPED)):
        assert not TAPS[lang].search(found[key]), key
        base = found[key.removesuffix(TYPED)]
        assert catalog.placeholders(found[key]) <= catalog.placeholders(base), key


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_the_renderer_says_what_to_reply(lang: str) -> None:
    review = Reply(catalog.t(lang, "review.title") + "\n" + catalog.t(lang, "review.confirm"),
                   [Button(catalog.t(lang, "nav.confirm"), "cmd:confirm", "action"),
                    Button(catalog.t(lang, "nav.back"), "cmd:back", "nav")])
    shown = render(review, lang)
    assert catalog.t(lang, "review.confirm_typed") in shown
    assert not TAPS[lang].search(shown)
    # With its parameters: the words it showed stay.
    text = "x\n" + catalog.t(lang, "invalid.choice", count=4)
    assert typed_words(text, lang) == "x\n" + catalog.t(lang, "invalid.choice_typed", count=4)
    linked = catalog.t(lang, "notice.linked_apart", mine="E-2026-0002", number="E-2026-0001",
                       what="二十多人聚集")
    assert typed_words(linked, lang) == catalog.t(
        lang, "notice.linked_apart_typed", mine="E-2026-0002", number="E-2026-0001",
        what="二十多人聚集")


async def test_a_complaint_and_its_alert_on_wechat_say_what_to_reply(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    zhao = await leader(client, wx, api, "demo_zhaoguoqiang")
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    seen: list[str] = []
    for said, _ in complaint_steps("十月份的加班费到现在还没有发下来", "补发加班费")[:5]:
        seen += await chat.say(said)
    assert any(t("zh", "complaint.cosigners.ask_typed") in x for x in seen)
    for said, expected in complaint_steps("十月份的加班费到现在还没有发下来", "补发加班费")[5:]:
        texts = await chat.say(said)
        assert any(expected in x for x in texts)
        seen += texts
    assert any(t("zh", "review.confirm_typed") in x for x in seen)
    seen += await chat.say("确认提交")
    assert any(t("zh", "menu.prompt_typed") in x for x in seen)
    assert not [x for x in seen if TAPS["zh"].search(x)], seen
    [alert] = zhao.new_texts()
    assert t("zh", "nav.ack_prompt_typed") in alert and "「收到 C-2026-0001」" in alert
    assert not TAPS["zh"].search(alert)


async def test_english_on_wechat_says_reply_not_tap(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    seen = await chat.say("English")
    await run(chat, [("Report an emergency", ask("en", "emergency", "what", 1, 5)),
                     ("A crowd at the gate", ask("en", "emergency", "place", 2, 5))])
    seen += await chat.say("the east gate")
    assert any(t("en", "emergency.people.ask_typed") in x for x in seen)
    assert not [x for x in seen if TAPS["en"].search(x)], seen


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_the_closing_notice_on_wechat_says_to_reply_to_rate(lang: str) -> None:
    """The closing notice offers the rating: on WeChat, in words to reply, which start
    the rating of that case (bot/wechat_render.pressed_words)."""
    from bot.wechat_render import pressed_words
    from handlers.notices import render as render_push
    from store.org import WORKROOM_ZONE

    params = {"number": "C-2026-0001", "outcome": "十月加班费已补发", "days": 15,
              "until": "2026-12-08", "actions": [["menu.rate", "flow:rate?case=1"]]}
    push = render_push("notice.case_closed_rate", params, lang, WORKROOM_ZONE)
    shown = render(push, lang, push=True)
    typed = t(lang, "notice.case_closed_rate_typed", **params)
    assert shown == typed  # 评价答复 said once: no words line saying it again
    assert not TAPS[lang].search(shown)
    assert pressed_words(push.buttons)[word_key(t(lang, "menu.rate"))] == "flow:rate?case=1"


# The numbered words WeChat says where Telegram says to tap: the menu's "回复 1、2、3…10
# 选择" under its numbered entries, "not understood", help, and a question asked again
# after a wrong answer (tests/test_telegram_words.py has Telegram's).
NUMBERED_WORDS = {
    "zh": {"menu": "回复 1、2、3…10 选择，也可以直接回复选项的文字。",
           "unknown": "没有看懂您的意思。请从下面选择要办理的事项，或回复序号：",
           "help": "回复序号或选项的文字，选择要办理的事项。",
           "again": "请回复下面选项的序号（1 到 7），或选项的文字。"},
    "en": {"menu": "Reply 1, 2, 3…10 to choose, or the option's words.",
           "unknown": "Sorry, I did not understand. Please choose from the list below, or "
                      "reply with a number:",
           "help": "Reply with the number or the words of what you want to do.",
           "again": "Please reply with the number of one of the options below (1 to 7), or "
                    "its words."},
}


@pytest.mark.parametrize("lang", catalog.LANGS)
async def test_wechat_keeps_its_numbered_words_for_the_menu_and_a_question_asked_again(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, lang: str) -> None:
    chat = WxChat(client, wx, api, "wechat", EMPLOYEE["wechat"])
    words = NUMBERED_WORDS[lang]
    [menu] = await chat.say("你好" if lang == "zh" else "English")
    if lang == "en":
        [menu] = await chat.say("menu")
    assert menu.startswith(t(lang, "menu.welcome_typed") + "\n\n1. ")
    assert menu.endswith(words["menu"])
    [unknown] = await chat.say("啊？")
    assert unknown.startswith(words["unknown"] + "\n\n1. ")
    [helped] = await chat.say("帮助" if lang == "zh" else "help")
    assert helped.startswith(words["help"])
    assert t(lang, "menu.prompt_typed") + "\n\n1. " in helped
    await chat.say(t(lang, "menu.suggestion"))
    [again] = await chat.say("国家大事")
    assert again.startswith(words["again"] + "\n\n" + ask(lang, "suggestion", "topic", 1, 3))
    assert f"\n7. {t(lang, 'opt.topic.other')}\n" in again
    for text in (menu, unknown, helped, again):
        assert not TAPS[lang].search(text), text
