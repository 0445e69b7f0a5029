"""Who holds a case, so that no complaint is silently lost: a handler who leaves the
organisation hands their cases on; a 交办 nobody confirms is raised with the staff and the
director; a complaint arriving while its leader is away goes to the director, saying why.
In Chinese and in English, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import assignment, roster
from store import org
from store.db import transaction
from store.models import Acknowledgement, Alert, CaseEvent, Notification, Person
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

NUMBER = "C-2026-0001"
ZONE = ZoneInfo("Asia/Shanghai")
FILED_DUE = date(2027, 1, 22)  # filed Monday 2026-11-23: 60 days on


def _people(services: Services, lang: str, *keys: str) -> dict[str, Chat]:
    chats = {k: Chat(services, person=k) for k in keys}
    for chat in chats.values():
        open_menu(chat, lang)  # each reads the bot, and their pushes, in `lang`
    return chats


def _org(tmp_path: Path, text: str) -> org.OrgSpec:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return org.parse_org(path)


def _without_zhao(tmp_path: Path) -> org.OrgSpec:
    """The demo file with 赵国强 gone: wages, contract and hours go to 孙红梅."""
    src = org.demo_org_path().read_text(encoding="utf-8")
    src = re.sub(r"  - key: zhao_guoqiang\n(    .*\n)+", "", src)
    src = (src.replace("sun_hongmei, zhao_guoqiang,", "sun_hongmei,")
           .replace(": zhao_guoqiang", ": sun_hongmei")
           .replace("leaders: [zhao_guoqiang, ", "leaders: ["))
    return _org(tmp_path, src)


def _about(services: Services, key: str, number: str = NUMBER) -> list[str]:
    return [p for p in pushes(services, key) if number in p]


def _timeline(services: Services) -> list[tuple[str, str]]:
    with Session(services.db) as s:
        return [(e.kind, e.note) for e in s.exec(select(CaseEvent).order_by(col(CaseEvent.id)))]


# --- a handler who leaves --------------------------------------------------------------------


def test_a_jiaoban_not_yet_delivered_to_a_handler_who_leaves_never_reaches_them(
        services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    """The dispatcher a tick behind: 赵国强's 交办, with who complained, was still waiting
    when the file was loaded without him. It goes nowhere now; 孙红梅 has the case."""
    c = _people(services, "zh", "li_ming", "zhao_guoqiang", "sun_hongmei")
    file_complaint(c["li_ming"], "zh")
    clock.set(clock.now() + timedelta(minutes=1))
    with transaction(services.db) as s:
        roster.load_file(s, _without_zhao(tmp_path), now=clock.now(),
                         zone=services.settings.zone)
    services.dispatcher.drain()
    assert _about(services, "zhao_guoqiang") == []
    assert len(_about(services, "sun_hongmei")) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_a_handler_who_leaves_hands_the_case_to_who_answers_for_it_now(
        db_services: Services, clock: FrozenClock, tmp_path: Path, lang: str) -> None:
    """赵国强 leaves the file with 李明's wage case open; wages go to 孙红梅. Before, the
    case stayed with him: every reminder and the overdue notice went to a man who had
    left, and the staff and director heard nothing until the day after the deadline."""
    services = db_services
    c = _people(services, lang, "li_ming", "zhao_guoqiang", "sun_hongmei", "liu_fang",
                "chen_lihua")
    file_complaint(c["li_ming"], lang)
    services.dispatcher.drain()
    [first] = _about(services, "zhao_guoqiang")

    with transaction(services.db) as s:
        report = roster.load_file(s, _without_zhao(tmp_path), now=clock.now(),
                                  zone=services.settings.zone)
    assert report.deactivated == ["zhao_guoqiang"]
    assert report.handed_on == [NUMBER]
    services.dispatcher.drain()
    assert the_case(services).handler_id == person(services, "sun_hongmei").id

    wages = t(lang, "opt.category.wages")
    summary = t(lang, "notice.cases_of_leaver", name="赵国强", count=1, lines=t(
        lang, "notice.case_left_line", number=NUMBER, category=wages, name="孙红梅"))
    for key in ("liu_fang", "chen_lihua"):  # told at once, in one push
        assert pushes(services, key).count(summary) == 1, pushes(services, key)
    [told] = _about(services, "sun_hongmei")
    head = t(lang, "notice.case_left_to_you", number=NUMBER, category=wages, old="赵国强",
             status=t(lang, "status.assigned"), affected=3, workshop="铸造车间",
             description="十月份的加班费到现在还没有发下来", outcome="补发加班费",
             complainant="李明", due_on=FILED_DUE.isoformat())
    assert told == f"{head}\n{t(lang, 'nav.ack_prompt')}"
    assert ("handler_left", "赵国强 → 孙红梅") in _timeline(services)

    # Every reminder and the overdue notice go to her; not one more push to him.
    tick(services, clock, at9(FILED_DUE + timedelta(days=1)), step=timedelta(days=1))
    assert _about(services, "zhao_guoqiang") == [first]
    mine = pushes(services, "sun_hongmei")
    for message, left in (("notice.case_remind_half", 30), ("notice.case_remind_week", 7),
                          ("notice.case_remind_day", 1)):
        assert t(lang, message, number=NUMBER, category=wages, due_on=FILED_DUE.isoformat(),
                 days_left=left) in mine
    assert t(lang, "notice.case_overdue", number=NUMBER, category=wages,
             due_on=FILED_DUE.isoformat(), late=1) in mine
    assert pushes(services, "liu_fang").count(summary) == 1  # told once, not at each sweep


@pytest.mark.parametrize("lang", LANGS)
def test_a_reminder_due_for_a_handler_who_left_goes_to_who_takes_the_case(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """A handler made inactive with no hand-over waiting (a load before this release):
    the half-way reminder due for his case hands it on first, and goes to her."""
    services = db_services
    c = _people(services, lang, "li_ming", "zhao_guoqiang", "liu_fang", "chen_lihua")
    file_complaint(c["li_ming"], lang)
    with Session(services.db) as s:
        [alert] = s.exec(select(Alert).where(
            Alert.recipient_id == person(services, "zhao_guoqiang").id)).all()
    press_value(c["zhao_guoqiang"], f"ack:{alert.id}")  # he had confirmed it
    with transaction(services.db) as s:
        zhao = s.exec(select(Person).where(Person.key == "zhao_guoqiang")).one()
        zhao.active = False
        s.add(zhao)
    services.dispatcher.drain()
    before = _about(services, "zhao_guoqiang")

    tick(services, clock, at9(date(2026, 12, 23)))  # the half-way reminder's morning
    wages = t(lang, "opt.category.wages")
    half = t(lang, "notice.case_remind_half", number=NUMBER, category=wages,
             due_on=FILED_DUE.isoformat(), days_left=30)
    # The responsibility still names him: the director takes it.
    assert the_case(services).handler_id == person(services, "chen_lihua").id
    assert half in pushes(services, "chen_lihua")
    assert _about(services, "zhao_guoqiang") == before
    assert pushes(services, "liu_fang").count(t(
        lang, "notice.cases_of_leaver", name="赵国强", count=1, lines=t(
            lang, "notice.case_left_line", number=NUMBER, category=wages,
            name="陈丽华"))) == 1


def test_a_load_that_is_not_the_clis_hands_the_cases_on_at_the_next_sweep(
        db_services: Services, clock: FrozenClock, tmp_path: Path) -> None:
    """store.org.load_org called directly leaves a timer: the sweep hands the cases on."""
    services = db_services
    li = Chat(services, person="li_ming")
    file_complaint(li, "zh")
    with transaction(services.db) as s:
        org.load_org(s, _without_zhao(tmp_path), now=clock.now())
    services.sweeper.run_once()
    services.dispatcher.drain()
    assert the_case(services).handler_id == person(services, "sun_hongmei").id
    assert [p.splitlines()[0] for p in _about(services, "sun_hongmei")] == [
        f"【交办】{NUMBER} 工资福利"]


# --- a 交办 nobody confirms -------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_jiaoban_not_confirmed_within_a_working_day_is_raised_with_staff_and_director(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """A safety complaint filed on Friday goes to 吴建军, who never presses 收到. Before,
    30 days passed in silence. Now on Monday morning (a working day later) the staff and
    the director are told, with the button to pass it on, and he is reminded."""
    services = db_services
    friday = date(2026, 11, 27)
    clock.set(at9(friday))
    c = _people(services, lang, "li_ming", "wu_jianjun", "liu_fang", "chen_lihua")
    file_complaint(c["li_ming"], lang, category="safety")
    case = the_case(services)
    said = t(lang, "notice.case_unconfirmed", number=NUMBER,
             category=t(lang, "opt.category.safety"), handler="吴建军",
             assigned_at=f"{friday} 09:00", days=assignment.ACK_WORKDAYS,
             due_on=case.due_on.isoformat(), times=assignment.ACK_TELLS)
    tick(services, clock, at9(date(2026, 11, 30)) - timedelta(minutes=1))
    assert said not in pushes(services, "liu_fang")
    tick(services, clock, at9(date(2026, 11, 30)))
    for key in ("liu_fang", "chen_lihua"):
        assert pushes(services, key).count(said) == 1
    assert len(_about(services, "wu_jianjun")) == 2  # his 交办, and asked to confirm it
    assert ("unconfirmed", "吴建军") in _timeline(services)

    # The push's button opens 转办 on that case: the staff pass it on.
    [pushed] = [m for m in c["liu_fang"].inbox() if m.text == said]
    assert [b["label"] for b in pushed.buttons] == [t(lang, "nav.reassign_case")]
    liu = c["liu_fang"]
    press_value(liu, pushed.buttons[0]["value"])
    liu.press("孙红梅（党委书记）" if lang == "zh" else "孙红梅 (党委书记)")
    liu.say("吴建军未确认，改由孙书记办理")
    liu.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.reassign", number=NUMBER, name="孙红梅") in liu.text
    tick(services, clock, at9(date(2026, 12, 3)))  # told once; her own watch is hers
    assert pushes(services, "liu_fang").count(said) == 1
    # (The staff's 新登记问题 named him as the one it went to, when it was filed.)
    registered = t(lang, "notice.case_staff", number=NUMBER,
                   category=t(lang, "opt.category.safety"),
                   summary="十月份的加班费到现在还没有发下来", name="吴建军",
                   due_on=case.due_on.isoformat())
    assert not [p for p in pushes(services, "liu_fang")
                if "吴建军" in p and p not in (said, registered)]
    assert len(_about(services, "wu_jianjun")) == 3  # and that it went to 孙红梅


@pytest.mark.parametrize("lang", LANGS)
def test_a_jiaoban_sent_at_night_and_never_confirmed_is_reminded_each_working_morning(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """A wages complaint filed Tuesday 23:30 goes to 赵国强, who never presses 收到.
    Before, the staff and the director were told once, Wednesday at 23:30, and he never
    heard again. Now on Thursday, Friday and Monday at 09:00 he is asked to confirm it
    (with the button) and the staff and the director are told, the last time saying so;
    then nothing more."""
    services = db_services
    night = datetime(2026, 11, 24, 23, 30, tzinfo=ZONE)
    clock.set(night)
    c = _people(services, lang, "li_ming", "zhao_guoqiang", "liu_fang", "chen_lihua")
    file_complaint(c["li_ming"], lang)
    services.dispatcher.drain()
    case = the_case(services)
    wages = t(lang, "opt.category.wages")
    facts = {"number": NUMBER, "category": wages, "assigned_at": "2026-11-24 23:30",
             "due_on": case.due_on.isoformat()}

    def raised(days: int, key: str = "notice.case_unconfirmed") -> str:
        return t(lang, key, **facts, handler="赵国强", days=days, times=3)

    def asked(days: int) -> str:
        return t(lang, "notice.case_ack_remind", **facts, days=days) + "\n" \
            + t(lang, "nav.ack_prompt")

    def unconfirmed(key: str) -> list[str]:
        return [p for p in pushes(services, key) if p.startswith(raised(1)[:6])]

    tick(services, clock, datetime(2026, 11, 26, 8, 59, tzinfo=ZONE), timedelta(hours=1))
    assert len(_about(services, "zhao_guoqiang")) == 1  # his 交办 only
    assert unconfirmed("liu_fang") == unconfirmed("chen_lihua") == []
    tick(services, clock, at9(date(2026, 11, 26)))
    zhao = c["zhao_guoqiang"]
    [reminder] = [m for m in zhao.inbox() if m.text == asked(1)]
    assert [b["label"] for b in reminder.buttons] == [t(lang, "nav.ack")]
    tick(services, clock, at9(date(2026, 12, 4)), timedelta(hours=3))
    for key in ("liu_fang", "chen_lihua"):
        assert unconfirmed(key) == [
            raised(1), raised(2), raised(3, "notice.case_unconfirmed_last")]
    assert _about(services, "zhao_guoqiang")[1:] == [asked(1), asked(2), asked(3)]
    with Session(services.db) as s:
        told = [n.created_at.astimezone(ZONE).strftime("%m-%d %H:%M") for n in s.exec(
            select(Notification).where(col(Notification.idempotency_key).contains(
                "unconfirmed")).order_by(col(Notification.id)))]
    assert told == ["11-26 09:00"] * 2 + ["11-27 09:00"] * 2 + ["11-30 09:00"] * 2


@pytest.mark.parametrize("lang", LANGS)
def test_a_jiaoban_confirmed_from_its_reminder_is_not_raised_again(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 presses 收到 on the reminder of his 交办: nobody hears of it again."""
    services = db_services
    c = _people(services, lang, "li_ming", "zhao_guoqiang", "liu_fang")
    file_complaint(c["li_ming"], lang)
    tick(services, clock, at9(date(2026, 11, 24)))
    zhao = c["zhao_guoqiang"]
    [reminder] = [m for m in zhao.inbox() if m.text.startswith(
        t(lang, "notice.case_ack_remind", number="", category="", assigned_at="", days=1,
          due_on="")[:6])]
    press_value(zhao, reminder.buttons[0]["value"])
    before = pushes(services, "liu_fang")
    tick(services, clock, at9(date(2026, 12, 4)))
    assert [p for p in pushes(services, "liu_fang") if p not in before] == []
    assert len(_about(services, "zhao_guoqiang")) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_a_jiaoban_passed_on_asks_its_first_handler_no_more_until_it_comes_back(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 has not confirmed his wage case when 刘芳 passes it to 孙红梅 (转办). Before,
    his 交办 still asked for his 收到, which then recorded that he had taken it. Now it
    says it went to 孙红梅 and when, without its buttons; he is told it is off his hands
    once, as before; his 收到, pressed or typed "收到 C-2026-0001", is told so and records
    nothing. Given back to him, its new 交办 asks for his 收到 again, and takes it."""
    c = _people(services, lang, "li_ming", "zhao_guoqiang", "sun_hongmei", "liu_fang")
    file_complaint(c["li_ming"], lang)
    services.dispatcher.drain()
    zhao = c["zhao_guoqiang"]
    first, ack = alert_asking_ack(zhao, NUMBER)
    clock.advance(timedelta(hours=1))
    sun = "孙红梅（党委书记）" if lang == "zh" else "孙红梅 (党委书记)"
    case_action(c["liu_fang"], lang, NUMBER, "reassign", f"[{sun}]", "分管领导出差")
    services.dispatcher.drain()

    handed = t(lang, "notice.case_handed_on", number=NUMBER, category=t(
        lang, "opt.category.wages"), by="刘芳", name="孙红梅", reason="分管领导出差")
    assert _about(services, "zhao_guoqiang") == [
        first.text.removesuffix("\n" + t(lang, "nav.ack_prompt")) + "\n"
        + t(lang, "notice.alert_passed", name="孙红梅", at="2026-11-23 10:00"), handed]
    assert [m.buttons for m in zhao.inbox() if m.id == first.id] == [[]]
    passed = t(lang, "ack.passed_on", number=NUMBER, name="孙红梅", at="10:00")
    assert press_value(zhao, ack)[0].text == passed
    assert zhao.say(f"{t(lang, 'nav.ack')} {NUMBER}")[0].text == passed
    with Session(services.db) as s:
        assert s.exec(select(Acknowledgement)).all() == []

    back = "赵国强（总经理）" if lang == "zh" else "赵国强 (总经理)"
    case_action(c["sun_hongmei"], lang, NUMBER, "reassign", f"[{back}]", "工资归赵总分管")
    services.dispatcher.drain()
    again, ack_again = alert_asking_ack(zhao, NUMBER, pushed_after=2)
    assert again.text.startswith(t(lang, "notice.case_passed", number=NUMBER, by="孙红梅",
                                   reason="工资归赵总分管", category="", affected="",
                                   workshop="", description="", outcome="", complainant="",
                                   due_on="")[:6])
    assert ack_again == ack  # the same alert, his again
    assert press_value(zhao, ack_again)[0].text == t(lang, "ack.done", at="10:00")
    his = person(services, "zhao_guoqiang").id
    with Session(services.db) as s:
        assert [a.person_id for a in s.exec(select(Acknowledgement).where(
            Acknowledgement.alert_id == int(ack.removeprefix("ack:"))))] == [his]


def test_a_jiaoban_not_yet_delivered_when_its_case_is_passed_on_never_reaches_them(
        services: Services, clock: FrozenClock) -> None:
    """The dispatcher a tick behind: 赵国强's 交办 was still waiting when 刘芳 passed the
    case to 孙红梅. It no longer goes to him, asking for a 收到 his press could not give:
    he reads only that the case went to her; hers asks for her 收到."""
    c = _people(services, "zh", "li_ming", "zhao_guoqiang", "sun_hongmei", "liu_fang")
    file_complaint(c["li_ming"], "zh")
    case_action(c["liu_fang"], "zh", NUMBER, "reassign", "[孙红梅（党委书记）]", "分管领导出差")
    services.dispatcher.drain()
    assert _about(services, "zhao_guoqiang") == [t(
        "zh", "notice.case_handed_on", number=NUMBER, category=t("zh", "opt.category.wages"),
        by="刘芳", name="孙红梅", reason="分管领导出差")]
    alert_asking_ack(c["sun_hongmei"], NUMBER)


@pytest.mark.parametrize("lang", LANGS)
def test_only_the_jiaoban_neither_confirmed_nor_worked_on_is_raised(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """Three cases given out on Monday: 吴建军 presses 收到, 赵国强 records progress
    without pressing it (his work is his 收到), 孙红梅 does neither. On Tuesday morning
    the staff and the director hear of hers alone."""
    services = db_services
    c = _people(services, lang, "li_ming", "wu_jianjun", "zhao_guoqiang", "liu_fang",
                "chen_lihua")
    for category in ("wages", "safety", "management"):  # C-2026-0001, -0002, -0003
        file_complaint(c["li_ming"], lang, category=category)
    services.dispatcher.drain()
    wu = c["wu_jianjun"]
    wu.press(t(lang, "menu.my_alerts"))
    wu.press(t(lang, "nav.ack"))
    case_action(c["zhao_guoqiang"], lang, NUMBER, "note", "已与财务科沟通")
    tick(services, clock, at9(date(2026, 11, 24)))

    def raised(key: str) -> list[str]:
        mark = t(lang, "notice.case_unconfirmed", number="", category="", handler="",
                 assigned_at="", days=1, due_on="", times=3)[:6]
        return [re.findall(r"C-\d{4}-\d{4}", p)[0]
                for p in pushes(services, key) if p.startswith(mark)]

    for key in ("liu_fang", "chen_lihua"):
        assert raised(key) == ["C-2026-0003"], pushes(services, key)


# --- a leader away --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_while_its_leader_is_away_in_the_file_goes_to_the_director(
        db_services: Services, clock: FrozenClock, tmp_path: Path, lang: str) -> None:
    """The file marks 吴建军 away on a trip to 12-31; a safety complaint comes in. Before,
    it went to him anyway and only the half-way reminder followed. Now the director has
    it, and the complainant, the director and the staff read why."""
    services = db_services
    text = org.demo_org_path().read_text(encoding="utf-8") + (
        "\naway:\n  - {leader: wu_jianjun, from: 2026-11-23, to: 2026-12-31, kind: trip}\n")
    with transaction(services.db) as s:
        roster.load_file(s, _org(tmp_path, text), now=clock.now(), zone=services.settings.zone)
    c = _people(services, lang, "li_ming", "liu_fang", "chen_lihua")
    services.dispatcher.drain()
    done = file_complaint(c["li_ming"], lang, category="safety")
    case = the_case(services)
    away = t(lang, "case.away.trip")
    assert t(lang, "complaint.done_away", number=NUMBER, away=away, until="2026-12-31",
             due_on=case.due_on.isoformat(), days=60) in done
    assert case.handler_id == person(services, "chen_lihua").id
    services.dispatcher.drain()
    safety = t(lang, "opt.category.safety")
    [told] = _about(services, "chen_lihua")
    assert told.startswith(t(lang, "notice.case_new_away", number=NUMBER, category=safety,
                             leader="吴建军", away=away, until="2026-12-31", affected=3,
                             workshop="铸造车间", description="十月份的加班费到现在还没有发下来",
                             outcome="补发加班费", complainant="李明",
                             due_on=case.due_on.isoformat()))
    assert t(lang, "notice.case_staff_away", number=NUMBER, category=safety,
             summary="十月份的加班费到现在还没有发下来", leader="吴建军",
             away=away, until="2026-12-31", name="陈丽华",
             due_on=case.due_on.isoformat()) in pushes(services, "liu_fang")
    assert _about(services, "wu_jianjun") == []
    assert ("leader_away", "trip|2026-12-31|吴建军|陈丽华") in _timeline(services)

    # Back from the trip, the next safety complaint is his again.
    clock.set(at9(date(2027, 1, 4)))
    ma = _people(services, lang, "ma_chao")["ma_chao"]
    later = file_complaint(ma, lang, category="safety")
    back = the_case(services, "C-2027-0001")
    assert t(lang, "complaint.done", number=back.number, due_on=back.due_on.isoformat(),
             days=60) in later
    assert back.handler_id == person(services, "wu_jianjun").id


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_while_its_leader_is_on_leave_recorded_in_chat_goes_to_the_director(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """The staff record 吴建军's leave for the roster in chat: the case assignment heeds it."""
    services = db_services
    c = _people(services, lang, "li_ming", "liu_fang", "chen_lihua")
    staff = c["liu_fang"]
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.away"))
    staff.press_starting("吴建军")
    staff.say("2026-11-23")
    staff.say("2026-11-27")
    staff.press(t(lang, "opt.away_kind.leave"))
    staff.press(t(lang, "nav.confirm"))
    done = file_complaint(c["li_ming"], lang, category="safety")
    case = the_case(services)
    assert t(lang, "complaint.done_away", number=NUMBER, away=t(lang, "case.away.leave"),
             until="2026-11-27", due_on=case.due_on.isoformat(), days=60) in done
    assert case.handler_id == person(services, "chen_lihua").id
    services.dispatcher.drain()
    assert _about(services, "wu_jianjun") == []
    assert [p.splitlines()[1] for p in _about(services, "chen_lihua")] == [t(
        lang, "notice.case_new_away", number="", category="", leader="吴建军",
        away=t(lang, "case.away.leave"), until="2026-11-27", affected="", workshop="",
        description="", outcome="", complainant="", due_on="").splitlines()[1]]
    # Passing it on (转办), the director reads who is away before choosing them.
    director = c["chen_lihua"]
    offered(director, lang, NUMBER)
    director.press(t(lang, "opt.case_action.reassign"))
    post = person(services, "wu_jianjun").post
    wu = f"吴建军（{post}）" if lang == "zh" else f"吴建军 ({post})"
    assert t(lang, "assignee.away", who=wu, away=t(lang, "case.away.leave"),
             until="11-27") in choices(director)
