"""What a complainant reads of their case: named, by pushes; anonymous, by receipt code.
Every matter an answer (事事有回音): the reply and the outcome stay to be read once closed."""

from __future__ import annotations

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from tests.case_helpers import case_action, file_complaint, pushes
from tests.test_case_rules import CODE
from tests.transcript import LANGS, Chat, open_menu, t

REPLY = "加班费将于月底补发"
OUTCOME = "十月加班费已于月底补发到位"


def lookup(visitor: Chat, lang: str, code: str) -> str:
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.receipt"))
    visitor.say(code)
    return visitor.text


def rate_by_code(visitor: Chat, lang: str, code: str, rating: str) -> str:
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.press(t(lang, "opt.rate_case.code"))
    visitor.say(code)
    visitor.press(t(lang, f"opt.rating.{rating}"))
    return visitor.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_closed_case_read_by_receipt_code_shows_its_reply_and_outcome(
        services: Services, clock: FrozenClock, lang: str) -> None:
    visitor = Chat(services, channel="web", address="anon-closed")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "reply", REPLY)
    rate_by_code(visitor, lang, code[0], "satisfied")
    said = case_action(zhao, lang, "C-2026-0001", "close", OUTCOME)
    assert t(lang, "case_action.done.close", number="C-2026-0001") in said
    assert t(lang, "receipt.found_closed", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), closed_on="2026-11-23", reply=REPLY,
             outcome=OUTCOME) in lookup(visitor, lang, code[0])


@pytest.mark.parametrize("lang", LANGS)
def test_a_named_complainant_is_told_the_case_is_closed_and_with_what(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "reply", REPLY)
    case_action(zhao, lang, "C-2026-0001", "close", OUTCOME)
    services.dispatcher.drain()
    assert pushes(services, "li_ming")[-1] == t(lang, "notice.case_closed",
                                                number="C-2026-0001", outcome=OUTCOME)
