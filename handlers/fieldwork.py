"""Shop-floor visits (下基层, 1–2 a week) and the work log (工作日志; 蹲点 日记录、周报告、
月交流).

A staff member logs a visit in three answers; a week without one reminds them and tells the
director (000 §四.2). Each day's work-log entry is kept; on Friday afternoon the week's
entries become the weekly report, sent to its author and the director; the monthly
exchange's minutes are entered the same way as a daily entry (004 七.2).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.flow import Result, Submission
from handlers.context import HandlerContext, people_of
from handlers.reports import week_name, week_numbered
from scheduler import workdays
from store import outbox, timers
from store.calendar_models import FieldVisit, WorkLog
from store.db import transaction
from store.models import Person, Workshop

VISITS = "field_check"
WEEKLY_LOG = "worklog_weekly"
CHECK_AT = time(9, 0)  # Monday morning: was there a visit last week?
WEEKLY_AT = time(17, 0)  # Friday afternoon: the week's report from the daily entries
FRIDAY = 4


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def field_visit(ctx: HandlerContext, sub: Submission) -> Result:
    """Log a shop-floor visit."""
    s, a = ctx.session, sub.answers
    row = s.exec(select(FieldVisit).where(FieldVisit.draft_key == sub.draft_id)).first()
    if row is None:
        shop = s.exec(select(Workshop).where(Workshop.unit_id == ctx.unit_id(),
                                             Workshop.key == a["workshop"])).first()
        if shop is None or shop.id is None or ctx.actor.id is None:
            return Result("field_visit.gone", {}, back_to="workshop")
        row = FieldVisit(draft_key=sub.draft_id, unit_id=ctx.unit_id(), staff_id=ctx.actor.id,
                         workshop_id=shop.id, talked_with=a["talked_with"], issues=a["issues"],
                         visited_on=ctx.today, created_at=ctx.now)
        s.add(row)
        s.flush()
    monday = monday_of(row.visited_on)
    count = len(s.exec(select(FieldVisit.id).where(
        FieldVisit.staff_id == row.staff_id, col(FieldVisit.visited_on) >= monday,
        col(FieldVisit.visited_on) <= monday + timedelta(days=6))).all())
    shop = s.get(Workshop, row.workshop_id)
    return Result("field_visit.done", {"workshop": shop.name if shop else "", "count": count})


def work_log(ctx: HandlerContext, sub: Submission) -> Result:
    """Keep a daily entry (several a day are joined) or the monthly exchange's minutes."""
    s, a = ctx.session, sub.answers
    assert ctx.actor.id is not None
    kind = a["kind"]
    period = ctx.today.isoformat() if kind == "daily" else sub.draft_id
    row = s.exec(select(WorkLog).where(WorkLog.person_id == ctx.actor.id, WorkLog.kind == kind,
                                       WorkLog.period == period)).first()
    if row is None:
        row = WorkLog(unit_id=ctx.unit_id(), person_id=ctx.actor.id, kind=kind, period=period,
                      day=ctx.today, text=a["text"], created_at=ctx.now)
    elif a["text"] not in row.text.split("\n"):  # a re-delivery adds nothing
        row.text = f"{row.text}\n{a['text']}"
    s.add(row)
    return Result(f"work_log.done.{kind}", {"date": ctx.today.isoformat()})


def check_visits(s: Session, unit_id: int, monday: date, *, now: datetime,
                 zone: ZoneInfo) -> int:
    """The week from `monday`: a staff member without a shop-floor visit is reminded and
    the director told who. One who joined after the week began is not blamed for it, and
    nobody for a week with no working day (the Spring Festival's days off)."""
    sunday = monday + timedelta(days=6)
    cal = workdays.load(s)
    if not any(cal.is_workday(monday + timedelta(days=i)) for i in range(7)):
        return 0
    missing = []
    for p in people_of(s, unit_id, ("staff",)):
        if p.created_at.astimezone(zone).date() > monday:
            continue
        n = len(s.exec(select(FieldVisit.id).where(
            FieldVisit.staff_id == p.id, col(FieldVisit.visited_on) >= monday,
            col(FieldVisit.visited_on) <= sunday)).all())
        if n == 0:
            missing.append(p)
    words = {"first": monday.isoformat(), "last": sunday.isoformat()}
    for p in missing:
        outbox.enqueue(s, key=f"field:{monday}:remind:{p.id}", recipient_id=p.id, now=now,
                       message="notice.field_none", priority=outbox.ALERT,
                       params={**words, "actions": [["menu.cal_field_visit",
                                                     "flow:field_visit"]]})
    if missing:
        names = [p.name for p in missing]  # joined in each reader's language
        for d in people_of(s, unit_id, ("director",)):
            outbox.enqueue(s, key=f"field:{monday}:director:{d.id}", recipient_id=d.id,
                           now=now, message="notice.field_none_director",
                           priority=outbox.ALERT, params={**words, "names": names,
                                                          "count": len(missing)})
    return len(missing)


def weekly_log(s: Session, unit_id: int, monday: date, *, now: datetime) -> int:
    """Draft each person's weekly report from the week's daily entries."""
    sunday = monday + timedelta(days=6)
    rows = s.exec(select(WorkLog).where(WorkLog.unit_id == unit_id, WorkLog.kind == "daily",
                                        col(WorkLog.day) >= monday, col(WorkLog.day) <= sunday)
                  .order_by(col(WorkLog.day))).all()
    by_person: dict[int, list[WorkLog]] = {}
    for r in rows:
        by_person.setdefault(r.person_id, []).append(r)
    week = week_name(monday)
    made = 0
    for pid, entries in by_person.items():
        text = "\n".join(f"{e.day:%m-%d} {line}" for e in entries for line in e.text.split("\n"))
        report = s.exec(select(WorkLog).where(WorkLog.person_id == pid, WorkLog.kind == "weekly",
                                              WorkLog.period == week)).first()
        if report is None:
            report = WorkLog(unit_id=unit_id, person_id=pid, kind="weekly", period=week,
                             day=sunday, text=text, created_at=now)
            s.add(report)
        author = s.get(Person, pid)
        words: dict[str, Any] = {"name": author.name if author else "",
                                 "week": week_numbered(monday),
                                 "first": monday.isoformat(), "last": sunday.isoformat(),
                                 "days": len(entries), "text": text}
        for who in [pid, *(d.id for d in people_of(s, unit_id, ("director",)) if d.id != pid)]:
            outbox.enqueue(s, key=f"worklog:{week}:{pid}:{who}", recipient_id=who, now=now,
                           message="notice.worklog_weekly", params=words)
        made += 1
    return made


class FieldJobs:
    """Timer handlers: the Monday visit check and the Friday weekly work-log report."""

    def __init__(self, db: Engine, clock: Any, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def visits(self, ref: str) -> int:
        unit_id, _, monday = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=VISITS, ref=ref, now=now) is None:
                return 0
            return check_visits(s, int(unit_id), date.fromisoformat(monday), now=now,
                                zone=self.zone)

    def weekly(self, ref: str) -> int:
        unit_id, _, monday = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=WEEKLY_LOG, ref=ref, now=now) is None:
                return 0
            return weekly_log(s, int(unit_id), date.fromisoformat(monday), now=now)
