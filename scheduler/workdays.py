"""Chinese working days: statutory holidays and swapped workdays (调休).

The `chinesecalendar` package knows the State Council's published years. A year it does not
know counts weekends and the statutory holidays whose day is fixed (元旦 1-1, 清明 on its
solar term, 劳动节 5-1/5-2, 国庆 10-1..10-3; the lunar ones and the swapped workdays are
published each year), with a warning, until the organisation file adds that year's
holidays and swapped workdays (stored as CalendarDay rows, which win over the package).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache

import chinese_calendar
from sqlmodel import Session, select

from store.models import CalendarDay

log = logging.getLogger(__name__)
_warned: set[int] = set()


class WorkCalendar:
    """Answer whether a day is a Chinese working day, and when a deadline falls due."""

    def __init__(self, extra: Mapping[date, bool] | None = None, *,
                 years: set[int] | None = None) -> None:
        self.extra = dict(extra or {})
        self.years = {d.year for d in self.extra} | (years or set())

    def is_workday(self, day: date) -> bool:
        if day in self.extra:
            return self.extra[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            # A year the file gave: its other days follow the week, and that is no surprise.
            if day.year not in self.years and day.year not in _warned:
                _warned.add(day.year)
                log.warning("no holiday data for %s: counting weekends and the fixed-date "
                            "statutory holidays only; add the year's holidays and swapped "
                            "workdays to the organisation file (calendar:) or upgrade "
                            "chinesecalendar", day.year)
            # The file's days are in `extra`; its other days keep the fixed-date holidays
            # (a file listing only the lunar ones must not make 国庆 a working day).
            return day.weekday() < 5 and not fixed_holiday(day)

    def knows(self, year: int) -> bool:
        """Tell whether holidays of `year` are known (from the file or the package)."""
        if year in self.years:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def next_workday(self, day: date) -> date:
        """Return `day` if it is a working day, else the first working day after it."""
        for _ in range(60):
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within 60 days of {day}")

    def due_date(self, start: date, days: int) -> date:
        """Count `days` calendar days from `start`; a non-working day moves to the next one."""
        return self.next_workday(start + timedelta(days=days))

    def count(self, first: date, last: date) -> int:
        """How many working days from `first` up to `last` (not included). Counts the
        weekdays by arithmetic and looks only at the days that can differ from the week:
        the file's days, the package's holidays and swapped workdays, and the fixed-date
        holidays of a year the package does not know (is_workday's exceptions)."""
        if last <= first:
            return 0
        found = _weekdays_before(last) - _weekdays_before(first)
        for day in self._exceptions(first, last):
            found += int(self.is_workday(day)) - int(day.weekday() < 5)
        return found

    def _exceptions(self, first: date, last: date) -> set[date]:
        """Every day in [first, last) whose working day may differ from the week's: the
        file's days, the package's, and in every year the fixed-date holidays (a year the
        package does not know keeps them)."""
        table = _package_days()
        days = {d for d in self.extra if first <= d < last}
        days.update(table[bisect_left(table, first):bisect_left(table, last)])
        for year in range(first.year, last.year + 1):
            fixed = [date(year, m, d) for m, d in _FIXED] + \
                [date(year, 4, d) for d in range(3, 7)]  # 清明 falls on one of these
            days.update(d for d in fixed if first <= d < last)
        return days

    def workdays(self, start: date, count: int) -> list[date]:
        """Return the next `count` working days, `start` included."""
        out: list[date] = []
        day = start
        while len(out) < count:
            if self.is_workday(day):
                out.append(day)
            day += timedelta(days=1)
        return out


_FIXED = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}  # 元旦, 劳动节, 国庆


@cache
def _package_days() -> list[date]:
    """The package's holidays and swapped workdays, sorted."""
    return sorted({*chinese_calendar.holidays, *chinese_calendar.workdays})


def _weekdays_before(day: date) -> int:
    """Mondays to Fridays from 0001-01-01 (a Monday) up to `day`, not included."""
    weeks, rest = divmod(day.toordinal() - 1, 7)
    return weeks * 5 + min(rest, 5)


def fixed_holiday(day: date) -> bool:
    """A statutory holiday whose day is known in any year: 元旦, 清明 (a solar term),
    劳动节's and 国庆's days (全国年节及纪念日放假办法)."""
    if (day.month, day.day) in _FIXED:
        return True
    if day.month == 4 and 3 <= day.day <= 6:
        try:
            return any(name == "清明" for _, name in chinese_calendar.get_solar_terms(day, day))
        except (NotImplementedError, KeyError, ValueError):
            return False
    return False


def load(session: Session) -> WorkCalendar:
    """The calendar with the organisation file's years added."""
    rows = session.exec(select(CalendarDay)).all()
    return WorkCalendar({r.day: r.workday for r in rows})
