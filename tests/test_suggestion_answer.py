"""答复建议 / Answer a suggestion: every suggestion gets its answer (事事有回音).

The staff answer from the chat; a named suggester is sent the answer and finds it under
"my cases"; an anonymous one reads it with the receipt code; suggestions left waiting a
week are put before the staff with the weekly report.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, SQLModel, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import Notification, Suggestion
from tests.calendar_helpers import at, run_until
from tests.case_helpers import choices, press_value, pushes
from tests.transcript import LANGS, Chat, open_menu, person, t

CODE = re.compile(r"[2-9A-Z]{5}-[2-9A-Z]{5}")
CANTEEN = "建议食堂晚班增加热菜供应，夜班职工吃不上热饭"
DECLINED = "考核细则涉及个人信息，暂不公开，可向班组长本人查询。"
ANSWER = "已与后勤商定：自12月1日起夜班增设两个热菜窗口，供应到凌晨1点。"


def suggest(chat: Chat, lang: str, text: str = CANTEEN, *, topic: str = "living",
            identity: str = "named") -> str:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.suggestion"))
    chat.press(t(lang, f"opt.topic.{topic}"))
    chat.say(text)
    chat.press(t(lang, f"opt.identity.{identity}"))
    chat.press(t(lang, "nav.confirm"))
    return chat.text


def answer(staff: Chat, lang: str, number: str, kind: str = "adopted",
           text: str = ANSWER, *, listed: bool = False) -> str:
    """Answer through 答复建议 (`listed`: the list of suggestions is shown already)."""
    if not listed:
        open_menu(staff, lang)
        staff.press(t(lang, "menu.answer_suggestion"))
    staff.press_starting(number)
    staff.press(t(lang, f"opt.answer_kind.{kind}"))
    staff.say(text)
    assert t(lang, "review.title") in staff.text
    staff.press(t(lang, "nav.confirm"))
    return staff.text


def the_suggestion(services: Services, number: str) -> Suggestion:
    with Session(services.db) as s:
        return s.exec(select(Suggestion).where(Suggestion.number == number)).one()


@pytest.mark.parametrize("lang", LANGS)
def test_staff_answer_a_named_suggestion_and_the_suggester_is_told(
        services: Services, lang: str) -> None:
    worker = Chat(services, person="tang_yun")
    said = suggest(worker, lang)
    assert t(lang, "suggestion.done", number="S-2026-0001") in said

    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    assert t(lang, "menu.answer_suggestion") in staff.labels()
    staff.press(t(lang, "menu.answer_suggestion"))
    assert t(lang, "answer_suggestion.suggestion.ask") in staff.text
    quote = "建议食堂晚班增加热菜供应，夜班职工吃不…"
    shown = t(lang, "answer_suggestion.option", number="S-2026-0001",
              topic=t(lang, "opt.topic.living"), quote=quote)
    assert choices(staff) == [shown]
    assert "唐云" not in staff.text  # who suggested it is not the staff's to know

    done = answer(staff, lang, "S-2026-0001", listed=True)
    assert t(lang, "answer_suggestion.done.named", number="S-2026-0001",
             kind=t(lang, "opt.answer_kind.adopted")) in done

    row = the_suggestion(services, "S-2026-0001")
    assert (row.status, row.answer_kind, row.answer) == ("answered", "adopted", ANSWER)
    assert row.answered_by == person(services, "liu_fang").id
    assert row.answered_at == services.clock.now()

    services.dispatcher.drain()
    assert pushes(services, "tang_yun")[-1] == t(
        lang, "notice.suggestion_answered", number="S-2026-0001",
        topic=t(lang, "opt.topic.living"), kind=t(lang, "opt.answer_kind.adopted"),
        answer=ANSWER)

    worker.press(t(lang, "menu.my_cases"))
    assert t(lang, "query.my_cases.suggestions") in worker.text
    assert t(lang, "query.my_cases.suggestion_answered", number="S-2026-0001",
             topic=t(lang, "opt.topic.living"), quote=quote,
             kind=t(lang, "opt.answer_kind.adopted"), answer=ANSWER) in worker.text


def test_my_cases_lists_a_suggestion_waiting_for_its_answer(services: Services) -> None:
    worker = Chat(services, person="tang_yun")
    suggest(worker, "zh", "希望增加夜班班车的车次", topic="hours")
    worker.press(t("zh", "menu.my_cases"))
    assert t("zh", "query.my_cases.none") not in worker.text
    assert t("zh", "query.my_cases.suggestion_waiting", number="S-2026-0001",
             topic=t("zh", "opt.topic.hours"), quote="希望增加夜班班车的车次") in worker.text


@pytest.mark.parametrize("lang", LANGS)
def test_an_anonymous_suggester_reads_the_answer_with_the_receipt_code(
        services: Services, lang: str) -> None:
    worker = Chat(services, person="huang_xia")
    said = suggest(worker, lang, "建议公开班组长考核打分细则", topic="management",
                   identity="anonymous")
    code = CODE.search(said)
    assert code, said
    assert t(lang, "suggestion.done_anonymous", number="S-2026-0001", code=code[0]) in said
    assert t(lang, "suggestion.done", number="S-2026-0001") not in said  # no push is promised
    row = the_suggestion(services, "S-2026-0001")
    assert (row.anonymous, row.person_id) == (True, None)

    worker.press(t(lang, "menu.receipt"))
    worker.say(code[0].lower())
    assert t(lang, "receipt.suggestion_waiting", number="S-2026-0001",
             topic=t(lang, "opt.topic.management"), registered_on="2026-11-23") in worker.text

    staff = Chat(services, person="liu_fang")
    done = answer(staff, lang, "S-2026-0001", "declined", DECLINED)
    assert t(lang, "answer_suggestion.done.anonymous", number="S-2026-0001",
             kind=t(lang, "opt.answer_kind.declined")) in done
    with Session(services.db) as s:  # nobody to push to: nothing written for the suggester
        assert s.exec(select(Notification).where(
            Notification.message_key == "notice.suggestion_answered")).all() == []

    worker.press(t(lang, "menu.receipt"))
    worker.say(code[0])
    assert t(lang, "receipt.suggestion_answered", number="S-2026-0001",
             topic=t(lang, "opt.topic.management"), answered_on="2026-11-23",
             kind=t(lang, "opt.answer_kind.declined"),
             answer=DECLINED) in worker.text


def test_the_list_is_newest_first_and_an_answered_one_leaves_it(services: Services,
                                                                 clock: FrozenClock) -> None:
    worker = Chat(services, person="tang_yun")
    suggest(worker, "zh", "希望增加夜班班车的车次", topic="hours")
    clock.set(clock.now() + timedelta(hours=1))
    suggest(worker, "zh")
    staff = Chat(services, person="liu_fang")
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.answer_suggestion"))
    assert [c.split(" · ")[0] for c in choices(staff)] == ["S-2026-0002", "S-2026-0001"]

    answer(staff, "zh", "S-2026-0002", "noted", "已转后勤部研究，年底前给出方案。",
           listed=True)
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.answer_suggestion"))
    assert [c.split(" · ")[0] for c in choices(staff)] == ["S-2026-0001"]
    answer(staff, "zh", "S-2026-0001", "adopted", "已增加一班夜班班车。", listed=True)
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.answer_suggestion"))
    assert t("zh", "answer_suggestion.empty") in staff.text


def test_a_suggestion_answered_meanwhile_is_not_answered_twice(services: Services) -> None:
    worker = Chat(services, person="tang_yun")
    suggest(worker, "zh")
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, "zh")
    director.press(t("zh", "menu.answer_suggestion"))
    director.press_starting("S-2026-0001")
    director.press(t("zh", "opt.answer_kind.noted"))
    director.say("转后勤部研究。")

    answer(staff, "zh", "S-2026-0001")
    director.press(t("zh", "nav.confirm"))
    assert t("zh", "answer_suggestion.already", number="S-2026-0001", name="刘芳",
             at="2026-11-23 09:00") in director.text
    assert t("zh", "answer_suggestion.empty") in director.text  # nothing else to choose
    row = the_suggestion(services, "S-2026-0001")
    assert (row.answer_kind, row.answer) == ("adopted", ANSWER)
    services.dispatcher.drain()
    assert len([p for p in pushes(services, "tang_yun") if "S-2026-0001" in p]) == 1


def test_the_staff_push_opens_the_answer_with_the_suggestion_chosen(
        services: Services) -> None:
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")  # the staff member's chat, where the push arrives
    worker = Chat(services, person="tang_yun")
    suggest(worker, "zh")
    services.dispatcher.drain()
    [push] = staff.inbox()
    assert push.text == t("zh", "notice.suggestion_staff", number="S-2026-0001",
                          topic=t("zh", "opt.topic.living"), text=CANTEEN)
    [button] = [b for b in push.buttons if b["label"] == t("zh", "nav.answer_suggestion")]
    press_value(staff, button["value"])
    assert t("zh", "answer_suggestion.kind.ask") in staff.text


def test_an_employee_has_no_answer_item(services: Services) -> None:
    worker = Chat(services, person="tang_yun")
    open_menu(worker, "zh")
    assert t("zh", "menu.answer_suggestion") not in worker.labels()


def test_suggestions_waiting_a_week_are_put_before_the_staff_with_the_weekly_report(
        services: Services, clock: FrozenClock) -> None:
    worker = Chat(services, person="tang_yun")
    suggest(worker, "zh")  # Monday 11-23
    suggest(worker, "zh", "希望增加夜班班车的车次", topic="hours")
    staff = Chat(services, person="liu_fang")
    answer(staff, "zh", "S-2026-0002", "adopted", "已增加一班夜班班车。")
    clock.set(at(11, 30))
    suggest(worker, "zh", "建议澡堂延长开放时间到晚上十点")  # too new to chase

    run_until(services, clock, at(12, 3, 10))  # Thursday: the weekly report's draft

    [waiting] = [p for p in pushes(services, "liu_fang") if "S-2026-0001" in p
                 and t("zh", "menu.answer_suggestion") in p]
    line = t("zh", "notice.suggestion_waiting_line", number="S-2026-0001",
             topic=t("zh", "opt.topic.living"), registered_on="2026-11-23",
             quote="建议食堂晚班增加热菜供应，夜班职工吃不…")
    assert waiting == t("zh", "notice.suggestions_waiting", count=1, days=7, lines=line)
    assert "S-2026-0003" not in waiting and "S-2026-0002" not in waiting
    assert not any(t("zh", "menu.answer_suggestion") in p  # the staff have it, not she
                   for p in pushes(services, "chen_lihua"))


def test_an_anonymous_suggestions_receipt_code_is_stored_in_no_table(
        services: Services) -> None:
    worker = Chat(services, person="huang_xia")
    code = CODE.search(suggest(worker, "zh", identity="anonymous"))
    assert code
    services.dispatcher.drain()
    folded = code[0].replace("-", "")
    with Session(services.db) as s:
        conn = s.connection()
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                text = " ".join(str(v) for v in row)
                assert code[0] not in text and folded not in text, table.name


def test_the_push_of_a_suggestion_answered_since_says_who_answered_it(
        services: Services, clock: FrozenClock) -> None:
    """The director answered it first; the staff member then presses her push's 答复此建议:
    she is told who answered it and when, not only that nothing waits."""
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    suggest(Chat(services, person="tang_yun"), "zh")
    services.dispatcher.drain()
    [push] = staff.inbox()
    answer(Chat(services, person="chen_lihua"), "zh", "S-2026-0001", "adopted",
           "已与后勤商定增加热菜。")
    [button] = [b for b in push.buttons if b["label"] == t("zh", "nav.answer_suggestion")]
    press_value(staff, button["value"])
    assert t("zh", "answer_suggestion.already", number="S-2026-0001", name="陈丽华",
             at="2026-11-23 09:00") in staff.text


def test_a_suggestions_code_typed_to_rate_says_where_its_answer_is(services: Services) -> None:
    """An anonymous suggester types their code at 评价答复: not "no such code" (their only
    proof, said to be wrong), but that a suggestion is not rated and where to read it."""
    import re

    visitor = Chat(services, channel="web", address="anon-suggester")
    suggest(visitor, "zh", identity="anonymous")
    code = re.search(r"[2-9A-Z]{5}-[2-9A-Z]{5}", visitor.text)
    assert code is not None
    open_menu(visitor, "zh")
    visitor.press(t("zh", "menu.rate"))
    visitor.say(code[0])
    assert t("zh", "rate.suggestion_code", number="S-2026-0001") in visitor.text
