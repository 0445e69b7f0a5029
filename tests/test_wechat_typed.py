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
# Said only where there are buttons or links to tap (a Telegram group, the web chat).
NOT_ON_WECHAT = {"group.private", "group.private_link", "files.elsewhere"}


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
