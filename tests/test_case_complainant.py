"""What a complainant reads of their case: named, by pushes; anonymous, by receipt code.
Every matter an answer (事事有回音): the reply and the outcome stay to be read once closed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import deadlines
from handlers.casework import RATE_DAYS_AFTER_CLOSING
from store.models import CaseEvent, InboxMessage, Timer
from tests.case_helpers import (
    at9,
    case_action,
    file_complaint,
    offered,
    press_value,
    pushes,
    the_case,
)
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


def inbox(services: Services, key: str) -> list[InboxMessage]:
    with Session(services.db) as s:
        return list(s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                           .order_by(col(InboxMessage.id))).all())


def reply_and_close(services: Services, lang: str) -> None:
    """赵国强 answers C-2026-0001 and closes it at once, before any rating."""
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "reply", REPLY)
    said = case_action(zhao, lang, "C-2026-0001", "close", OUTCOME)
    assert t(lang, "case_action.done.close", number="C-2026-0001") in said
    services.dispatcher.drain()


def kinds(services: Services) -> list[str]:
    with Session(services.db) as s:
        return list(s.exec(select(CaseEvent.kind).order_by(col(CaseEvent.id))).all())


UNTIL = "2026-12-08"  # closed on Monday 2026-11-23: rated until 15 days after


@pytest.mark.parametrize("lang", LANGS)
def test_a_named_complainant_is_told_the_case_is_closed_and_rates_it_from_the_notice(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Closed right after the reply: the closing notice says with what, and offers the
    rating (会员评家) with its button and until when; rated then, the case stays closed."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    reply_and_close(services, lang)
    assert RATE_DAYS_AFTER_CLOSING == 15
    closed = inbox(services, "li_ming")[-1]
    assert closed.text == t(lang, "notice.case_closed_rate", number="C-2026-0001",
                            outcome=OUTCOME, days=15, until=UNTIL)
    assert [b["label"] for b in closed.buttons] == [t(lang, "menu.rate")]
    open_menu(li, lang)  # 我反映的问题: when it closed, not the deadline it had
    li.press(t(lang, "menu.my_cases"))
    assert t(lang, "case.line_closed", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), status=t(lang, "status.closed"),
             closed_on="2026-11-23") in li.text
    assert t(lang, "query.my_cases.rate_closed", until=UNTIL) in li.text
    # One tap on the notice: the rating is asked for that case at once.
    clock.advance(timedelta(days=3))
    press_value(li, closed.buttons[0]["value"])
    assert t(lang, "rate.rating.ask") in li.replies[-1].text
    li.press(t(lang, "opt.rating.basic"))
    assert t(lang, "rate.done", number="C-2026-0001") in li.text
    case = the_case(services)
    assert (case.status, case.rating) == ("closed", "basic")
    assert case.closed_at is not None and case.closed_at.date().isoformat() == "2026-11-23"
    assert kinds(services)[-2:] == ["close", "rate"]
    # Once only: the notice's button again says it is closed to rating.
    press_value(li, closed.buttons[0]["value"])
    assert t(lang, "rate.closed", number="C-2026-0001", days=15) in li.text
    assert t(lang, "rate.rating.ask") not in li.text
    assert kinds(services)[-1] == "rate"


@pytest.mark.parametrize("lang", LANGS)
def test_not_satisfied_with_a_closed_case_reopens_it_with_the_supervisor(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """不满意 after the closing reopens the case as before it: to the handler's
    supervisor (the director, above a leader), who is told it had been closed and with
    what; the handler is told it has gone up; a new deadline runs."""
    services = db_services
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, lang)  # her pushes in `lang`
    reply_and_close(services, lang)
    clock.advance(timedelta(days=10))  # Thursday 2026-12-03
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press(t(lang, "case.option_closed", number="C-2026-0001",
               category=t(lang, "opt.category.wages"), status=t(lang, "status.closed"),
               closed_on="2026-11-23"))
    li.press(t(lang, "opt.rating.unsatisfied"))
    case = the_case(services)
    due = date(2027, 1, 4)  # 30 days from 12-03 is Saturday 01-02: the Monday after
    assert (case.status, case.rating, case.reopens, case.due_on, case.closed_at) == \
        ("reopened", "unsatisfied", 1, due, None)
    assert case.handler_id == person(services, "chen_lihua").id
    assert t(lang, "rate.reopened", number="C-2026-0001", due_on=due.isoformat()) in li.text
    assert kinds(services)[-2:] == ["close", "reopen"]
    services.dispatcher.drain()
    wages = t(lang, "opt.category.wages")
    [told] = [m for m in inbox(services, "chen_lihua") if OUTCOME in m.text]
    assert told.text.startswith(t(lang, "notice.case_reopened_closed", number="C-2026-0001",
                                  category=wages, due_on=due.isoformat(), reply=REPLY,
                                  outcome=OUTCOME, events="").removesuffix("\n"))
    assert [b["label"] for b in told.buttons] == [t(lang, "nav.work_on_case")]
    assert inbox(services, "zhao_guoqiang")[-1].text == t(
        lang, "notice.case_reopened_old_closed", number="C-2026-0001", due_on=due.isoformat())
    with Session(services.db) as s:  # its deadline runs again
        armed = s.exec(select(Timer).where(Timer.kind == deadlines.KIND,
                                           col(Timer.done_at).is_(None))).all()
    assert armed
    # Open again: the director may answer it.
    assert t(lang, "opt.case_action.reply") in offered(chen, lang, "C-2026-0001")


@pytest.mark.parametrize("lang", LANGS)
def test_a_closed_case_is_rated_until_its_days_are_over(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """15 days after the closing day it may still be rated; the day after, it is not
    offered, and the notice's button says why."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    reply_and_close(services, lang)
    [button] = inbox(services, "li_ming")[-1].buttons
    label = t(lang, "case.option_closed", number="C-2026-0001",
              category=t(lang, "opt.category.wages"), status=t(lang, "status.closed"),
              closed_on="2026-11-23")

    def offered_to_rate() -> bool:
        open_menu(li, lang)
        li.press(t(lang, "menu.rate"))
        shown = label in li.labels()
        li.press(t(lang, "nav.cancel"))
        return shown

    clock.set(at9(date(2026, 12, 8)))
    assert offered_to_rate()
    open_menu(li, lang)
    li.press(t(lang, "menu.my_cases"))
    assert t(lang, "query.my_cases.rate_closed", until=UNTIL) in li.text
    clock.set(at9(date(2026, 12, 9)))
    assert not offered_to_rate()
    open_menu(li, lang)
    li.press(t(lang, "menu.my_cases"))
    assert t(lang, "query.my_cases.reply", reply=REPLY) in li.text
    assert t(lang, "query.my_cases.rate_closed", until=UNTIL) not in li.text
    press_value(li, button["value"])
    assert t(lang, "rate.closed", number="C-2026-0001", days=15) in li.text
    assert t(lang, "rate.rating.ask") not in li.text
    case = the_case(services)
    assert (case.status, case.rating) == ("closed", None)
    assert kinds(services)[-1] == "close"


@pytest.mark.parametrize("lang", LANGS)
def test_an_anonymous_complainant_rates_a_closed_case_by_receipt_code_in_its_days(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The lookup says until when it may be rated; 不满意 by receipt code reopens it;
    another case's code, past its days, is refused before the rating is asked."""
    visitor = Chat(services, channel="web", address="anon-closed-rate")
    first = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    second = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert first is not None and second is not None
    zhao = Chat(services, person="zhao_guoqiang")
    for number in ("C-2026-0001", "C-2026-0002"):
        case_action(zhao, lang, number, "reply", REPLY)
    case_action(zhao, lang, "C-2026-0002", "close", OUTCOME)
    clock.advance(timedelta(days=14))
    case_action(zhao, lang, "C-2026-0001", "close", OUTCOME)  # Monday 2026-12-07
    clock.advance(timedelta(days=2))  # 12-09: the second's days are over, not the first's
    wages = t(lang, "opt.category.wages")
    assert t(lang, "receipt.found_closed_rate", number="C-2026-0001", category=wages,
             closed_on="2026-12-07", reply=REPLY, outcome=OUTCOME,
             until="2026-12-22") in lookup(visitor, lang, first[0])
    said = lookup(visitor, lang, second[0])
    assert t(lang, "receipt.found_closed", number="C-2026-0002", category=wages,
             closed_on="2026-11-23", reply=REPLY, outcome=OUTCOME) in said
    assert t(lang, "menu.rate") not in said.split(OUTCOME)[1]  # no invitation to rate
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.press(t(lang, "opt.rate_case.code"))
    visitor.say(second[0])
    assert t(lang, "rate.closed", number="C-2026-0002", days=15) in visitor.text
    assert t(lang, "rate.code.ask") in visitor.replies[-1].text
    visitor.press(t(lang, "nav.cancel"))
    said = rate_by_code(visitor, lang, first[0], "unsatisfied")
    case = the_case(services)
    assert (case.status, case.closed_at) == ("reopened", None)
    assert t(lang, "rate.reopened_anonymous", number="C-2026-0001",
             due_on=case.due_on.isoformat()) in said
    with Session(services.db) as s:  # the timeline does not name the anonymous rater
        reopen = s.exec(select(CaseEvent).where(CaseEvent.kind == "reopen")).one()
    assert reopen.actor_id is None
    assert the_case(services, "C-2026-0002").status == "closed"


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


@pytest.mark.parametrize("lang", LANGS)
def test_the_reopening_on_the_timeline_says_not_satisfied_once(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The reopened case's "so far" read 「不满意，重新办理：不满意」: the entry and its
    note (the rating) both said it. Now the entry says what happened, the note why."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)  # 赵国强, a leader, handles wages: the director is above him
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, lang)  # her pushes in `lang`
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply", REPLY)
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press_starting("C-2026-0001")
    li.press(t(lang, "opt.rating.unsatisfied"))
    services.dispatcher.drain()
    [told] = [p for p in pushes(services, "chen_lihua") if REPLY in p]
    colon = "：" if lang == "zh" else ": "
    unsatisfied = t(lang, "opt.rating.unsatisfied")
    [line] = [x for x in told.splitlines() if x.endswith(f"{colon}{unsatisfied}")]
    assert line.endswith(f"{t(lang, 'event.reopen')}{colon}{unsatisfied}")
    assert line.lower().count(unsatisfied.lower()) == 1, line
