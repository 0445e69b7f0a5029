"""The leader on reception duty: reminded of the visit ledger once the reception is over,
one tap from a booking's push to moving it, and their own work first in the menu."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot import telegram, wechat_render
from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import bookings, notices
from store.models import Booking, Contact, DutyEntry, InboxMessage, Notification, Timer
from tests.case_helpers import choices, tick
from tests.test_booking_reminders import visit_button
from tests.transcript import LANGS, Chat, all_rows, open_menu, person, t

pytestmark = pytest.mark.usefixtures("published_roster")  # booking needs 公示

ZONE = ZoneInfo("Asia/Shanghai")
PLACE = "群众工作室（行政楼一楼）"
# 赵国强's reception on Wednesday 11-25, 08:30-11:30 (the demo roster).
SLOT = {"date": "2026-11-25", "start": "08:30", "end": "11:30", "place": PLACE}


def slot(lang: str, day: str = "2026-11-25") -> dict[str, str]:
    """The reception's words as a push gives them, its weekday named."""
    from datetime import date

    return {**SLOT, "date": day,
            "weekday": t(lang, f"weekday.{date.fromisoformat(day).weekday()}")}


def shanghai(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def book(chat: Chat, lang: str, topic: str, day: str = "11-25") -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.booking"))
    chat.press_starting(day)
    chat.say(topic)
    chat.press(t(lang, "nav.confirm"))
    assert "V-2026-" in chat.text


def inbox(services: Services, key: str) -> list[InboxMessage]:
    with Session(services.db) as s:
        return list(s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                           .order_by(col(InboxMessage.id))).all())


def ledger_pushes(services: Services, lang: str) -> list[InboxMessage]:
    """The visit-ledger reminders delivered to 赵国强."""
    head = t(lang, "notice.visit_ledger_due", **slot(lang), count=0, visitor_lines="")[:8]
    return [m for m in inbox(services, "zhao_guoqiang") if m.text.startswith(head)]


def tap(chat: Chat, message: InboxMessage, label: str) -> None:
    from handlers.inbound import Inbound

    value = next(b["value"] for b in message.buttons if b["label"] == label)
    chat._send(Inbound(chat.channel, chat.address, chat._id(), action=value))


def labels(message: InboxMessage) -> list[str]:
    return [b["label"] for b in message.buttons]


def line(lang: str, visitor: str, number: str, topic: str) -> str:
    return t(lang, "notice.visit_ledger_line", visitor=visitor, number=number, topic=topic)


def record(chat: Chat, lang: str, number: str, visitor: str) -> None:
    """Fill the visit ledger for a booked visit, solved on the spot."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.cal_visit_record"))
    chat.press_starting(number)
    fill(chat, lang, visitor)


def fill(chat: Chat, lang: str, visitor: str) -> None:
    for answer in (visitor, "铸造车间", "加班费核算口径不清", "车间改了排班", "当场说明核算办法",
                   "财务部"):
        chat.say(answer)
    chat.press(t(lang, "opt.solved.yes"))
    chat.say("来访人表示理解")
    chat.press(t(lang, "nav.confirm"))
    assert "J-2026-" in chat.text


# --- the visit-ledger reminder -----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_leader_is_told_once_who_is_missing_from_the_ledger_when_the_reception_ends(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)  # 赵国强 reads his pushes in `lang`
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")

    tick(services, clock, shanghai(11, 25, 11, 29), step=timedelta(hours=1))
    assert ledger_pushes(services, lang) == []  # still receiving
    tick(services, clock, shanghai(11, 25, 11, 30))
    [push] = ledger_pushes(services, lang)
    assert push.text == t(lang, "notice.visit_ledger_due", **slot(lang), count=2,
                          visitor_lines="\n".join(
        [line(lang, "李明", "V-2026-0001", "加班费核算方法"),
         line(lang, "张伟", "V-2026-0002", "夜班补贴标准")]))
    assert labels(push) == [t(lang, "menu.cal_visit_record"), t(lang, "menu.cal_visit_missed")]

    # The button opens the ledger, the two visits to choose from, each day with its weekday.
    wednesday = t(lang, "weekday.2")
    tap(zhao, push, t(lang, "menu.cal_visit_record"))
    assert t(lang, "visit_record.intro") in zhao.text
    assert [c for c in choices(zhao) if c.startswith("V-")] == [
        t(lang, "visit_record.booked", number="V-2026-0001", date="11-25", weekday=wednesday,
          topic="加班费核算方法"),
        t(lang, "visit_record.booked", number="V-2026-0002", date="11-25", weekday=wednesday,
          topic="夜班补贴标准")]
    zhao.press_starting("V-2026-0001")
    fill(zhao, lang, "李明")

    # Once at the reception's end: the sweeps of the day send nothing more.
    tick(services, clock, shanghai(11, 25, 23), step=timedelta(hours=1))
    assert len(ledger_pushes(services, lang)) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_one_visit_missing_opens_the_ledger_with_it_chosen(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")
    clock.set(shanghai(11, 25, 10))
    record(zhao, lang, "V-2026-0002", "张伟")  # recorded during the reception: not named
    tick(services, clock, shanghai(11, 25, 12), step=timedelta(hours=1))
    [push] = ledger_pushes(services, lang)
    assert push.text == t(lang, "notice.visit_ledger_due", **slot(lang), count=1,
                          visitor_lines=line(lang, "李明", "V-2026-0001", "加班费核算方法"))
    tap(zhao, push, t(lang, "menu.cal_visit_record"))
    assert t(lang, "visit_record.visitor.ask") in zhao.text  # the visit is chosen already
    fill(zhao, lang, "李明")


@pytest.mark.parametrize("lang", LANGS)
def test_no_reminder_when_all_are_recorded_nobody_booked_or_the_booking_was_cancelled(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    book(li, lang, "加班费核算方法")  # 11-25: recorded before the reception ends
    book(zhang, lang, "夜班补贴标准", day="11-30")  # 11-30: cancelled
    open_menu(zhang, lang)
    zhang.press(t(lang, "menu.my_bookings"))
    zhang.press_starting("11-30")  # its reception
    zhang.press(t(lang, "cancel_booking.nav.confirm"))
    assert t(lang, "cancel_booking.done", number="V-2026-0002") in zhang.text
    clock.set(shanghai(11, 25, 11))
    record(zhao, lang, "V-2026-0001", "李明")
    # Sun's receptions of the week had no booking at all.
    tick(services, clock, shanghai(12, 1, 12), step=timedelta(hours=1))
    assert ledger_pushes(services, lang) == []
    for key in ("zhao_guoqiang", "sun_hongmei", "wu_jianjun"):
        assert not any(b["label"] == t(lang, "menu.cal_visit_record")
                       for m in inbox(services, key) for b in m.buttons)


def test_a_moved_booking_is_asked_for_after_the_reception_it_was_moved_to(
        services: Services, clock: FrozenClock) -> None:
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, "zh", "加班费核算方法")
    clock.set(shanghai(11, 24, 10))
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.reschedule_booking"))
    zhao.press(visit_button("zh", "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    zhao.press(t("zh", "nav.confirm"))
    tick(services, clock, shanghai(11, 29, 12), step=timedelta(hours=1))
    assert ledger_pushes(services, "zh") == []  # 11-25 had nobody left
    tick(services, clock, shanghai(11, 30, 11, 30), step=timedelta(hours=1))
    [push] = ledger_pushes(services, "zh")
    assert push.text == t("zh", "notice.visit_ledger_due", **slot("zh", "2026-11-30"),
                          count=1, visitor_lines=line("zh", "李明", "V-2026-0001",
                                                      "加班费核算方法"))


def test_a_reminder_fired_late_names_the_day_instead_of_today(
        services: Services, clock: FrozenClock) -> None:
    li = Chat(services, person="li_ming")
    book(li, "zh", "加班费核算方法")
    clock.set(shanghai(11, 26, 9))  # the scheduler was down from the end of the reception
    services.sweeper.run_once()
    services.dispatcher.drain()
    assert [m.text for m in inbox(services, "zhao_guoqiang")
            if "接访台帐" in m.text][-1] == t("zh", "notice.visit_ledger_due_late", **slot("zh"),
                                             count=1, visitor_lines=line(
                                                 "zh", "李明", "V-2026-0001", "加班费核算方法"))


def test_bookings_from_before_the_reminder_get_it_once_on_upgrade(
        services: Services, clock: FrozenClock) -> None:
    li = Chat(services, person="li_ming")
    book(li, "zh", "加班费核算方法")
    with Session(services.db) as s:  # as a booking made before this release: no timer
        s.delete(s.exec(select(Timer).where(Timer.kind == bookings.LEDGER)).one())
        s.commit()
        assert bookings.ensure_ledger(s, now=clock.now(), zone=ZONE) == 1
        s.commit()
        assert bookings.ensure_ledger(s, now=clock.now(), zone=ZONE) == 0
        s.commit()
    tick(services, clock, shanghai(11, 25, 12), step=timedelta(hours=1))
    assert len(ledger_pushes(services, "zh")) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_the_ledger_button_is_inline_on_telegram_and_words_on_wechat(lang: str) -> None:
    reply = notices.render("notice.visit_ledger_due", {
        **SLOT, "count": 1, "visitor_lines": [["notice.visit_ledger_line", {
            "visitor": "李明", "number": "V-2026-0001", "topic": "加班费"}]],
        "actions": [["menu.cal_visit_record", "flow:visit_record?visit=b1"]]}, lang, ZONE)
    label = t(lang, "menu.cal_visit_record")
    assert telegram.layout(reply) == {"inline_keyboard": [[
        {"text": label, "callback_data": "flow:visit_record?visit=b1"}]]}
    shown = wechat_render.render(reply, lang, push=True)
    assert shown == t(lang, "notice.visit_ledger_due_typed", **slot(lang), count=1,
                      visitor_lines=line(lang, "李明", "V-2026-0001", "加班费"))
    assert shown.count(label) == 1  # said in its sentence, not again on a words line
    assert wechat_render.pressed_words(reply.buttons)[wechat_render.word_key(label)] == \
        "flow:visit_record?visit=b1"



@pytest.mark.parametrize("lang", LANGS)
def test_a_ledger_reminder_of_two_visitors_says_what_to_reply_on_wechat(lang: str) -> None:
    """Regression: with two visitors or more the list ran over several lines, and WeChat
    kept "请点“登记来访人未到”" under it: there is nothing to tap there."""
    from tests.test_wechat_typed import TAPS

    visitors = [["notice.visit_ledger_line", {"visitor": name, "number": number,
                                              "topic": "加班费"}]
                for name, number in (("李明", "V-2026-0001"), ("张伟", "V-2026-0002"))]
    reply = notices.render("notice.visit_ledger_due", {
        **SLOT, "count": 2, "visitor_lines": visitors,
        "actions": [["menu.cal_visit_record", "flow:visit_record?visit=b1"],
                    ["menu.cal_visit_missed", "flow:visit_missed?visit=b1"]]}, lang, ZONE)
    shown = wechat_render.render(reply, lang, push=True)
    assert shown.startswith(t(lang, "notice.visit_ledger_due_typed", **slot(lang), count=2,
                              visitor_lines="\n".join([
                                  line(lang, "李明", "V-2026-0001", "加班费"),
                                  line(lang, "张伟", "V-2026-0002", "加班费")])))
    assert not TAPS[lang].search(shown)

# --- a booking's push: 调整接访预约 ----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_new_booking_push_moves_that_booking_in_one_tap(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    book(li, lang, "加班费核算方法")
    services.dispatcher.drain()
    head = t(lang, "notice.booking_new", number="V-2026-0001", **slot(lang), form="x",
             visitor="x", topic="x")[:8]
    [push] = [m for m in inbox(services, "zhao_guoqiang") if m.text.startswith(head)]
    assert labels(push) == [t(lang, "menu.reschedule_booking")]
    tap(zhao, push, t(lang, "menu.reschedule_booking"))
    assert t(lang, "reschedule_booking.slot.ask") in zhao.text  # the booking is chosen
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "reschedule_booking.done", number="V-2026-0001", date="2026-11-30",
             weekday=t(lang, "weekday.0"), start="08:30") in zhao.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_cancellation_push_carries_the_reschedule_button_for_the_other_bookings(
        services: Services, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")
    open_menu(li, lang)
    li.press(t(lang, "menu.my_bookings"))
    li.press_starting("11-25")
    li.press(t(lang, "cancel_booking.nav.confirm"))
    services.dispatcher.drain()
    cancelled = t(lang, "notice.booking_cancelled", number="V-2026-0001", date="2026-11-25",
                  weekday=t(lang, "weekday.2"), start="08:30")
    [push] = [m for m in inbox(services, "zhao_guoqiang") if m.text == cancelled]
    assert labels(push) == [t(lang, "menu.reschedule_booking")]
    tap(zhao, push, t(lang, "menu.reschedule_booking"))
    # The cancelled booking cannot be moved: the flow asks which of the others.
    assert t(lang, "reschedule_booking.booking.ask") in zhao.text
    assert choices(zhao) == [visit_button(lang, "11-25", 2, "张伟")]
    assert t(lang, "duty.note.about", slot=visit_button(lang, "11-25", 2, "张伟"),
             number="V-2026-0002", about="夜班补贴标准") in zhao.replies[-1].text


# --- the menu: a leader's own work first -------------------------------------------------

LEADER_ZH = ["待确认的提醒", "办理问题", "我经办的问题", "在办的问题", "审批延期", "填写接访台帐",
             "登记来访人未到", "调整接访预约", "接访排班表", "调换接访日", "工作日志",
             "提建议", "反映问题", "预约领导接访", "紧急情况报告", "我反映的问题", "我的预约",
             "凭回执码查进度", "评价答复", "English"]
EMPLOYEE_ZH = ["提建议", "反映问题", "预约领导接访", "紧急情况报告", "我反映的问题", "我的预约",
               "凭回执码查进度", "评价答复", "写信给领导", "English"]


def test_a_leader_sees_their_own_work_first_and_an_employee_the_menu_as_before(
        services: Services) -> None:
    zhao, li = Chat(services, person="zhao_guoqiang"), Chat(services, person="li_ming")
    zhao.say("菜单")
    assert zhao.labels() == LEADER_ZH and len(LEADER_ZH) == 20
    li.say("菜单")
    assert li.labels() == EMPLOYEE_ZH
    # A number is the position as shown: 1 is the alerts for the leader, a suggestion for
    # the employee; 6 is the visit ledger.
    zhao.say("6")
    assert t("zh", "visit_record.intro") in zhao.text or \
        t("zh", "visit_record.empty") in zhao.text
    li.say("1")
    assert t("zh", "suggestion.intro") in li.text


def test_the_director_sees_alerts_and_emergencies_first(services: Services) -> None:
    chen = Chat(services, person="chen_lihua")
    chen.say("菜单")
    shown = chen.labels()
    assert shown[:3] == ["待确认的提醒", "突发事件跟进", "办理问题"]
    assert shown[-len(EMPLOYEE_ZH) + 1:] == [x for x in EMPLOYEE_ZH if x != "写信给领导"]
    assert shown.index("填写接访台帐") < shown.index("提建议")


@pytest.mark.parametrize("lang", LANGS)
def test_a_visit_is_not_moved_onto_a_reception_its_employee_has_booked(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """李明 booked 11-25 and 11-30 with 赵国强; moving V-2026-0001 to 11-30 would give him
    the same reception twice under "My bookings": refused when chosen, as his own booking
    form refuses a reception booked already, and nothing moves."""
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, lang, "加班费核算方法")
    book(li, lang, "夜班补贴标准", day="11-30")
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    zhao.press(visit_button(lang, "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    assert zhao.replies[0].text == t(lang, "reschedule_booking.taken", number="V-2026-0001",
                                     other="V-2026-0002")
    assert t(lang, "reschedule_booking.slot.ask") in zhao.replies[-1].text
    assert t(lang, "reschedule_booking.reason.ask") not in zhao.text
    zhao.press_starting("11-25")  # where it is already: said at once too
    assert zhao.replies[0].text == t(lang, "reschedule_booking.same")
    assert moved_to(services, "V-2026-0001") == "2026-11-25"


def moved_to(services: Services, number: str) -> str:
    """The day of the reception the booking is for now."""
    with Session(services.db) as s:
        booking = s.exec(select(Booking).where(Booking.number == number)).one()
        entry = s.get(DutyEntry, booking.duty_entry_id)
        assert entry is not None
        return entry.day.isoformat()


def test_a_move_onto_a_reception_booked_meanwhile_is_refused_when_sent(
        services: Services, clock: FrozenClock) -> None:
    """The employee books 11-30 while the leader writes the reason: the move is refused
    when sent, and the leader asked for another reception."""
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, "zh", "加班费核算方法")
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.reschedule_booking"))
    zhao.press(visit_button("zh", "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    book(li, "zh", "夜班补贴标准", day="11-30")
    zhao.press(t("zh", "nav.confirm"))
    assert zhao.replies[0].text == t("zh", "reschedule_booking.taken", number="V-2026-0001",
                                     other="V-2026-0002")
    assert t("zh", "reschedule_booking.slot.ask") in zhao.replies[-1].text
    assert moved_to(services, "V-2026-0001") == "2026-11-25"


# --- a visit the leader turns into a case (交办) -----------------------------------------


def instruct(chat: Chat, lang: str, number: str, visitor: str) -> None:
    """Fill the visit ledger for a booked visit not solved on the spot: a case, 交办."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.cal_visit_record"))
    chat.press_starting(number)
    for answer in (visitor, "铸造车间", "车间主任打骂工人", "管理方式粗暴", "调查核实",
                   "党委办公室"):
        chat.say(answer)
    chat.press(t(lang, "opt.solved.no"))
    chat.press(t(lang, "opt.category.management"))
    chat.say("请党委办公室两周内调查并答复")
    chat.press(t(lang, "nav.confirm"))
    assert "C-2026-0001" in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_an_unverified_visitors_case_keeps_them_and_its_reply_reaches_their_chat(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A web visitor nobody has verified booked, came, and the leader instructed a case:
    the case had no complainant, its reply reached nobody and the handler was told to
    phone someone the workroom has no number for. The visitor is its complainant now, as
    a complaint filed unverified keeps its filer: the reply goes to the chat the bot
    reminded them in, and they find the case under "my cases"."""
    from tests.case_helpers import case_action, the_case

    web = Chat(services, channel="web", address="anon-web-visit")
    zhao, sun = Chat(services, person="zhao_guoqiang"), Chat(services, person="sun_hongmei")
    book(web, lang, "我想反映车间主任打骂工人")
    clock.set(shanghai(11, 25, 11, 40))
    instruct(zhao, lang, "V-2026-0001", "王某")
    assert the_case(services).complainant_id is not None
    said = case_action(sun, lang, "C-2026-0001", "reply", "经调查，已对车间主任批评教育并责令道歉")
    assert t(lang, "case_action.told.named") in said
    assert t(lang, "case_action.told.in_person") not in said
    services.dispatcher.drain()
    replied = t(lang, "notice.case_replied", number="C-2026-0001",
                reply="经调查，已对车间主任批评教育并责令道歉")
    assert replied in [m.text for m in web.inbox()]
    open_menu(web, lang)
    web.press(t(lang, "menu.my_cases"))
    assert "C-2026-0001" in web.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_worker_whose_visit_became_a_case_is_told_its_number_and_due_date(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """李明's visit was turned into a case and he heard nothing of it: he is told its
    number and due date, as a complaint's filing says them, with the button to follow it."""
    from tests.case_helpers import the_case

    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, lang, "十月加班费少算了")
    clock.set(shanghai(11, 25, 11, 40))
    instruct(zhao, lang, "V-2026-0001", "李明")
    services.dispatcher.drain()
    case = the_case(services)
    told = t(lang, "notice.case_instructed_visitor", date="2026-11-25",
             weekday=t(lang, "weekday.2"), booking="V-2026-0001",
             leader="赵国强", number="C-2026-0001", due_on=case.due_on.isoformat(),
             days=case.deadline_days)
    [push] = [m for m in inbox(services, "li_ming") if m.text == told]
    assert labels(push) == [t(lang, "menu.my_cases")]
    tap(li, push, t(lang, "menu.my_cases"))
    assert "C-2026-0001" in li.text and case.due_on.isoformat() in li.text


# --- a visit that took place is not moved ------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_visit_recorded_or_whose_reception_is_over_is_not_offered_to_move(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The leader could "move" a visit already in the ledger, or one whose reception was
    over: its employee was told it moved and reminded again of a visit they had had."""
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")
    clock.set(shanghai(11, 25, 10))
    record(zhao, lang, "V-2026-0001", "李明")  # during the reception: it took place
    zhao.press(t(lang, "menu.reschedule_booking"))
    assert choices(zhao) == [visit_button(lang, "11-25", 2, "张伟")]  # V-2026-0002
    zhao.press(t(lang, "nav.cancel"))
    open_menu(li, lang)  # nor is it 李明's to cancel any more
    li.press(t(lang, "menu.my_bookings"))
    assert t(lang, "cancel_booking.empty") in li.text
    clock.set(shanghai(11, 25, 11, 40))  # the reception is over: 张伟 did not come
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    assert t(lang, "reschedule_booking.empty") in zhao.text
    services.dispatcher.drain()
    assert not any(m.message_key == "notice.booking_rescheduled"
                   for m in all_rows(services, Notification))


@pytest.mark.parametrize("lang", LANGS)
def test_a_move_sent_after_the_reception_ended_is_refused_and_nobody_is_told(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, lang, "加班费核算方法")
    clock.set(shanghai(11, 25, 11, 15))
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    zhao.press(visit_button(lang, "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    clock.set(shanghai(11, 25, 11, 31))  # confirmed once the reception is over
    zhao.press(t(lang, "nav.confirm"))
    assert zhao.replies[0].text == t(lang, "reschedule_booking.over", number="V-2026-0001")
    assert moved_to(services, "V-2026-0001") == "2026-11-25"
    services.dispatcher.drain()
    assert not any(m.message_key == "notice.booking_rescheduled"
                   for m in all_rows(services, Notification))


def test_a_move_of_a_visit_recorded_meanwhile_is_refused(
        services: Services, clock: FrozenClock) -> None:
    """The leader chose the visit to move, then recorded it in the ledger from another
    device before sending the move: the move is refused, naming the ledger entry."""
    li = Chat(services, person="li_ming")
    zhao = Chat(services, person="zhao_guoqiang")
    other = Chat(services, channel="web", address="zhao-desk")
    with Session(services.db) as s:  # his office computer's web chat is his too
        s.add(Contact(person_id=person(services, "zhao_guoqiang").id, channel="web",
                      address="zhao-desk"))
        s.commit()
    book(li, "zh", "加班费核算方法")
    clock.set(shanghai(11, 25, 10))
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.reschedule_booking"))
    zhao.press(visit_button("zh", "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    open_menu(li, "zh")  # 李明, at the door, opens his bookings to cancel it
    li.press(t("zh", "menu.my_bookings"))
    li.press_starting("11-25")
    record(other, "zh", "V-2026-0001", "李明")
    zhao.press(t("zh", "nav.confirm"))
    assert zhao.replies[0].text == t("zh", "reschedule_booking.recorded", number="V-2026-0001",
                                     ledger="J-2026-0001")
    assert moved_to(services, "V-2026-0001") == "2026-11-25"
    li.press(t("zh", "cancel_booking.nav.confirm"))
    assert li.replies[0].text == t("zh", "cancel_booking.recorded", number="V-2026-0001")
    [booking] = all_rows(services, Booking)
    assert booking.status == "booked"


# --- a booked visitor who did not come (未到) ----------------------------------------------


def ledger_rows(services: Services, lang: str = "zh") -> list[list[object]]:
    from tests.calendar_helpers import rows, workbook

    book_ = workbook(services, "ledger", lang=lang, month="2026-11")
    return rows(book_[book_.sheetnames[0]])[1:]


@pytest.mark.parametrize("lang", LANGS)
def test_a_no_show_is_recorded_from_the_ledger_reminder_and_its_worker_told_kindly(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """张伟 booked and did not come: the ledger flow had no "did not come", so the booking
    stayed unrecorded and, two weeks on, vanished from the ledger and its export. The
    reminder offers "record a no-show"; the ledger keeps the entry, marked as such, the
    booking is closed, and 张伟 is told it is recorded as missed and how to book again."""
    from store.calendar_models import VisitRecord

    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")
    clock.set(shanghai(11, 25, 10))
    record(zhao, lang, "V-2026-0001", "李明")
    tick(services, clock, shanghai(11, 25, 11, 30), step=timedelta(hours=1))
    [push] = ledger_pushes(services, lang)
    assert t(lang, "menu.cal_visit_missed") in push.text  # the words name the button
    tap(zhao, push, t(lang, "menu.cal_visit_missed"))
    assert [c for c in choices(zhao) if c.startswith("V-")] == [t(
        lang, "visit_missed.option", number="V-2026-0002", date="11-25",
        weekday=t(lang, "weekday.2"), visitor="张伟", topic="夜班补贴标准")]
    zhao.press_starting("V-2026-0002")
    assert t(lang, "review.title") in zhao.text  # confirmed before 张伟 is told
    zhao.press(t(lang, "nav.confirm"))
    assert zhao.replies[0].text == t(lang, "visit_missed.done", booking="V-2026-0002",
                                     number="J-2026-0002")
    [booking] = [b for b in all_rows(services, Booking) if b.number == "V-2026-0002"]
    assert booking.status == "missed"
    missed = all_rows(services, VisitRecord, VisitRecord.booking_id == booking.id)
    assert [(r.came, r.visitor, r.problem) for r in missed] == [(False, "张伟", "夜班补贴标准")]

    services.dispatcher.drain()
    told = [m for m in inbox(services, "zhang_wei") if m.text == t(
        lang, "notice.booking_missed", number="V-2026-0002", date="2026-11-25",
        weekday=t(lang, "weekday.2"), start="08:30", end="11:30", place=PLACE, leader="赵国强")]
    assert [labels(m) for m in told] == [[t(lang, "menu.booking"), t(lang, "menu.complaint")]]

    # Nothing is left to record, nor to move, nor to cancel.
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.cal_visit_missed"))
    assert t(lang, "visit_missed.empty") in zhao.text
    zhao.press(t(lang, "menu.cal_visit_record"))
    assert not [c for c in choices(zhao) if c.startswith("V-")]
    # The ledger and its export keep it, marked as not come.
    [entry] = [r for r in ledger_rows(services, lang) if r[0] == "J-2026-0002"]
    assert entry[4] == "张伟" and entry[10] == t(lang, "export.missed", number="V-2026-0002")


def test_a_visit_not_yet_over_is_not_recorded_as_missed(
        services: Services, clock: FrozenClock) -> None:
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    book(li, "zh", "加班费核算方法")
    clock.set(shanghai(11, 25, 10))  # 李明 may still come
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.cal_visit_missed"))
    assert t("zh", "visit_missed.empty") in zhao.text
    with Session(services.db) as s:
        booking_id = s.exec(select(Booking.id)).one()
    from tests.case_helpers import press_value

    press_value(zhao, f"flow:visit_missed?visit={booking_id}")  # an old button
    assert all_rows(services, Booking)[0].status == "booked"


def test_an_unrecorded_visit_stays_to_record_after_two_weeks_and_shows_in_the_export(
        services: Services, clock: FrozenClock) -> None:
    """A visit nobody recorded dropped out of the ledger flow after 14 days, leaving no
    trace anywhere: it stays offered (as come, or as a no-show) until it is recorded, and
    the month's ledger export lists it as not yet recorded."""
    zhang, zhao = Chat(services, person="zhang_wei"), Chat(services, person="zhao_guoqiang")
    book(zhang, "zh", "夜班补贴标准")
    tick(services, clock, shanghai(12, 10, 18), step=timedelta(hours=6))
    assert [r[10] for r in ledger_rows(services)] == [
        t("zh", "export.unrecorded", number="V-2026-0001")]
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.cal_visit_record"))
    assert [c for c in choices(zhao) if c.startswith("V-")] == [
        "V-2026-0001 · 11-25 周三 · 夜班补贴标准"]
    zhao.press(t("zh", "nav.cancel"))
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.cal_visit_missed"))
    zhao.press_starting("V-2026-0001")
    zhao.press(t("zh", "nav.confirm"))
    assert t("zh", "visit_missed.done", booking="V-2026-0001", number="J-2026-0001") \
        in zhao.text
    assert [r[10] for r in ledger_rows(services)] == [
        t("zh", "export.missed", number="V-2026-0001")]


# --- a visit left out of the ledger: reminded again, then the staff told ------------------


def again_pushes(services: Services, key: str, message: str) -> list[InboxMessage]:
    with Session(services.db) as s:
        keys = {n.id for n in s.exec(select(Notification).where(
            Notification.message_key == message))}
    return [m for m in inbox(services, key) if m.notification_id in keys]


@pytest.mark.parametrize("lang", LANGS)
def test_a_visit_left_out_of_the_ledger_is_reminded_again_then_told_to_the_staff(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The leader was told once, at the reception's end, and if they did not record the
    visit nothing more happened: the ledger kept a hole. Thursday 09:00 the leader is
    reminded again; Friday 09:00 the staff are told, with the button that records it; once
    recorded, nothing more comes."""
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    zhao, liu = Chat(services, person="zhao_guoqiang"), Chat(services, person="liu_fang")
    for chat in (zhao, liu):
        open_menu(chat, lang)
    book(li, lang, "加班费核算方法")
    book(zhang, lang, "夜班补贴标准")
    tick(services, clock, shanghai(11, 25, 12), step=timedelta(hours=1))
    assert len(ledger_pushes(services, lang)) == 1
    clock.set(shanghai(11, 25, 15))
    record(zhao, lang, "V-2026-0001", "李明")  # one of the two

    tick(services, clock, shanghai(11, 26, 8, 59), step=timedelta(hours=1))
    assert again_pushes(services, "zhao_guoqiang", "notice.visit_ledger_again") == []
    tick(services, clock, shanghai(11, 26, 9))
    [again] = again_pushes(services, "zhao_guoqiang", "notice.visit_ledger_again")
    assert again.text == t(lang, "notice.visit_ledger_again", **slot(lang), count=1,
                           visitor_lines=line(lang, "张伟", "V-2026-0002", "夜班补贴标准"))
    assert labels(again) == [t(lang, "menu.cal_visit_record"), t(lang, "menu.cal_visit_missed")]
    assert again_pushes(services, "liu_fang", "notice.visit_ledger_staff") == []

    tick(services, clock, shanghai(11, 27, 9), step=timedelta(hours=1))
    [told] = again_pushes(services, "liu_fang", "notice.visit_ledger_staff")
    assert told.text == t(lang, "notice.visit_ledger_staff", **slot(lang), leader="赵国强",
                          count=1, visitor_lines=line(lang, "张伟", "V-2026-0002", "夜班补贴标准"))
    assert len(again_pushes(services, "zhao_guoqiang", "notice.visit_ledger_again")) == 1
    # The staff record it from the push: the visit chosen, the ledger entry the leader's.
    tap(liu, told, t(lang, "menu.cal_visit_record"))
    assert t(lang, "visit_record.visitor.ask") in liu.text
    fill(liu, lang, "张伟")
    from store.calendar_models import VisitRecord

    [entry] = [r for r in all_rows(services, VisitRecord) if r.visitor == "张伟"]
    assert entry.leader_id == person(services, "zhao_guoqiang").id
    # Nothing is missing any more: nothing more, to anyone, in the weeks after.
    before = {k: len(inbox(services, k)) for k in ("zhao_guoqiang", "liu_fang")}
    tick(services, clock, shanghai(12, 10, 18), step=timedelta(hours=6))
    assert not [m for k, n in before.items() for m in inbox(services, k)[n:]
                if "V-2026-0002" in m.text]


def test_a_visit_recorded_after_the_first_reminder_is_not_chased(
        services: Services, clock: FrozenClock) -> None:
    """Recorded (here: marked 未到) the afternoon of the reception: no second reminder,
    nobody else told, though its step was due the next morning."""
    zhang, zhao = Chat(services, person="zhang_wei"), Chat(services, person="zhao_guoqiang")
    book(zhang, "zh", "夜班补贴标准")
    tick(services, clock, shanghai(11, 25, 12), step=timedelta(hours=1))
    assert len(ledger_pushes(services, "zh")) == 1
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.cal_visit_missed"))
    zhao.press_starting("V-2026-0001")
    zhao.press(t("zh", "nav.confirm"))
    tick(services, clock, shanghai(11, 30, 12), step=timedelta(hours=3))
    assert again_pushes(services, "zhao_guoqiang", "notice.visit_ledger_again") == []
    for key in ("liu_fang", "chen_lihua"):
        assert again_pushes(services, key, "notice.visit_ledger_staff") == []
    with Session(services.db) as s:
        due = {t_.kind: t_.due_at for t_ in s.exec(select(Timer))}
    assert due[bookings.LEDGER_AGAIN].astimezone(ZONE) == shanghai(11, 26, 9)
