"""A complaint's whole life in seconds: every reminder at its time, escalation when overdue,
extension, reply, rating, reopening and closing — in Chinese and in English."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import deadlines
from handlers.alerts import names_text
from store.models import Alert, CaseEvent, Timer
from tests.case_helpers import (
    at9,
    case_action,
    file_complaint,
    press_value,
    pushes,
    the_case,
    tick,
)
from tests.transcript import LANGS, Chat, open_menu, person, t

FILED = date(2026, 8, 3)  # a Monday; 60 days on is Friday 10-02, inside National Day
DUE = date(2026, 10, 8)  # the first working day after the golden week


def _people(services: Services, lang: str) -> dict[str, Chat]:
    chats = {k: Chat(services, person=k) for k in
             ("li_ming", "zhao_guoqiang", "liu_fang", "chen_lihua")}
    for chat in chats.values():
        open_menu(chat, lang)  # each of them reads the bot (and their pushes) in `lang`
    return chats


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_from_filing_to_closing(db_services: Services, clock: FrozenClock,
                                           lang: str) -> None:
    services = db_services  # on SQLite and on PostgreSQL
    clock.set(at9(FILED))
    c = _people(services, lang)
    wages = t(lang, "opt.category.wages")

    # Filed on Monday 08-03: due 60 days later, moved past National Day.
    done = file_complaint(c["li_ming"], lang)
    assert t(lang, "complaint.done", number="C-2026-0001", due_on=DUE.isoformat(),
             days=60) in done
    case = the_case(services)
    assert (case.status, case.deadline_from, case.due_on) == ("assigned", FILED, DUE)

    # The leader responsible for wages notes progress, then passes it to the staff.
    clock.advance(timedelta(days=1))
    said = case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "note", "已与财务科沟通")
    assert t(lang, "case_action.done.note", number="C-2026-0001") in said
    assert the_case(services).status == "in_progress"
    said = case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "reassign",
                       "[刘芳（群众工作室专职干事）]" if lang == "zh"
                       else "[刘芳 (群众工作室专职干事)]", "请刘芳跟进核算")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="刘芳") in said
    services.dispatcher.drain()
    assert any(p.startswith(t(lang, "notice.case_passed", number="C-2026-0001",
                              category=wages, by="赵国强", reason="请刘芳跟进核算",
                              affected=3, workshop="铸造车间", description="", outcome="",
                              complainant="", due_on=DUE.isoformat()).splitlines()[0])
               for p in pushes(services, "liu_fang"))

    # Half-way (33 of 66 days): Saturday 09-05 at 09:00, not a minute before.
    half = at9(date(2026, 9, 5))
    tick(services, clock, half - timedelta(minutes=1))
    reminder = t(lang, "notice.case_remind_half", number="C-2026-0001", category=wages,
                 due_on=DUE.isoformat(), days_left=33)
    assert reminder not in pushes(services, "liu_fang")
    tick(services, clock, half)
    assert pushes(services, "liu_fang").count(reminder) == 1

    # The handler asks for ten more days; the director approves in chat.
    clock.advance(timedelta(days=2))
    said = case_action(c["liu_fang"], lang, "C-2026-0001", "extend", "10", "需要等月底工资核算")
    # The reply names who was asked to decide: the director (no lead leader here).
    assert t(lang, "case_action.done.extend", number="C-2026-0001", days=10,
             approvers=names_text([person(services, "chen_lihua")], lang)) in said
    services.dispatcher.drain()
    asked = t(lang, "notice.extension_asked", handler="刘芳", days=10, number="C-2026-0001",
              due_on=DUE.isoformat(), reason="需要等月底工资核算")
    assert asked in pushes(services, "chen_lihua")
    director = c["chen_lihua"]
    open_menu(director, lang)
    director.press(t(lang, "menu.decide_extension"))
    director.press(director.replies[-1].buttons[0].label)
    director.press(t(lang, "opt.decision.approve"))
    director.press(t(lang, "nav.confirm"))
    new_due = date(2026, 10, 19)  # 10-08 + 10 is Sunday 10-18: Monday
    assert t(lang, "decide_extension.approved", number="C-2026-0001",
             due_on=new_due.isoformat(),
             names=names_text([person(services, "liu_fang")], lang)) in director.text
    assert the_case(services).due_on == new_due

    # 7 days and 1 day before the new due date; overdue the day after it.
    tick(services, clock, at9(date(2026, 10, 20)))
    staff = pushes(services, "liu_fang")
    for message, left in (("notice.case_remind_week", 7), ("notice.case_remind_day", 1)):
        assert staff.count(t(lang, message, number="C-2026-0001", category=wages,
                             due_on=new_due.isoformat(), days_left=left)) == 1
    assert staff.count(reminder) == 1  # the half-way one is not sent again
    overdue = t(lang, "notice.case_overdue", number="C-2026-0001", category=wages,
                due_on=new_due.isoformat(), late=1)
    assert staff.count(overdue) == 1
    # The staff member's supervisor for wages is the leader responsible: told what was done.
    escalated = [p for p in pushes(services, "zhao_guoqiang")
                 if p.startswith(t(lang, "notice.case_escalated", number="C-2026-0001",
                                   category=wages, handler="刘芳", due_on=new_due.isoformat(),
                                   late=1, status=t(lang, "status.in_progress"),
                                   events="").splitlines()[0])]
    assert len(escalated) == 1
    assert "已与财务科沟通" in escalated[0] and "需要等月底工资核算" in escalated[0]
    assert not [p for p in pushes(services, "chen_lihua") if "C-2026-0001" in p
                and t(lang, "event.escalated_overdue") in p]
    # Three days later the director.
    tick(services, clock, at9(date(2026, 10, 23)))
    to_director = [p for p in pushes(services, "chen_lihua")
                   if p.startswith(t(lang, "notice.case_escalated", number="C-2026-0001",
                                     category=wages, handler="刘芳",
                                     due_on=new_due.isoformat(), late=4,
                                     status=t(lang, "status.in_progress"),
                                     events="").splitlines()[0])]
    assert len(to_director) == 1 and t(lang, "event.escalated_overdue") in to_director[0]

    # The reply reaches the complainant, who is not satisfied: reopened with the supervisor.
    said = case_action(c["liu_fang"], lang, "C-2026-0001", "reply", "十月加班费将于本月底补发")
    assert t(lang, "case_action.done.reply", number="C-2026-0001",
             told=t(lang, "case_action.told.named")) in said
    services.dispatcher.drain()
    replied = t(lang, "notice.case_replied", number="C-2026-0001", reply="十月加班费将于本月底补发")
    assert replied in pushes(services, "li_ming")
    rate(c["li_ming"], lang, "unsatisfied")
    second_due = date(2026, 11, 23)  # 10-23 + 30 is Sunday 11-22: Monday
    assert t(lang, "rate.reopened", number="C-2026-0001",
             due_on=second_due.isoformat()) in c["li_ming"].text
    case = the_case(services)
    assert (case.status, case.reopens, case.deadline_days, case.due_on) == \
        ("reopened", 1, 30, second_due)
    assert case.handler_id == person(services, "zhao_guoqiang").id
    services.dispatcher.drain()
    reopened = [p for p in pushes(services, "zhao_guoqiang") if p.startswith(
        t(lang, "notice.case_reopened", number="C-2026-0001", category=wages,
          due_on=second_due.isoformat(), reply="十月加班费将于本月底补发",
          events="").splitlines()[0])]
    assert len(reopened) == 1 and "十月加班费将于本月底补发" in reopened[0]
    assert t(lang, "notice.case_reopened_old", number="C-2026-0001",
             due_on=second_due.isoformat()) in pushes(services, "liu_fang")

    # It counts in the re-complaint rate the director sees.
    director.press(t(lang, "menu.open_cases"))
    assert t(lang, "query.open_cases.recomplaint", reopened=1, rated=1, percent=100) \
        in director.text

    # The leader answers again; satisfied this time; closed with the outcome.
    clock.advance(timedelta(days=5))
    case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "reply", "已核实并补发十月加班费")
    services.dispatcher.drain()
    rate(c["li_ming"], lang, "satisfied")
    assert t(lang, "rate.done", number="C-2026-0001") in c["li_ming"].text
    said = case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "close", "十月加班费已补发")
    assert t(lang, "case_action.done.close", number="C-2026-0001") in said
    assert the_case(services).status == "closed"
    services.dispatcher.drain()  # the complainant is told it is closed, and with what
    assert pushes(services, "li_ming")[-1] == t(lang, "notice.case_closed",
                                                number="C-2026-0001", outcome="十月加班费已补发")

    # Closed: nothing more, however long the clock runs.
    before = {k: len(pushes(services, k)) for k in c}
    tick(services, clock, at9(date(2027, 1, 31)), step=timedelta(days=1))
    assert {k: len(pushes(services, k)) for k in c} == before
    with Session(services.db) as s:
        kinds = list(s.exec(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                            .order_by(col(CaseEvent.id))).all())
        armed = s.exec(select(Timer).where(Timer.kind == deadlines.KIND,
                                           col(Timer.done_at).is_(None))).all()
    # 刘芳 neither confirmed nor worked on it for a working day: staff and director told.
    assert kinds == ["registered", "assigned", "note", "reassign", "unconfirmed", "extend",
                     "extended", "escalated_overdue", "escalated_director", "reply", "reopen",
                     "reply", "rate", "close"]
    assert armed == []


def rate(chat: Chat, lang: str, rating: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.rate"))
    chat.press(next(b.label for r in chat.replies for b in r.buttons
                    if b.label.startswith("C-2026-0001")))
    chat.press(t(lang, f"opt.rating.{rating}"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_reassigned_when_overdue_is_escalated_once(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """The new handler of an overdue case is told it is overdue; the director, told
    already, is not told again, and the case's timeline (and the supervision form made
    from it) says once that it went up, not once per handler."""
    services = db_services
    clock.set(at9(FILED))
    c = _people(services, lang)
    sun = Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    file_complaint(c["li_ming"], lang)  # wages: the leader responsible handles it
    tick(services, clock, at9(DUE + timedelta(days=4)))

    def escalations() -> list[str]:
        with Session(services.db) as s:
            return [e.kind for e in s.exec(select(CaseEvent).where(
                col(CaseEvent.kind).startswith("escalated_")).order_by(col(CaseEvent.id)))]

    def to_director() -> int:
        return sum(p.startswith(t(lang, "notice.case_escalated", number="C-2026-0001",
                                  category=t(lang, "opt.category.wages"), handler="",
                                  due_on="", late=0, status="", events="")[:8])
                   for p in pushes(services, "chen_lihua"))

    # The director is the leader's supervisor: told once that it went up, then reminded.
    assert escalations() == ["escalated_overdue"]
    assert to_director() == 1
    said = case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "reassign",
                       "[孙红梅（党委书记）]" if lang == "zh" else "[孙红梅 (党委书记)]",
                       "由分管领导接手")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="孙红梅") in said
    tick(services, clock, at9(DUE + timedelta(days=5)))
    overdue = t(lang, "notice.case_overdue", number="C-2026-0001",
                category=t(lang, "opt.category.wages"), due_on=DUE.isoformat(), late=4)
    assert pushes(services, "sun_hongmei").count(overdue) == 1
    assert escalations() == ["escalated_overdue"]
    assert to_director() == 1


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_given_back_to_its_first_handler_tells_them_again(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 passes a wage case to 刘芳, who gives it back to him: he is told it is his
    again, with who and why. Before, his first 【交办】 alert's key stood for every later
    push of the case to him, so the second one was never written."""
    services = db_services
    clock.set(at9(FILED))
    c = _people(services, lang)
    file_complaint(c["li_ming"], lang)
    services.dispatcher.drain()
    [first] = [p for p in pushes(services, "zhao_guoqiang") if "C-2026-0001" in p]
    with Session(services.db) as s:
        [alert] = s.exec(select(Alert).where(
            Alert.recipient_id == person(services, "zhao_guoqiang").id)).all()
    press_value(c["zhao_guoqiang"], f"ack:{alert.id}")  # he confirms he has it
    liu = "[刘芳（群众工作室专职干事）]" if lang == "zh" else "[刘芳 (群众工作室专职干事)]"
    case_action(c["zhao_guoqiang"], lang, "C-2026-0001", "reassign", liu, "请刘芳跟进核算")
    zhao = "[赵国强（总经理）]" if lang == "zh" else "[赵国强 (总经理)]"
    said = case_action(c["liu_fang"], lang, "C-2026-0001", "reassign", zhao, "需领导协调财务")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="赵国强") in said
    services.dispatcher.drain()
    back = t(lang, "notice.case_passed", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), by="刘芳", reason="需领导协调财务",
             affected=3, workshop="", description="", outcome="", complainant="",
             due_on=DUE.isoformat()).splitlines()[0]
    told = [p for p in pushes(services, "zhao_guoqiang") if p != first]
    [again] = [p for p in told if p.startswith(back)]
    assert t(lang, "nav.ack_prompt") not in again  # he confirmed the case already
    assert the_case(services).handler_id == person(services, "zhao_guoqiang").id


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_passed_on_tells_its_new_handler_all_of_it_and_its_old_one_it_is_gone(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The staff pass 赵国强's case to 孙红梅: she is told what happened, to how many,
    where, what is wanted and by whom, as he was (she must answer it); he is told it is
    off his hands, and his 收到 is no longer asked for."""
    from store.models import IdentityRead

    c = _people(services, lang)
    sun = Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    file_complaint(c["li_ming"], lang)
    case = the_case(services)
    said = case_action(c["liu_fang"], lang, "C-2026-0001", "reassign",
                       "[孙红梅（党委书记）]" if lang == "zh" else "[孙红梅 (党委书记)]",
                       "分管领导出差")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="孙红梅") in said
    services.dispatcher.drain()
    [told] = [p for p in pushes(services, "sun_hongmei") if "C-2026-0001" in p]
    for fact in ("十月份的加班费到现在还没有发下来", "补发加班费", "铸造车间", "李明",
                 "刘芳", "分管领导出差", case.due_on.isoformat()):
        assert fact in told, (fact, told)
    sun_id = person(services, "sun_hongmei").id
    with Session(services.db) as s:  # her read of who complained is audited
        assert s.exec(select(IdentityRead).where(IdentityRead.reader_id == sun_id)).first()
    assert t(lang, "notice.case_handed_on", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), by="刘芳", name="孙红梅",
             reason="分管领导出差") in pushes(services, "zhao_guoqiang")
    zhao = c["zhao_guoqiang"]
    zhao.press(t(lang, "menu.my_alerts"))
    assert zhao.replies[0].text == t(lang, "query.my_alerts.none")
    sun.press(t(lang, "menu.my_alerts"))
    assert "C-2026-0001" in sun.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_who_replies_to_a_case_has_acknowledged_its_alert(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 works on the case from his alert's 办理 button without pressing 收到 first:
    his reply is his acknowledgement, and the case is no longer listed as waiting."""
    c = _people(services, lang)
    file_complaint(c["li_ming"], lang)
    zhao = c["zhao_guoqiang"]
    zhao.press(t(lang, "menu.my_alerts"))
    assert zhao.replies[0].text.startswith(t(lang, "query.my_alerts.title", count=1))
    case_action(zhao, lang, "C-2026-0001", "reply", "加班费将于月底补发")
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.my_alerts"))
    assert zhao.replies[0].text == t(lang, "query.my_alerts.none")
