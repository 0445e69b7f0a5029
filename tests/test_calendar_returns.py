"""The liaisons' returns, the warning ledger, the reports' approval and the field work, in
both languages, with what is refused and why."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.calendar_models import Dispute, Report, ScreeningReturn, WorkLog
from store.db import transaction
from store.models import Incident, Person
from tests.calendar_helpers import (
    at,
    last_push,
    last_starting,
    pushes,
    rows,
    run_until,
    tap,
    workbook,
)
from tests.case_helpers import choices
from tests.conftest import make_services
from tests.transcript import LANGS, Chat, open_menu, t


def screening_asked(services: Services, clock: FrozenClock) -> None:
    run_until(services, clock, at(11, 25, 9, 30))


@pytest.mark.parametrize("lang", LANGS)
def test_a_liaison_files_a_return_in_their_language(services: Services, clock: FrozenClock,
                                                   lang: str) -> None:
    zhou = Chat(services, person="zhou_min")
    open_menu(zhou, lang)  # the liaison's language is kept
    screening_asked(services, clock)
    ask = last_push(services, "zhou_min")
    assert ask.text == t(lang, "notice.screening_ask", month="2026-11", workshop="机加工车间",
                         due="2026-11-30")
    assert [b["label"] for b in ask.buttons] == [t(lang, "opt.screening_answer.zero"),
                                                 t(lang, "opt.screening_answer.dispute")]
    # A low-risk dispute: registered, not on the warning ledger.
    tap(zhou, ask, t(lang, "opt.screening_answer.dispute"))
    zhou.say("换季劳保用品发放晚了")
    zhou.say("about 12")
    zhou.press(t(lang, "opt.risk.low"))
    for answer in ("后勤部", "李科长", "本周内补发", "2026-11-01"):
        zhou.say(answer)
    zhou.press(t(lang, "nav.confirm"))
    assert t(lang, "screening.past_deadline") in zhou.text  # asked again
    zhou.say("2026-12-04")
    zhou.press(t(lang, "nav.confirm"))
    assert t(lang, "screening.done_dispute", number="D-2026-0001", workshop="机加工车间",
             month="2026-11", count=1) in zhou.text
    # "Nothing to report" after a dispute is refused; the return stays filed.
    tap(zhou, ask, t(lang, "opt.screening_answer.zero"))
    assert t(lang, "screening.has_disputes", workshop="机加工车间", month="2026-11") \
        in zhou.text
    with Session(services.db) as s:
        dispute = s.exec(select(Dispute)).one()
        assert (dispute.people, dispute.risk, dispute.warning) == (12, "low", False)
        ret = s.get(ScreeningReturn, dispute.return_id)
        assert ret is not None and ret.status == "reported"
    services.dispatcher.drain()
    assert not any("D-2026-0001" in p for p in pushes(services, "chen_lihua"))


def missing_notice(lang: str, month: str, lines: list[list[Any]]) -> str:
    """The director's 未报 push as the reader sees it: [key, params] per line."""
    return t(lang, "notice.screening_missing", month=month, count=len(lines),
             lines="\n".join(t(lang, key, **params) for key, params in lines))


def missing_pushes(services: Services, key: str) -> list[str]:
    return [p for p in pushes(services, key)
            if p.startswith(("【排查未报】", "[SCREENING MISSING]"))]


@pytest.mark.parametrize("lang", LANGS)
def test_a_return_filed_late_on_the_30th_is_on_time_and_never_reported_missing(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: the pushes say "by 2026-11-30" (the seed's window is the 25th–30th),
    but the director was told at 17:00 on the 30th that the return was missing, and one
    filed that evening was recorded late. The window now ends with the 30th: the director
    hears the next morning of those still missing, and only a return filed after the 30th
    is late."""
    zhou, he = Chat(services, person="zhou_min"), Chat(services, person="he_jun")
    director = Chat(services, person="chen_lihua")
    for chat in (zhou, he, director):
        open_menu(chat, lang)
    run_until(services, clock, at(11, 30, 23, 50))
    assert missing_pushes(services, "chen_lihua") == []  # the window is still open
    tap(zhou, last_push(services, "zhou_min"), t(lang, "opt.screening_answer.zero"))
    assert t(lang, "screening.done_zero", workshop="机加工车间", month="2026-11") in zhou.text
    clock.set(at(12, 1, 0, 10))  # ten minutes past the window: late
    tap(he, last_push(services, "he_jun"), t(lang, "opt.screening_answer.zero"))
    run_until(services, clock, at(12, 1, 10))
    assert missing_pushes(services, "chen_lihua") == [missing_notice(lang, "2026-11", [
        ["screening.missing_line", {"workshop": "铸造车间", "liaison": "王强"}],
        ["screening.missing_line_none", {"workshop": "综合办公室"}]])]
    sheet = rows(workbook(services, "screening", lang=lang, month="2026-11")[
        t(lang, "export.sheet.returns")])
    assert [(r[0], r[2], r[5]) for r in sheet[1:3]] == [
        # still missing once the window is over: late (漏报), as the one filed after it
        ("铸造车间", t(lang, "screening.status.pending"), t(lang, "export.yes")),
        ("机加工车间", t(lang, "screening.status.zero"), t(lang, "export.no"))]
    assert (sheet[3][0], sheet[3][5]) == ("总装车间", t(lang, "export.yes"))


def test_the_screening_chases_and_reports_on_working_days(services: Services,
                                                        clock: FrozenClock) -> None:
    """Regression: the chase went out on Saturday 11-28, January's 未报 report on Saturday
    01-30, and in February the chase (09:00) and the report (17:00) fell on the same day,
    the chase saying "by 02-28" on 02-28. A chase on a day off now goes out the working day
    before, a report the working day after; the window stays the 25th to the 30th."""
    def chased(month: str) -> list[str]:  # its first line (earlier months follow)
        return [p.split("\n")[0] for p in pushes(services, "he_jun")
                if p.startswith(f"【排查催报】总装车间 {month}")]

    def reported(month: str) -> list[str]:
        return [p for p in missing_pushes(services, "chen_lihua") if f"】{month} " in p]

    run_until(services, clock, at(11, 27, 10))  # Friday: Saturday's chase, a day early
    assert chased("2026-11") == [t("zh", "notice.screening_chase", workshop="总装车间",
                                   month="2026-11", due="2026-11-30")]
    run_until(services, clock, at(12, 1, 8))
    assert reported("2026-11") == []
    run_until(services, clock, at(12, 1, 10))  # Tuesday, the morning after the window
    assert len(reported("2026-11")) == 1
    # January's window ends on a Saturday: the director hears on Monday.
    run_until(services, clock, at(1, 28, 10, year=2027))
    assert len(chased("2027-01")) == 1
    run_until(services, clock, at(1, 31, 23, year=2027))
    assert reported("2027-01") == []
    run_until(services, clock, at(2, 1, 10, year=2027))
    assert len(reported("2027-01")) == 1
    # February: chased on Friday 02-26, two days before its end (a Sunday), reported on
    # Monday 03-01; never both the same day.
    run_until(services, clock, at(2, 26, 10, year=2027))
    assert chased("2027-02") == [t("zh", "notice.screening_chase", workshop="总装车间",
                                   month="2027-02", due="2027-02-28")]
    run_until(services, clock, at(2, 28, 23, year=2027))
    assert reported("2027-02") == []
    run_until(services, clock, at(3, 1, 10, year=2027))
    assert len(reported("2027-02")) == 1
    # Four rounds of four returns, none filed: the staff's list shows every one of them,
    # past the length a list is otherwise cut at (15).
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("矛盾纠纷排查")
    shown = [label for label in staff.labels() if label.endswith(" · 未报")]
    assert len(shown) == 16 and shown[0] == "铸造车间 2027-02 · 未报"
    assert shown[-1] == "综合办公室 2026-11 · 未报"


@pytest.mark.parametrize("lang", LANGS)
def test_a_missed_return_stays_before_the_liaison_and_the_director_until_filed(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: a return still missing after its month was never chased again, the
    next month's pushes did not mention it, and it fell off the liaison's list after two
    rounds, so it could never be filed (漏报 for good). Now each later ask and chase names
    it to the liaison, each later report to the director, the list always shows it, and
    it can be filed late."""
    chats = {k: Chat(services, person=k) for k in ("wang_qiang", "zhou_min", "he_jun",
                                                   "liu_fang", "chen_lihua")}
    for chat in chats.values():
        open_menu(chat, lang)
    he, staff = chats["he_jun"], chats["liu_fang"]
    zero = t(lang, "opt.screening_answer.zero")
    shops = {"wang_qiang": "铸造车间", "zhou_min": "机加工车间", "he_jun": "总装车间"}

    def all_file_but(month: str, *, he_too: bool) -> None:
        for key in ("wang_qiang", "zhou_min", *(("he_jun",) if he_too else ())):
            tap(chats[key], last_push(services, key), zero)
            assert t(lang, "screening.done_zero", workshop=shops[key],
                     month=month) in chats[key].text
        staff.say("menu")
        staff.press(t(lang, "menu.cal_screening"))
        staff.press(t(lang, "screening.option", workshop="综合办公室", month=month,
                      status=t(lang, "screening.status.pending")))
        staff.press(zero)
        staff.press(t(lang, "nav.confirm"))
        assert t(lang, "screening.done_zero", workshop="综合办公室", month=month) in staff.text

    # November: 总装车间 alone files nothing.
    run_until(services, clock, at(11, 25, 10))
    all_file_but("2026-11", he_too=False)
    # December: the ask names November, still missing, with the list to file it from.
    run_until(services, clock, at(12, 25, 10))
    ask = last_push(services, "he_jun")
    assert ask.text == t(lang, "notice.screening_ask", workshop="总装车间", month="2026-12",
                         due="2026-12-30") + "\n" + t(lang, "screening.earlier",
                                                        months="2026-11")
    assert [b["label"] for b in ask.buttons] == [
        zero, t(lang, "opt.screening_answer.dispute"), t(lang, "menu.cal_screening")]
    all_file_but("2026-12", he_too=True)
    # December is in, November is not: he is chased for November, the director told.
    run_until(services, clock, at(12, 28, 10))
    overdue = last_push(services, "he_jun")
    assert overdue.text == t(lang, "notice.screening_overdue", workshop="总装车间",
                             months="2026-11")
    assert [b["label"] for b in overdue.buttons] == [t(lang, "menu.cal_screening")]
    run_until(services, clock, at(12, 31, 10))
    assert missing_pushes(services, "chen_lihua")[-1] == t(
        lang, "notice.screening_missing_earlier", month="2026-12", count=1,
        lines=t(lang, "screening.missing_earlier_line", workshop="总装车间",
                months="2026-11", liaison="何军"))
    # January: nobody files; its chase and its report name November as well.
    run_until(services, clock, at(1, 28, 10, year=2027))
    assert last_push(services, "he_jun").text == t(
        lang, "notice.screening_chase", workshop="总装车间", month="2027-01",
        due="2027-01-30") + "\n" + t(lang, "screening.earlier", months="2026-11")
    run_until(services, clock, at(2, 1, 10, year=2027))
    assert missing_pushes(services, "chen_lihua")[-1] == missing_notice(lang, "2027-01", [
        ["screening.missing_line", {"workshop": name, "liaison": liaison}]
        for name, liaison in (("铸造车间", "王强"), ("机加工车间", "周敏"), ("总装车间", "何军"))
    ] + [["screening.missing_line_none", {"workshop": "综合办公室"}]]) + "\n" + "\n".join(
        [t(lang, "screening.missing_earlier_title"),
         t(lang, "screening.missing_earlier_line", workshop="总装车间", months="2026-11",
           liaison="何军")])
    # Three rounds on, November is still on his list, and is filed, late.
    tap(he, overdue, t(lang, "menu.cal_screening"))
    assert he.labels()[:3] == [
        t(lang, "screening.option", workshop="总装车间", month=month,
          status=t(lang, f"screening.status.{status}"))
        for month, status in (("2027-01", "pending"), ("2026-12", "zero"),
                              ("2026-11", "pending"))]
    he.press(he.labels()[2])
    he.press(zero)
    he.press(t(lang, "nav.confirm"))
    assert t(lang, "screening.done_zero", workshop="总装车间", month="2026-11") in he.text
    with Session(services.db) as s:
        he_id = s.exec(select(Person.id).where(Person.key == "he_jun")).one()
        assert [r.late for r in s.exec(select(ScreeningReturn).where(
            ScreeningReturn.answered_by == he_id).order_by(col(ScreeningReturn.id)))] == [
            True, False]  # November late, December on time


def test_one_liaison_cannot_file_another_workshops_return(services: Services,
                                                         clock: FrozenClock) -> None:
    screening_asked(services, clock)
    other = last_push(services, "he_jun")  # 总装车间's buttons, pressed by 铸造车间's liaison
    wang = Chat(services, person="wang_qiang")
    tap(wang, other, "零报告（本月无矛盾纠纷）")
    assert "零报告已收到" not in wang.text
    with Session(services.db) as s:
        assert {r.status for r in s.exec(select(ScreeningReturn))} == {"pending"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_warning_becomes_an_emergency_in_one_step(services: Services, clock: FrozenClock,
                                                    lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    screening_asked(services, clock)
    # The staff file 总装车间's return, phoned in by its liaison.
    staff.say("menu")
    staff.press(t(lang, "menu.cal_screening"))
    staff.press(next(b.label for r in staff.replies for b in r.buttons
                     if b.label.startswith("总装车间")))
    staff.press(t(lang, "opt.screening_answer.dispute"))
    staff.say("停产检修期间工资按最低标准发放，职工聚集")
    staff.say("45")
    staff.say("高" if lang == "zh" else "high")  # typed from a phone: the risk's one word
    for answer in ("人力资源部", "赵经理", "当面解释并研究补偿", "2026-12-10"):
        staff.say(answer)
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "screening.done_warning", number="D-2026-0001", workshop="总装车间",
             month="2026-11", count=1) in staff.text
    services.dispatcher.drain()
    warning = last_push(services, "liu_fang")
    tap(staff, warning, t(lang, "opt.warning_action.emergency"))
    assert staff.text.startswith(t(lang, "warning_action.done_emergency", number="D-2026-0001",
                                   incident="E-2026-0001", alerted="@").split("@")[0])
    with Session(services.db) as s:
        incident = s.exec(select(Incident)).one()
        assert (incident.what, incident.place, incident.people) == (
            "停产检修期间工资按最低标准发放，职工聚集", "总装车间", 45)
        assert s.exec(select(Dispute)).one().incident_id == incident.id
    services.dispatcher.drain()
    assert any(p.startswith("【紧急】E-2026-0001") or p.startswith("[EMERGENCY] E-2026-0001")
               for p in pushes(services, "chen_lihua"))
    # The warning has left the list of those waiting: its button now says so.
    tap(staff, warning, t(lang, "opt.warning_action.case"))
    assert t(lang, "warning_action.empty") in staff.text
    staff.say("menu")
    staff.press(t(lang, "menu.cal_warnings"))
    assert t(lang, "warning.title", count=1) in staff.text
    assert "E-2026-0001" in staff.text


def test_a_warning_of_a_workshop_already_in_an_emergency_joins_that_emergency(
        services: Services, clock: FrozenClock) -> None:
    # A worker reported an emergency in 总装车间 a moment ago; the staff then turn a
    # warning of the same workshop into an emergency: it is one more report of the
    # incident being handled (no second chain), and the staff are told which one.
    staff = Chat(services, person="liu_fang")
    open_menu(staff, "zh")
    screening_asked(services, clock)
    staff.say("menu")
    staff.press(t("zh", "menu.cal_screening"))
    staff.press(next(b.label for r in staff.replies for b in r.buttons
                     if b.label.startswith("总装车间")))
    staff.press(t("zh", "opt.screening_answer.dispute"))
    staff.say("停产检修期间工资按最低标准发放，职工聚集")
    staff.say("45")
    staff.press(t("zh", "opt.risk.high"))
    for answer in ("人力资源部", "赵经理", "当面解释并研究补偿", "2026-12-10"):
        staff.say(answer)
    staff.press(t("zh", "nav.confirm"))
    services.dispatcher.drain()
    warning = last_push(services, "liu_fang")
    worker = Chat(services, person="li_ming")
    open_menu(worker, "zh")
    worker.press(t("zh", "menu.emergency"))
    worker.say("总装车间门口职工聚集")
    worker.say("总装车间")
    worker.press(t("zh", "nav.send_now"))
    tap(staff, warning, t("zh", "opt.warning_action.emergency"))

    with Session(services.db) as s:
        [incident] = s.exec(select(Incident)).all()
        assert s.exec(select(Dispute)).one().incident_id == incident.id
    assert staff.text.startswith(t("zh", "warning_action.done_emergency", number="D-2026-0001",
                                   incident=incident.number, alerted="@").split("@")[0])
    services.dispatcher.drain()
    assert any(p.startswith(f"【紧急·补充】{incident.number}")
               for p in pushes(services, "chen_lihua"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_report_returned_then_approved_late(services: Services, clock: FrozenClock,
                                             lang: str) -> None:
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(staff, lang)
    open_menu(director, lang)
    run_until(services, clock, at(12, 3, 9, 30))  # Thursday: the weekly report's draft
    drafted = last_push(services, "liu_fang")
    week = t(lang, "report.week", year=2026, week=48, first="11-23", last="11-29")
    assert drafted.text.startswith(t(lang, "notice.report_drafted", title="@", period=week,
                                     due_at="", lines="").split("@")[0])
    # Staff cannot approve: they are offered a note and the submission only.
    tap(staff, drafted, t(lang, "menu.cal_report_action"))
    assert choices(staff) == [t(lang, "opt.report_action.note"),
                              t(lang, "opt.report_action.submit")]
    staff.press(t(lang, "opt.report_action.submit"))
    staff.press(t(lang, "nav.confirm"))
    services.dispatcher.drain()
    submitted = last_push(services, "chen_lihua")
    tap(director, submitted, t(lang, "menu.cal_report_action"))
    director.press(t(lang, "opt.report_action.return"))
    director.say("请补充本周接访情况")
    director.press(t(lang, "nav.confirm"))
    services.dispatcher.drain()
    title = t(lang, "report.title.weekly")
    assert t(lang, "notice.report_returned", title=title, period=week,
             reason="请补充本周接访情况") == last_push(services, "liu_fang").text
    # 17:00 passes: late, the director told; approving now sends it marked late.
    run_until(services, clock, at(12, 3, 17, 1))
    [late] = [p for p in pushes(services, "chen_lihua") if p.startswith(t(
        lang, "notice.cal_report_late", title=title, period=week, due_at="2026-12-03 17:00",
        status=t(lang, "report.status.returned"), lines="@").split("@")[0])]
    assert t(lang, "report.figure.cases_new") in late  # with what she is to approve
    tap(director, submitted, t(lang, "menu.cal_report_action"))
    director.press(t(lang, "opt.report_action.approve"))
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.approve_late", title=title, period=week,
             count=1) in director.text
    services.dispatcher.drain()
    assert pushes(services, "qian_wenjing")[-1].startswith(
        "【工作周通报·迟报】2026年第48周（11-23 至 11-29）\n")
    with Session(services.db) as s:
        report = s.exec(select(Report)).one()
        assert (report.status, report.late) == ("sent", True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_director_reads_the_weekly_report_she_approves(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A complaint is filed on Monday 11-23; nobody submits the week's report. Before,
    the director's only push was "工作周通报 2026-W48 尚未报送" without a figure, and 报告审核
    offered her 补充说明 and 提交主任审批 (to herself). Now her reminder names the week
    by its dates and carries the report's lines, and she is offered approve and return."""
    from tests.case_helpers import file_complaint

    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    file_complaint(Chat(services, person="li_ming"), lang)
    run_until(services, clock, at(12, 3, 15, 1))  # Thursday: the weekly report's reminder
    title = t(lang, "report.title.weekly")
    week = t(lang, "report.week", year=2026, week=48, first="11-23", last="11-29")

    def figure(name: str, count: int) -> str:
        return t(lang, "report.figure_line", label=t(lang, f"report.figure.{name}"),
                 count=count)

    figures = {name: 0 for name in ("suggestions", "cases_new", "cases_closed", "cases_open",
                                    "cases_overdue", "leader_cases", "visits", "bookings",
                                    "disputes", "warnings", "incidents", "field_visits")}
    figures.update(cases_new=1, cases_open=1)
    reminder = last_push(services, "chen_lihua")
    assert reminder.text == t(
        lang, "notice.report_remind", title=title, period=week,
        status=t(lang, "report.status.draft"), due_at="2026-12-03 17:00",
        lines="\n".join(figure(k, n) for k, n in figures.items()))
    assert "W48" not in reminder.text
    tap(director, reminder, t(lang, "menu.cal_report_action"))
    assert choices(director) == [t(lang, "opt.report_action.approve"),
                                 t(lang, "opt.report_action.return")]
    # The form asks her to approve what it shows her: the figures, above the question,
    # in the message that has the buttons (before, only "要做什么？").
    asked = director.replies[-1].text
    assert asked.startswith(t(
        lang, "report_action.content.weekly", title=title, period=week,
        status=t(lang, "report.status.draft"),
        due=t(lang, "report_action.due", due_at="2026-12-03 17:00"),
        lines="\n".join(figure(k, n) for k, n in figures.items()),
        note=t(lang, "review.skipped")) + "\n\n")
    assert asked.endswith(t(lang, "report_action.action.ask"))
    director.press(t(lang, "opt.report_action.approve"))
    assert t(lang, "report.option", title=title, period=week,
             status=t(lang, "report.status.draft")) in director.text  # the review
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.approve", title=title, period=week, count=1) \
        in director.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_opinion_report_is_read_where_it_is_reviewed(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Before, 报告审核 asked "要做什么？" under the report's name alone: the staff who chose
    the monthly opinion report from the list, and the director who signs it, could not read
    its figures in the chat. Now they stand above the question once the report is chosen,
    with its note, and why the director returned it."""
    from tests.case_helpers import file_complaint

    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, lang)
    file_complaint(Chat(services, person="li_ming"), lang)  # Monday 11-23, 铸造车间
    run_until(services, clock, at(12, 10, 9, 30))  # the 10th: November's opinion report
    title = t(lang, "report.title.opinion")
    month = {"zh": "2026年11月", "en": "November 2026"}[lang]  # the month it covers

    def count(label: str, n: int) -> str:
        return t(lang, "report.count_line", label=label, count=n)

    figures = "\n".join([
        t(lang, "report.totals", suggestions=0, cases=1, leader_cases=0, closed=0),
        t(lang, "report.section.topics"), t(lang, "report.none"),
        t(lang, "report.section.categories"), count(t(lang, "opt.category.wages"), 1),
        t(lang, "report.section.workshops"), count("铸造车间", 1),
        t(lang, "report.section.notable"), t(lang, "report.none")])

    def shown(status: str, note: str) -> str:
        return t(lang, "report_action.content.opinion", title=title, period=month,
                 first="2026-11-01", last="2026-11-30",
                 due=t(lang, "report_action.due", due_at="2026-12-20 00:00"),
                 status=t(lang, f"report.status.{status}"), lines=figures, note=note)

    # The staff choose it from the list: the list names it; once chosen, it is shown.
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_report_action"))
    option = t(lang, "report.option", title=title, period=month,
               status=t(lang, "report.status.draft"))
    assert figures not in staff.text
    staff.press(option)
    assert staff.replies[-1].text.startswith(shown("draft", t(lang, "review.skipped")) + "\n\n")
    assert staff.replies[-1].text.endswith(t(lang, "report_action.action.ask"))
    assert choices(staff) == [t(lang, "opt.report_action.note"),
                              t(lang, "opt.report_action.submit")]
    staff.press(t(lang, "opt.report_action.note"))
    staff.say("夜班补贴问题集中，建议统一解释口径。")
    staff.press(t(lang, "nav.confirm"))
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_report_action"))
    staff.press(option)
    staff.press(t(lang, "opt.report_action.submit"))
    staff.press(t(lang, "nav.confirm"))
    services.dispatcher.drain()
    # The director opens it from the push asking for her approval: the same report, her
    # actions below it.
    tap(director, last_push(services, "chen_lihua"), t(lang, "menu.cal_report_action"))
    assert director.replies[-1].text.startswith(
        shown("submitted", "夜班补贴问题集中，建议统一解释口径。") + "\n\n")
    assert choices(director) == [t(lang, "opt.report_action.approve"),
                                 t(lang, "opt.report_action.return")]
    director.press(t(lang, "opt.report_action.return"))
    director.say("请补充各车间的处理情况")
    director.press(t(lang, "nav.confirm"))
    # Back with the staff: why it was returned is read with it.
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_report_action"))
    staff.press(t(lang, "report.option", title=title, period=month,
                  status=t(lang, "report.status.returned")))
    assert staff.replies[-1].text.startswith(
        shown("returned", "夜班补贴问题集中，建议统一解释口径。") + "\n" + t(
            lang, "report_action.content.returned", reason="请补充各车间的处理情况") + "\n\n")


def weekly_figures(lang: str, **counts: int) -> str:
    """The lines of the week's report: every figure, 0 unless given."""
    return "\n".join(t(lang, "report.figure_line", label=t(lang, f"report.figure.{k}"),
                        count=counts.get(k, 0))
                      for k in ("suggestions", "cases_new", "cases_closed", "cases_open",
                                "cases_overdue", "leader_cases", "visits", "bookings",
                                "disputes", "warnings", "incidents", "field_visits"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_report_is_shown_once_when_chosen_not_with_every_question_again(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: the whole report (figures, note, return reason) stood above "要做什么？"
    every time it was asked: after a wrong answer, after 帮助, after 返回 at the
    confirmation, and under the timeout notice half an hour later, a long text each time on
    WeChat or by SMS. Now it is shown when the report is chosen; asked again, the question
    comes alone; chosen again from the list, it is shown again."""
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    run_until(services, clock, at(12, 3, 9, 30))  # Thursday: the weekly report's draft
    figures = weekly_figures(lang)
    ask = t(lang, "report_action.action.ask")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_report_action"))
    staff.press_starting(t(lang, "report.title.weekly"))
    assert figures in staff.replies[-1].text and staff.replies[-1].text.endswith(ask)

    staff.say("批准" if lang == "zh" else "approve")  # not the staff's to choose
    assert staff.replies[-1].text.endswith(ask)
    assert figures not in staff.text
    staff.press(t(lang, "nav.help"))
    assert t(lang, "report_action.action.help") in staff.text
    assert staff.replies[-1].text.endswith(ask)
    assert figures not in staff.text
    staff.press(t(lang, "opt.report_action.submit"))
    assert t(lang, "review.title") in staff.text
    staff.press(t(lang, "nav.back"))
    assert staff.replies[-1].text == t(lang, "flow.progress", n=2, total=3) + " " + ask
    assert figures not in staff.text

    # Half an hour idle: the notice says which form, and the question comes alone.
    seen = len(pushes(services, "liu_fang"))
    clock.advance(timedelta(minutes=31))
    services.sweeper.run_once()
    services.dispatcher.drain()
    notice, question = pushes(services, "liu_fang")[seen:]
    assert notice == t(lang, "timeout.kept", flow=t(lang, "report_action.title"), minutes=30)
    assert question == t(lang, "flow.progress", n=2, total=3) + " " + ask

    # Back to the list and the report chosen again: it is read again.
    staff.press(t(lang, "nav.back"))
    staff.press_starting(t(lang, "report.title.weekly"))
    assert figures in staff.replies[-1].text and staff.replies[-1].text.endswith(ask)


@pytest.mark.parametrize("lang", LANGS)
def test_a_report_past_its_deadline_reads_as_late_where_it_is_reviewed(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: a weekly report still in draft (or returned) after Thursday 17:00 read
    "应于 2026-12-03 17:00 前报送上级工会" in 报告审核, a deadline gone by. Now it says it is
    late, and by when it was due."""
    staff = Chat(services, person="liu_fang")
    run_until(services, clock, at(12, 3, 17, 1))
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_report_action"))
    staff.press_starting(t(lang, "report.title.weekly"))
    week = t(lang, "report.week", year=2026, week=48, first="11-23", last="11-29")
    assert staff.replies[-1].text.startswith(t(
        lang, "report_action.content.weekly", title=t(lang, "report.title.weekly"),
        period=week, status=t(lang, "report.status.draft"),
        due=t(lang, "report_action.due_late", due_at="2026-12-03 17:00"),
        lines=weekly_figures(lang), note=t(lang, "review.skipped")) + "\n\n")
    late = {"zh": "已迟报：应于 2026-12-03 17:00 前报送上级工会，至今未报送",
            "en": "LATE: it was due at the upper union by 2026-12-03 17:00"}[lang]
    assert late in staff.replies[-1].text


def test_a_week_has_one_name_in_every_push_list_and_answer(services: Services,
                                                          clock: FrozenClock) -> None:
    """Regression: the draft and 待审批 pushes said "2026年第48周（2026-11-23 至 2026-11-29）",
    while the list of 报告审核, what it showed, the reminders, the late notice, the return
    notice and the answers said "工作周通报 2026-11-23 至 11-29": the director approved
    "第48周" from her push and found only dates in her list. Now a week is named the same
    everywhere: its number, with its dates once."""
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(staff, "zh")
    open_menu(director, "zh")
    name = "2026年第48周（11-23 至 11-29）"
    run_until(services, clock, at(12, 3, 9, 30))
    tap(staff, last_push(services, "liu_fang"), "报告审核")
    staff.press("提交主任审批")
    staff.press("确认提交")
    assert f"工作周通报 {name} 已提交主任审批。" in staff.text
    services.dispatcher.drain()
    director.say("菜单")
    director.press("报告审核")
    assert f"工作周通报 {name} · 待审批" in choices(director)
    director.press(f"工作周通报 {name} · 待审批")
    assert director.replies[-1].text.startswith(f"【工作周通报】{name}（待审批）")
    director.press("退回修改")
    director.say("请补充本周接访情况")
    director.press("确认提交")
    assert f"工作周通报 {name} 已退回工作人员修改。" in director.text
    run_until(services, clock, at(12, 3, 17, 1))  # reminded at 15:00, late at 17:00
    said = [p for key in ("liu_fang", "chen_lihua") for p in pushes(services, key)
            if "工作周通报" in p] + [r.text for c in (staff, director) for r in c.replies
                                 if "工作周通报" in r.text]
    assert len([p for p in said if p.startswith(("【报告提醒】", "【报告迟报】"))]) == 3
    assert [p for p in said if name not in p] == []
    assert not [p for p in said if "2026-11-23" in p or "W48" in p]


def test_a_week_across_the_new_year_names_the_days_of_the_other_year_in_full() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from handlers.reports import named_text

    def week(first: date) -> Report:
        return Report(unit_id=1, kind="weekly", period="-", first_day=first,
                      last_day=first + timedelta(days=6), data={},
                      due_at=datetime(2027, 1, 7, tzinfo=ZoneInfo("UTC")),
                      drafted_at=datetime(2027, 1, 7, tzinfo=ZoneInfo("UTC")))

    assert named_text(week(date(2026, 12, 28)), "zh") == "2026年第53周（12-28 至 2027-01-03）"
    assert named_text(week(date(2027, 12, 27)), "en") == \
        "week 52 of 2027 (12-27 to 2028-01-02)"
    assert named_text(week(date(2029, 12, 31)), "zh") == "2030年第1周（2029-12-31 至 01-06）"


def test_a_director_without_staff_may_still_add_a_note(services: Services,
                                                        clock: FrozenClock) -> None:
    """A workroom whose director is its only staff: she drafts, so she may add a note;
    she is not offered to submit it to herself."""
    with transaction(services.db) as s:
        for p in s.exec(select(Person).where(Person.role == "staff")):
            p.active = False
            s.add(p)
    run_until(services, clock, at(12, 3, 9, 30))
    director = Chat(services, person="chen_lihua")
    drafted = last_push(services, "chen_lihua")
    tap(director, drafted, t("zh", "menu.cal_report_action"))
    assert choices(director) == ["补充说明", "批准并报送上级工会", "退回修改"]


def test_no_upper_union_contact_means_not_sent(services: Services, clock: FrozenClock) -> None:
    with transaction(services.db) as s:
        for p in s.exec(select(Person).where(Person.role == "upper_union")):
            p.active = False
            s.add(p)
    run_until(services, clock, at(12, 3, 9, 30))
    director = Chat(services, person="chen_lihua")
    director.say("菜单")
    director.press("报告审核")
    director.press(next(b.label for r in director.replies for b in r.buttons
                        if b.label.startswith("工作周通报")))
    director.press("批准并报送上级工会")
    director.press("确认提交")
    assert t("zh", "report_action.no_upper", title="工作周通报",
             period="2026年第48周（11-23 至 11-29）") \
        in director.text
    with Session(services.db) as s:
        assert s.exec(select(Report)).one().status == "draft"


@pytest.mark.parametrize("lang", LANGS)
def test_work_log_days_become_the_weekly_report(services: Services, clock: FrozenClock,
                                               lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)

    def log(kind: str, text: str) -> None:
        staff.say("menu")
        staff.press(t(lang, "menu.cal_work_log"))
        staff.press(t(lang, f"opt.log_kind.{kind}"))
        staff.say(text)

    log("daily", "登记分办3件")
    assert t(lang, "work_log.done.daily", date="2026-11-23") in staff.text
    log("daily", "到铸造车间走访")
    clock.set(at(11, 25, 10))
    log("daily", "整理接访台帐")
    log("exchange", "与县总工会交流：蹲点情况、问题、下步计划")
    assert t(lang, "work_log.done.exchange", date="2026-11-25") in staff.text
    run_until(services, clock, at(11, 27, 17, 1))
    weekly = t(lang, "notice.worklog_weekly", name="刘芳", week=t(lang, "report.week_no", year=2026,
                                                               week=48),
               first="2026-11-23", last="2026-11-29", days=2,
               text="11-23 登记分办3件\n11-23 到铸造车间走访\n11-25 整理接访台帐")
    assert weekly in pushes(services, "liu_fang")
    assert t("zh", "notice.worklog_weekly", name="刘芳", week="2026年第48周", first="2026-11-23",
             last="2026-11-29", days=2, text="11-23 登记分办3件\n11-23 到铸造车间走访\n"
             "11-25 整理接访台帐") in pushes(services, "chen_lihua")
    with Session(services.db) as s:
        kinds = sorted(w.kind for w in s.exec(select(WorkLog)))
    assert kinds == ["daily", "daily", "exchange", "weekly"]
    sheet = rows(workbook(services, "work_log", lang=lang, month="2026-11")[
        t(lang, "export.sheet.work_log")])
    assert sheet[0] == [t(lang, f"export.col.{c}") for c in ("date", "person", "kind", "text")]
    assert [r[2] for r in sheet[1:]] == [t(lang, f"export.log.{k}") for k in
                                         ("daily", "daily", "exchange", "weekly")]
    assert sheet[1][3] == "登记分办3件\n到铸造车间走访"


def test_exports_refuse_what_does_not_exist(services: Services) -> None:
    from handlers.exports import ExportError

    for kind, options, key in (("forms", {"case": "C-2099-0001"}, "export.no_case"),
                               ("screening", {"month": "2026-13"}, "export.bad_month"),
                               ("screening", {"month": "2026-10"}, "export.no_round"),
                               ("bogus", {}, "export.unknown")):
        with pytest.raises(ExportError) as err:
            workbook(services, kind, **options)
        assert err.value.key == key
    assert date(2026, 11, 23)  # the demo clock's day


def test_a_section_without_a_liaison_is_not_silently_left_out_of_the_screening(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a workshop or section with no liaison (the demo's 综合办公室) was never
    asked, never chased and never named as missing: a screening silently incomplete
    (漏报). The staff are now told on the 25th to file it, the staff can, and it is named
    the morning after the window when still missing."""
    screening_asked(services, clock)
    told = last_push(services, "liu_fang")
    assert told.text == t("zh", "notice.screening_no_liaison", month="2026-11", count=1,
                          due="2026-11-30", names="综合办公室")
    assert [b["label"] for b in told.buttons] == [t("zh", "menu.cal_screening")]
    run_until(services, clock, at(12, 1, 10))
    missing = [p for p in pushes(services, "chen_lihua") if p.startswith("【排查未报】")]
    assert len(missing) == 1
    assert t("zh", "screening.missing_line_none", workshop="综合办公室") in missing[0]
    assert "有 4 个车间（科室）未报" in missing[0]
    returns = rows(workbook(services, "screening", month="2026-11")["排查报送情况"])
    assert [r[:3] for r in returns[1:]][-1] == ["综合办公室", None, "未报"]
    # Still missing past its window: the ledger says late (漏报), not "no".
    assert returns[1:][-1][5] == "是"
    # The staff file the section's return themselves.
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("矛盾纠纷排查")
    staff.press(next(b.label for r in staff.replies for b in r.buttons
                     if b.label.startswith("综合办公室")))
    staff.press(t("zh", "opt.screening_answer.zero"))
    staff.press(t("zh", "nav.confirm"))
    assert t("zh", "screening.done_zero", workshop="综合办公室", month="2026-11") in staff.text


def test_no_shop_floor_reminder_for_a_week_before_the_staff_member_joined(
        services: Services, clock: FrozenClock) -> None:
    """Regression: the Monday check blamed staff (and told the director) for a week they
    were not yet staff in: on a new workroom's first Monday, for the week before it."""
    run_until(services, clock, at(11, 23, 10))
    assert not any(p.startswith("【下基层") for p in pushes(services, "liu_fang"))
    assert not any(p.startswith("【下基层") for p in pushes(services, "chen_lihua"))
    # A week they were staff for, without a visit, is reminded as before.
    run_until(services, clock, at(11, 30, 10))
    assert any(p.startswith("【下基层提醒】2026-11-23 至 2026-11-29")
               for p in pushes(services, "liu_fang"))
    assert any(p.startswith("【下基层情况】2026-11-23") for p in pushes(services, "chen_lihua"))


def test_no_weekly_report_for_a_week_before_the_workroom_existed(
        services: Services, clock: FrozenClock) -> None:
    """Regression: a new workroom (set up Monday 11-23) drafted the weekly report of the week
    before it existed (2026-W47), then reminded the staff and told the director it was late."""
    run_until(services, clock, at(11, 27, 9))
    for key in ("liu_fang", "chen_lihua"):
        assert not any("2026-W47" in p for p in pushes(services, key)), key
    with Session(services.db) as s:
        assert s.exec(select(Report)).all() == []
    # Its first week is reported as before.
    run_until(services, clock, at(12, 3, 9, 30))
    assert last_push(services, "liu_fang").text.startswith(
        "【工作周通报】2026年第48周（11-23 至 11-29）草稿已生成")


def test_no_opinion_report_for_a_month_before_the_workroom_existed(
        sqlite_url: str) -> None:
    """Regression: a workroom set up on 11-10 at 10:00 caught up the opinion report's draft
    of 09:00 for October, a month before it existed, then reminded the staff on the 17th and
    told the director on the 20th that it was late."""
    clock = FrozenClock(at(11, 10, 10))
    services = make_services(sqlite_url, clock)
    try:
        run_until(services, clock, at(11, 20, 9))
        for key in ("liu_fang", "chen_lihua"):
            assert not any("舆情" in p for p in pushes(services, key)), key
        with Session(services.db) as s:
            assert s.exec(select(Report).where(Report.kind == "opinion")).all() == []
        # November, the month it was set up in, is reported in December.
        run_until(services, clock, at(12, 10, 9, 30))
        with Session(services.db) as s:
            assert [r.period for r in s.exec(select(Report).where(
                Report.kind == "opinion"))] == ["2026-12"]
    finally:
        services.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_opinion_report_is_named_by_the_month_it_covers(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: the opinion report drafted on 12-10 covers November, but every push, the
    list of 报告审核, its answers and the export named it by the month it is sent in
    (舆情月报 2026-12), which the staff and the upper union read as December's."""
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(staff, lang)
    open_menu(director, lang)
    run_until(services, clock, at(12, 10, 9, 30))
    title, month = t(lang, "report.title.opinion"), {"zh": "2026年11月",
                                                     "en": "November 2026"}[lang]
    drafted = last_starting(services, "liu_fang", t(lang, "notice.report_drafted", title=title,
                                                    period="@", first="", last="", due_at="",
                                                    lines="").split("@")[0])
    assert drafted.text.startswith(t(
        lang, "notice.report_drafted", title=title, period=month,
        due_at="2026-12-20 00:00", lines="@").split("@")[0])
    tap(staff, drafted, t(lang, "menu.cal_report_action"))
    staff.press(t(lang, "opt.report_action.submit"))
    assert t(lang, "report.option", title=title, period=month,
             status=t(lang, "report.status.draft")) in staff.text  # the review
    staff.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.submit", title=title, period=month) in staff.text
    services.dispatcher.drain()
    assert last_starting(services, "chen_lihua", t(
        lang, "notice.report_submitted", by="刘芳", title=title, period=month,
        lines="@", note="").split("@")[0])
    # The director picks it from the list of reports to review, named by its month.
    director.say("菜单")
    director.press(t(lang, "menu.cal_report_action"))
    option = t(lang, "report.option", title=title, period=month,
               status=t(lang, "report.status.submitted"))
    assert option in choices(director)
    director.press(option)
    director.press(t(lang, "opt.report_action.approve"))
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.approve", title=title, period=month, count=1) \
        in director.text
    services.dispatcher.drain()
    assert pushes(services, "qian_wenjing")[-1].startswith(
        "【舆情月报】2026年11月\n")
    with Session(services.db) as s:
        report = s.exec(select(Report).where(Report.kind == "opinion")).one()
    assert report.period == "2026-12"  # the row keeps the month it is sent in
    book = workbook(services, "report", lang=lang, report_id=report.id)
    fields = dict((r[0], r[1]) for r in rows(book[t(lang, "export.sheet.report")])[1:])
    assert fields[t(lang, "export.col.period")] == month


@pytest.mark.parametrize("lang", LANGS)
def test_leaders_and_stationed_cadres_keep_a_work_log(services: Services, clock: FrozenClock,
                                                      lang: str) -> None:
    """Regression: the work log was the staff's and the director's only, though leaders going
    down to the shop floor and the cadres stationed in the workroom (蹲点, 进驻) keep a daily
    record, a weekly report and the monthly exchange's minutes (000 六.2; 004 七.2)."""
    for key, name in (("zhao_guoqiang", "赵国强"), ("qian_wenjing", "钱文静")):
        cadre = Chat(services, person=key)
        open_menu(cadre, lang)
        cadre.press(t(lang, "menu.cal_work_log"))
        assert t(lang, "work_log.intro") in cadre.text
        cadre.press(t(lang, "opt.log_kind.daily"))
        cadre.say(f"{name}：到装配车间蹲点，听取班组意见")
        assert t(lang, "work_log.done.daily", date="2026-11-23") in cadre.text
    run_until(services, clock, at(11, 27, 17, 1))
    weekly = t(lang, "notice.worklog_weekly", name="赵国强",
               week=t(lang, "report.week_no", year=2026, week=48),
               first="2026-11-23", last="2026-11-29", days=1,
               text="11-23 赵国强：到装配车间蹲点，听取班组意见")
    assert weekly in pushes(services, "zhao_guoqiang")
    with Session(services.db) as s:
        authors = {s.get(Person, w.person_id).key for w in s.exec(  # type: ignore[union-attr]
            select(WorkLog).where(WorkLog.kind == "weekly"))}
    assert authors == {"zhao_guoqiang", "qian_wenjing"}
    # An employee or a liaison keeps none: the item is not theirs.
    for key in ("li_ming", "wang_qiang"):
        other = Chat(services, person=key)
        open_menu(other, lang)
        other.say(t(lang, "menu.cal_work_log"))
        assert t(lang, "menu.unknown") in other.text
