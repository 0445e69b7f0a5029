"""The organisation file reloaded over a roster already published and booked: a leader
marked away hands their days over as a swap does, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import roster
from store import org
from store.calendar_models import DutyPublished
from store.db import transaction
from store.models import Booking, DutyEntry, Person
from tests.calendar_helpers import at, publish_roster, pushes, rows, run_until, workbook
from tests.transcript import Chat, t

AWAY = ("\naway:\n"
        "  - {leader: wu_jianjun, from: 2026-11-24, to: 2026-11-24, kind: leave}\n"
        "  - {leader: zhao_guoqiang, from: 2026-11-25, to: 2026-11-25, kind: trip}\n")


def _file(tmp_path: Path, extra: str = AWAY) -> org.OrgSpec:
    path = tmp_path / "org.yaml"
    path.write_text(org.demo_org_path().read_text(encoding="utf-8") + extra, encoding="utf-8")
    return org.parse_org(path)


def _day(services: Services, day: date) -> list[tuple[str, int]]:
    """(leader, bookings) of each reception on the day."""
    with Session(services.db) as s:
        out = []
        for e in s.exec(select(DutyEntry).where(DutyEntry.day == day)
                        .order_by(col(DutyEntry.id))):
            leader = s.get(Person, e.leader_id)
            booked = s.exec(select(Booking).where(Booking.duty_entry_id == e.id)).all()
            out.append((leader.name if leader else "", len(booked)))
        return out


def _book_11_25(services: Services) -> None:
    li = Chat(services, person="li_ming")
    li.say("菜单")
    li.press("预约领导接访")
    li.press(next(b.label for r in li.replies for b in r.buttons if b.label.startswith("11-25")))
    li.say("加班费核算方法")
    li.press("确认提交")
    assert "V-2026-0001" in li.text


def test_a_reload_marking_leaders_away_hands_over_published_and_booked_days(
        db_services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    services = db_services
    # 11-24..11-25 cannot wait (11-24 late; 11-23 is over), 11-26..27 cannot wait for
    # Thursday: published together; 11-25, published, is booked.
    run_until(services, clock, at(11, 23, 17, 1))
    with Session(services.db) as s:
        assert len(s.exec(select(DutyPublished)).all()) == 4
    _book_11_25(services)
    assert _day(services, date(2026, 11, 24)) == [("吴建军", 0)]
    assert _day(services, date(2026, 11, 25)) == [("赵国强", 1)]
    before = len(pushes(services, "ma_chao"))

    with transaction(services.db) as s:
        report = roster.load_file(s, _file(tmp_path), now=clock.now(), zone=services.settings.zone)
    assert report.handover == [date(2026, 11, 24), date(2026, 11, 25)]

    # One reception a day, given to the next of the rotation; the booking went along.
    assert _day(services, date(2026, 11, 24)) == [("赵国强", 0)]
    assert _day(services, date(2026, 11, 25)) == [("孙红梅", 1)]
    with Session(services.db) as s:
        shown = {s.get(DutyEntry, p.duty_entry_id).day: p  # type: ignore[union-attr]
                 for p in s.exec(select(DutyPublished))}
        sun = s.exec(select(Person.id).where(Person.key == "sun_hongmei")).one()
    assert shown[date(2026, 11, 25)].leader_id == sun  # as published again

    services.dispatcher.drain()
    words = {"date": "2026-11-25", "start": "08:30", "end": "11:30",
             "place": "群众工作室（行政楼一楼）", "old": "赵国强", "new": "孙红梅",
             "reason": t("zh", "roster.reason.trip"), "bookings": 1}
    assert t("zh", "notice.duty_visit_moved", number="V-2026-0001", weekday="周三", **words) in \
        pushes(services, "li_ming")
    words["weekday"] = "周三"
    assert t("zh", "notice.duty_given", **words) in pushes(services, "zhao_guoqiang")
    assert t("zh", "notice.duty_taken_booked", **words, visitor_lines=t(  # who, about what
        "zh", "notice.booking_line", visitor="李明", number="V-2026-0001",
        topic="加班费核算方法")) in pushes(services, "sun_hongmei")
    leave = {**words, "date": "2026-11-24", "weekday": "周二", "old": "吴建军", "new": "赵国强",
             "reason": t("zh", "roster.reason.leave"), "bookings": 0}
    assert t("zh", "notice.duty_given", **leave) in pushes(services, "wu_jianjun")
    assert t("zh", "notice.duty_taken", **leave) in pushes(services, "zhao_guoqiang")
    # Both days were published: the employees get the correction, once per day changed.
    changed = [p for p in pushes(services, "ma_chao")[before:]
               if p.startswith("【领导接访安排变动】")]
    assert len(changed) == 2
    assert any("11-24 周二 08:30-11:30 赵国强" in p and "（原为 吴建军）" in p for p in changed)
    assert any("11-25 周三 08:30-11:30 孙红梅" in p and "（原为 赵国强）" in p for p in changed)

    sheet = rows(workbook(services, "roster", lang="en", month="2026-11")["Reception roster"])
    assert sheet[0][-3:] == ["Publish by", "Published at", "Late"]
    assert [r for r in sheet if r[0] == "2026-11-25"] == [[
        "2026-11-25", "Wed", "08:30-11:30", "群众工作室（行政楼一楼）", "fixed-place reception",
        "孙红梅", "党委书记", "党建、干部作风、信访维稳", "2026-11-23", "2026-11-23 17:00",
        "no"]]  # the first publication, not the change

    # The same file again changes nothing and tells nobody anything.
    sent = len(pushes(services, "ma_chao"))
    with transaction(services.db) as s:
        again = roster.load_file(s, _file(tmp_path), now=clock.now(), zone=services.settings.zone)
    assert not again.changed, str(again)
    services.dispatcher.drain()
    assert len(pushes(services, "ma_chao")) == sent
    assert _day(services, date(2026, 11, 25)) == [("孙红梅", 1)]


def test_a_swapped_day_goes_on_when_its_leader_is_marked_away_in_the_file(
        db_services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    services = db_services
    zhao = Chat(services, person="zhao_guoqiang")
    zhao.say("菜单")
    zhao.press("调换接访日")
    for prefix in ("11-25", "11-26"):
        zhao.press_starting(prefix)
    zhao.say("临时出差")
    zhao.press("确认提交")
    assert _day(services, date(2026, 11, 25)) == [("孙红梅", 0)]
    assert _day(services, date(2026, 11, 26)) == [("赵国强", 0)]
    extra = "\naway:\n  - {leader: zhao_guoqiang, from: 2026-11-26, to: 2026-11-26}\n"
    with transaction(services.db) as s:
        report = roster.load_file(s, _file(tmp_path, extra), now=clock.now(),
                                  zone=services.settings.zone)
    assert report.handover == [date(2026, 11, 26)]
    assert [n for n, _ in _day(services, date(2026, 11, 26))] != ["赵国强"]
    assert len(_day(services, date(2026, 11, 26))) == 1


def test_a_booked_day_is_not_doubled_when_its_leader_is_marked_away(
        db_services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    """Regression: the booked entry was kept for the absent leader next to a new one."""
    services = db_services
    publish_roster(services)
    li = Chat(services, person="li_ming")
    li.say("菜单")
    li.press("预约领导接访")
    li.press(next(b.label for r in li.replies for b in r.buttons if b.label.startswith("11-30")))
    li.say("加班费核算方法")
    li.press("确认提交")
    assert _day(services, date(2026, 11, 30)) == [("赵国强", 1)]
    extra = "\naway:\n  - {leader: zhao_guoqiang, from: 2026-11-30, to: 2026-11-30}\n"
    with transaction(services.db) as s:
        roster.load_file(s, _file(tmp_path, extra), now=clock.now(), zone=services.settings.zone)
    assert _day(services, date(2026, 11, 30)) == [("孙红梅", 1)]
    services.dispatcher.drain()
    assert any(p.startswith("您的接访预约 V-2026-0001") and "改由 孙红梅 接待" in p
               for p in pushes(services, "li_ming"))


def test_a_reload_through_load_org_itself_hands_the_days_over(
        db_services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    """Regression: code calling store.org.load_org directly (not roster.load_file) listed
    the days to hand over and left them with the absent leader: bookings not moved, nobody
    told. The load now leaves a hand-over timer per day, which the sweep fires."""
    services = db_services
    run_until(services, clock, at(11, 23, 17, 1))
    _book_11_25(services)
    with transaction(services.db) as s:
        report = org.load_org(s, _file(tmp_path), now=clock.now())
    assert report.handover == [date(2026, 11, 24), date(2026, 11, 25)]
    run_until(services, clock, at(11, 23, 17, 2))
    assert _day(services, date(2026, 11, 24)) == [("赵国强", 0)]
    assert _day(services, date(2026, 11, 25)) == [("孙红梅", 1)]
    assert any(p.startswith("您的接访预约 V-2026-0001") and "改由 孙红梅 接待" in p
               for p in pushes(services, "li_ming"))
    assert sum(p.startswith("【领导接访安排变动】") for p in pushes(services, "ma_chao")) == 2
    # Fired again (a second sweeper, a re-armed timer of the same load): nothing twice.
    sent = len(pushes(services, "li_ming"))
    run_until(services, clock, at(11, 23, 18, 0))
    assert len(pushes(services, "li_ming")) == sent
