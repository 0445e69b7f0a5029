"""Chinese working days: statutory holidays and swapped workdays (调休).

The `chinesecalendar` package knows the State Council's published years. A year it does not
know counts weekends only, with a warning, until the organisation file adds that year's
holidays and swapped workdays (stored as CalendarDay rows, which win over the package).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta

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
                log.warning("no holiday data for %s: counting weekends only; add the year's "
                            "holidays and swapped workdays to the organisation file "
                            "(calendar:) or upgrade chinesecalendar", day.year)
            return day.weekday() < 5

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

    def workdays(self, start: date, count: int) -> list[date]:
        """Return the next `count` working days, `start` included."""
        out: list[date] = []
        day = start
        while len(out) < count:
            if self.is_workday(day):
                out.append(day)
            day += timedelta(days=1)
        return out


def load(session: Session) -> WorkCalendar:
    """The calendar with the organisation file's years added."""
    rows = session.exec(select(CalendarDay)).all()
    return WorkCalendar({r.day: r.workday for r in rows})
