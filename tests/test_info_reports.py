"""Information reports to the upper union (000 制度(八)): written by the staff, due within
1, 2 or 4 working days of arising by their kind; a major or important one signed by the
director first, reminded and marked late when the signature does not come in time; a
routine one sent at once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.calendar_models import Report
from tests.calendar_helpers import at, last_push, pushes, run_until, tap
from tests.transcript import LANGS, Chat, open_menu, t

TITLE = "装配车间调整夜班津贴，职工反映较大"
TEXT = "11月23日起装配车间夜班津贴由每晚40元调为30元，两个班组约30名职工到工会询问，情绪较大。"


def write(chat: Chat, lang: str, grade: str, arose: str, sign: str | None = None) -> str:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.cal_info_report"))
    chat.press(t(lang, f"opt.info_grade.{grade}"))
    chat.say(arose)
    chat.say(TITLE)
    chat.say(TEXT)
    if sign is not None:
        chat.press(t(lang, f"opt.info_sign.{sign}"))
    chat.press(t(lang, "nav.confirm"))
    return chat.text


def body(lang: str, grade: str, arose: str) -> str:
    return t(lang, "report.info_body", grade=t(lang, f"opt.info_grade.{grade}"), arose=arose,
             title=TITLE, text=TEXT)


def report_row(services: Services) -> Report:
    with Session(services.db) as s:
        return s.exec(select(Report).where(Report.kind == "info")).one()


@pytest.mark.parametrize("lang", LANGS)
def test_a_major_one_is_signed_by_the_director_and_reaches_the_upper_union_in_time(
        services: Services, clock: FrozenClock, lang: str) -> None:
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, lang)
    upper = Chat(services, person="qian_wenjing")
    open_menu(upper, lang)
    # Monday 09:00, about today: due the next working day at 17:00; no signature question.
    said = write(staff, lang, "major", "今天" if lang == "zh" else "today")
    assert t(lang, "info_report.sign.ask") not in said
    assert t(lang, "info_report.done.submitted", number="I-2026-0001",
             due_at="2026-11-24 17:00") in said
    services.dispatcher.drain()
    request = last_push(services, "chen_lihua")
    assert request.text == t(lang, "notice.info_submitted", by="刘芳",
                             title=t(lang, "report.title.info"), period="I-2026-0001",
                             due_at="2026-11-24 17:00", lines=body(lang, "major", "2026-11-23"),
                             note=t(lang, "review.skipped"))
    assert not pushes(services, "qian_wenjing")  # not before the signature
    tap(director, request, t(lang, "menu.cal_report_action"))
    director.press(t(lang, "opt.report_action.approve"))
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.approve", title=t(lang, "report.title.info"),
             period="I-2026-0001", count=1) in director.text
    services.dispatcher.drain()
    assert pushes(services, "qian_wenjing") == [t(
        lang, "notice.info_signed", title=t(lang, "report.title.info"), period="I-2026-0001",
        lines=body(lang, "major", "2026-11-23"), note=t(lang, "review.skipped"), by="刘芳",
        director="陈丽华")]
    # The writer hears that it went.
    went = t(lang, "notice.info_went", title=t(lang, "report.title.info"), period="I-2026-0001",
             director="陈丽华", count=1)
    assert pushes(services, "liu_fang")[-1] == went
    # Sent: no reminder, no lateness afterwards.
    run_until(services, clock, at(11, 25, 9))
    assert not [p for p in pushes(services, "chen_lihua") + pushes(services, "liu_fang")
                if "I-2026-0001" in p and p not in (request.text, went)]
    row = report_row(services)
    assert (row.status, row.late, row.first_day.isoformat()) == ("sent", False, "2026-11-23")


@pytest.mark.parametrize("lang", LANGS)
def test_the_director_reads_what_she_signs_in_the_form(services: Services, clock: FrozenClock,
                                                       lang: str) -> None:
    """Before, 报告审核 asked her "要做什么？" with 批准 / 退回 and nothing of the report:
    she signed what the form did not show. Now its kind, the day it arose, its title, its
    text, who wrote it and its deadline stand above the question, whether she comes from
    the push or chooses the report from the list."""
    from tests.case_helpers import choices

    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, lang)
    write(staff, lang, "major", "今天" if lang == "zh" else "today")
    services.dispatcher.drain()
    title = t(lang, "report.title.info")
    shown = t(lang, "report_action.content.info", title=title, period="I-2026-0001",
              status=t(lang, "report.status.submitted"), by="刘芳",
              due=t(lang, "report_action.due", due_at="2026-11-24 17:00"),
              lines=body(lang, "major", "2026-11-23"),
              note=t(lang, "review.skipped"))
    actions = [t(lang, "opt.report_action.approve"), t(lang, "opt.report_action.return")]
    tap(director, last_push(services, "chen_lihua"), t(lang, "menu.cal_report_action"))
    asked = director.replies[-1]
    # 1/2: a return asks its reason after
    assert asked.text == shown + "\n\n" + t(lang, "flow.progress", n=1, total=2) + " " + \
        t(lang, "report_action.action.ask")
    assert choices(director) == actions
    director.press(t(lang, "nav.cancel"))
    # Chosen from the list of 报告审核: shown once chosen, not in the list.
    open_menu(director, lang)
    director.press(t(lang, "menu.cal_report_action"))
    assert TEXT not in director.text
    director.press(t(lang, "report.option", title=title, period="I-2026-0001",
                     status=t(lang, "report.status.submitted")))
    assert director.replies[-1].text.startswith(shown + "\n\n")
    assert director.replies[-1].text.endswith(t(lang, "report_action.action.ask"))
    assert choices(director) == actions


@pytest.mark.parametrize("lang", LANGS)
def test_a_signature_that_does_not_come_is_reminded_then_late(
        services: Services, clock: FrozenClock, lang: str) -> None:
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, lang)
    open_menu(Chat(services, person="qian_wenjing"), lang)  # the upper union reads in it too
    # Time-sensitive, called important, arising on Friday: two working days are Monday and
    # Tuesday, the weekend between not counted.
    clock.set(at(11, 27, 16))
    said = write(staff, lang, "timely", "2026-11-27", sign="director")
    assert t(lang, "info_report.done.submitted", number="I-2026-0001",
             due_at="2026-12-01 17:00") in said
    services.dispatcher.drain()
    request = last_push(services, "chen_lihua")
    title = t(lang, "report.title.info")
    # What it says comes with it: whoever signs it reads it there.
    what = body(lang, "timely", "2026-11-27")
    remind = t(lang, "notice.report_remind", title=title, period="I-2026-0001",
               due_at="2026-12-01 17:00", status=t(lang, "report.status.submitted"),
               lines=what)
    late = t(lang, "notice.cal_report_late", title=title, period="I-2026-0001",
             due_at="2026-12-01 17:00", status=t(lang, "report.status.submitted"), lines=what)
    run_until(services, clock, at(12, 1, 13, 59))
    assert remind not in pushes(services, "chen_lihua")
    run_until(services, clock, at(12, 1, 14, 1))
    assert pushes(services, "chen_lihua").count(remind) == 1
    assert pushes(services, "liu_fang").count(remind) == 1
    run_until(services, clock, at(12, 1, 17, 1))
    assert pushes(services, "chen_lihua").count(late) == 1
    # Signed the next morning: it goes, marked late.
    clock.set(at(12, 2, 9))
    tap(director, request, t(lang, "menu.cal_report_action"))
    director.press(t(lang, "opt.report_action.approve"))
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "report_action.done.approve_late", title=title, period="I-2026-0001",
             count=1) in director.text
    services.dispatcher.drain()
    assert pushes(services, "qian_wenjing") == [t(
        lang, "notice.info_signed_late", title=title, period="I-2026-0001",
        lines=body(lang, "timely", "2026-11-27"), note=t(lang, "review.skipped"), by="刘芳",
        director="陈丽华")]
    assert (report_row(services).status, report_row(services).late) == ("sent", True)
    assert pushes(services, "liu_fang")[-1] == t(
        lang, "notice.info_went_late", title=t(lang, "report.title.info"), period="I-2026-0001",
        director="陈丽华", count=1, due_at="2026-12-01 17:00")


@pytest.mark.parametrize("lang", LANGS)
def test_a_routine_one_goes_at_once_and_one_written_too_late_says_so(
        services: Services, clock: FrozenClock, lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(Chat(services, person="qian_wenjing"), lang)
    # A summary of last week, four working days from the Tuesday it arose: due Monday.
    said = write(staff, lang, "plan", "2026-11-17", sign="direct")
    assert t(lang, "info_report.done.sent", number="I-2026-0001", count=1,
             due_at="2026-11-23 17:00") in said
    # A time-sensitive one that arose last Monday: its two working days are over.
    said = write(staff, lang, "timely", "2026-11-16", sign="direct")
    assert t(lang, "info_report.done.sent_late", number="I-2026-0002", count=1,
             due_at="2026-11-18 17:00") in said
    services.dispatcher.drain()
    title = t(lang, "report.title.info")
    assert pushes(services, "qian_wenjing") == [
        t(lang, "notice.info_sent", title=title, period="I-2026-0001",
          lines=body(lang, "plan", "2026-11-17"), by="刘芳"),
        t(lang, "notice.info_sent_late", title=title, period="I-2026-0002",
          lines=body(lang, "timely", "2026-11-16"), by="刘芳")]
    # Nothing waits on them: no reminder ever.
    run_until(services, clock, at(11, 30, 9))
    assert not [p for p in pushes(services, "chen_lihua") if "I-2026-000" in p]


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_to_come_is_refused_and_the_form_is_only_for_staff(
        services: Services, lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.cal_info_report"))
    staff.press(t(lang, "opt.info_grade.major"))
    staff.say("2026-11-30")
    assert t(lang, "info_report.arose.ask") in staff.text  # asked again, with the reason
    assert t(lang, "info_report.headline.ask") not in staff.text
    worker = Chat(services, person="li_ming")
    open_menu(worker, lang)
    assert t(lang, "menu.cal_info_report") not in worker.labels()
    with Session(services.db) as s:
        assert s.exec(select(Report)).all() == []


def test_one_that_cannot_be_sent_is_still_reminded_and_marked_late(
        services: Services, clock: FrozenClock) -> None:
    """No upper-union contact: a routine report is kept, and reminded and marked late like
    any report not sent; a major one says at once that it cannot go even once signed."""
    from store.db import transaction
    from store.models import Person

    with transaction(services.db) as s:
        upper = s.exec(select(Person).where(Person.key == "qian_wenjing")).one()
        upper.active = False
        s.add(upper)
    staff = Chat(services, person="liu_fang")
    said = write(staff, "zh", "timely", "今天", sign="direct")
    assert t("zh", "info_report.no_upper", number="I-2026-0001",
             due_at="2026-11-25 17:00") in said
    said = write(staff, "zh", "major", "今天")
    assert t("zh", "info_report.done.submitted_no_upper", number="I-2026-0002",
             due_at="2026-11-24 17:00") in said
    title = t("zh", "report.title.info")
    run_until(services, clock, at(11, 25, 17, 1))
    what = body("zh", "timely", "2026-11-23")
    for status in ("draft",):
        assert t("zh", "notice.report_remind", title=title, period="I-2026-0001",
                 due_at="2026-11-25 17:00", status=t("zh", f"report.status.{status}"),
                 lines=what) in pushes(services, "liu_fang")
        assert t("zh", "notice.cal_report_late", title=title, period="I-2026-0001",
                 due_at="2026-11-25 17:00", status=t("zh", f"report.status.{status}"),
                 lines=what) in pushes(services, "chen_lihua")
    with Session(services.db) as s:
        assert [r.late for r in s.exec(select(Report).order_by(Report.id))] == [True, True]


@pytest.mark.parametrize("lang", LANGS)
def test_an_information_report_downloads_as_what_it_says(services: Services,
                                                         lang: str) -> None:
    from tests.calendar_helpers import rows, workbook

    write(Chat(services, person="liu_fang"), lang, "plan", "2026-11-17", sign="direct")
    book = workbook(services, "report", lang=lang, report_id=report_row(services).id)
    info = dict((r[0], r[1]) for r in rows(book[t(lang, "export.sheet.info")])[1:])
    assert info == {t(lang, "export.col.grade"): t(lang, "opt.info_grade.plan"),
                    t(lang, "export.col.arose"): "2026-11-17",
                    t(lang, "export.col.headline"): TITLE, t(lang, "export.col.text"): TEXT,
                    t(lang, "export.col.written_by"): "刘芳",
                    t(lang, "export.col.signed_by"): None}


@pytest.mark.parametrize("lang", LANGS)
def test_one_past_its_time_limit_reads_as_late_where_she_signs_it(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Regression: a major report written two days after it arose, past its one working day,
    was shown to the director as "须在 2026-11-24 17:00 前报送上级工会", a time gone by.
    Now it says it is late, and by when it was due."""
    staff, director = Chat(services, person="liu_fang"), Chat(services, person="chen_lihua")
    open_menu(director, lang)
    clock.set(at(11, 25, 10))
    write(staff, lang, "major", "2026-11-23")
    services.dispatcher.drain()
    tap(director, last_push(services, "chen_lihua"), t(lang, "menu.cal_report_action"))
    assert director.replies[-1].text.startswith(t(
        lang, "report_action.content.info", title=t(lang, "report.title.info"),
        period="I-2026-0001", status=t(lang, "report.status.submitted"), by="刘芳",
        due=t(lang, "report_action.due_late", due_at="2026-11-24 17:00"),
        lines=body(lang, "major", "2026-11-23"), note=t(lang, "review.skipped")))
    late = {"zh": "已迟报：应于 2026-11-24 17:00 前报送上级工会，至今未报送",
            "en": "LATE: it was due at the upper union by 2026-11-24 17:00"}[lang]
    assert late in director.replies[-1].text
