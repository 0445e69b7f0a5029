"""The reception roster in chat and from the organisation file: generating it, a leader
away, swaps and their refusals, the publication schedule, reloads that keep a swap."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from bot.wechat_render import render
from conversations.clock import FrozenClock
from handlers import roster
from store import org
from store.calendar_models import DutyOverride, DutyPublished, LeaderAway, RosterPlan
from store.db import transaction
from store.models import Booking, DutyEntry, Person, Timer
from tests.calendar_helpers import ZONE, at, publish_roster, pushes, run_until, sent_to, tap
from tests.case_helpers import choices
from tests.test_flow_booking import PHONE_BUTTON, every, slot_button, slot_label, upcoming
from tests.transcript import LANGS, Chat, open_menu, t

MONDAY = date(2026, 11, 23)  # the conftest clock: Monday 09:00 in Shanghai
WEDNESDAY, THURSDAY = date(2026, 11, 25), date(2026, 11, 26)
# Who runs the roster or receives on it in the demo workroom: the director, the leaders, the
# staff member.
TEAM = ("chen_lihua", "zhao_guoqiang", "sun_hongmei", "wu_jianjun", "liu_fang")


def leader_on(services: Services, day: date) -> str:
    with Session(services.db) as s:
        entry = s.exec(select(DutyEntry).where(DutyEntry.day == day)).one()
        person = s.get(Person, entry.leader_id)
        assert person is not None
        return person.name


def person_id(services: Services, key: str) -> int:
    with Session(services.db) as s:
        pid = s.exec(select(Person.id).where(Person.key == key)).one()
        assert pid is not None
        return pid


def book(services: Services, key: str, lang: str, prefix: str) -> Chat:
    """Book a reception of the roster, published (公示) before."""
    publish_roster(services)
    chat = Chat(services, person=key)
    open_menu(chat, lang)
    chat.press(t(lang, "menu.booking"))
    chat.press_starting(prefix)
    chat.say("加班费核算方法")
    chat.press(t(lang, "nav.confirm"))
    return chat


def swap_wednesday_and_thursday(chat: Chat, lang: str) -> None:
    """调换接访日 through the form: 11-25 (赵国强's) with 11-26 (孙红梅's), for a trip."""
    chat.press(t(lang, "menu.cal_duty_swap"))
    chat.press_starting("11-25")
    chat.press_starting("11-26")
    chat.say("临时出差")
    chat.press(t(lang, "nav.confirm"))


@pytest.mark.parametrize("lang", LANGS)
def test_staff_generate_and_view_the_roster(services: Services, lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.generate"))
    staff.say("2026-11-20")  # in the past: refused after the review, asked again
    staff.say("15")
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "roster.past") in staff.text
    assert t(lang, "roster.start.ask") in staff.text
    staff.say("2026-11-23")
    staff.press(t(lang, "nav.confirm"))
    # The file gave ten working days; five more; 11-23..25 cannot wait, and 11-26..27 cannot
    # wait for Thursday's post: published now, in one post.
    assert t(lang, "roster.done.generate", created=5, moved=0, uncovered="-",
             published=21) in staff.text
    with Session(services.db) as s:
        days = s.exec(select(DutyEntry.day).order_by(col(DutyEntry.day))).all()
    assert days[-5:] == [date(2026, 12, d) for d in (7, 8, 9, 10, 11)]

    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster_view"))
    assert t(lang, "roster.view.title") in staff.text
    assert t(lang, "roster.view.late", at="11-23 09:00") in staff.text  # 11-23 and 11-24
    assert t(lang, "roster.view.published", at="11-23 09:00") in staff.text  # 11-25..27
    assert t(lang, "roster.view.unpublished", due_on="2026-11-24") not in staff.text
    assert t(lang, "roster.view.unpublished", due_on="2026-11-26") in staff.text  # 11-30
    assert t(lang, "roster.view.union", names="陈丽华（工会主席、群众工作室主任）"
             if lang == "zh" else "陈丽华 (工会主席、群众工作室主任)") in staff.text
    assert t(lang, "roster.view.schedule", weekday=t(lang, "opt.publish_day.3"), at="16:00",
             horizon=10) in staff.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_away_gives_the_day_and_its_booking_to_the_next(
        services: Services, lang: str) -> None:
    day = date(2026, 11, 25)
    assert leader_on(services, day) == "赵国强"
    book(services, "li_ming", lang, "11-25")
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.away"))
    staff.press_starting("赵国强")
    staff.say("2026-11-25")
    staff.say("2026-11-26")
    staff.press(t(lang, "opt.away_kind.trip"))
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "roster.done.away", name="赵国强", first="2026-11-25", last="2026-11-26",
             moved=1, uncovered="-") in staff.text
    # The rotation's next leader takes the day, with its booking.
    assert leader_on(services, day) == "孙红梅"
    sun = person_id(services, "sun_hongmei")
    with Session(services.db) as s:
        booking = s.exec(select(Booking)).one()
        entry = s.get(DutyEntry, booking.duty_entry_id)
        assert entry is not None and entry.day == day
        assert entry.leader_id == sun
        assert s.exec(select(LeaderAway)).one().kind == "trip"
    services.dispatcher.drain()
    words = {"date": "2026-11-25", "start": "08:30", "end": "11:30",
             "place": "群众工作室（行政楼一楼）", "old": "赵国强", "new": "孙红梅",
             "reason": t(lang, "roster.reason.trip"), "bookings": 1}
    assert t(lang, "notice.duty_visit_moved", number="V-2026-0001",
             weekday=t(lang, "weekday.2"), **words) in \
        pushes(services, "li_ming")
    words["reason"] = t("zh", "roster.reason.trip")  # the leaders read Chinese
    words["weekday"] = "周三"
    assert t("zh", "notice.duty_given", **words) in pushes(services, "zhao_guoqiang")
    assert t("zh", "notice.duty_taken_booked", **words, visitor_lines=t(  # who, about what
        "zh", "notice.booking_line", visitor="李明", number="V-2026-0001",
        topic="加班费核算方法")) in pushes(services, "sun_hongmei")
    # 11-25 was published (it was booked): everyone is told of the change, once; the
    # leaders, the director and the staff as the roster they run and receive on.
    changed = sent_to(services, "roster:")
    assert {n.message_key for n in changed} == {"notice.roster_changed",
                                                "notice.roster_changed_team"}
    assert {n.recipient_id for n in changed if n.message_key == "notice.roster_changed_team"} \
        == {person_id(services, k) for k in TEAM}
    assert len(changed) == len({n.recipient_id for n in changed}) == 21


def test_swaps_refused_with_a_reason_change_nothing(services: Services,
                                                   clock: FrozenClock) -> None:
    zhao = Chat(services, person="zhao_guoqiang")

    def swap(mine: str, other: str) -> str:
        zhao.say("菜单")
        zhao.press("调换接访日")
        zhao.press_starting(mine)
        zhao.press_starting(other)
        zhao.say("临时出差")
        zhao.press("确认提交")
        return zhao.text

    # The other day's leader is away that day.
    sun = person_id(services, "sun_hongmei")
    with transaction(services.db) as s:
        s.add(LeaderAway(unit_id=1, person_id=sun,
                         first_day=date(2026, 11, 25), last_day=date(2026, 11, 25),
                         kind="leave", created_at=clock.now()))
    assert leader_on(services, date(2026, 11, 26)) == "孙红梅"
    assert t("zh", "duty_swap.away", name="孙红梅", date="2026-11-25") in swap("11-25", "11-26")
    assert t("zh", "duty_swap.other.ask") in zhao.text  # asked again
    # A leader's list holds only their own days; the other list only the others' days.
    zhao.say("取消")
    zhao.say("菜单")
    zhao.press("调换接访日")
    mine = [b.label[:5] for r in zhao.replies for b in r.buttons if b.label[:2] in ("11", "12")]
    assert mine == ["11-25", "11-30", "12-03"]
    zhao.say("取消")
    assert leader_on(services, date(2026, 11, 25)) == "赵国强"
    with Session(services.db) as s:
        assert s.exec(select(DutyOverride)).all() == []


def entry_on(services: Services, day: date) -> DutyEntry:
    with Session(services.db) as s:
        return s.exec(select(DutyEntry).where(DutyEntry.day == day)).one()


@pytest.mark.parametrize("lang", LANGS)
def test_the_days_to_swap_are_on_buttons_a_phone_shows_whole(services: Services,
                                                             lang: str) -> None:
    """Each day to swap was one button of its reception in full (70 characters and more),
    cut on a phone before its leader: a leader's own days now say their day and hours,
    the others' their day, start and leader; the hours, place and form they share are said
    once above them (the leaders know each other's posts). WeChat numbers the same words,
    and a button's words typed choose it; the review says both receptions in full."""
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.cal_duty_swap"))
    asked = zhao.replies[-1]
    own = [t(lang, "duty.slot_button_own", date=day, weekday=t(lang, f"weekday.{n}"),
             start="08:30", end="11:30") for day, n in (("11-25", 2), ("11-30", 0),
                                                        ("12-03", 3))]
    assert choices(zhao) == own
    assert asked.text.split("\n")[1:] == [every(lang, "duty.note.all")]
    zhao.press(own[0])
    zhao_id = entry_on(services, WEDNESDAY).leader_id
    others = [e for e in upcoming(services) if e.leader_id != zhao_id]
    buttons = [slot_button(services, e, lang) for e in others]
    assert choices(zhao) == buttons and buttons[2] == f"11-26 {t(lang, 'weekday.3')} 08:30 孙红梅"
    assert max(len(b) for b in buttons) <= PHONE_BUTTON
    assert zhao.replies[-1].text.split("\n")[1:] == [every(lang, "duty.note.all")]
    shown = render(zhao.replies[-1], lang)
    assert all(f"\n{i}. {b}\n" in shown for i, b in enumerate(buttons, start=1))
    zhao.say(buttons[2])  # typed, as on WeChat
    assert t(lang, "duty_swap.reason.ask") in zhao.text
    zhao.say("临时出差")
    for day in (WEDNESDAY, THURSDAY):
        assert slot_label(services, entry_on(services, day), lang) in zhao.text  # the review
    zhao.press(t(lang, "nav.confirm"))
    assert (leader_on(services, WEDNESDAY), leader_on(services, THURSDAY)) == ("孙红梅", "赵国强")
    # The staff swap any two days: each with its leader.
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_duty_swap"))
    assert choices(staff) == [slot_button(services, e, lang) for e in upcoming(services)]


def test_a_swapped_day_keeps_its_leader_when_the_file_is_reloaded(
        services: Services, clock: FrozenClock) -> None:
    zhao = Chat(services, person="zhao_guoqiang")
    zhao.say("菜单")
    zhao.press("调换接访日")
    zhao.press_starting("11-25")
    zhao.press_starting("11-26")
    zhao.say("临时出差")
    zhao.press("确认提交")
    assert "2026-11-25 改由 孙红梅 接访，2026-11-26 改由 赵国强 接访；两天均无预约" in zhao.text
    with transaction(services.db) as s:
        org.load_org(s, org.parse_org(org.demo_org_path()), now=clock.now())
    assert (leader_on(services, date(2026, 11, 25)), leader_on(services, date(2026, 11, 26))) \
        == ("孙红梅", "赵国强")


def test_publication_schedule_set_in_chat(services: Services, clock: FrozenClock) -> None:
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("领导接访排班")
    staff.press("设置公示时间")
    staff.press("每天")
    staff.say("8点00分")
    staff.say("5")
    staff.press("确认提交")
    assert t("zh", "roster.bad_at") in staff.text
    staff.say("08:00")
    staff.press("确认提交")
    assert t("zh", "roster.done.schedule", weekday="每天", at="08:00", horizon=5) in staff.text
    with Session(services.db) as s:
        plan = s.exec(select(RosterPlan)).one()
        assert (plan.publish_weekday, plan.publish_at, plan.horizon_days) == (None, time(8), 5)
    run_until(services, clock, at(11, 24, 8, 1))
    with Session(services.db) as s:
        planned = s.exec(select(Timer).where(Timer.kind == "roster_publish")
                         .order_by(col(Timer.due_at))).all()
        assert [tm.due_at.astimezone(ZONE).strftime("%m-%d %H:%M")
                for tm in planned[:3]] == ["11-24 08:00", "11-25 08:00", "11-26 08:00"]
    # 11-24 08:00: the days up to 11-29 not yet published went out (11-23 17:00 took 11-25).
    latest = pushes(services, "ma_chao")[-1]
    assert latest.startswith("【领导接访公示】")
    assert "11-26 周四" in latest and "11-27 周五" in latest and "11-25" not in latest


def test_the_planner_adds_each_job_once(services: Services) -> None:
    first = services.planner.plan()
    assert first > 0
    assert services.planner.plan() == 0
    with Session(services.db) as s:
        kinds = {tm.kind for tm in s.exec(select(Timer))}
    assert {"roster_publish", "roster_check", "screening", "report", "field_check",
            "worklog_weekly"} <= kinds


# --- the organisation file ---------------------------------------------------------------


def _demo_with(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(org.demo_org_path().read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def test_the_file_skips_a_leader_away(services: Services, clock: FrozenClock,
                                      tmp_path: Path) -> None:
    assert leader_on(services, date(2026, 11, 24)) == "吴建军"
    path = _demo_with(tmp_path, "\naway:\n  - {leader: wu_jianjun, from: 2026-11-24, "
                                "to: 2026-11-27, kind: trip}\n")
    with transaction(services.db) as s:
        roster.load_file(s, org.parse_org(path), now=clock.now(), zone=ZONE)
    # wu_jianjun's 11-24 and 11-27 go to the next of the rotation: zhao_guoqiang.
    assert [leader_on(services, date(2026, 11, d)) for d in (24, 25, 26, 27, 30)] == [
        "赵国强", "赵国强", "孙红梅", "赵国强", "赵国强"]
    chen = person_id(services, "chen_lihua")
    with Session(services.db) as s:
        assert s.exec(select(RosterPlan)).one().union_leaders == [chen]


@pytest.mark.parametrize(("extra", "message"), [
    ("\naway:\n  - {leader: nobody, from: 2026-11-25, to: 2026-11-27}\n",
     "away 1: leader 'nobody' is not a person of this file"),
    ("\naway:\n  - {leader: li_ming, from: 2026-11-25, to: 2026-11-27}\n",
     "away 1: leader 'li_ming' has role employee"),
    ("\naway:\n  - {leader: wu_jianjun, from: 2026-11-27, to: 2026-11-25}\n",
     "to 2026-11-25 is before from 2026-11-27"),
])
def test_a_wrong_away_entry_is_refused_with_its_line(tmp_path: Path, extra: str,
                                                      message: str) -> None:
    with pytest.raises(org.OrgError) as err:
        org.parse_org(_demo_with(tmp_path, extra))
    assert any(message in p.message and p.line > 100 for p in err.value.problems), \
        err.value.problems



def test_a_leader_taken_out_of_the_rotation_hands_over_days_without_doubling_them(
        services: Services) -> None:
    """Regenerating after the plan lost a leader moves that leader's days to the others;
    no day ends up with two receptions published to everyone."""
    now = services.clock.now()
    wu = person_id(services, "wu_jianjun")
    with transaction(services.db) as s:
        plan = s.exec(select(RosterPlan)).one()
        assert wu in plan.leaders
        plan.leaders = [p for p in plan.leaders if p != wu]
        s.add(plan)
        unit_id = plan.unit_id
        before = s.exec(select(DutyEntry.day).where(DutyEntry.leader_id == wu)).all()
    assert before  # the file gave him days
    with transaction(services.db) as s:
        roster.generate(s, unit_id, MONDAY, 10, now=now, zone=ZONE)
    with Session(services.db) as s:
        entries = s.exec(select(DutyEntry).where(col(DutyEntry.day) >= MONDAY)).all()
    days = [e.day for e in entries]
    assert len(days) == len(set(days)), sorted(days)  # one reception a day
    assert all(e.leader_id != wu for e in entries)


# --- swaps named by their form ----------------------------------------------------------------


def _swap_as(services: Services, key: str, first: date, second: date, draft: str,
             reason: str = "临时出差") -> str:
    """Run the swap handler for a form, as the pipeline does on its confirmation."""
    from conversations import catalog
    from conversations.flow import Submission
    from handlers.context import HandlerContext

    with transaction(services.db) as s:
        actor = s.exec(select(Person).where(Person.key == key)).one()
        one = s.exec(select(DutyEntry).where(DutyEntry.day == first)).one()
        two = s.exec(select(DutyEntry).where(DutyEntry.day == second)).one()
        ctx = HandlerContext(session=s, now=services.clock.now(), actor=actor, channel="console",
                             zone=ZONE, secret="test")
        result = roster.duty_swap(ctx, Submission("duty_swap", {
            "mine": str(one.id), "other": str(two.id), "reason": reason}, draft, "zh"))
        return catalog.t("zh", result.message, **result.params)


def test_a_swap_carried_out_twice_for_one_form_swaps_once(services: Services) -> None:
    d25, d26 = date(2026, 11, 25), date(2026, 11, 26)
    done = _swap_as(services, "liu_fang", d25, d26, "form-1")
    assert done.startswith("已调换：2026-11-25 改由 孙红梅 接访，2026-11-26 改由 赵国强 接访")
    again = _swap_as(services, "liu_fang", d25, d26, "form-1")  # the same form once more
    assert again == done
    assert (leader_on(services, d25), leader_on(services, d26)) == ("孙红梅", "赵国强")
    services.dispatcher.drain()
    assert sum("调换接访日" in p for p in pushes(services, "zhao_guoqiang")) == 1


def test_two_swaps_of_the_same_days_in_the_same_second_are_both_told(
        services: Services) -> None:
    """Regression: the swap's notices were named by the clock's second, so a second swap
    of the same two days at once was told to nobody."""
    d25, d26 = date(2026, 11, 25), date(2026, 11, 26)
    _swap_as(services, "liu_fang", d25, d26, "form-1", reason="到市里开会")
    back = _swap_as(services, "liu_fang", d25, d26, "form-2", reason="会议取消")
    assert back.startswith("已调换：2026-11-25 改由 赵国强 接访，2026-11-26 改由 孙红梅 接访")
    services.dispatcher.drain()
    told = [p for p in pushes(services, "zhao_guoqiang") if "调换接访日" in p]
    assert len(told) == 2 and "（会议取消）" in told[1]


@pytest.mark.parametrize(("lang", "names"), [("zh", "赵国强、孙红梅"), ("en", "赵国强, 孙红梅")])
def test_the_rotation_set_in_chat_lists_names_in_the_readers_way(
        services: Services, lang: str, names: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.plan"))
    staff.say("赵国强，孙红梅")
    staff.press(t(lang, "nav.skip"))
    staff.say("08:30-11:30")
    staff.say("群众工作室")
    staff.press(t(lang, "opt.reception_form.fixed"))
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "roster.done.plan", leaders=names, union="-") in staff.text


def test_a_swap_after_an_on_time_publication_is_not_reported_as_late(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a change to a day published on time (a swap the day before) was stamped
    as a late publication, its first publication time overwritten, and the director told
    it had not been published two working days ahead, which was false."""
    from tests.calendar_helpers import rows, workbook

    run_until(services, clock, at(11, 23, 17, 1))  # 11-25 published on its last day
    late_before = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
    assert len(late_before) == 1 and "11-25" not in late_before[0]
    clock.set(at(11, 24, 9))
    zhao = Chat(services, person="zhao_guoqiang")
    zhao.say("菜单")
    zhao.press("调换接访日")
    for prefix in ("11-25", "11-26"):
        zhao.press_starting(prefix)
    zhao.say("临时出差")
    zhao.press("确认提交")
    services.dispatcher.drain()
    assert any(p.startswith("【领导接访安排变动】") and "11-25" in p
               for p in pushes(services, "ma_chao"))  # the employees are told of the change
    late = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
    assert late == late_before
    sheet = rows(workbook(services, "roster", month="2026-11")["领导接访安排"])
    assert [r[5:] for r in sheet if r[0] == "2026-11-25"] == [[
        "孙红梅", "党委书记", "党建、干部作风、信访维稳", "2026-11-23", "2026-11-23 17:00",
        "否"]]


def test_a_workroom_starting_mid_week_publishes_what_cannot_wait_in_one_post(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a workroom set up on a Monday, with the weekly post on Thursday, sent the
    employees one publication per day that could not wait (11-23..25, then 11-26 alone,
    then 11-27 alone) before the Thursday post took over."""
    run_until(services, clock, at(11, 26, 15, 59))
    posts = [p for p in pushes(services, "ma_chao") if p.startswith("【领导接访公示】")]
    assert len(posts) == 1, posts
    assert all(f"11-{d}" in posts[0] for d in (24, 25, 26, 27))
    assert "11-30" not in posts[0]  # it can wait for Thursday's post, two working days ahead
    # Only what was already past its last day is reported late to the director.
    late = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
    assert len(late) == 1 and all(f"11-{d}" not in late[0] for d in (25, 26, 27))
    with Session(services.db) as s:
        assert not any(r.late for r in s.exec(select(DutyPublished)).all()
                       if r.due_on >= date(2026, 11, 23))
    # Thursday's post takes over: the next days, each published two working days ahead.
    run_until(services, clock, at(11, 26, 16, 1))
    posts = [p for p in pushes(services, "ma_chao") if p.startswith("【领导接访公示】")]
    assert len(posts) == 2 and "11-30" in posts[1] and "11-27" not in posts[1]


def _published(services: Services) -> dict[date, DutyPublished]:
    with Session(services.db) as s:
        return {e.day: p for p, e in s.exec(select(DutyPublished, DutyEntry).join(
            DutyEntry, col(DutyEntry.id) == DutyPublished.duty_entry_id))}


def test_the_roster_before_a_long_holiday_is_published_in_working_days(
        sqlite_url: str) -> None:
    """Regression: around 国庆 2026 the Thursday 09-24 publication looked 10 calendar days
    ahead (to 10-04), so 10-09, whose last day to be published was 09-30, went out on the
    holiday 10-01 and the director was told it was late."""
    from tests.conftest import make_services

    clock = FrozenClock(at(9, 21, 9))
    services = make_services(sqlite_url, clock)
    try:
        run_until(services, clock, at(10, 12, 18))
        published = _published(services)
        for day in (date(2026, 10, 8), date(2026, 10, 9)):
            assert published[day].published_at.astimezone(ZONE).date() == date(2026, 9, 24)
        assert not any(p.late for d, p in published.items() if d >= date(2026, 9, 23))
        late = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
        assert not any("10-" in p for p in late), late
    finally:
        services.close()


def test_the_last_chance_check_puts_missing_days_on_the_roster_and_publishes_them(
        services: Services, clock: FrozenClock) -> None:
    """Regression: with the scheduled publication missed (the scheduler down until after
    Thursday 16:00), the daily check published only entries already on the roster: 12-07,
    due to be published that day, was never put on the roster at all."""
    clock.set(at(12, 3, 16, 30))
    run_until(services, clock, at(12, 3, 17, 1))
    published = _published(services)
    assert date(2026, 12, 7) in published and not published[date(2026, 12, 7)].late
    assert leader_on(services, date(2026, 12, 7)) in ("赵国强", "孙红梅", "吴建军")
    post = [p for p in pushes(services, "ma_chao") if p.startswith("【领导接访公示】")][-1]
    assert "12-07" in post and "12-09" in post  # everything that cannot wait for 12-10


@pytest.mark.parametrize("lang", LANGS)
def test_only_published_receptions_are_offered_to_book(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: under "以下是已公布的领导接访安排" the booking offered every reception on
    the roster, 12-03 too, which the staff's roster view showed as 未公示."""
    li = Chat(services, person="li_ming")
    open_menu(li, lang)
    li.press(t(lang, "menu.booking"))  # nothing published yet: said so, no empty list
    assert t(lang, "booking.empty") in li.text
    run_until(services, clock, at(11, 23, 18))  # the day's check published 11-24..11-27
    open_menu(li, lang)
    li.press(t(lang, "menu.booking"))
    offered = [b.label[:5] for r in li.replies for b in r.buttons if b.value.startswith("opt:")]
    assert offered == ["11-24", "11-25", "11-26", "11-27"]
    li.press(t(lang, "nav.cancel"))
    run_until(services, clock, at(11, 26, 16, 1))  # Thursday's publication: the next week
    open_menu(li, lang)
    li.press(t(lang, "menu.booking"))
    offered = [b.label[:5] for r in li.replies for b in r.buttons if b.value.startswith("opt:")]
    assert offered[-1] == "12-04" and "11-30" in offered


def test_a_reception_already_over_is_not_published(services: Services,
                                                   clock: FrozenClock) -> None:
    """Regression: the workroom's first post, at 17:00 on Monday, advertised that morning's
    reception (11-23 08:30-11:30), already over, and the director was told it was late."""
    run_until(services, clock, at(11, 23, 17, 1))
    [post] = [p for p in pushes(services, "ma_chao") if p.startswith("【领导接访公示】")]
    assert "11-23" not in post and "11-24 周二 08:30-11:30 吴建军" in post
    [late] = [p for p in pushes(services, "chen_lihua") if p.startswith("【公示迟于规定】")]
    assert "11-23" not in late and "以下 1 次领导接访" in late and "11-24 周二 吴建军" in late
    assert date(2026, 11, 23) not in _published(services)



@pytest.fixture
def unknown_2027(monkeypatch: pytest.MonkeyPatch) -> None:
    """The holiday package does not know 2027 (as chinesecalendar 1.11), whatever the
    release installed."""
    from scheduler import workdays

    known = workdays.chinese_calendar.is_workday

    def is_workday(day: date) -> bool:
        if day.year >= 2027:
            raise NotImplementedError(f"no data for {day.year}")
        return bool(known(day))

    monkeypatch.setattr(workdays.chinese_calendar, "is_workday", is_workday)


@pytest.mark.usefixtures("unknown_2027")
@pytest.mark.parametrize("staff", [True, False])
def test_a_year_without_holidays_is_told_in_chat_once_weeks_ahead(
        services: Services, clock: FrozenClock, staff: bool) -> None:
    """Regression: a year the holiday package does not know (2027 in chinesecalendar 1.11)
    was rostered over its Spring Festival, with only a log line saying so."""
    if not staff:  # no staff: the director is told
        with transaction(services.db) as s:
            for p in s.exec(select(Person).where(Person.role == "staff")):
                p.active = False
                s.add(p)
    run_until(services, clock, at(11, 27, 18))
    told = "liu_fang" if staff else "chen_lihua"
    said = [p for p in pushes(services, told) if p == t("zh", "notice.calendar_unknown", year=2027)]
    assert len(said) == 1  # once, though the daily check runs every working day
    if staff:
        assert not any(p.startswith("【节假日待补】") for p in pushes(services, "chen_lihua"))


@pytest.mark.usefixtures("unknown_2027")
def test_a_year_without_holidays_keeps_its_fixed_date_holidays_off_the_roster(
        services: Services, clock: FrozenClock) -> None:
    run_until(services, clock, at(12, 31, 18))
    with Session(services.db) as s:
        days = {e.day for e in s.exec(select(DutyEntry))}
    assert date(2026, 12, 31) in days and date(2027, 1, 4) in days
    assert date(2027, 1, 1) not in days  # 元旦, known whatever the year


@pytest.mark.usefixtures("unknown_2027")
def test_a_year_the_file_gives_is_not_warned_of(services: Services, clock: FrozenClock,
                                                tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(org.demo_org_path().read_text(encoding="utf-8")
                    + "\ncalendar:\n  - {year: 2027, holidays: [\"2027-02-05..2027-02-13\"]}\n",
                    encoding="utf-8")
    with transaction(services.db) as s:
        roster.load_file(s, org.parse_org(path), now=clock.now(), zone=ZONE)
    run_until(services, clock, at(11, 27, 18))
    assert not any(p.startswith("【节假日待补】") for k in ("liu_fang", "chen_lihua")
                   for p in pushes(services, k))


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", "工会领导随时接访，不用预约，工作日直接到群众工作室即可"),
    ("en", "Union leaders receive any working day without a booking: just come to the "
           "workroom")])
def test_the_publication_says_how_to_see_a_union_leader(
        services: Services, clock: FrozenClock, lang: str, words: str) -> None:
    """Regression: every publication ended "工会领导随时接访：• 陈丽华…" next to the button
    预约领导接访, which never offers a union leader: the worker did not know how to see one."""
    li = Chat(services, person="li_ming")
    open_menu(li, lang)  # li_ming reads `lang`
    run_until(services, clock, at(11, 23, 17, 1))
    [post] = [p for p in pushes(services, "li_ming") if p.startswith(
        t(lang, "notice.roster_published", lines="", union_lines="")[:8])]
    assert f"{words}:\n• 陈丽华" in post or f"{words}：\n• 陈丽华" in post
    li.press(t(lang, "menu.booking"))
    assert words in li.text  # and where the booking lists only the rotation's leaders


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_taking_a_swapped_day_reads_who_comes_and_when(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A swap told each leader "the new day has 1 booking": which visitor, about what,
    they had to find out. Each now reads the day with its weekday and hours, and a line
    per booked visitor (a verified name, else that the visitor is unverified)."""
    book(services, "li_ming", lang, "11-25")  # 赵国强's Wednesday
    web = Chat(services, channel="web", address="anon-swap-visitor")
    open_menu(web, lang)
    web.press(t(lang, "menu.booking"))
    web.press_starting("11-26")  # 孙红梅's Thursday
    web.say("宿舍热水器坏了")
    web.press(t(lang, "nav.confirm"))
    zhao, sun = Chat(services, person="zhao_guoqiang"), Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    open_menu(zhao, lang)
    swap_wednesday_and_thursday(zhao, lang)
    services.dispatcher.drain()
    # 孙红梅 reads that 赵国强 swapped with her, not "with 赵国强"; 赵国强, who swapped, reads
    # that he did, with 孙红梅.
    read = {
        "zh": ("赵国强 已与您调换接访日（临时出差）：您原 2026-11-26 周四 的接访改为 "
               "2026-11-25 周三 08:30-11:30，群众工作室（行政楼一楼）。原日期的 1 个预约转给 "
               "赵国强；新日期有 1 个预约由您接待：\n• 李明（预约 V-2026-0001：加班费核算方法）",
               "您已与 孙红梅 调换接访日（临时出差）：您原 2026-11-25 周三 的接访改为 "
               "2026-11-26 周四 08:30-11:30，群众工作室（行政楼一楼）。原日期的 1 个预约转给 "
               "孙红梅；新日期有 1 个预约由您接待：\n"
               f"• {t(lang, 'person.unverified')}（预约 V-2026-0002：宿舍热水器坏了）"),
        "en": ("赵国强 swapped reception days with you (临时出差): your reception of "
               "2026-11-26 Thu is now on 2026-11-25 Wed 08:30-11:30, 群众工作室（行政楼一楼）. "
               "The 1 booking of the old day goes to 赵国强. 1 visit is booked for the new "
               "day:\n• 李明 (booking V-2026-0001: 加班费核算方法)",
               "You swapped your reception day with 孙红梅's (临时出差): your reception of "
               "2026-11-25 Wed is now on 2026-11-26 Thu 08:30-11:30, 群众工作室（行政楼一楼）. "
               "The 1 booking of the old day goes to 孙红梅. 1 visit is booked for the new "
               "day:\n"
               f"• {t(lang, 'person.unverified')} (booking V-2026-0002: 宿舍热水器坏了)")}[lang]
    assert read[0] in [m.text for m in sun.inbox()]
    assert read[1] in [m.text for m in zhao.inbox()]
    said = {"zh": ("2026-11-25 周三 08:30-11:30", "• 李明（预约 V-2026-0001：加班费核算方法）"),
            "en": ("2026-11-25 Wed 08:30-11:30", "• 李明 (booking V-2026-0001: 加班费核算方法)")}
    assert all(w in "\n".join(m.text for m in sun.inbox()) for w in said[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_a_swap_of_unbooked_days_says_nobody_is_booked(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """With no booking on either day, each leader read "you receive the 0 of the new day"
    and "The 0 bookings of the old day go to …", and 孙红梅 read that 赵国强 swapped her day
    "with 赵国强". Now she reads that he swapped with her, he that he did, neither a line
    on bookings moving, and his reply says neither day was booked."""
    zhao, sun = Chat(services, person="zhao_guoqiang"), Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    open_menu(zhao, lang)
    swap_wednesday_and_thursday(zhao, lang)
    assert {"zh": "已调换：2026-11-25 改由 孙红梅 接访，2026-11-26 改由 赵国强 接访；两天均无预约，"
                  "双方领导已收到通知。",
            "en": "Swapped: 孙红梅 now receives on 2026-11-25, 赵国强 on 2026-11-26; neither "
                  "day had bookings, and both leaders were told."}[lang] in zhao.text
    services.dispatcher.drain()
    read = {
        "zh": ("赵国强 已与您调换接访日（临时出差）：您原 2026-11-26 周四 的接访改为 "
               "2026-11-25 周三 08:30-11:30，群众工作室（行政楼一楼）。新日期暂无预约。",
               "您已与 孙红梅 调换接访日（临时出差）：您原 2026-11-25 周三 的接访改为 "
               "2026-11-26 周四 08:30-11:30，群众工作室（行政楼一楼）。新日期暂无预约。"),
        "en": ("赵国强 swapped reception days with you (临时出差): your reception of "
               "2026-11-26 Thu is now on 2026-11-25 Wed 08:30-11:30, 群众工作室（行政楼一楼）. "
               "No visits are booked for the new day.",
               "You swapped your reception day with 孙红梅's (临时出差): your reception of "
               "2026-11-25 Wed is now on 2026-11-26 Thu 08:30-11:30, 群众工作室（行政楼一楼）. "
               "No visits are booked for the new day.")}[lang]
    assert read[0] in [m.text for m in sun.inbox()]
    assert read[1] in [m.text for m in zhao.inbox()]


@pytest.mark.parametrize("lang", LANGS)
def test_leaders_whose_days_the_staff_swap_each_read_who_swapped_and_with_whom(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The staff swap 赵国强's booked day with 孙红梅's unbooked one: each leader reads that
    刘芳 swapped their day with the other's; 赵国强 that his booking goes to 孙红梅 and
    nobody is booked on his new day, 孙红梅 who comes, with no line on bookings moving."""
    book(services, "li_ming", lang, "11-25")  # 赵国强's Wednesday
    zhao, sun = Chat(services, person="zhao_guoqiang"), Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    open_menu(zhao, lang)
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    swap_wednesday_and_thursday(staff, lang)
    assert t(lang, "duty_swap.done", first="2026-11-25", second="2026-11-26", a="赵国强",
             b="孙红梅", moved=1) in staff.text
    services.dispatcher.drain()
    read = {
        "zh": ("刘芳 已办理您与 赵国强 调换接访日（临时出差）：您原 2026-11-26 周四 的接访改为 "
               "2026-11-25 周三 08:30-11:30，群众工作室（行政楼一楼）。新日期有 1 个预约由您接待："
               "\n• 李明（预约 V-2026-0001：加班费核算方法）",
               "刘芳 已办理您与 孙红梅 调换接访日（临时出差）：您原 2026-11-25 周三 的接访改为 "
               "2026-11-26 周四 08:30-11:30，群众工作室（行政楼一楼）。原日期的 1 个预约转给 "
               "孙红梅；新日期暂无预约。"),
        "en": ("刘芳 swapped your reception day with 赵国强's (临时出差): your reception of "
               "2026-11-26 Thu is now on 2026-11-25 Wed 08:30-11:30, 群众工作室（行政楼一楼）. "
               "1 visit is booked for the new day:\n• 李明 (booking V-2026-0001: 加班费核算方法)",
               "刘芳 swapped your reception day with 孙红梅's (临时出差): your reception of "
               "2026-11-25 Wed is now on 2026-11-26 Thu 08:30-11:30, 群众工作室（行政楼一楼）. "
               "The 1 booking of the old day goes to 孙红梅; no visits are booked for the new "
               "day.")}[lang]
    assert read[0] in [m.text for m in sun.inbox()]
    assert read[1] in [m.text for m in zhao.inbox()]


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_reads_their_own_duty_days_not_an_invitation_to_book(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Before, 赵国强 received the public 【领导接访公示】 with [预约领导接访], inviting him
    to book a visit with himself, and no word that he was on duty. Now a leader on duty
    reads their own days, with no button; the director, not on the rotation, reads the
    roster (see the next test); an employee still books from it."""
    chats = {k: Chat(services, person=k) for k in ("li_ming", "zhao_guoqiang", "chen_lihua")}
    for chat in chats.values():
        open_menu(chat, lang)
    run_until(services, clock, at(11, 23, 17, 1))
    zhao = person_id(services, "zhao_guoqiang")
    with Session(services.db) as s:
        published = {row.duty_entry_id for row in s.exec(select(DutyPublished))}
        days = [e for e in s.exec(select(DutyEntry).where(DutyEntry.leader_id == zhao)
                                  .order_by(col(DutyEntry.day), col(DutyEntry.start)))
                if e.id in published and e.day > date(2026, 11, 23)]
        assert days  # he is on duty in what was published
        lines = "\n".join(t(lang, "duty.own_line", date=e.day.strftime("%m-%d"),
                            weekday=t(lang, f"weekday.{e.day.weekday()}"),
                            start=e.start.strftime("%H:%M"), end=e.end.strftime("%H:%M"),
                            place=e.place, form=t(lang, f"form.{e.form}")) for e in days)
    head = t(lang, "notice.roster_published", lines="", union_lines="")[:8]
    [own] = [m for m in chats["zhao_guoqiang"].inbox()
             if m.text.startswith(t(lang, "notice.duty_yours", lines="")[:6])]
    assert own.text == t(lang, "notice.duty_yours", lines=lines)
    assert own.buttons == []
    assert not [m for m in chats["zhao_guoqiang"].inbox() if m.text.startswith(head)]
    assert not [m for m in chats["chen_lihua"].inbox() if m.text.startswith(head)]
    [invited] = [m for m in chats["li_ming"].inbox() if m.text.startswith(head)]
    assert [b["label"] for b in invited.buttons] == [t(lang, "menu.booking")]


@pytest.mark.parametrize("lang", LANGS)
def test_the_staff_the_director_and_the_leaders_read_the_roster_not_an_invitation(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Before, the staff read the employees' 【领导接访公示】"以下领导接待职工来访，欢迎预约"
    with [预约领导接访], and the director and the leaders it without the button: an
    invitation to book a visit with themselves. Now they read the roster, published to the
    employees, with [接访排班表] (its publication, what is not yet out), no booking; a
    change likewise. The employees' notice is as it was."""
    chats = {k: Chat(services, person=k) for k in ("li_ming", "liu_fang", "chen_lihua",
                                                   "sun_hongmei")}
    for chat in chats.values():
        open_menu(chat, lang)
    run_until(services, clock, at(11, 23, 17, 1))
    with Session(services.db) as s:
        entries = s.exec(select(DutyEntry).where(col(DutyEntry.id).in_(
            select(DutyPublished.duty_entry_id))).order_by(col(DutyEntry.day),
                                                           col(DutyEntry.start))).all()
        lines = "\n".join(t(lang, "duty.slot", **{
            **roster.slot(s, e), "weekday": t(lang, f"weekday.{e.day.weekday()}"),
            "form": t(lang, f"form.{e.form}")}) for e in entries)
    union = t(lang, "roster.union_person", name="陈丽华", post="工会主席、群众工作室主任")
    roster_words = t(lang, "notice.roster_published_team", lines=lines, union_lines=union)
    public_words = t(lang, "notice.roster_published", lines=lines, union_lines=union)
    for key in ("liu_fang", "chen_lihua"):
        [post] = [m for m in chats[key].inbox()
                  if m.text.startswith(roster_words.partition("\n")[0])]
        assert post.text == roster_words, key
        assert [b["label"] for b in post.buttons] == [t(lang, "menu.cal_roster_view")], key
        assert "欢迎预约" not in post.text and "book a visit:" not in post.text
        assert not [m for m in chats[key].inbox()
                    if m.text.startswith(public_words.partition("\n")[0])]
        tap(chats[key], post, t(lang, "menu.cal_roster_view"))
        assert t(lang, "roster.view.title") in chats[key].text
        assert t(lang, "roster.view.published", at="11-23 17:00") in chats[key].text
    [public] = [m for m in chats["li_ming"].inbox()
                if m.text.startswith(public_words.partition("\n")[0])]
    assert public.text == public_words
    assert [b["label"] for b in public.buttons] == [t(lang, "menu.booking")]

    # A change: 赵国强 away on 11-25, which 孙红梅 takes. She is a leader: the roster's
    # change, no booking button; the staff the same; the employee the public notice.
    staff = chats["liu_fang"]
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.away"))
    staff.press_starting("赵国强")
    staff.say("2026-11-25")
    clock.advance(timedelta(seconds=10))  # the same words again: the last day
    staff.say("2026-11-25")
    staff.press(t(lang, "opt.away_kind.trip"))
    staff.press(t(lang, "nav.confirm"))
    services.dispatcher.drain()
    team_head = t(lang, "notice.roster_changed_team", lines="", union_lines="").split("\n")[0]
    public_head = t(lang, "notice.roster_changed", lines="", union_lines="").split("\n")[0]
    for key in ("liu_fang", "chen_lihua", "sun_hongmei"):
        [changed] = [m for m in chats[key].inbox() if m.text.startswith(team_head)]
        assert "孙红梅" in changed.text and "赵国强" in changed.text, key  # (原为 赵国强)
        assert [b["label"] for b in changed.buttons] == [t(lang, "menu.cal_roster_view")]
        assert not [m for m in chats[key].inbox() if m.text.startswith(public_head)]
    [changed] = [m for m in chats["li_ming"].inbox() if m.text.startswith(public_head)]
    assert [b["label"] for b in changed.buttons] == [t(lang, "menu.booking")]
