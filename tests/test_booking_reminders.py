"""Visit bookings: both sides reminded the day before and an hour before; a leader's move
tells the employee and moves the reminders; a cancellation stops them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from tests.case_helpers import press_value, pushes, tick
from tests.test_flow_booking import PHONE_BUTTON, every
from tests.transcript import LANGS, Chat, open_menu, t

pytestmark = pytest.mark.usefixtures("published_roster")  # booking needs 公示


def shanghai(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def book_wednesday(services: Services, lang: str) -> tuple[Chat, Chat]:
    """李明 books 赵国强's reception of Wednesday 11-25, 08:30; both chats opened."""
    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    for chat in (li, zhao):
        open_menu(chat, lang)
    li.press(t(lang, "menu.booking"))
    li.press_starting("11-25")  # 赵国强's reception, Wednesday 08:30
    li.say("加班费核算方法")
    li.press(t(lang, "nav.confirm"))
    return li, zhao


def visit_button(lang: str, day: str, weekday: int, visitor: str) -> str:
    """A visit booked with the leader as his list of them shows it: its day, start and
    visitor ("11-25 周三 08:30 李明"), each demo reception beginning at 08:30."""
    return t(lang, "duty.visit_button", date=day, weekday=t(lang, f"weekday.{weekday}"),
             start="08:30", visitor=visitor)


@pytest.mark.parametrize("lang", LANGS)
def test_reminders_reschedule_and_cancel(services: Services, clock: FrozenClock,
                                         lang: str) -> None:
    li, zhao = book_wednesday(services, lang)
    assert "V-2026-0001" in li.text
    words = {"number": "V-2026-0001", "date": "2026-11-25", "start": "08:30", "end": "11:30",
             "place": "群众工作室（行政楼一楼）", "leader": "赵国强", "visitor": "李明",
             "topic": "加班费核算方法", "weekday": t(lang, "weekday.2")}
    day_before = {"li_ming": t(lang, "notice.booking_remind_day_visitor", **words),
                  "zhao_guoqiang": t(lang, "notice.booking_remind_day_leader", **words)}

    tick(services, clock, shanghai(11, 24, 8, 29), step=timedelta(hours=1))
    assert all(text not in pushes(services, k) for k, text in day_before.items())
    tick(services, clock, shanghai(11, 24, 8, 30))
    assert all(pushes(services, k).count(text) == 1 for k, text in day_before.items())

    # The leader moves it to his next reception, Monday 11-30; the employee is told why.
    clock.set(shanghai(11, 24, 10))
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    # The visits booked with him: each its day, start and visitor, short enough for a phone
    # to show whole, not his own name; the hours and place, the booking's number and its
    # topic once above them.
    asked = zhao.replies[-1]
    visit = visit_button(lang, "11-25", 2, "李明")
    assert [b.label for b in asked.buttons if b.kind == "choice"] == [visit]
    assert len(visit) <= PHONE_BUTTON
    assert asked.text.split("\n")[1:] == [
        every(lang, "duty.note.all"), t(lang, "duty.note.about_title"),
        t(lang, "duty.note.about", slot=visit, number="V-2026-0001", about="加班费核算方法")]
    assert "赵国强" not in asked.text
    zhao.press(visit)
    # His own receptions: their days and hours on the buttons, not his own name on each;
    # the place once above them.
    asked = zhao.replies[-1]
    assert [b.label for b in asked.buttons if b.kind == "choice"] == [
        t(lang, "duty.slot_button_own", date=day, weekday=t(lang, f"weekday.{n}"),
          start="08:30", end="11:30") for day, n in (("11-25", 2), ("11-30", 0), ("12-03", 3))]
    assert "赵国强" not in asked.text and asked.text.count("群众工作室（行政楼一楼）") == 1
    zhao.press_starting("11-25")
    # The same reception: refused as soon as it is chosen, no reason asked for nothing.
    assert zhao.replies[0].text == t(lang, "reschedule_booking.same")
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    assert "V-2026-0001 · 加班费核算方法 · 11-25 " in zhao.text  # the review: in full
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "reschedule_booking.done", number="V-2026-0001", date="2026-11-30",
             weekday=t(lang, "weekday.0"), start="08:30") in zhao.text
    services.dispatcher.drain()
    moved = {**words, "date": "2026-11-30", "weekday": t(lang, "weekday.0")}
    assert t(lang, "notice.booking_rescheduled", **moved, old_date="2026-11-25",
             old_weekday=t(lang, "weekday.2"), old_start="08:30",
             reason="临时到市里开会") in pushes(services, "li_ming")

    # No reminder for the old hour; both reminders for the new one.
    tick(services, clock, shanghai(11, 30, 7, 30), step=timedelta(hours=1))
    old_hour = t(lang, "notice.booking_remind_hour_visitor", **words)
    assert old_hour not in pushes(services, "li_ming")
    for who in ("visitor", "leader"):
        key = "li_ming" if who == "visitor" else "zhao_guoqiang"
        assert pushes(services, key).count(
            t(lang, f"notice.booking_remind_day_{who}", **moved)) == 1
        assert pushes(services, key).count(
            t(lang, f"notice.booking_remind_hour_{who}", **moved)) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_a_cancelled_booking_tells_the_leader_and_reminds_nobody(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li = Chat(services, person="li_ming")
    open_menu(li, lang)
    li.press(t(lang, "menu.booking"))
    li.press_starting("11-25")
    li.say("加班费核算方法")
    li.press(t(lang, "nav.confirm"))
    open_menu(li, lang)
    li.press(t(lang, "menu.my_bookings"))
    li.press_starting("11-25")  # "我的预约" lists it by its reception
    li.press(t(lang, "cancel_booking.nav.confirm"))
    assert t(lang, "cancel_booking.done", number="V-2026-0001") in li.text
    services.dispatcher.drain()
    assert t("zh", "notice.booking_cancelled", number="V-2026-0001", date="2026-11-25",
             weekday="周三", start="08:30") in pushes(services, "zhao_guoqiang")
    before = {k: len(pushes(services, k)) for k in ("li_ming", "zhao_guoqiang")}
    tick(services, clock, shanghai(11, 26, 9), step=timedelta(hours=1))
    assert {k: len(pushes(services, k)) for k in ("li_ming", "zhao_guoqiang")} == before


@pytest.mark.parametrize("lang", LANGS)
def test_the_leaders_reminder_carries_the_move_button(services: Services, clock: FrozenClock,
                                                      lang: str) -> None:
    """The day before, the leader's reminder has 调整接访预约 with this visit chosen, one
    tap to move it if the day no longer suits; the employee's reminder has none."""
    li, zhao = book_wednesday(services, lang)
    tick(services, clock, shanghai(11, 24, 8, 30), step=timedelta(hours=1))
    words = {"number": "V-2026-0001", "date": "2026-11-25", "start": "08:30", "end": "11:30",
             "place": "群众工作室（行政楼一楼）", "leader": "赵国强", "visitor": "李明",
             "topic": "加班费核算方法", "weekday": t(lang, "weekday.2")}
    [leader] = [m for m in zhao.inbox()
                if m.text == t(lang, "notice.booking_remind_day_leader", **words)]
    [move] = leader.buttons
    assert move["label"] == t(lang, "menu.reschedule_booking")
    press_value(zhao, move["value"])
    assert t(lang, "reschedule_booking.slot.ask") in zhao.text  # the visit already chosen
    [visitor] = [m for m in li.inbox()
                 if m.text == t(lang, "notice.booking_remind_day_visitor", **words)]
    assert visitor.buttons == []


DAYS = {"zh": ("2026-11-25 周三 08:30-11:30", "2026-11-30 周一 08:30-11:30",
               "2026-11-25 周三 08:30"),
        "en": ("2026-11-25 Wed 08:30-11:30", "2026-11-30 Mon 08:30-11:30",
               "2026-11-25 Wed 08:30")}


@pytest.mark.parametrize("lang", LANGS)
def test_the_worker_reads_each_visit_day_with_its_weekday(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The booking list says "11-25 周三", while the confirmation, the reminders and the
    "moved" notice said "2026-11-25 08:30-11:30": they name the weekday too."""
    booked, moved, hour = DAYS[lang]
    li, zhao = book_wednesday(services, lang)
    assert booked in li.text
    tick(services, clock, shanghai(11, 24, 8, 30), step=timedelta(hours=1))
    assert sum(booked in text for text in pushes(services, "li_ming")) == 1  # the day before
    clock.set(shanghai(11, 24, 10))
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    zhao.press(visit_button(lang, "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    zhao.press(t(lang, "nav.confirm"))
    services.dispatcher.drain()
    [notice] = [p for p in pushes(services, "li_ming") if moved in p]
    assert hour in notice  # the day it was, with its weekday too
    tick(services, clock, shanghai(11, 30, 7, 30), step=timedelta(hours=1))
    assert sum("2026-11-30 " + moved.split(" ")[1] in p
               for p in pushes(services, "li_ming")) == 3  # moved, the day and the hour before


@pytest.mark.parametrize("lang", LANGS)
def test_a_push_queued_before_the_weekday_was_named_still_renders_with_it(lang: str) -> None:
    """A 'moved' notice put in the outbox before this release has no weekday among its
    parameters: the weekday is read from its date, not a failed push."""
    from handlers.notices import render

    queued = {"number": "V-2026-0001", "date": "2026-11-30", "start": "08:30", "end": "11:30",
              "place": "群众工作室（行政楼一楼）", "leader": "赵国强", "old_date": "2026-11-25",
              "old_start": "08:30", "reason": "临时到市里开会"}
    text = render("notice.booking_rescheduled", queued, lang, ZoneInfo("Asia/Shanghai")).text
    assert DAYS[lang][1] in text and DAYS[lang][2] in text


def away(services: Services, clock: FrozenClock, lang: str, day: str) -> None:
    """The staff record 赵国强 away on a trip that day: the rotation's next leader takes it."""
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.away"))
    staff.press_starting("赵国强")
    staff.say(day)
    clock.advance(timedelta(seconds=30))  # the same date again, as the last day: no repeat
    staff.say(day)
    staff.press(t(lang, "opt.away_kind.trip"))
    staff.press(t(lang, "nav.confirm"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_handed_to_another_leader_lets_the_worker_keep_it_or_choose_another(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 is away on 11-25: 李明 was told "孙红梅 receives you instead" with nothing to
    do about it, and 孙红梅 only that one visit was booked. 李明 may now keep it, or move
    it (to 赵国强's 11-30); 孙红梅 reads who is coming and about what."""
    from handlers.inbound import Inbound
    from tests.case_helpers import choices

    li, sun = Chat(services, person="li_ming"), Chat(services, person="sun_hongmei")
    web = Chat(services, channel="web", address="anon-away-visitor")
    for chat in (li, sun):
        open_menu(chat, lang)
    for chat, topic in ((li, "加班费核算方法"), (web, "宿舍热水器坏了")):
        open_menu(chat, lang)
        chat.press(t(lang, "menu.booking"))
        chat.press_starting("11-25")
        chat.say(topic)
        chat.press(t(lang, "nav.confirm"))
    away(services, clock, lang, "2026-11-25")
    services.dispatcher.drain()

    lines = "\n".join([t(lang, "notice.booking_line", visitor="李明", number="V-2026-0001",
                         topic="加班费核算方法"),
                       t(lang, "notice.booking_line", visitor=t(lang, "person.unverified"),
                         number="V-2026-0002", topic="宿舍热水器坏了")])
    taken = [m for m in sun.inbox() if m.text == t(
        lang, "notice.duty_taken_booked", date="2026-11-25", weekday=t(lang, "weekday.2"),
        start="08:30", end="11:30",
        place="群众工作室（行政楼一楼）", old="赵国强", reason=t(lang, "roster.reason.trip"),
        bookings=2, visitor_lines=lines)]
    assert len(taken) == 1
    [moved] = [m for m in li.inbox() if m.text.startswith(t(
        lang, "notice.duty_visit_moved", number="V-2026-0001", date="x", weekday="x", start="x",
        end="x", place="x", new="x", old="x", reason="x")[:6])]
    keep, other = t(lang, "change_booking.keep_button"), t(lang, "change_booking.other_button")
    assert [b["label"] for b in moved.buttons] == [keep, other]

    def tap(label: str) -> None:
        value = next(b["value"] for b in moved.buttons if b["label"] == label)
        li._send(Inbound(li.channel, li.address, li._id(), action=value))

    tap(keep)  # one tap: nothing changes
    assert li.replies[0].text == t(
        lang, "change_booking.kept", number="V-2026-0001", date="2026-11-25",
        weekday=t(lang, "weekday.2"), start="08:30", end="11:30",
        place="群众工作室（行政楼一楼）", leader="孙红梅")
    tap(other)
    assert any(c.startswith("11-30") and "赵国强" in c for c in choices(li))
    li.press_starting("11-30")
    li.press(t(lang, "nav.confirm"))
    assert li.replies[0].text == t(
        lang, "change_booking.done", number="V-2026-0001", date="2026-11-30",
        weekday=t(lang, "weekday.0"), start="08:30", end="11:30",
        place="群众工作室（行政楼一楼）", leader="赵国强")
    services.dispatcher.drain()
    assert t(lang, "notice.booking_changed_away", number="V-2026-0001", date="2026-11-25",
             weekday=t(lang, "weekday.2"), start="08:30", visitor="李明") in [
                 m.text for m in sun.inbox()]
    assert any("V-2026-0001" in text for text in pushes(services, "zhao_guoqiang"))
    # Reminded of the new day, not of the old.
    tick(services, clock, shanghai(11, 30, 7, 30), step=timedelta(hours=2))
    texts = pushes(services, "li_ming")
    assert any("2026-11-30" in p for p in texts if p.startswith(t(
        lang, "notice.booking_remind_hour_visitor", number="x", date="x", weekday="x",
        start="x", place="x", leader="x")[:4]))
    assert not any("2026-11-25" in p and "孙红梅" in p for p in texts if p.startswith(t(
        lang, "notice.booking_remind_day_visitor", number="x", date="x", weekday="x",
        start="x", end="x", place="x", leader="x")[:4]))


LEADER_DAYS = {"zh": ("2026-11-25 周三 08:30-11:30", "2026-11-30 周一 08:30",
                      "2026-11-30 周一 08:30-11:30"),
               "en": ("2026-11-25 Wed 08:30-11:30", "2026-11-30 Mon 08:30",
                      "2026-11-30 Mon 08:30-11:30")}


@pytest.mark.parametrize("lang", LANGS)
def test_the_leader_reads_each_visit_day_with_its_weekday(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The worker read "2026-11-25 周三 08:30", the leader "2026-11-25 08:30" (at night,
    which day is that?): the new booking, the reminders, the move's answer and the
    cancellation name the weekday for the leader too."""
    booked, moved_to, moved_hours = LEADER_DAYS[lang]
    li, zhao = book_wednesday(services, lang)
    services.dispatcher.drain()
    new = pushes(services, "zhao_guoqiang")
    assert any(booked in p and "V-2026-0001" in p for p in new)  # the new booking
    tick(services, clock, shanghai(11, 24, 8, 30), step=timedelta(hours=1))
    assert sum(booked in p for p in pushes(services, "zhao_guoqiang")[len(new):]) == 1
    clock.set(shanghai(11, 24, 10))
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    zhao.press(visit_button(lang, "11-25", 2, "李明"))
    zhao.press_starting("11-30")
    zhao.say("临时到市里开会")
    zhao.press(t(lang, "nav.confirm"))
    assert moved_to in zhao.text  # "moved to 2026-11-30 Mon 08:30"
    before = len(pushes(services, "zhao_guoqiang"))
    tick(services, clock, shanghai(11, 30, 7, 30), step=timedelta(hours=1))
    reminders = pushes(services, "zhao_guoqiang")[before:]
    assert sum(moved_hours in p for p in reminders) == 1  # the day before
    assert sum(moved_to in p for p in reminders) == 2  # and the hour before
    open_menu(li, lang)
    li.press(t(lang, "menu.my_bookings"))
    li.press_starting("11-30")  # its reception now
    li.press(t(lang, "cancel_booking.nav.confirm"))
    services.dispatcher.drain()
    assert moved_to in pushes(services, "zhao_guoqiang")[-1]  # the cancellation


# What the handlers queue for a leader, the director, the staff or a liaison about a
# reception (handlers/roster.py: slot; handlers/invitations.py: _words): each names its day.
_SLOT = {"date": "2026-11-27", "weekday": "@weekday.4", "start": "09:00", "end": "11:30",
         "place": "群众工作室（行政楼一楼）", "leader": "赵国强", "post": "总经理",
         "portfolio": "生产", "form": "fixed"}
_ABOUT_A_RECEPTION = {
    "notice.duty_given": {**_SLOT, "old": "赵国强", "new": "孙红梅", "reason": "出差",
                          "bookings": 1},
    "notice.duty_taken": {**_SLOT, "old": "赵国强", "new": "孙红梅", "reason": "出差",
                          "bookings": 0, "visitor_lines": []},
    "notice.invite_leader": {**_SLOT, "number": "C-2026-0001", "category": "wages",
                             "note": "面谈", "visitor": "李明", "by": "刘芳"},
    "notice.invite_answered": {**_SLOT, "number": "C-2026-0001", "category": "wages",
                               "note": "面谈", "visitor": "李明", "old_date": "2026-11-27",
                               "booking": "V-2026-0001", "answer": "@opt.invite_answer.accept"},
    "notice.invite_lapsed": {**_SLOT, "number": "C-2026-0001", "category": "wages",
                             "note": "面谈", "visitor": "李明", "booking": "V-2026-0001"},
    "notice.onsite_leader": {**_SLOT, "number": "C-2026-0001", "category": "wages",
                             "note": "面谈"},
    "notice.onsite_liaison": {**_SLOT, "number": "C-2026-0001", "category": "wages",
                              "note": "面谈"},
    "notice.visit_ledger_due_late": {"date": "2026-11-27", "start": "09:00", "end": "11:30",
                                     "place": "群众工作室（行政楼一楼）", "count": 1,
                                     "visitor_lines": []},
    "notice.roster_late": {"count": 1, "lines": [["roster.late_line", {
        **_SLOT, "date": "11-27", "due_on": "2026-11-25"}]]},
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("key", sorted(_ABOUT_A_RECEPTION))
def test_every_reception_notice_to_the_workroom_names_the_weekday(key: str, lang: str) -> None:
    from handlers.notices import render

    text = render(key, _ABOUT_A_RECEPTION[key], lang, ZoneInfo("Asia/Shanghai")).text
    assert ("11-27 周五" if lang == "zh" else "11-27 Fri") in text


@pytest.mark.parametrize(("lang", "typed"), [("zh", "下周一"), ("zh", "周一"), ("zh", "11-30"),
                                             ("en", "next monday"), ("en", "mon")])
def test_the_leader_moves_a_visit_to_a_day_typed(services: Services, clock: FrozenClock,
                                                 lang: str, typed: str) -> None:
    """The leader types the day of his reception to move a visit to, as a worker booking
    does: "please choose 1 to 3" before. Its own day is refused as the same reception."""
    _, zhao = book_wednesday(services, lang)
    clock.set(shanghai(11, 24, 10))
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.reschedule_booking"))
    zhao.say(visit_button(lang, "11-25", 2, "李明"))  # its button's words, typed on WeChat
    assert t(lang, "reschedule_booking.slot.ask") in zhao.text
    zhao.say({"zh": "周三", "en": "wed"}[lang])
    assert zhao.replies[0].text == t(lang, "reschedule_booking.same")
    zhao.say(typed)
    assert t(lang, "reschedule_booking.reason.ask") in zhao.text
    zhao.say("临时到市里开会")
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "reschedule_booking.done", number="V-2026-0001", date="2026-11-30",
             weekday=t(lang, "weekday.0"), start="08:30") in zhao.text
