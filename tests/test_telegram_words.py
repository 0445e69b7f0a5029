"""What a worker on Telegram is told to do is what Telegram shows them: the main menu is a
keyboard of buttons, a question's options are buttons under it, and none of them carries
a number. So the menu, help, the "not understood" answers and a question asked again
after a wrong answer say to tap (点按钮, "tap"), never to reply with a number; English
says "tap", not "press" or "click". WeChat, which shows the options as a numbered list,
keeps its numbered words (their `_typed` wordings, tests/test_wechat_typed.py)."""

from __future__ import annotations

import re

import httpx
import pytest

import tests.test_telegram as webhook
from bot.bootstrap import Services
from bot.wechat_render import TYPED
from conversations import catalog
from conversations.catalog import t
from conversations.flows import SUGGESTION_TOPICS
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat
from tests.test_telegram_flows import ask, employee_menu, inline_buttons, menu_labels, one

fake = webhook.fake
tg = webhook.tg
client = webhook.client

LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])

# Words that tell to reply with an option's number ("回复序号", "reply with its number").
BY_NUMBER = {"zh": re.compile("序号"), "en": re.compile(r"\bwith (its|a|the) number\b", re.I)}
# Words that tell to tap a button.
TAP = {"zh": re.compile("点按钮|点下面的按钮|点选"), "en": re.compile(r"\btap\b", re.I)}
# The menu's words as Telegram shows them, each in its place.
MENU_WORDS = {
    "zh": {"welcome": "请选择（点按钮）：", "prompt": "请选择要办理的事项（点按钮）：",
           "help": "请点下面的按钮选择要办理的事项。",
           "unknown": "没有看懂您的意思。请点下面的按钮选择要办理的事项：",
           "urgent": "其他事情请点下面的按钮选择："},
    "en": {"welcome": "Please choose (tap a button):",
           "prompt": "What would you like to do? (tap a button)",
           "help": "Tap a button below to choose what to do.",
           "unknown": "Sorry, I did not understand. Please tap a button below to choose "
                      "what to do:",
           "urgent": "for anything else, tap a button below:"},
}
# Something that is no topic of a suggestion, and words at the menu that may tell of an
# emergency (too short to keep).
NO_TOPIC = "国家大事"
URGENT = {"zh": "着火了", "en": "Fighting at the canteen!!"}


def says_to_tap(text: str, lang: str) -> None:
    assert TAP[lang].search(text), text
    assert not BY_NUMBER[lang].search(text), text


@LANGS
async def test_the_menu_help_and_not_understood_say_to_tap_the_menus_buttons(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7601, code)
    words = MENU_WORDS[lang]

    [welcome] = await chat.say("/start")
    assert welcome == t(lang, "menu.welcome")
    assert welcome.endswith(words["welcome"])
    # The menu: a keyboard of its labels, no numbers on them.
    assert menu_labels(fake, 7601) == employee_menu(lang)
    says_to_tap(welcome, lang)

    [helped] = await chat.say("/help")
    assert helped == one(t(lang, "help.menu"), t(lang, "menu.prompt"))
    assert helped.startswith(words["help"]) and helped.endswith(words["prompt"])
    says_to_tap(helped, lang)

    [unknown] = await chat.say("啊？")
    assert unknown == t(lang, "menu.unknown") == words["unknown"]
    assert menu_labels(fake, 7601) == employee_menu(lang)

    [urgent] = await chat.say(URGENT[lang])
    assert urgent == t(lang, "menu.unknown_urgent")
    assert urgent.endswith(words["urgent"])
    assert menu_labels(fake, 7601) == employee_menu(lang)
    for text in (unknown, urgent):
        says_to_tap(text, lang)


@LANGS
async def test_a_question_asked_again_after_a_wrong_answer_says_to_tap_an_option(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7602, code)
    await chat.say("/start")
    [first] = await chat.say(t(lang, "menu.suggestion"))  # the menu keyboard's label
    assert first.endswith(ask(lang, "suggestion", "topic", 1, 3))
    options = [t(lang, f"opt.topic.{v}") for v in SUGGESTION_TOPICS]

    [again] = await chat.say(NO_TOPIC)

    count = len(SUGGESTION_TOPICS)
    assert again == one(t(lang, "invalid.choice", count=count),
                        ask(lang, "suggestion", "topic", 1, 3))
    assert again.startswith({"zh": f"请点选下面的选项（共 {count} 项）。",
                             "en": f"Please tap an option below ({count} shown)."
                             }[lang])
    says_to_tap(again, lang)
    # The options under it: buttons with their words, no numbers.
    assert [label for label, _ in inline_buttons(fake, 7602)][:count] == options
    # A tap answers it.
    assert await chat.press(options[3]) == [ask(lang, "suggestion", "text", 2, 3)]


# --- every sentence Telegram may show ------------------------------------------------------

# Said to reply with a number where the text itself shows the numbers: the options a word
# fits ("1. 一车间、2. 二车间"), the alerts waiting ("1. 紧急情况 E-2026-0001…").
NUMBERS_IN_TEXT = {"invalid.choice_which", "ack.not_waiting"}
# An answer that is a number ("How many people are affected?").
NUMBER_ANSWERS = {"invalid.number", "invalid.number_range"}


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_no_sentence_with_buttons_says_to_reply_with_an_options_number(lang: str) -> None:
    """The numbered words are the `_typed` ones, for WeChat and texts (which show the
    options as a numbered list); Telegram and the web chat get the words to tap."""
    said = {k for k, v in catalog.load(lang).items()
            if not k.endswith(TYPED) and not k.startswith("wechat.")
            and BY_NUMBER[lang].search(v)}
    assert sorted(said - NUMBERS_IN_TEXT - NUMBER_ANSWERS) == []
    for key in ("menu.unknown", "menu.unknown_urgent", "help.menu", "invalid.choice"):
        assert BY_NUMBER[lang].search(t(lang, key + TYPED, count=3)), key  # WeChat's


def test_english_buttons_are_tapped_not_pressed_or_clicked() -> None:
    """"press" is kept for a phone's keys only: the hotline's words, and the text that
    tells a caller which key to press; "keep pressing for it" urges, on every channel."""
    keypad = {k for k in catalog.load("en") if k.startswith("hotline.")} \
        | {"notice.caller_missed"}
    pressed = {k: v for k, v in catalog.load("en").items()
               if k not in keypad and re.search(r"\b(press(?!ing for)|click)", v, re.I)}
    assert pressed == {}
