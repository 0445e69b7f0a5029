"""A month of the workroom's calendar, on SQLite and PostgreSQL, with the injectable clock.

Monday 2026-09-14 to 2026-10-12: the roster over real working days (the Sunday 09-20 is a
swapped workday, the Mid-Autumn holiday 09-25 and National Day 10-01..07 are off, Saturday
10-10 is worked), its publication two working days ahead to every employee, a swap moving a
booking, a ledger entry turning into a case; the screening asked on the 25th, answered
"nothing to report" by one workshop, with a high-risk dispute by another (warning ledger,
then a case in one step), chased on the 28th and reported missing for the third on the
first working morning after the window (10-08, after National Day); the weekly and monthly
opinion reports drafted with the right counts, approved and sent; and every export read
back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from scheduler import workdays
from store import roster as rotation
from store.calendar_models import (
    Dispute,
    DutyPublished,
    FieldVisit,
    Report,
    ScreeningReturn,
    VisitRecord,
)
from store.models import Booking, Case, DutyEntry, Person, Timer, Unit
from tests.calendar_helpers import (
    ZONE,
    at,
    last_push,
    last_starting,
    people,
    pushes,
    rows,
    run_until,
    sent_to,
    tap,
    workbook,
)
from tests.conftest import make_services
from tests.transcript import Chat, t

START = at(9, 14, 9)
ROSTER_DAYS = ["09-14", "09-15", "09-16", "09-17", "09-18", "09-20", "09-21", "09-22",
               "09-23", "09-24", "09-28", "09-29", "09-30", "10-08", "10-09", "10-10",
               "10-12", "10-13", "10-14", "10-15", "10-16", "10-19", "10-20", "10-21",
               "10-22"]
STAFF_NAMES = ("李明", "张伟", "刘洋")  # complainants: never in a report


@pytest.fixture
def month(db_url: str) -> Iterator[tuple[Services, FrozenClock]]:
    clock = FrozenClock(START)
    services = make_services(db_url, clock)
    yield services, clock
    services.close()


def menu(chat: Chat, item: str) -> None:
    chat.say("菜单")
    chat.press(item)


def entry_on(services: Services, day: date) -> DutyEntry:
    with Session(services.db) as s:
        return s.exec(select(DutyEntry).where(DutyEntry.day == day)).one()


def leader_of(services: Services, day: date) -> str:
    with Session(services.db) as s:
        entry = s.exec(select(DutyEntry).where(DutyEntry.day == day)).one()
        return s.get(Person, entry.leader_id).name  # type: ignore[union-attr]


def test_a_month_of_the_calendar(month: tuple[Services, FrozenClock]) -> None:
    services, clock = month
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    li = Chat(services, person="li_ming")
    everyone = [p.key for p in people(services, "employee", "liaison", "staff", "director",
                                      "leader")]
    assert len(everyone) == 21  # the upper union's contact is not an employee

    # --- the roster, generated in chat over real working days -----------------------------
    menu(staff, "领导接访排班")
    staff.press("按轮值生成排班")
    staff.say("2026-09-14")
    staff.say("25")
    staff.press("确认提交")
    assert "排班已生成：新增 15 天" in staff.text
    with Session(services.db) as s:
        days = [e.day.strftime("%m-%d") for e in s.exec(select(DutyEntry)
                                                        .order_by(col(DutyEntry.day)))]
    assert days == ROSTER_DAYS  # 09-20 (调休) and 10-10 worked; 09-25, 10-01..07 off
    assert [leader_of(services, date(2026, 9, d)) for d in (14, 15, 16, 17)] == [
        "赵国强", "孙红梅", "吴建军", "赵国强"]

    # What could not wait is published at once; what is already too late goes to the director.
    services.dispatcher.drain()
    assert "【公示迟于规定】以下 2 次领导接访" in pushes(services, "chen_lihua")[0]

    # Not yet published, Tuesday 09-22 (孙红梅) cannot be booked yet.
    menu(li, "预约领导接访")
    assert not any(b.label.startswith("09-22") for r in li.replies for b in r.buttons)
    assert any(b.label.startswith("09-18") for r in li.replies for b in r.buttons)
    li.press("取消")

    # Shop-floor visit this week; a suggestion and a complaint come in.
    clock.set(at(9, 15, 10))
    menu(staff, "下基层走访")
    staff.press("铸造车间")
    staff.say("夜班班组5名职工")
    staff.say("夜班补贴下调有意见")
    assert "已记录 铸造车间 走访，本周第 1 次" in staff.text
    menu(li, "提建议")
    li.press(t("zh", "opt.topic.wages"))
    li.say("建议公开夜班补贴的计算方法")
    li.press(t("zh", "opt.identity.named"))
    li.press("确认提交")
    zhang = Chat(services, person="zhang_wei")
    menu(zhang, "提建议")
    zhang.press(t("zh", "opt.topic.living"))
    zhang.say("食堂晚餐能不能延长供应时间")
    zhang.press(t("zh", "opt.identity.anonymous"))
    zhang.press("确认提交")
    liu = Chat(services, person="liu_yang")
    menu(liu, "反映问题")
    liu.press(t("zh", "opt.category.safety"))
    for answer in ("车床防护罩坏了两周没人修", "2026-09-01", "3"):
        liu.say(answer)
    liu.press("跳过")
    liu.press("机加工车间")
    liu.say("尽快修好防护罩")
    liu.press(t("zh", "opt.identity.named"))
    liu.press("确认提交")
    assert "C-2026-0001" in liu.text

    # --- publication: every entry at least two working days ahead, to everyone ------------
    run_until(services, clock, at(9, 18, 9))
    with Session(services.db) as s:
        cal = workdays.load(s)
        published = {s.get(DutyEntry, p.duty_entry_id).day: p  # type: ignore[union-attr]
                     for p in s.exec(select(DutyPublished))}
    assert sorted(d.strftime("%m-%d") for d, p in published.items() if p.late) == [
        "09-14", "09-15"]
    for day in (date(2026, 9, d) for d in (16, 17, 18, 20, 21, 22, 23, 24)):
        shown = published[day].published_at.astimezone(ZONE).date()
        assert shown <= rotation.publish_by(cal, day), day  # two working days ahead
    # The Thursday 16:00 publication reached all 21 people, each in their language.
    thursday = sent_to(services, f"roster:pub:{_unit(services)}:2026-09-17:")
    assert len(thursday) == 21
    assert "09-22 周二 08:30-11:30 孙红梅" in pushes(services, "li_ming")[-1]
    assert "09-22 Tue 08:30-11:30 孙红梅" in pushes(services, "daniel_hughes")[-1]
    assert "[LEADER RECEPTION]" in pushes(services, "daniel_hughes")[-1]
    # Published, li_ming books it.
    menu(li, "预约领导接访")
    li.press_starting("09-22")
    li.say("夜班补贴的问题")
    li.press("确认提交")
    assert "V-2026-0001" in li.text

    # --- a swap moves the booking and tells both leaders and the booked employee ----------
    sun = Chat(services, person="sun_hongmei")
    menu(sun, "调换接访日")
    sun.press_starting("09-22")
    sun.press_starting("09-23")
    sun.say("到市里开会")
    sun.press("确认提交")
    assert t("zh", "duty_swap.done", first="2026-09-22", second="2026-09-23", a="孙红梅",
             b="吴建军", moved=1) in sun.text  # dates in full, the booking counted
    services.dispatcher.drain()
    assert any(p.startswith("您的接访预约 V-2026-0001（2026-09-22 周二 08:30-11:30，"
                            "群众工作室（行政楼一楼））改由 吴建军 接待（原为 孙红梅）。"
                            "原因：到市里开会\n") for p in pushes(services, "li_ming"))
    assert any(p.startswith("您已与 吴建军 调换接访日（到市里开会）") and
               p.endswith("原日期的 1 个预约转给 吴建军；新日期暂无预约。")
               for p in pushes(services, "sun_hongmei"))
    assert any(p.startswith("孙红梅 已与您调换接访日（到市里开会）") and
               "新日期有 1 个预约由您接待" in p for p in pushes(services, "wu_jianjun"))
    assert "【领导接访安排变动】" in pushes(services, "ma_chao")[-1]  # republished
    with Session(services.db) as s:
        booking = s.exec(select(Booking)).one()
        assert s.get(DutyEntry, booking.duty_entry_id).leader_id == \
            s.exec(select(Person.id).where(Person.key == "wu_jianjun")).one()  # type: ignore[union-attr]

    # The day before, the booking's reminder goes to the new leader.
    run_until(services, clock, at(9, 21, 9))
    assert any(p.startswith("【提醒】明天 2026-09-22") and "V-2026-0001" in p
               for p in pushes(services, "wu_jianjun"))

    # --- the ledger entry after the visit becomes a case ------------------------------------
    run_until(services, clock, at(9, 22, 11, 30))
    wu = Chat(services, person="wu_jianjun")
    menu(wu, "填写接访台帐")
    wu.press_starting("V-2026-0001")
    for answer in ("李明", "铸造车间", "夜班补贴标准下调后没有说明", "车间调整了排班制度",
                   "请人力资源部核实补贴标准并答复", "人力资源部"):
        wu.say(answer)
    wu.press("未能当场解决，交办")
    wu.press(t("zh", "opt.category.wages"))
    wu.say("两周内核实并书面答复职工")
    wu.press("确认提交")
    assert "接访台帐 J-2026-0001 已登记，问题已立案 C-2026-0002 交 赵国强 办理" in wu.text
    with Session(services.db) as s:
        case = s.exec(select(Case).where(Case.number == "C-2026-0002")).one()
        assert (case.leader_case, case.category, case.status) == (True, "wages", "assigned")
        assert s.exec(select(Timer).where(Timer.kind == "case_deadline",
                                          col(Timer.ref).startswith(f"{case.id}:"))).all()
    services.dispatcher.drain()
    assert any(p.startswith("【领导交办】吴建军 接访交办 C-2026-0002") for p in
               pushes(services, "zhao_guoqiang"))

    # --- the weekly report of Thursday 09-24 (week 09-14..09-20) ------------------------------
    run_until(services, clock, at(9, 24, 10))
    drafted = last_starting(services, "liu_fang", "【工作周通报】")
    assert drafted.text.startswith(
        "【工作周通报】2026年第38周（09-14 至 09-20）草稿已生成")
    for line in ("收到意见建议：2", "新登记问题：1", "在办问题：2", "接访预约：1",
                 "下基层走访：1", "领导接访（台帐）：0"):
        assert line in drafted.text, line
    tap(staff, drafted, "报告审核")
    staff.press("提交主任审批")
    staff.press("确认提交")
    assert "工作周通报 2026年第38周（09-14 至 09-20） 已提交主任审批。" in staff.text
    services.dispatcher.drain()
    submitted = last_starting(services, "chen_lihua", "【待审批】")
    assert submitted.text.startswith("【待审批】刘芳 提交了工作周通报 2026年第38周")
    tap(director, submitted, "报告审核")
    director.press("批准并报送上级工会")
    director.press("确认提交")
    assert "工作周通报 2026年第38周（09-14 至 09-20） 已批准，报送上级工会 1 人。" in director.text
    services.dispatcher.drain()
    assert pushes(services, "qian_wenjing")[-1].startswith("【工作周通报】2026年第38周")

    # --- the screening: asked on the 25th ------------------------------------------------------
    run_until(services, clock, at(9, 25, 10))
    liaisons = {k: Chat(services, person=k) for k in ("wang_qiang", "zhou_min", "he_jun")}
    for key in liaisons:
        assert pushes(services, key)[-1].startswith("【矛盾纠纷排查】请报")
    # 铸造车间: nothing to report, one tap.
    tap(liaisons["wang_qiang"], last_push(services, "wang_qiang"), "零报告（本月无矛盾纠纷）")
    assert "铸造车间 2026-09 零报告已收到" in liaisons["wang_qiang"].text
    # 机加工车间: a high-risk dispute, walked through in chat.
    zhou = liaisons["zhou_min"]
    tap(zhou, last_push(services, "zhou_min"), "登记一条矛盾纠纷")
    assert "什么矛盾纠纷？" in zhou.text
    for answer in ("夜班补贴标准下调，职工酝酿集体上访", "30"):
        zhou.say(answer)
    zhou.press("高风险")
    for answer in ("人力资源部", "王经理", "召开职工座谈会解释政策", "2026-10-15"):
        zhou.say(answer)
    zhou.press("确认提交")
    assert "已登记 D-2026-0001（机加工车间 2026-09 第 1 条），高风险，已列入预警台帐" in zhou.text
    services.dispatcher.drain()
    warning = last_push(services, "liu_fang")
    assert warning.text.startswith("【预警台帐】高风险矛盾纠纷 D-2026-0001（机加工车间）")
    tap(staff, warning, "转为问题立案办理")  # one step: no question, no review
    assert "D-2026-0001 已立案为 C-2026-0003，交 陈丽华 办理" in staff.text
    with Session(services.db) as s:
        dispute = s.exec(select(Dispute)).one()
        case3 = s.exec(select(Case).where(Case.number == "C-2026-0003")).one()
        assert (dispute.warning, dispute.case_id) == (True, case3.id)
        assert (case3.leader_case, case3.affected, case3.dept_head, case3.responsible) == (
            True, 30, "人力资源部", "王经理")

    # 总装车间 stays silent: chased on the 28th, reported to the director after the window
    # (on the first working day after it).
    run_until(services, clock, at(9, 28, 10))
    assert pushes(services, "he_jun")[-1].startswith("【排查催报】总装车间 2026-09")
    assert not any("排查催报" in p for k in ("wang_qiang", "zhou_min")
                   for p in pushes(services, k))
    # The window ends with the 30th; National Day (10-01..07) is off: the director is told
    # on the first working morning after it, not during the holiday.
    run_until(services, clock, at(10, 7, 23))
    assert not any(p.startswith("【排查未报】") for p in pushes(services, "chen_lihua"))
    run_until(services, clock, at(10, 8, 10))
    missing = [p for p in pushes(services, "chen_lihua") if p.startswith("【排查未报】")]
    assert missing == ["【排查未报】2026-09 矛盾纠纷排查有 2 个车间（科室）未报：\n"
                       "• 总装车间（联络员 何军）\n• 综合办公室（无联络员）"]
    with Session(services.db) as s:
        assert sorted(r.status for r in s.exec(select(ScreeningReturn))) == [
            "pending", "pending", "reported", "zero"]

    # A week without a shop-floor visit: the staff member and the director are told.
    assert any(p.startswith("【下基层提醒】2026-09-21 至 2026-09-27") for p in
               pushes(services, "liu_fang"))
    assert any("刘芳" in p and p.startswith("【下基层情况】2026-09-21") for p in
               pushes(services, "chen_lihua"))
    assert not any(p.startswith("【下基层提醒】2026-09-14") for p in pushes(services, "liu_fang"))

    # --- the monthly opinion report for September, drafted on 10-10 ----------------------------
    run_until(services, clock, at(10, 10, 10))
    with Session(services.db) as s:
        opinion = s.exec(select(Report).where(Report.kind == "opinion")).one()
    assert opinion.period == "2026-10" and (opinion.first_day, opinion.last_day) == (
        date(2026, 9, 1), date(2026, 9, 30))
    assert opinion.data["by_topic"] == {"living": 1, "wages": 1}
    assert opinion.data["by_category"] == {"other": 1, "safety": 1, "wages": 1}
    assert opinion.data["by_workshop"] == {"@report.unspecified": 1, "机加工车间": 2,
                                           "铸造车间": 2}
    assert [n["number"] for n in opinion.data["notable"]] == ["C-2026-0002", "C-2026-0003"]
    drafted = last_starting(services, "liu_fang", "【舆情月报】")
    tap(staff, drafted, "报告审核")
    staff.press("补充说明")
    staff.say("夜班补贴问题集中，建议单位统一解释口径。")
    staff.press("确认提交")
    tap(staff, drafted, "报告审核")
    staff.press("提交主任审批")
    staff.press("确认提交")
    services.dispatcher.drain()
    tap(director, last_starting(services, "chen_lihua", "【待审批】"), "报告审核")
    director.press("批准并报送上级工会")
    director.press("确认提交")
    assert "舆情月报 2026年9月 已批准，报送上级工会 1 人。" in director.text
    services.dispatcher.drain()
    sent = pushes(services, "qian_wenjing")[-1]
    assert sent.startswith("【舆情月报】2026年9月\n")
    for line in ("本期收到意见建议 2 条，反映问题 3 件（其中领导包案 2 件，已办结 0 件）",
                 "  工资福利：1", "  食堂生活：1", "  安全生产：1", "  铸造车间：2",
                 "  未注明：1", "C-2026-0002 工资福利（铸造车间，涉及 1 人，领导包案",
                 "预警 D-2026-0001（机加工车间，涉及 30 人，高风险）",
                 "夜班补贴问题集中，建议单位统一解释口径。", "审核：陈丽华"):
        assert line in sent, line
    assert not any(name in sent for name in STAFF_NAMES)
    run_until(services, clock, at(10, 20, 1))
    with Session(services.db) as s:
        assert s.exec(select(Report).where(Report.kind == "opinion")).one().late is False
        # The weekly report of 10-08 was never approved: late, and the director told.
        weekly = s.exec(select(Report).where(Report.period == "2026-W40")).one()
        assert (weekly.status, weekly.late) == ("draft", True)
    assert any(p.startswith("【报告迟报】工作周通报 2026年第40周（09-28 至 10-04）") for p in
               pushes(services, "chen_lihua"))

    # --- every export opens and holds what happened ---------------------------------------------
    ledger = workbook(services, "ledger", month="2026-09")["接访台帐"]
    assert rows(ledger)[0][:5] == ["编号", "日期", "领导", "接访形式", "来访人"]
    assert rows(ledger)[1][:7] == ["J-2026-0001", "2026-09-22", "吴建军", "定点接访", "李明",
                                   "铸造车间", "夜班补贴标准下调后没有说明"]
    assert rows(ledger)[1][-3:] == ["转立案 C-2026-0002（已交办）", "两周内核实并书面答复职工",
                                    "C-2026-0002"]
    forms = workbook(services, "forms", case="C-2026-0002")
    assert forms.sheetnames == ["登记单", "交办单", "督办单", "办结单"]
    registration = dict((r[0], r[1]) for r in rows(forms["登记单"])[1:])
    assert (registration["来源"], registration["来访人"], registration["问题类别"]) == (
        "J-2026-0001", "李明", "工资福利")
    assignment = dict((r[0], r[1]) for r in rows(forms["交办单"])[1:])
    assert (assignment["领导"], assignment["交办意见"], assignment["承办人"]) == (
        "吴建军", "两周内核实并书面答复职工", "赵国强")
    assert assignment["办结期限"] == case.due_on.isoformat()
    screening = workbook(services, "screening", month="2026-09")
    assert [r[:3] for r in rows(screening["排查报送情况"])[1:]] == [
        ["铸造车间", "王强", "零报告"], ["机加工车间", "周敏", "已报"],
        ["总装车间", "何军", "未报"], ["综合办公室", None, "未报"]]
    assert rows(screening["矛盾纠纷登记"])[1][:5] == [
        "D-2026-0001", "机加工车间", "夜班补贴标准下调，职工酝酿集体上访", 30, "高风险"]
    warnings = rows(workbook(services, "warnings")["预警台帐"])
    assert warnings[1][0] == "D-2026-0001" and warnings[1][-2:] == ["是", "C-2026-0003"]
    report = workbook(services, "report", report_id=opinion.id, lang="en")
    assert dict((r[0], r[1]) for r in rows(report["Problems by category"])[1:]) == {
        "Safety": 1, "Wages and benefits": 1, "Other": 1}
    assert dict((r[0], r[1]) for r in rows(report["By workshop"])[1:]) == {
        "not given": 1, "机加工车间": 2, "铸造车间": 2}
    roster_rows = rows(workbook(services, "roster", month="2026-09")["领导接访安排"])
    assert [r[0] for r in roster_rows[1:]] == [f"2026-{d}" for d in ROSTER_DAYS[:13]]
    assert roster_rows[1][-1] == "是" and roster_rows[3][-1] == "否"  # 09-14 late, 09-16 not
    visits = rows(workbook(services, "field_visits", month="2026-09")["下基层走访"])
    assert visits[1] == ["2026-09-15", "刘芳", "铸造车间", "夜班班组5名职工", "夜班补贴下调有意见"]
    with Session(services.db) as s:
        assert len(s.exec(select(FieldVisit)).all()) == 1
        assert s.exec(select(VisitRecord)).one().case_id == case.id



def _unit(services: Services) -> int:
    with Session(services.db) as s:
        return s.exec(select(Unit.id)).one()  # type: ignore[return-value]
