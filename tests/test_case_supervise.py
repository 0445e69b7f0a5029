"""Leaders who are not a case's handler act on it in chat: the lead leader (包案领导) and the
handler's supervisor find it under “办理问题 / Work on a case”, and may urge the handler
(催办): the instruction goes on the timeline and to the handler, with the button to the case.
A leader with no part in a case does not see it; nobody urges themselves; an employee cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import CaseEvent, InboxMessage, Notification
from tests.calendar_helpers import rows, workbook
from tests.case_helpers import (
    actions,
    case_action,
    choices,
    file_complaint,
    offered,
    press_value,
    the_case,
    tick,
)
from tests.transcript import LANGS, Chat, open_menu, person, t

URGE = "本周五前与财务科核定补发方案并答复反映人"


def _assignee(lang: str, name: str, post: str) -> str:
    return f"[{name}（{post}）]" if lang == "zh" else f"[{name} ({post})]"


def to_staff(services: Services, lang: str) -> Chat:
    """A wages case (赵国强 answers for wages) that he gives to 刘芳 of the staff."""
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    said = case_action(zhao, lang, "C-2026-0001", "reassign",
                       _assignee(lang, "刘芳", "群众工作室专职干事"), "请工作室先核实")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="刘芳") in said
    return zhao


def cases_listed(chat: Chat, lang: str) -> list[str]:
    """What “办理问题 / Work on a case” lists for the person (or says there is nothing)."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.case_action"))
    if t(lang, "case_action.empty") in chat.text:
        return []  # said so, and the menu again
    listed = choices(chat)
    if t(lang, "nav.cancel") in chat.labels():
        chat.press(t(lang, "nav.cancel"))  # only looking
    return listed


def inbox(services: Services, key: str) -> list[InboxMessage]:
    with Session(services.db) as s:
        return list(s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                           .order_by(col(InboxMessage.id))).all())


def urges(services: Services) -> list[CaseEvent]:
    with Session(services.db) as s:
        return list(s.exec(select(CaseEvent).where(CaseEvent.kind == "urge")).all())


@pytest.mark.parametrize("lang", LANGS)
def test_the_lead_leader_who_is_not_the_handler_sees_the_case_and_its_five_fix(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang, affected="25")  # a leader case
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "five_fix", "财务科 王科长", "财务科 李会计",
                "2027-01-15", "答复后一周内上门回访")
    case_action(zhao, lang, "C-2026-0001", "reassign",
                _assignee(lang, "孙红梅", "党委书记"), "涉及干部作风，请孙书记办理")
    case = the_case(services)
    assert (case.handler_id, case.lead_leader_id) == (person(services, "sun_hongmei").id,
                                                      person(services, "zhao_guoqiang").id)
    # Still his to lead: listed, with 五定 and 催办 (the new handler's notes are hers).
    listed = cases_listed(zhao, lang)
    assert len(listed) == 1 and listed[0].startswith("C-2026-0001")
    assert offered(zhao, lang, "C-2026-0001") == actions(lang, "five_fix", "urge")
    # The handler is not offered to urge herself.
    sun = Chat(services, person="sun_hongmei")
    assert t(lang, "opt.case_action.urge") not in offered(sun, lang, "C-2026-0001")
    # A leader with no part in it does not see it.
    wu = Chat(services, person="wu_jianjun")
    assert cases_listed(wu, lang) == []
    assert t(lang, "case_action.empty") in wu.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_supervising_leader_sees_a_staff_case_and_is_offered_only_to_urge(
        services: Services, clock: FrozenClock, lang: str) -> None:
    zhao = to_staff(services, lang)
    listed = cases_listed(zhao, lang)
    assert len(listed) == 1 and listed[0].startswith("C-2026-0001")
    assert offered(zhao, lang, "C-2026-0001") == actions(lang, "urge")
    zhao.press(t(lang, "nav.cancel"))
    # 孙红梅 answers for management, not wages: nothing of hers.
    assert cases_listed(Chat(services, person="sun_hongmei"), lang) == []
    # Once replied, the leader has nothing to do on it: no longer listed (no empty screen).
    case_action(Chat(services, person="liu_fang"), lang, "C-2026-0001", "reply",
                "十月加班费将于本月底补发")
    assert cases_listed(zhao, lang) == []
    assert t(lang, "case_action.empty") in zhao.text


@pytest.mark.parametrize("lang", LANGS)
def test_urging_puts_the_instruction_on_the_timeline_and_pushes_it_to_the_handler(
        services: Services, clock: FrozenClock, lang: str) -> None:
    liu = Chat(services, person="liu_fang")
    open_menu(liu, lang)  # she reads her pushes in `lang`
    zhao = to_staff(services, lang)
    said = case_action(zhao, lang, "C-2026-0001", "urge", URGE, confirm=False)
    colon = "：" if lang == "zh" else ": "
    assert f"{t(lang, 'case_action.urge.label')}{colon}{URGE}" in said  # the review
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.urge", number="C-2026-0001", name="刘芳") in zhao.text
    case = the_case(services)
    assert case.status == "assigned" and case.handler_id == person(services, "liu_fang").id
    [event] = urges(services)
    assert (event.note, event.actor_id) == (URGE, person(services, "zhao_guoqiang").id)
    with Session(services.db) as s:
        row = s.exec(select(Notification).where(
            Notification.message_key == "notice.case_urged")).one()
    assert row.recipient_id == person(services, "liu_fang").id
    assert row.idempotency_key == f"case:{case.id}:urge:{event.id}"
    services.dispatcher.drain()
    [pushed] = [m for m in inbox(services, "liu_fang") if URGE in m.text]
    assert pushed.text == t(lang, "notice.case_urged", leader="赵国强", number="C-2026-0001",
                            category=t(lang, "opt.category.wages"),
                            due_on=case.due_on.isoformat(), note=URGE)
    assert pushed.text.startswith("【督办】赵国强 督办问题 C-2026-0001" if lang == "zh"
                                  else "[SUPERVISION] 赵国强 urges action on case C-2026-0001")
    work = t(lang, "nav.work_on_case")
    assert [b["label"] for b in pushed.buttons] == [work]
    # One tap: her own actions on that case.
    press_value(liu, next(b["value"] for b in pushed.buttons))
    assert choices(liu) == actions(lang, "note", "reply", "extend", "reassign", "reclassify")
    # The supervision form (督办单) shows who urged and what.
    sheet = workbook(services, "forms", lang=lang, case="C-2026-0001")[
        t(lang, "export.sheet.supervision")]
    assert [t(lang, "event.urge"), "赵国强", URGE] in [r[1:] for r in rows(sheet)]


@pytest.mark.parametrize("lang", LANGS)
def test_the_overdue_push_to_the_supervising_leader_opens_the_urge(
        services: Services, clock: FrozenClock, lang: str) -> None:
    zhao = to_staff(services, lang)
    open_menu(zhao, lang)
    tick(services, clock, clock.now() + timedelta(days=62), step=timedelta(days=1))
    first = t(lang, "notice.case_escalated", number="C-2026-0001", category="x",
              handler="x", due_on="x", late=0, status="x", events="x")[:4]
    told = [m for m in inbox(services, "zhao_guoqiang") if m.text.startswith(first)]
    assert len(told) == 1 and "C-2026-0001" in told[0].text
    work = t(lang, "nav.work_on_case")
    assert [b["label"] for b in told[0].buttons] == [work]
    press_value(zhao, told[0].buttons[0]["value"])
    assert choices(zhao) == actions(lang, "urge")
    zhao.press(t(lang, "opt.case_action.urge"))
    zhao.say(URGE)
    zhao.press(t(lang, "nav.confirm"))
    assert [e.note for e in urges(services)] == [URGE]


@pytest.mark.parametrize("lang", LANGS)
def test_an_employee_and_the_handler_cannot_urge(services: Services, clock: FrozenClock,
                                                 lang: str) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    case_id = the_case(services).id
    # The complainant: no 办理问题, and the action's address leads nowhere.
    open_menu(li, lang)
    assert t(lang, "menu.case_action") not in li.labels()
    press_value(li, f"flow:case_action?case={case_id}&action=urge")
    assert t(lang, "case_action.urge.ask") not in li.text
    # The handler: the action is not offered; asked for the ones he may do instead.
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    press_value(zhao, f"flow:case_action?case={case_id}&action=urge")
    assert t(lang, "case_action.urge.ask") not in zhao.text
    assert choices(zhao) == actions(lang, "note", "reply", "extend", "reassign")
    assert urges(services) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_workroom_staff_supervise_a_leader_case_note_and_urge(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """对领导接访交办的信访事项，群众工作室要进行督办: 刘芳 of the staff, not handling a
    leader case, may note what she learnt and urge its handling leader."""
    file_complaint(Chat(services, person="li_ming"), lang, affected="25")  # a leader case
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)  # he reads his pushes in `lang`
    liu = Chat(services, person="liu_fang")
    assert offered(liu, lang, "C-2026-0001") == actions(lang, "note", "reassign", "reclassify",
                                                         "urge")
    liu.press(t(lang, "nav.cancel"))
    said = case_action(liu, lang, "C-2026-0001", "note", "已电话了解，财务科正在核算")
    assert t(lang, "case_action.done.note", number="C-2026-0001") in said
    said = case_action(liu, lang, "C-2026-0001", "urge", URGE)
    assert t(lang, "case_action.done.urge", number="C-2026-0001", name="赵国强") in said
    case = the_case(services)
    assert case.handler_id == person(services, "zhao_guoqiang").id
    assert [(e.note, e.actor_id) for e in urges(services)] == [
        (URGE, person(services, "liu_fang").id)]
    services.dispatcher.drain()
    assert t(lang, "notice.case_urged", leader="刘芳", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), due_on=case.due_on.isoformat(),
             note=URGE) in [m.text for m in inbox(services, "zhao_guoqiang")]


@pytest.mark.parametrize("lang", LANGS)
def test_the_workroom_staff_are_told_of_an_overdue_case_without_who_complained(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)  # named; 赵国强 handles it
    liu = Chat(services, person="liu_fang")
    open_menu(liu, lang)
    tick(services, clock, clock.now() + timedelta(days=62), step=timedelta(days=1))
    first = t(lang, "notice.case_escalated", number="C-2026-0001", category="x",
              handler="x", due_on="x", late=0, status="x", events="x")[:4]
    told = [m for m in inbox(services, "liu_fang") if m.text.startswith(first)]
    assert len(told) == 1 and "C-2026-0001" in told[0].text and "赵国强" in told[0].text
    assert "李明" not in told[0].text  # the complainant's identity is not hers to see
    press_value(liu, told[0].buttons[0]["value"])  # the push's 办理此问题: she may urge
    assert choices(liu) == actions(lang, "note", "reassign", "reclassify", "urge")


@pytest.mark.parametrize("lang", LANGS)
def test_a_staff_note_leaves_the_case_assigned_until_its_handler_works_on_it(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """刘芳 of the staff notes what she learnt on 赵国强's case, which he has not taken
    up: 李明 read 办理中, and 赵国强 still had the 交办 to confirm. Her note goes on the
    timeline only; his own first note starts the work."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    case = the_case(services)

    def line() -> str:
        open_menu(li, lang)
        li.press(t(lang, "menu.my_cases"))
        return li.text

    def shown(status: str) -> str:
        return t(lang, "case.line", number="C-2026-0001", category=t(lang, "opt.category.wages"),
                 status=t(lang, f"status.{status}"), due_on=case.due_on.isoformat())

    liu = Chat(services, person="liu_fang")
    said = case_action(liu, lang, "C-2026-0001", "note", "已电话询问财务科，尚未处理")
    assert t(lang, "case_action.done.note", number="C-2026-0001") in said
    assert the_case(services).status == "assigned"
    assert shown("assigned") in line()
    with Session(services.db) as s:
        notes = [(e.note, e.actor_id) for e in s.exec(select(CaseEvent).where(
            CaseEvent.kind == "note")).all()]
    assert notes == [("已电话询问财务科，尚未处理", person(services, "liu_fang").id)]
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)  # his 交办 still waits for his 收到
    zhao.press(t(lang, "menu.my_alerts"))
    assert "C-2026-0001" in zhao.text

    case_action(zhao, lang, "C-2026-0001", "note", "已与财务科核对考勤")
    assert the_case(services).status == "in_progress"
    assert shown("in_progress") in line()
