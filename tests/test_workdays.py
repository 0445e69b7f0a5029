"""Due dates on Chinese working days: real 2026 holidays, and a year from the org file."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel, select

from scheduler import workdays
from scheduler.workdays import WorkCalendar
from store.db import make_engine, transaction
from store.models import CalendarDay
from store.org import OrgError, load_org, parse_org
from tests.test_org import MINIMAL

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # 2025-12-17 + 60 = Sun 2026-02-15, first day of the Spring Festival holiday
        # (02-15..02-23): due the first working day after it.
        (date(2025, 12, 17), 60, date(2026, 2, 24)),
        # Sat 2026-02-14 is a swapped workday (调休): it stays.
        (date(2025, 12, 16), 60, date(2026, 2, 14)),
        # Sat 2026-02-28, the other Spring Festival workday.
        (date(2025, 12, 30), 60, date(2026, 2, 28)),
        # 2026-08-02 + 60 = Thu 2026-10-01, National Day: moves past the golden week.
        (date(2026, 8, 2), 60, date(2026, 10, 8)),
        # Sat 2026-10-10 is National Day's swapped workday; Sun 2026-09-20 the other.
        (date(2026, 8, 11), 60, date(2026, 10, 10)),
        (date(2026, 6, 22), 90, date(2026, 9, 20)),
        # Sun 2026-10-11 is an ordinary weekend day again: Monday.
        (date(2026, 8, 12), 60, date(2026, 10, 12)),
        # An ordinary Tuesday stays.
        (date(2026, 11, 23), 30, date(2026, 12, 23)),
    ],
)
def test_due_dates_of_2026(start: date, days: int, due: date) -> None:
    assert CAL.due_date(start, days) == due


def test_unknown_year_counts_weekends_only_and_warns(caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workdays, "_warned", set())  # warned once per process
    with caplog.at_level(logging.WARNING, logger="scheduler.workdays"):
        # 2099-01-03 is a Saturday: Monday, whatever holidays 2099 will have.
        assert WorkCalendar().due_date(date(2098, 11, 4), 60) == date(2099, 1, 5)
    assert "no holiday data for 2099" in caplog.text
    assert not WorkCalendar().knows(2099)


CALENDAR_2099 = """\
calendar:
  - year: 2099
    holidays: [2099-01-01, "2099-01-20..2099-01-26"]
    workdays: [2099-01-18, 2099-01-31]
"""


def test_a_year_from_the_org_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(MINIMAL + CALENDAR_2099, encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(engine)
    with transaction(engine) as s:
        load_org(s, parse_org(path), now=NOW)
    with transaction(engine) as s:
        cal = workdays.load(s)
        assert len(s.exec(select(CalendarDay)).all()) == 1 + 7 + 2
    with caplog.at_level(logging.WARNING, logger="scheduler.workdays"):
        assert cal.knows(2099)
        # 2098-11-21 + 60 = Tue 2099-01-20: inside the file's holiday, due after it.
        assert cal.due_date(date(2098, 11, 21), 60) == date(2099, 1, 27)
        # Sun 2099-01-18 is a swapped workday from the file.
        assert cal.due_date(date(2098, 11, 19), 60) == date(2099, 1, 18)
        # Thu 2099-01-01 is a holiday: Friday.
        assert cal.due_date(date(2098, 11, 2), 60) == date(2099, 1, 2)
        # Other days of 2099 follow the week.
        assert cal.due_date(date(2099, 1, 3), 7) == date(2099, 1, 12)
    assert "no holiday data for 2099" not in caplog.text
    # Taking the year out of the file takes its days out of the calendar.
    path.write_text(MINIMAL, encoding="utf-8")
    with transaction(engine) as s:
        report = load_org(s, parse_org(path), now=NOW)
        assert report.deleted["CalendarDay"] == 10
        assert workdays.load(s).due_date(date(2098, 11, 21), 60) == date(2099, 1, 20)
    engine.dispose()


@pytest.mark.parametrize(
    ("calendar", "words"),
    [
        ("  - {year: 2099, holidays: [2098-12-31]}\n", "2098-12-31 is not in 2099"),
        ("  - {year: 2099, holidays: [2099-01-02], workdays: [2099-01-02]}\n",
         "2099-01-02 is both a holiday and a workday"),
        ("  - {year: 2099, holidays: [2099-13-01]}\n", "'2099-13-01' is not a date"),
        ("  - {year: 2099, holidays: ['2099-01-05..2099-01-02']}\n", "ends before it starts"),
        ("  - {year: 2099}\n  - {year: 2099}\n", "2099 is given twice"),
    ],
)
def test_a_wrong_calendar_is_refused_with_its_line(tmp_path: Path, calendar: str,
                                                   words: str) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(MINIMAL + "calendar:\n" + calendar, encoding="utf-8")
    with pytest.raises(OrgError) as info:
        parse_org(path)
    assert words in str(info.value)
    assert all(p.line > MINIMAL.count("\n") for p in info.value.problems)


def test_the_dependency_pin_admits_only_releases_that_know_2026() -> None:
    """Regression: `chinesecalendar>=1.9` let an install pick 1.9 or 1.10, which do not know
    2026's holidays: every deadline and the roster would count weekends only (the Spring
    Festival, National Day and their swapped workdays as ordinary days)."""
    import tomllib

    from packaging.requirements import Requirement

    with (Path(__file__).parent.parent / "pyproject.toml").open("rb") as f:
        deps = [Requirement(d) for d in tomllib.load(f)["project"]["dependencies"]]
    pin = next(r for r in deps if r.name == "chinesecalendar")
    assert not pin.specifier.contains("1.10.0")  # the last release without 2026
    assert pin.specifier.contains("1.11.0")
    assert CAL.knows(2026) and not CAL.is_workday(date(2026, 2, 16)) \
        and CAL.is_workday(date(2026, 2, 28))  # 春节, and its swapped Saturday


def test_a_year_without_holiday_data_still_keeps_the_fixed_date_statutory_holidays() -> None:
    """No schedule for 2099 yet: 元旦, 清明 (its solar term), 劳动节's and 国庆's fixed
    days are still days off (a 60-day deadline used to land on New Year's Day); a year
    the organisation file gives is taken as the file says."""
    cal = WorkCalendar()
    assert [cal.is_workday(d) for d in (date(2099, 1, 1), date(2099, 4, 4), date(2099, 5, 1),
                                         date(2099, 10, 1), date(2099, 10, 2))] == [False] * 5
    assert cal.is_workday(date(2099, 4, 6)) and cal.is_workday(date(2099, 10, 5))
    assert cal.due_date(date(2098, 11, 2), 60) == date(2099, 1, 2)  # Friday 1-1 is off
    # A year the file gives with its lunar holidays only keeps the fixed-date ones; a day
    # the file makes a working day (调休) is one.
    given = WorkCalendar({date(2099, 2, 1): False, date(2099, 10, 3): True}, years={2099})
    assert not given.is_workday(date(2099, 1, 1)) and not given.is_workday(date(2099, 10, 1))
    assert given.is_workday(date(2099, 10, 3)) and not given.is_workday(date(2099, 2, 1))


# --- the rotation's count of working days (store/roster.py: turn_of) ----------------------


def _turn_by_counting(day: date, cal: WorkCalendar) -> int:
    """turn_of as it was: every day from the anchor looked at, one by one."""
    from datetime import timedelta

    from store.roster import ANCHOR

    lo, hi, sign = (ANCHOR, day, 1) if day >= ANCHOR else (day, ANCHOR, -1)
    return sign * sum(cal.is_workday(lo + timedelta(days=n)) for n in range((hi - lo).days))


# The file's days: a swapped Saturday and a holiday in a year the package knows, a year
# it does not (2099's own 元旦 kept), a day before the anchor.
FILE_DAYS = {date(2026, 12, 26): True, date(2026, 12, 31): False, date(2023, 12, 29): False,
             date(2029, 2, 12): False, date(2029, 2, 10): True, date(2030, 10, 8): False}


@pytest.mark.parametrize("unknown_from", [None, 2027])
def test_the_rotation_counts_the_same_working_days_as_counting_every_day(
        monkeypatch: pytest.MonkeyPatch, unknown_from: int | None) -> None:
    """turn_of counted every day since 2024-01-01 (a day in 2124: half a second). It now
    counts the weekdays and looks only at the days that differ from the week; the days
    from 2022 to 2031 get the same position as before, holidays, swapped workdays, the
    file's days and years the package does not know (as 1.11 does not know 2027)."""
    from datetime import timedelta

    from store.roster import turn_of

    if unknown_from is not None:
        known = workdays.chinese_calendar.is_workday

        def is_workday(day: date) -> bool:
            if day.year >= unknown_from:
                raise NotImplementedError(f"no data for {day.year}")
            return bool(known(day))

        monkeypatch.setattr(workdays.chinese_calendar, "is_workday", is_workday)
    for cal in (WorkCalendar(), WorkCalendar(FILE_DAYS, years={2029})):
        # Counted day by day, as before, once: from the first day on, one day at a time.
        day, turn = date(2022, 1, 1), _turn_by_counting(date(2022, 1, 1), cal)
        while day < date(2032, 1, 1):
            if day.toordinal() % 5 == 0:
                assert turn_of(day, cal) == turn, day
            turn += cal.is_workday(day)
            day += timedelta(days=1)
        # February 2026: 20 weekdays, 6 of them 春节 off, 2 Saturdays worked (调休).
        assert cal.count(date(2026, 2, 1), date(2026, 3, 1)) == 16
        assert cal.count(date(2026, 3, 1), date(2026, 3, 1)) == 0


def test_the_rotation_with_leaves_and_swaps_is_the_same_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Who receives on each day, a leader away skipped and a swapped day kept, is what the
    day-by-day count gave, over days of many years."""
    from datetime import timedelta

    from store import roster

    cal = WorkCalendar(FILE_DAYS, years={2029})
    leaders = ["赵", "孙", "吴", "钱"]
    away = {("孙", date(2026, 11, 25)), ("吴", date(2027, 3, 3)), ("赵", date(2030, 5, 6))}
    overrides = {date(2026, 11, 26): "钱", date(2029, 2, 10): "赵"}
    starts = [date(2023, 12, 20) + timedelta(days=37 * n) for n in range(70)] + [
        date(2026, 11, 20), date(2027, 2, 25), date(2029, 2, 5), date(2030, 5, 1)]
    new = [roster.rotate(leaders, roster.days_from(cal, d, 12), cal,
                         away=lambda k, d: (k, d) in away, overrides=overrides)
           for d in starts]
    monkeypatch.setattr(roster, "turn_of", _turn_by_counting)
    old = [roster.rotate(leaders, roster.days_from(cal, d, 12), cal,
                         away=lambda k, d: (k, d) in away, overrides=overrides)
           for d in starts]
    assert new == old
    given = {d: k for r in new for d, k in r}
    assert given[date(2026, 11, 26)] == "钱" and given[date(2027, 3, 3)] != "吴"
