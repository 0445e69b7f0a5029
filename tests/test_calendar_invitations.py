"""Invited appointments (重点约访) about an open case, answered by the complainant in one
tap or with another time, and a leader's visit to the site (带案下访) told to the liaison."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import roster
from store import org
from store.calendar_models import DutyPublished, Invitation, VisitRecord
from store.db import transaction
from store.models import Booking, DutyEntry, InboxMessage, Person, Timer
from tests.calendar_helpers import ZONE, at, last_push, publish_roster, pushes, run_until, tap
from tests.case_helpers import file_complaint, press_value
from tests.test_flow_booking import PHONE_BUTTON, every, leader_line
from tests.transcript import LANGS, Chat, open_menu, t


def start_invite(staff: Chat, lang: str, kind: str) -> None:
    if kind == "invited":  # to a reception the employees were told of (公示)
        publish_roster(staff.services)
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_invite"))
    staff.press(t(lang, f"opt.invite_kind.{kind}"))
    staff.press_starting("C-2026-0001")


def short_buttons(chat: Chat) -> bool:
    """The receptions offered are on buttons a phone shows whole (PHONE_BUTTON)."""
    shown = [b.label for b in chat.replies[-1].buttons if b.kind == "choice"]
    return bool(shown) and max(len(label) for label in shown) <= PHONE_BUTTON


@pytest.mark.parametrize("lang", LANGS)
def test_an_invited_complainant_chooses_another_time(services: Services, clock: FrozenClock,
                                                    lang: str) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    wednesday = f"11-25 {t(lang, 'weekday.2')} 08:30 赵国强"  # as a phone shows it whole
    assert wednesday in staff.labels() and short_buttons(staff)
    assert staff.replies[-1].text.count("群众工作室（行政楼一楼）") == 1  # said once, above
    staff.press(wednesday)
    staff.say("当面说明加班费核算结果")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "invite.done_invited", number="C-2026-0001", date="2026-11-25",
             leader="赵国强") in staff.text
    services.dispatcher.drain()
    asked = last_push(services, "li_ming")
    assert asked.text.startswith(t(lang, "notice.invite_invited", number="C-2026-0001",
                                   leader="赵国强", post="总经理", date="2026-11-25",
                                   start="08:30", end="11:30", place="群众工作室（行政楼一楼）",
                                   note="当面说明加班费核算结果"))
    # Another time: one more answer, then it is an ordinary booking with its reminders.
    tap(li, asked, t(lang, "opt.invite_answer.other"))
    assert t(lang, "invitation.slot.ask") in li.text
    friday = f"11-27 {t(lang, 'weekday.4')} 08:30 吴建军"
    assert friday in li.labels() and short_buttons(li)
    li.press(friday)
    assert t(lang, "invitation.done", number="V-2026-0001", date="2026-11-27", start="08:30",
             place="群众工作室（行政楼一楼）", leader="吴建军") in li.text
    with Session(services.db) as s:
        booking = s.exec(select(Booking)).one()
        entry = s.get(DutyEntry, booking.duty_entry_id)
        assert entry is not None and (booking.status, entry.day) == ("booked", date(2026, 11, 27))
        assert s.exec(select(Invitation)).one().status == "moved"
        assert s.exec(select(Timer).where(Timer.kind == "booking_remind")).all()
    services.dispatcher.drain()
    for key in ("zhao_guoqiang", "wu_jianjun", "liu_fang"):
        assert any("C-2026-0001" in p and "V-2026-0001" in p for p in pushes(services, key)), key
    # After the visit the ledger records it as an invited appointment.
    run_until(services, clock, at(11, 27, 12))
    wu = Chat(services, person="wu_jianjun")
    wu.say("菜单")
    wu.press("填写接访台帐")
    wu.press_starting("V-2026-0001")
    for answer in ("李明", "铸造车间", "加班费", "核算口径不一", "已说明核算办法", "财务部"):
        wu.say(answer)
    wu.press("已当场解决")
    wu.say("李明表示理解")
    wu.press("确认提交")
    with Session(services.db) as s:
        assert s.exec(select(VisitRecord)).one().form == "invited"


@pytest.mark.parametrize(("lang", "typed"), [("zh", "周三"), ("zh", "11-25"), ("zh", "后天上午"),
                                             ("zh", "后天上午10点"), ("zh", "周三 9:30"),
                                             ("zh", "周三那场"), ("en", "wednesday"),
                                             ("en", "Wed morning"), ("en", "Wed 10am"),
                                             ("en", "Wednesday's one")])
def test_the_staff_invite_to_the_reception_of_a_day_typed(services: Services, lang: str,
                                                          typed: str) -> None:
    """The staff type the day of the reception to invite to, as a worker booking does:
    "please choose 1 to 10" before."""
    file_complaint(Chat(services, person="li_ming"), lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    staff.say(typed)
    assert t(lang, "invite.note.ask") in staff.text
    staff.say("当面说明加班费核算结果")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "invite.done_invited", number="C-2026-0001", date="2026-11-25",
             leader="赵国强") in staff.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_staff_are_told_a_day_has_no_reception_in_the_afternoon(
        services: Services, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    staff.say({"zh": "周三下午", "en": "wednesday afternoon"}[lang])
    assert staff.replies[0].text == t(lang, "choice.half_none", date="11-25",
                                      weekday=t(lang, "weekday.2"),
                                      half=t(lang, "half.afternoon"), start="08:30",
                                      end="11:30")
    assert t(lang, "invite.slot.ask") in staff.text
    staff.say("1")
    assert t(lang, "invite.note.ask") in staff.text


@pytest.mark.parametrize(("lang", "typed"), [("zh", "周三下午两点"), ("en", "Wed 2pm")])
def test_the_staff_are_told_a_day_has_no_reception_at_the_time_typed(
        services: Services, lang: str, typed: str) -> None:
    """Wednesday's reception is 08:30-11:30: "周三下午两点" is said to have none then, that
    day's hours said, nothing chosen. It was not understood."""
    file_complaint(Chat(services, person="li_ming"), lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    staff.say(typed)
    assert staff.replies[0].text == t(lang, "choice.time_none", date="11-25",
                                      weekday=t(lang, "weekday.2"), time="14:00",
                                      start="08:30", end="11:30")
    assert t(lang, "invite.slot.ask") in staff.text
    staff.say("1")
    assert t(lang, "invite.note.ask") in staff.text


@pytest.mark.parametrize(("lang", "typed"), [("zh", "下午两点"), ("en", "2pm")])
def test_the_staff_are_told_today_has_no_reception_at_a_time_typed_alone(
        services: Services, lang: str, typed: str) -> None:
    """A time with no day is today's: today's reception is in the morning, so said, and
    every reception still offered, nothing chosen. It was "please choose an option"."""
    file_complaint(Chat(services, person="li_ming"), lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    offered = staff.labels()
    staff.say(typed)
    assert staff.replies[0].text == t(lang, "choice.time_none_today", date="11-23",
                                      weekday=t(lang, "weekday.0"), time="14:00")
    assert t(lang, "invite.slot.ask") in staff.text and staff.labels() == offered
    staff.say({"zh": "上午", "en": "this morning"}[lang])
    assert staff.replies[0].text.startswith(t(lang, "choice.typed_chosen", slot="11-23 "))
    assert t(lang, "invite.note.ask") in staff.text


def invited_li(services: Services) -> Chat:
    """李明's complaint, and the staff's invitation to 赵国强's 11-25 reception, pushed."""
    li = Chat(services, person="li_ming")
    file_complaint(li, "zh")
    staff = Chat(services, person="liu_fang")
    start_invite(staff, "zh", "invited")
    staff.press_starting("11-25")
    staff.say("当面说明")
    staff.press("确认提交")
    services.dispatcher.drain()
    return li


def test_accepting_in_one_tap(services: Services) -> None:
    li = invited_li(services)
    tap(li, last_push(services, "li_ming"), "按时参加")
    assert "已确认：2026-11-25 08:30" in li.text
    with Session(services.db) as s:
        assert s.exec(select(Invitation)).one().status == "accepted"


def test_a_reception_booked_and_accepted_names_each_booking_by_its_number(
        services: Services) -> None:
    """李明 booked 赵国强's 11-25 reception and then accepted an invitation to it: "我的预约"
    holds two bookings of one reception, and says each with its number, not the same
    short words twice."""
    publish_roster(services)
    li = Chat(services, person="li_ming")
    open_menu(li, "zh")
    li.press("预约领导接访")
    li.press("11-25 周三 08:30 赵国强")
    li.say("另谈一次加班费")
    li.press("确认提交")
    li = invited_li(services)
    tap(li, last_push(services, "li_ming"), "按时参加")
    li.press("我的预约")
    shown = [b.label for b in li.replies[-1].buttons if b.kind == "choice"]
    assert [label.split(" · ")[0] for label in shown] == ["V-2026-0001", "V-2026-0002"]
    assert all("11-25 周三 08:30-11:30 赵国强" in label for label in shown)
    # So does 赵国强's list of the visits booked with him: "11-25 周三 08:30 李明" twice would
    # not tell them apart.
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, "zh")
    zhao.press("调整接访预约")
    visits = [b.label for b in zhao.replies[-1].buttons if b.kind == "choice"]
    assert [label.split(" · ")[:2] for label in visits] == [
        ["V-2026-0001", "另谈一次加班费"], ["V-2026-0002", "C-2026-0001: 当面说明"]]


@pytest.mark.parametrize("lang", LANGS)
def test_invitations_are_listed_by_their_receptions_as_a_phone_shows_them(
        services: Services, lang: str) -> None:
    """李明 is invited about two cases, to 赵国强's 11-25 and 吴建军's 11-27 receptions:
    "答复约访" lists each by its day, start and leader, short enough for a phone (each was
    its case number and its reception in full, 70 characters and more); what each is about,
    the hours and place, and the leaders' posts are said once above them. The words of a
    button typed, as WeChat's list shows them, choose it."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    file_complaint(li, lang, category="safety")
    publish_roster(services)
    staff = Chat(services, person="liu_fang")
    for number, day, leader, note in (("C-2026-0001", "11-25", "赵国强", "当面说明加班费核算结果"),
                                      ("C-2026-0002", "11-27", "吴建军", "了解车间通风情况")):
        open_menu(staff, lang)
        staff.press(t(lang, "menu.cal_invite"))
        staff.press(t(lang, "opt.invite_kind.invited"))
        staff.press_starting(number)
        staff.press_starting(day)
        staff.say(note)
        staff.press(t(lang, "nav.confirm"))
        assert t(lang, "invite.done_invited", number=number, date=f"2026-{day}",
                 leader=leader) in staff.text
    services.dispatcher.drain()
    press_value(li, "flow:invitation")  # the flow's own entry
    asked = li.replies[-1]
    buttons = [f"11-25 {t(lang, 'weekday.2')} 08:30 赵国强",
               f"11-27 {t(lang, 'weekday.4')} 08:30 吴建军"]
    assert [b.label for b in asked.buttons if b.kind == "choice"] == buttons
    assert short_buttons(li)
    assert asked.text.split("\n")[1:] == [
        every(lang, "duty.note.all"), t(lang, "duty.note.leaders"),
        leader_line(services, "zhao_guoqiang", lang), leader_line(services, "wu_jianjun", lang),
        t(lang, "duty.note.about_title"),
        t(lang, "duty.note.about", slot=buttons[0], number="C-2026-0001",
          about="当面说明加班费核算结果"),
        t(lang, "duty.note.about", slot=buttons[1], number="C-2026-0002",
          about="了解车间通风情况")]
    li.say(buttons[1])  # typed, as on WeChat
    assert t(lang, "invitation.answer.ask") in li.replies[-1].text
    li.press(t(lang, "opt.invite_answer.accept"))
    assert t(lang, "invitation.done", number="V-2026-0002", date="2026-11-27", start="08:30",
             place="群众工作室（行政楼一楼）", leader="吴建军") in li.text


def test_accepting_after_the_reception_ended_asks_for_another_time(
        services: Services, clock: FrozenClock) -> None:
    """The invitation answered with 按时参加 after the 11-25 reception is over: not
    confirmed for a visit that cannot happen; another time is asked for, nothing is
    booked and nobody is told."""
    from datetime import datetime

    li = invited_li(services)
    invited = last_push(services, "li_ming")
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=ZONE))
    before = len(pushes(services, "zhao_guoqiang"))
    tap(li, invited, "按时参加")
    assert t("zh", "invitation.over") in li.text
    assert t("zh", "invitation.answer.ask") in li.replies[-1].text
    with Session(services.db) as s:
        assert s.exec(select(Invitation)).one().status == "invited"
        assert s.exec(select(Booking)).one().status == "invited"
    services.dispatcher.drain()
    assert len(pushes(services, "zhao_guoqiang")) == before


def test_an_anonymous_complainant_cannot_be_invited(services: Services) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, "zh", identity="anonymous")
    staff = Chat(services, person="liu_fang")
    start_invite(staff, "zh", "invited")
    staff.press_starting("11-25")
    staff.say("当面说明")
    staff.press("确认提交")
    assert t("zh", "invite.anonymous", number="C-2026-0001") in staff.text
    with Session(services.db) as s:
        assert s.exec(select(Booking)).all() == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_visit_to_the_site_tells_the_leader_and_the_liaison(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), "zh")
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "onsite")
    staff.press_starting("赵国强")
    staff.say("2026-11-25")  # his reception day: refused
    staff.say("14:00-16:00")
    staff.press("铸造车间")
    staff.say("现场查看加班记录")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "invite.busy", name="赵国强", date="2026-11-25") in staff.text
    staff.say("2026-11-26")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "invite.done_onsite", number="C-2026-0001", date="2026-11-26",
             leader="赵国强", workshop="铸造车间") in staff.text
    services.dispatcher.drain()
    assert pushes(services, "wang_qiang")[-1] == t(
        "zh", "notice.onsite_liaison", leader="赵国强", post="总经理", date="2026-11-26",
        weekday="周四", start="14:00", end="16:00", place="铸造车间",
        category=t("zh", "opt.category.wages"), note="现场查看加班记录")
    assert pushes(services, "zhao_guoqiang")[-1].startswith("【带案下访】请您 2026-11-26 周四")
    # On the roster (and published with it); a reload of the file keeps it.
    with transaction(services.db) as s:
        org.load_org(s, org.parse_org(org.demo_org_path()), now=clock.now())
    with Session(services.db) as s:
        onsite = s.exec(select(DutyEntry).where(DutyEntry.form == "onsite")).one()
        assert (onsite.day, onsite.start, onsite.place) == (date(2026, 11, 26), time(14),
                                                            "铸造车间")
    run_until(services, clock, at(11, 26, 16, 30))
    assert any("11-26" in p and "铸造车间 · " in p for p in pushes(services, "ma_chao"))


def schedule_onsite(services: Services, leader: str, day: str) -> None:
    file_complaint(Chat(services, person="li_ming"), "zh")
    staff = Chat(services, person="liu_fang")
    start_invite(staff, "zh", "onsite")
    staff.press_starting(leader)
    staff.say(day)
    staff.say("14:00-16:00")
    staff.press("铸造车间")
    staff.say("现场查看加班记录")
    staff.press("确认提交")
    assert "带案下访" in staff.text and day in staff.text, staff.text


def test_a_visit_to_the_site_two_days_ahead_is_not_reported_late(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a 带案下访 scheduled for tomorrow went to the director as a roster
    entry published late."""
    schedule_onsite(services, "赵国强", "2026-11-24")  # 吴建军's rotation day
    run_until(services, clock, at(11, 23, 17, 1))  # the day's last-chance publication
    with Session(services.db) as s:
        rows = {(e.day, e.form): p.late for p, e in s.exec(
            select(DutyPublished, DutyEntry).join(
                DutyEntry, col(DutyEntry.id) == DutyPublished.duty_entry_id))}
    assert rows[(date(2026, 11, 24), "onsite")] is False
    assert rows[(date(2026, 11, 24), "fixed")] is True  # the rotation's own day was late
    late = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
    assert len(late) == 1 and "以下 1 次领导接访" in late[0]  # 11-24 (11-23 is over)
    assert "铸造车间" not in late[0] and "11-24 周二 吴建军" in late[0]


def test_a_visit_to_the_site_leaves_the_rotation_day_to_the_next_leader(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a 带案下访 on the leader's rotation day took the place of the day's
    reception (none was put on the roster, and a reload turned the visit into one)."""
    schedule_onsite(services, "赵国强", "2026-12-08")  # 赵国强's turn, not yet on the roster
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("领导接访排班")
    staff.press("按轮值生成排班")
    staff.say("2026-12-07")
    staff.say("2")
    staff.press("确认提交")
    assert "新增 2 天" in staff.text

    def the_day() -> list[tuple[str, str]]:
        with Session(services.db) as s:
            return sorted((e.form, s.get(Person, e.leader_id).name)  # type: ignore[union-attr]
                          for e in s.exec(select(DutyEntry).where(
                              DutyEntry.day == date(2026, 12, 8))))

    assert the_day() == [("fixed", "孙红梅"), ("onsite", "赵国强")]
    with transaction(services.db) as s:
        roster.load_file(s, org.parse_org(org.demo_org_path()), now=clock.now(), zone=ZONE)
    assert the_day() == [("fixed", "孙红梅"), ("onsite", "赵国强")]


def test_a_visit_to_the_site_is_not_offered_for_a_swap(services: Services) -> None:
    """A swap would put its leader on the rotation's side of the day (and a second entry of
    one leader on one day); the visit is rearranged with its case instead."""
    schedule_onsite(services, "赵国强", "2026-11-26")
    zhao = Chat(services, person="zhao_guoqiang")
    zhao.say("菜单")
    zhao.press("调换接访日")
    mine = [b.label for r in zhao.replies for b in r.buttons if b.label[:2] in ("11", "12")]
    assert [label[:5] for label in mine] == ["11-25", "11-30", "12-03"]
    assert not any("铸造车间" in label for label in mine)


def invite_li(services: Services, lang: str) -> Chat:
    """李明's complaint and 刘芳's invitation to 赵国强's 11-25 reception, in `lang`."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    staff = Chat(services, person="liu_fang")
    start_invite(staff, lang, "invited")
    staff.press_starting("11-25")
    staff.say("当面说明加班费核算结果")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "invite.done_invited", number="C-2026-0001", date="2026-11-25",
             leader="赵国强") in staff.text
    services.dispatcher.drain()
    return li


@pytest.mark.parametrize("lang", LANGS)
def test_an_unanswered_invitation_is_told_reminded_and_lapses_to_the_staff(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: an invitation nobody answered lapsed with nobody told: the leader never
    heard of it, the employee was not reminded, the staff not told it lapsed."""
    li = invite_li(services, lang)
    words = dict(number="C-2026-0001", leader="赵国强", post="总经理", date="2026-11-25",
                 start="08:30", end="11:30", place="群众工作室（行政楼一楼）",
                 note="当面说明加班费核算结果")
    # The receiving leader hears of it at once.
    assert last_push(services, "zhao_guoqiang").text == t(
        "zh", "notice.invite_leader", by="刘芳", visitor="李明", weekday="周三",
        category=t("zh", "opt.category.wages"), **words)
    # The employee, still silent, is reminded once, the day before, with the answers.
    run_until(services, clock, at(11, 24, 18))
    reminded = [p for p in pushes(services, "li_ming")
                if p == t(lang, "notice.invite_remind", **words)]
    assert len(reminded) == 1
    assert [b["label"] for b in last_push(services, "li_ming").buttons] == [
        t(lang, "opt.invite_answer.accept"), t(lang, "opt.invite_answer.other")]
    # The reception ends unanswered: the inviting staff member is told, once.
    run_until(services, clock, at(11, 26, 12))
    lapsed = [p for p in pushes(services, "liu_fang") if p == t(
        lang, "notice.invite_lapsed", visitor="李明", booking="V-2026-0001",
        weekday=t(lang, "weekday.2"), **words)]
    assert len(lapsed) == 1
    with Session(services.db) as s:
        assert s.exec(select(Invitation)).one().status == "lapsed"
    # The leader's ledger reminder names the invited visitor, and opens the ledger on them.
    ledger = last_push(services, "zhao_guoqiang")
    assert "V-2026-0001" in ledger.text and "李明" in ledger.text
    zhao = Chat(services, person="zhao_guoqiang")
    tap(zhao, ledger, t("zh", "menu.cal_visit_record"))
    assert t("zh", "visit_record.visitor.ask") in zhao.replies[-1].text
    # One tap invites again: the case is chosen, the reception is asked.
    staff = Chat(services, person="liu_fang")
    told = next(m for m in reversed(_inbox(services, "liu_fang")) if m.text == lapsed[0])
    tap(staff, told, t(lang, "opt.invite_again"))  # a 交办 not confirmed may come after
    assert t(lang, "invite.slot.ask") in staff.replies[-1].text
    # The lapsed invitation's old buttons confirm nothing.
    asked = next(m for m in reversed(_inbox(services, "li_ming"))
                 if m.buttons and m.buttons[0]["label"] == t(lang, "opt.invite_answer.accept"))
    tap(li, asked, t(lang, "opt.invite_answer.accept"))
    assert t(lang, "invitation.empty") in li.text
    with Session(services.db) as s:
        assert s.exec(select(Booking)).one().status == "invited"


def _inbox(services: Services, key: str) -> list[InboxMessage]:
    with Session(services.db) as s:
        return list(s.exec(select(InboxMessage).where(
            InboxMessage.address == f"p:{key}").order_by(col(InboxMessage.id))).all())


def test_an_answered_invitation_is_neither_reminded_nor_lapsed(
        services: Services, clock: FrozenClock) -> None:
    li = invite_li(services, "zh")
    tap(li, last_push(services, "li_ming"), "按时参加")
    run_until(services, clock, at(11, 26, 12))
    assert not any(p.startswith("【约访提醒】") for p in pushes(services, "li_ming"))
    assert any(p.startswith("【提醒】") for p in pushes(services, "li_ming"))  # the booking's
    assert not any(p.startswith("【约访未答复】") for p in pushes(services, "liu_fang"))
    assert any(p.startswith("【约访答复】") for p in pushes(services, "liu_fang"))
    with Session(services.db) as s:
        assert s.exec(select(Invitation)).one().status == "accepted"
        assert all(tm.done_at is not None for tm in s.exec(select(Timer).where(
            col(Timer.kind).in_(("invite_remind", "invite_lapse")))))


def test_an_invited_visitor_who_came_unanswered_is_no_lapse(
        services: Services, clock: FrozenClock) -> None:
    """The visitor came without answering and the leader recorded the visit: the staff
    are not told the invitation lapsed."""
    invite_li(services, "zh")
    clock.set(at(11, 25, 10))
    zhao = Chat(services, person="zhao_guoqiang")
    zhao.say("菜单")
    zhao.press("填写接访台帐")
    zhao.press_starting("V-2026-0001")
    for answer in ("李明", "铸造车间", "加班费", "核算口径不一", "已说明核算办法", "财务部"):
        zhao.say(answer)
    zhao.press("已当场解决")
    zhao.say("李明表示理解")
    zhao.press("确认提交")
    run_until(services, clock, at(11, 26, 12))
    assert not any(p.startswith("【约访未答复】") for p in pushes(services, "liu_fang"))
    assert not any("V-2026-0001" in p for p in pushes(services, "zhao_guoqiang")
                   if p.startswith("今天的接访已结束"))
