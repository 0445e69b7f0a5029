"""再分类 / Change the category: the complaint form says "不确定就选“其他”，工作人员会再分类",
and no action kept that promise. The staff (and the director) file a case under the
category it belongs to, on its timeline. One still only assigned by its first category
(已交办, nothing done by its leader) goes to the new category's leader; one taken up or
passed on stays with its handler, who is told."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers.notices import note_words
from store.models import Acknowledgement, CaseEvent
from tests.calendar_helpers import rows, workbook
from tests.case_helpers import (
    alert_asking_ack,
    at9,
    case_action,
    choices,
    file_complaint,
    offered,
    press_value,
    pushes,
    the_case,
    tick,
)
from tests.transcript import LANGS, Chat, open_menu, person, t

WHY = "反映的是车间通风设备，属安全生产"


def category(lang: str, key: str) -> str:
    return t(lang, f"opt.category.{key}")


def timeline(services: Services, lang: str) -> list[str]:
    """The case's timeline as its readers see it: what, and the note in words."""
    with Session(services.db) as s:
        return [f"{t(lang, f'event.{e.kind}')}|{note_words(e.kind, e.note, lang)}"
                for e in s.exec(select(CaseEvent).order_by(col(CaseEvent.id)))]


def my_cases(chat: Chat, lang: str) -> str:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.my_cases"))
    return chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_an_other_case_filed_under_its_category_goes_to_that_categorys_leader(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """李明 chose 其他: the director has it, assigned. 刘芳 of the staff files it under
    安全生产: 吴建军, who answers for safety, gets it with all it says; the director is
    told it is no longer hers; it counts as 安全生产 for 李明 too."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang, category="other")
    case = the_case(services)
    assert case.handler_id == person(services, "chen_lihua").id
    for key in ("chen_lihua", "wu_jianjun"):
        open_menu(Chat(services, person=key), lang)  # they read their pushes in `lang`
    liu = Chat(services, person="liu_fang")
    offered(liu, lang, "C-2026-0001")
    liu.press(t(lang, "opt.case_action.reclassify"))
    assert t(lang, "case_action.category.ask") in liu.text
    assert category(lang, "safety") in choices(liu)
    liu.press(category(lang, "safety"))
    liu.say(WHY)
    liu.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.reclassify_rerouted", number="C-2026-0001",
             old=category(lang, "other"), category=category(lang, "safety"),
             name="吴建军") in liu.text

    case = the_case(services)
    assert (case.category, case.handler_id, case.status) == (
        "safety", person(services, "wu_jianjun").id, "assigned")
    services.dispatcher.drain()
    [alert] = [p for p in pushes(services, "wu_jianjun") if "C-2026-0001" in p]
    assert alert.startswith(t(
        lang, "notice.case_rerouted", number="C-2026-0001", by="刘芳",
        old_category=category(lang, "other"), category=category(lang, "safety"), reason=WHY,
        affected=3, workshop="铸造车间", description="十月份的加班费到现在还没有发下来",
        outcome="补发加班费", complainant="李明", due_on=case.due_on.isoformat()))
    assert t(lang, "notice.case_rerouted_old", number="C-2026-0001", by="刘芳",
             old_category=category(lang, "other"), category=category(lang, "safety"),
             name="吴建军", reason=WHY) in pushes(services, "chen_lihua")
    assert timeline(services, lang)[-2:] == [
        f"{t(lang, 'event.reclassify')}|" + t(lang, "event.reclassified",
                                              old=category(lang, "other"),
                                              new=category(lang, "safety"), reason=WHY),
        f"{t(lang, 'event.assigned')}|{category(lang, 'safety')}"]
    assert t(lang, "case.line", number="C-2026-0001", category=category(lang, "safety"),
             status=t(lang, "status.assigned"), due_on=case.due_on.isoformat()) \
        in my_cases(li, lang)
    # The supervision form (督办单) shows who changed it, from what to what.
    sheet = workbook(services, "forms", lang=lang, case="C-2026-0001")[
        t(lang, "export.sheet.supervision")]
    assert [t(lang, "event.reclassify"), "刘芳",
            t(lang, "event.reclassified", old=category(lang, "other"),
              new=category(lang, "safety"), reason=WHY)] in [r[1:] for r in rows(sheet)]


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_its_handler_took_up_keeps_its_handler_who_is_told(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 has started on a wage complaint: the director files it under 企业管理; it
    stays with him, and he is told. He, a leader, may not change it himself."""
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    case_action(zhao, lang, "C-2026-0001", "note", "已与财务科核对考勤")
    # The category is the workroom's to set: a leader who should not have it passes it on.
    assert t(lang, "opt.case_action.reclassify") not in offered(zhao, lang, "C-2026-0001")
    zhao.press(t(lang, "nav.cancel"))
    said = case_action(Chat(services, person="chen_lihua"), lang, "C-2026-0001", "reclassify",
                       f"[{category(lang, 'management')}]", "涉及车间考勤管理制度")
    assert t(lang, "case_action.done.reclassify", number="C-2026-0001",
             old=category(lang, "wages"), category=category(lang, "management"),
             name="赵国强") in said
    case = the_case(services)
    assert (case.category, case.handler_id, case.status) == (
        "management", person(services, "zhao_guoqiang").id, "in_progress")
    services.dispatcher.drain()
    assert t(lang, "notice.case_reclassified", number="C-2026-0001", by="陈丽华",
             old_category=category(lang, "wages"), category=category(lang, "management"),
             reason="涉及车间考勤管理制度") in pushes(services, "zhao_guoqiang")
    assert not any("C-2026-0001" in p for p in pushes(services, "sun_hongmei"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_passed_on_stays_with_who_has_it_and_the_same_category_is_refused(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A case 赵国强 passed to 刘芳 (转办) is hers, whatever its category: filed under
    安全生产 it stays with her. Its own category again is refused, and asked again."""
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "reassign",
                "[刘芳（群众工作室专职干事）]" if lang == "zh" else "[刘芳 (群众工作室专职干事)]",
                "请工作室先核实")
    director = Chat(services, person="chen_lihua")
    said = case_action(director, lang, "C-2026-0001", "reclassify",
                       f"[{category(lang, 'wages')}]", "核对类别")
    assert t(lang, "case.refused.same_category", number="C-2026-0001",
             category=category(lang, "wages")) in said
    assert t(lang, "case_action.category.ask") in director.replies[-1].text
    director.press(category(lang, "safety"))
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.reclassify", number="C-2026-0001",
             old=category(lang, "wages"), category=category(lang, "safety"),
             name="刘芳") in director.text
    case = the_case(services)
    assert (case.category, case.handler_id) == ("safety", person(services, "liu_fang").id)
    assert not any("C-2026-0001" in p for p in pushes(services, "wu_jianjun"))



@pytest.mark.parametrize("lang", LANGS)
def test_a_case_filed_under_a_category_whose_leader_is_away_stays_with_the_director(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """吴建军, who answers for safety, is on a trip: a case filed under 安全生产 stays with
    the director, as a new safety complaint would, and is not sent to a leader away."""
    from datetime import date

    from store.calendar_models import LeaderAway
    from store.db import transaction

    li = Chat(services, person="li_ming")
    file_complaint(li, lang, category="other")
    director = person(services, "chen_lihua")
    with transaction(services.db) as s:
        s.add(LeaderAway(unit_id=director.unit_id or 0, person_id=person(services, "wu_jianjun").id,
                         first_day=date(2026, 11, 20), last_day=date(2026, 12, 31), kind="trip",
                         created_at=clock.now()))
    liu = Chat(services, person="liu_fang")
    offered(liu, lang, "C-2026-0001")
    liu.press(t(lang, "opt.case_action.reclassify"))
    liu.press(category(lang, "safety"))
    liu.say(WHY)
    liu.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.reclassify", number="C-2026-0001",
             old=category(lang, "other"), category=category(lang, "safety"),
             name="陈丽华") in liu.text
    case = the_case(services)
    assert (case.category, case.handler_id) == ("safety", director.id)
    services.dispatcher.drain()
    assert not [p for p in pushes(services, "wu_jianjun") if "C-2026-0001" in p]


@pytest.mark.parametrize("lang", LANGS)
def test_the_jiaoban_of_a_case_rerouted_to_another_leader_no_longer_asks_its_first_one(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """李明 chose 其他: the director has it, and her 交办 asks for her 收到. Half an hour
    later 刘芳 files it under 安全生产 and it goes to 吴建军. Before, the director's 交办
    still asked for her 收到, and her press recorded that she had taken a case no longer
    hers. Now her 交办 says to whom it went and when, its 收到 and 办理 gone; her 收到
    pressed, or typed, is told so and records nothing; and the next working mornings only
    吴建军 is asked to confirm it, and the staff told of him alone."""
    file_complaint(Chat(services, person="li_ming"), lang, category="other")
    chen, wu, liu = (Chat(services, person=k) for k in ("chen_lihua", "wu_jianjun", "liu_fang"))
    for chat in (chen, wu, liu):
        open_menu(chat, lang)
    services.dispatcher.drain()
    jiaoban, ack = alert_asking_ack(chen, "C-2026-0001")
    assert jiaoban.text.endswith("\n" + t(lang, "nav.ack_prompt"))
    clock.advance(timedelta(minutes=30))
    case_action(liu, lang, "C-2026-0001", "reclassify", f"[{category(lang, 'safety')}]", WHY)
    services.dispatcher.drain()

    [edited] = [m for m in chen.inbox() if m.id == jiaoban.id]
    assert edited.text == jiaoban.text.removesuffix("\n" + t(lang, "nav.ack_prompt")) + "\n" \
        + t(lang, "notice.alert_passed", name="吴建军", at="2026-11-23 09:30")
    assert edited.buttons == []
    passed = t(lang, "ack.passed_on", number="C-2026-0001", name="吴建军", at="09:30")
    assert press_value(chen, ack)[0].text == passed
    assert chen.say(t(lang, "nav.ack"))[0].text == passed  # typed, where it cannot be pressed
    assert chen.say(f"{t(lang, 'nav.ack')} C-2026-0001")[0].text == passed
    with Session(services.db) as s:
        assert s.exec(select(Acknowledgement)).all() == []

    case = the_case(services)
    facts = {"number": "C-2026-0001", "category": category(lang, "safety"),
             "assigned_at": "2026-11-23 09:30", "due_on": case.due_on.isoformat()}
    asked = [t(lang, "notice.case_ack_remind", **facts, days=days) + "\n"
             + t(lang, "nav.ack_prompt") for days in (1, 2)]
    tick(services, clock, at9(date(2026, 11, 26)))
    assert [p for p in pushes(services, "wu_jianjun") if p.startswith(asked[0][:8])] == asked
    assert not [p for p in pushes(services, "chen_lihua") if p.startswith(asked[0][:8])]
    told = [p for p in pushes(services, "liu_fang") if p.startswith(t(
        lang, "notice.case_unconfirmed", **facts, handler="", days=1, times=3)[:8])]
    assert told == [t(lang, "notice.case_unconfirmed", **facts, handler="吴建军", days=days,
                      times=3) for days in (1, 2)]
    _, own = alert_asking_ack(wu, "C-2026-0001")
    assert press_value(wu, own)[0].text == t(lang, "ack.done", at="09:00")
