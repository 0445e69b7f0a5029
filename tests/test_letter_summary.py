"""The quarterly summary of letters to a leader (领导来信, 001 (二)): every letter reaches
the leader it was written to at once; the quarter's letters are summed up for the chairman
(the director) on the first working day of the next quarter, at the hour the other reports
are drafted: how many, to whom, by category, answered, closed, open and overdue, the
writers' ratings and the notable ones; in one line when there were none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.calendar_models import Report
from tests.calendar_helpers import at, pushes, rows, run_until, workbook
from tests.case_helpers import case_action, the_case
from tests.conftest import make_services
from tests.test_letters import opened, write
from tests.transcript import LANGS, open_menu, t

Q3 = ("2026-07-01", "2026-09-30")
# National Day: 10-01..10-07 are off, Thursday 10-08 is the first working day of Q4.
SENT = at(10, 8, 9)


@pytest.fixture
def summer(sqlite_url: str) -> Iterator[tuple[Services, FrozenClock]]:
    """The demo workroom set up on Monday 2026-07-13, at the start of Q3."""
    clock = FrozenClock(at(7, 13, 9))
    services = make_services(sqlite_url, clock)
    yield services, clock
    services.close()


def summary(services: Services) -> list[Report]:
    with Session(services.db) as s:
        return list(s.exec(select(Report).where(Report.kind == "letters")).all())


def header(lang: str) -> dict[str, str]:
    return {"title": t(lang, "report.title.letters"),
            "period": t(lang, "report.quarter.3", year="2026"), "first": Q3[0], "last": Q3[1]}


@pytest.mark.parametrize("lang", LANGS)
def test_the_chairman_reads_the_quarters_letters_on_its_first_working_day(
        summer: tuple[Services, FrozenClock], lang: str) -> None:
    services, clock = summer
    c = opened(services, lang, "li_ming", "chen_lihua", "liu_fang", "sun_hongmei")
    write(c["li_ming"], lang, "孙红梅")  # never answered: overdue by October
    late = the_case(services, "C-2026-0001").due_on
    run_until(services, clock, at(9, 14, 10))
    write(c["li_ming"], lang, "陈丽华")  # answered, closed and rated
    write(c["li_ming"], lang, "", category="wages")  # to no leader: still open, not late
    case_action(c["chen_lihua"], lang, "C-2026-0002", "reply", "下月起食堂价格由职代会审议")
    case_action(c["chen_lihua"], lang, "C-2026-0002", "close", "职代会已审议，价格回调")
    li = c["li_ming"]
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press_starting("C-2026-0002")
    li.press(t(lang, "opt.rating.satisfied"))
    assert t(lang, "rate.done", number="C-2026-0002") in li.text

    run_until(services, clock, at(10, 8, 8, 59))
    assert summary(services) == []  # not during the National Day holiday
    run_until(services, clock, SENT)
    [row] = summary(services)
    assert (row.period, row.status) == ("2026-Q3", "sent")

    def count(label: str, n: int) -> str:
        return t(lang, "report.count_line", label=label, count=n)

    body = "\n".join([
        t(lang, "report.letters_totals", letters=3, answered=1, closed=1, open=2, overdue=1),
        t(lang, "report.section.letters_to"),
        count("孙红梅", 1), count("陈丽华", 1), count(t(lang, "letter.to_any"), 1),
        t(lang, "report.section.letter_categories"),
        count(t(lang, "opt.category.other"), 2), count(t(lang, "opt.category.wages"), 1),
        t(lang, "report.letters_rated", satisfied=1, basic=0, unsatisfied=0, rated=1),
        t(lang, "report.section.notable"),
        t(lang, "report.notable_letter", number="C-2026-0001",
          what=t(lang, "case.letter_to", to="孙红梅"),
          why=t(lang, "report.letter_late", late=(SENT.date() - late).days),
          status=t(lang, "letter.awaiting"))])
    said = t(lang, "notice.letters_summary", **header(lang), lines=body)
    assert pushes(services, "chen_lihua").count(said) == 1
    assert "李明" not in said  # no writer is named
    assert not [p for p in pushes(services, "liu_fang") if header(lang)["title"].upper() in p]

    # Once only; the next quarter's comes in January.
    run_until(services, clock, at(10, 20, 9))
    assert len(summary(services)) == 1
    assert pushes(services, "chen_lihua").count(said) == 1

    # Its export: the figures, to whom, by category, the notable ones.
    book = workbook(services, "report", lang=lang, report_id=row.id)
    figures = dict((r[0], r[1]) for r in rows(book[t(lang, "export.sheet.letter_figures")])[1:])
    assert figures[t(lang, "export.letters.overdue")] == 1
    assert figures[t(lang, "opt.rating.satisfied")] == 1
    to = rows(book[t(lang, "export.sheet.letters_to")])[1:]
    assert to == [["孙红梅", 1], ["陈丽华", 1], [t(lang, "letter.to_any"), 1]]
    head = dict((r[0], r[1]) for r in rows(book[t(lang, "export.sheet.report")])[1:])
    assert head[t(lang, "export.col.period")] == t(lang, "report.quarter.3", year="2026")
    [[notable]] = rows(book[t(lang, "export.sheet.notable")])[1:]
    assert notable.startswith("C-2026-0001")


@pytest.mark.parametrize("lang", LANGS)
def test_a_quarter_without_letters_is_said_in_one_line(sqlite_url: str, lang: str) -> None:
    clock = FrozenClock(at(9, 28, 9))
    services = make_services(sqlite_url, clock)
    try:
        opened(services, lang, "chen_lihua")
        run_until(services, clock, SENT)
        assert pushes(services, "chen_lihua").count(t(
            lang, "notice.letters_summary_none", **header(lang))) == 1
        assert [r.data["letters"] for r in summary(services)] == [0]
    finally:
        services.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_summary_says_truly_where_letters_went_and_how_they_stand(
        summer: tuple[Services, FrozenClock], lang: str) -> None:
    """Regression: the summary opened "每封来信登记后即已送达收信领导本人阅处", though a
    letter to no leader in particular went to the leader in charge of its matter; a letter
    to the chairman not answered read "已交办" (assigned: to whom?); and one to no leader
    read with brackets doubled, "来信（工资福利）（超期 27 天，已交办）"."""
    services, clock = summer
    c = opened(services, lang, "li_ming", "chen_lihua")
    write(c["li_ming"], lang, "陈丽华")  # to the chairman, never answered
    write(c["li_ming"], lang, "", category="wages")  # to no leader, never answered
    chairman, anyone = the_case(services, "C-2026-0001"), the_case(services, "C-2026-0002")
    assert (chairman.status, anyone.status) == ("assigned", "assigned")
    run_until(services, clock, SENT)
    [said] = [p for p in pushes(services, "chen_lihua") if header(lang)["title"].upper() in p]
    opening = {"zh": "写给某位领导的信，登记后即送达这位领导本人阅处；不指定领导的信，"
                     "按分管工作转交分管领导阅处。",
               "en": "A letter written to a leader reached that leader when it was "
                     "registered; one to no leader in particular went to the leader in "
                     "charge of its matter."}[lang]
    assert opening in said
    days = {"zh": "超期 {} 天", "en": "{} days overdue"}[lang]
    notable = {"zh": ["  C-2026-0001 写给陈丽华的信：{}，待答复",
                      "  C-2026-0002 来信（工资福利）：{}，待答复"],
               "en": ["  C-2026-0001 letter to 陈丽华: {}, awaiting an answer",
                      "  C-2026-0002 letter (Wages and benefits): {}, awaiting an answer"]}[lang]
    for line, case in zip(notable, (chairman, anyone), strict=True):
        assert line.format(days.format((SENT.date() - case.due_on).days)) in said.split("\n")
    assert "）（" not in said and ") (" not in said
    assert t(lang, "status.assigned") not in said
