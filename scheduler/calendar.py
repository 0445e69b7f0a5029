"""The workroom's calendar: the recurring jobs, planned as timer rows.

The planner runs every few minutes (and once at start). For each unit it makes sure the
next weeks' occurrences exist as timers: the roster's publication (on the staff's schedule)
and its daily last-chance check, the screening's ask / chase / report (25th, 28th, the
working morning after the 30th), the opinion report (drafted the 10th, due before the 20th), the
weekly report (Thursdays, due 17:00), the quarterly summary of letters to a leader (the
first working day of a quarter), the Monday shop-floor visit check and the Friday
work-log report. It only adds missing rows, so running it again changes nothing and a fired
timer never fires twice; an occurrence missed by less than a day (the scheduler was down) is
caught up at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.clock import Clock
from handlers import fieldwork, invitations, reports, roster, screening
from scheduler import workdays
from scheduler.sweep import TimerHandler
from store.db import transaction
from store.models import Timer, Unit

log = logging.getLogger(__name__)
WINDOW = timedelta(days=35)
GRACE = timedelta(days=1)
KINDS = (roster.PUBLISH, roster.CHECK, screening.KIND, reports.KIND, fieldwork.VISITS,
         fieldwork.WEEKLY_LOG)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def occurrences(s: Session, unit_id: int, now: datetime,
                zone: ZoneInfo) -> list[tuple[str, str, datetime]]:
    """(kind, ref, due) of every calendar job of the unit between yesterday and the end
    of the window."""
    today = now.astimezone(zone).date()
    first, last = today - timedelta(days=1), (now + WINDOW).astimezone(zone).date()
    cal = workdays.load(s)
    weekday, at, _ = roster.schedule_of(roster.plan_of(s, unit_id))
    u = unit_id
    out: list[tuple[str, str, datetime]] = []
    for day in _days(first, last):
        if weekday is None or day.weekday() == weekday:
            out.append((roster.PUBLISH, f"{u}:{day}", datetime.combine(day, at, zone)))
        if cal.is_workday(day):
            out.append((roster.CHECK, f"{u}:{day}", datetime.combine(day, roster.CHECK_AT, zone)))
        if day.weekday() == reports.THURSDAY:
            for stage, due in reports.weekly_times(day, zone, cal).items():
                out.append((reports.KIND, f"{u}:weekly:{day}:{stage}", due))
        if day.weekday() == 0:  # Monday: the week before had its shop-floor visits?
            out.append((fieldwork.VISITS, f"{u}:{day - timedelta(days=7)}",
                        datetime.combine(day, fieldwork.CHECK_AT, zone)))
        if day.weekday() == fieldwork.FRIDAY:
            out.append((fieldwork.WEEKLY_LOG, f"{u}:{fieldwork.monday_of(day)}",
                        datetime.combine(day, fieldwork.WEEKLY_AT, zone)))
    # From last month: its report may fall a week into this one (after National Day).
    for month in screening.next_months(first.replace(day=1) - timedelta(days=1), 4):
        for stage, due in screening.stage_times(month, zone, cal).items():
            out.append((screening.KIND, f"{u}:{month}:{stage}", due))
    for month in screening.next_months(first, 3):
        for stage, due in reports.opinion_times(month, zone).items():
            out.append((reports.KIND, f"{u}:opinion:{month}:{stage}", due))
    for quarter, due in reports.letters_times(cal, first, zone):  # the letters' summary
        out.append((reports.KIND, f"{u}:{reports.LETTERS}:{quarter}:send", due))
    # A publication time that has passed is not caught up: it may be one the staff just
    # moved, and the daily check publishes whatever cannot wait.
    return [o for o in out if now - GRACE <= o[2] <= now + WINDOW
            and (o[0] != roster.PUBLISH or o[2] >= now)]


class CalendarPlanner:
    """Plan the calendar jobs of every unit as timers (idempotent)."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def plan(self) -> int:
        """Add the timers of the coming occurrences that are not there yet."""
        now = self.clock.now()
        added = 0
        with transaction(self.db) as s:
            units = [u for u in s.exec(select(Unit.id)) if u is not None]
            have = {(t.kind, t.ref) for t in s.exec(select(Timer).where(
                col(Timer.kind).in_(KINDS), col(Timer.due_at) >= now - GRACE - WINDOW))}
            for unit_id in units:
                for kind, ref, due in occurrences(s, unit_id, now, self.zone):
                    if (kind, ref) not in have:
                        s.add(Timer(kind=kind, ref=ref, due_at=due))
                        have.add((kind, ref))
                        added += 1
        if added:
            log.info("calendar: %d job(s) planned", added)
        return added


def timer_handlers(db: Engine, clock: Clock, zone: ZoneInfo) -> dict[str, TimerHandler]:
    """The calendar's timer kinds and what fires them."""
    jobs = roster.RosterJobs(db, clock, zone)
    field = fieldwork.FieldJobs(db, clock, zone)
    invited = invitations.InvitationTimers(db, clock, zone)
    return {roster.PUBLISH: jobs.publish, roster.CHECK: jobs.check,
            roster.HANDOVER: jobs.handover,
            invitations.REMIND: invited.remind, invitations.LAPSE: invited.lapse,
            screening.KIND: screening.ScreeningJobs(db, clock, zone).fire,
            reports.KIND: reports.ReportJobs(db, clock, zone).fire,
            fieldwork.VISITS: field.visits, fieldwork.WEEKLY_LOG: field.weekly}
