"""What a complainant reads of their case: named, by pushes; anonymous, by receipt code.
Every matter an answer (事事有回音): the reply and the outcome stay to be read once closed."""

from __future__ import annotations

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from tests.case_helpers import case_action, file_complaint, pushes, the_case
from tests.test_case_rules import CODE
from tests.transcript import LANGS, Chat, open_menu, person, t

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
    open_menu(li, lang)  # 我反映的问题: when it closed, not the deadline it had
    li.press(t(lang, "menu.my_cases"))
    assert t(lang, "case.line_closed", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), status=t(lang, "status.closed"),
             closed_on="2026-11-23") in li.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_the_director_answered_is_reopened_with_her_not_above_her(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Nobody is above the director: a 不满意 on her reply does not go 'to a higher level',
    and she is asked to answer again, not told it is 'now hers'."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang, category="other")  # the director answers for "other"
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, lang)  # her pushes in `lang`
    case_action(chen, lang, "C-2026-0001", "reply", REPLY)
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press_starting("C-2026-0001")
    li.press(t(lang, "opt.rating.unsatisfied"))
    case = the_case(services)
    assert case.handler_id == person(services, "chen_lihua").id
    assert t(lang, "rate.reopened_same", number="C-2026-0001",
             due_on=case.due_on.isoformat()) in li.text
    services.dispatcher.drain()
    [told] = [p for p in pushes(services, "chen_lihua") if REPLY in p]
    assert told.startswith(t(lang, "notice.case_reopened_same", number="C-2026-0001",
                             category=t(lang, "opt.category.other"),
                             due_on=case.due_on.isoformat(), reply=REPLY, events="")
                           .split("\n")[0])


@pytest.mark.parametrize("lang", LANGS)
def test_an_anonymous_complainant_reopening_is_told_to_look_the_answer_up(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Nothing can be pushed to an anonymous complainant: no 'we will tell you'."""
    visitor = Chat(services, channel="web", address="anon-reopen")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply", REPLY)
    said = rate_by_code(visitor, lang, code[0], "unsatisfied")
    case = the_case(services)
    assert case.status == "reopened"
    assert t(lang, "rate.reopened_anonymous", number="C-2026-0001",
             due_on=case.due_on.isoformat()) in said
    assert t(lang, "rate.reopened", number="C-2026-0001",
             due_on=case.due_on.isoformat()) not in said


@pytest.mark.parametrize("lang", LANGS)
def test_the_receipt_lookup_of_a_rated_reply_does_not_ask_for_a_rating_again(
        services: Services, clock: FrozenClock, lang: str) -> None:
    visitor = Chat(services, channel="web", address="anon-rated")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply", REPLY)
    rate_by_code(visitor, lang, code[0], "basic")
    said = lookup(visitor, lang, code[0])
    assert t(lang, "receipt.found_rated", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), status=t(lang, "status.follow_up"),
             reply=REPLY, rating=t(lang, "opt.rating.basic")) in said
    assert t(lang, "menu.rate") not in said.split(REPLY)[1]  # no invitation to rate
