"""The reception roster (领导接访): built by rotation, leaders away skipped, days swapped,
and published to every employee at least two working days ahead.

Each working day one party or administration leader receives; union leaders receive any
day and every publication names them. A change to a day (a swap, a leader away) moves the
day's bookings to the new leader and tells both leaders and the booked employees; a day
already published is published again as a change. An entry published later than two
working days before its day is marked late and the director told (000 制度(二) 三).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations import catalog
from conversations.clock import Clock
from conversations.flow import Result, Submission
from handlers import assignment, bookings
from handlers.casework import words
from handlers.context import HandlerContext, people_of
from scheduler import workdays
from store import org, outbox, roster, timers
from store.calendar_models import DutyOverride, DutyPublished, LeaderAway, RosterPlan
from store.db import transaction
from store.models import Booking, DutyEntry, Notification, Person, Timer, Unit

PUBLISH = "roster_publish"
CHECK = "roster_check"
HANDOVER = roster.HANDOVER
CHECK_AT = time(17, 0)  # the day's last chance to publish what is due today
DEFAULT_WEEKDAY, DEFAULT_AT, DEFAULT_HORIZON = 3, time(16, 0), 10
DUTY_ROLES = ("leader", "director")
# Who runs the roster or receives on it: they read a publication as the roster, not as
# the employees' invitation to book (notice.roster_published).
TEAM = ("staff", "director", "leader")
TEAM_NOTICE = {"notice.roster_published": "notice.roster_published_team",
               "notice.roster_changed": "notice.roster_changed_team"}
VIEW_DAYS = 10
REACH_LIMIT = 60  # working days a publication may have to reach ahead (a long holiday)
# How far ahead the staff are told of a year whose holidays the calendar does not know:
# weeks before 元旦 and the Spring Festival, after the State Council usually publishes them.
WARN_AHEAD = timedelta(days=45)


class Refusal(Exception):
    """A roster change that cannot be made; `key` names the catalog message saying why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass
class Changes:
    created: list[DutyEntry] = field(default_factory=list)
    moved: list[DutyEntry] = field(default_factory=list)  # entries given to another leader
    uncovered: list[date] = field(default_factory=list)  # nobody could take the day


def plan_of(s: Session, unit_id: int | None) -> RosterPlan | None:
    return s.exec(select(RosterPlan).where(RosterPlan.unit_id == unit_id)).first()


def schedule_of(plan: RosterPlan | None) -> tuple[int | None, time, int]:
    """(weekday or None for every day, time, horizon in days) of the publication."""
    if plan is None:
        return DEFAULT_WEEKDAY, DEFAULT_AT, DEFAULT_HORIZON
    return plan.publish_weekday, plan.publish_at, plan.horizon_days


def _today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


# --- words ---------------------------------------------------------------------------------


def slot(s: Session, entry: DutyEntry) -> dict[str, Any]:
    """The words of an entry for the duty.slot line (rendered in the reader's language)."""
    leader = s.get(Person, entry.leader_id)
    return {"date": entry.day.strftime("%m-%d"), "weekday": f"@weekday.{entry.day.weekday()}",
            "start": entry.start.strftime("%H:%M"), "end": entry.end.strftime("%H:%M"),
            "leader": leader.name if leader else "", "post": entry.post,
            "portfolio": entry.portfolio, "place": entry.place, "form": entry.form}


def union_lines(s: Session, plan: RosterPlan | None) -> list[list[Any]]:
    people = [s.get(Person, pid) for pid in (plan.union_leaders if plan else [])]
    return [["roster.union_person", {"name": p.name, "post": p.post}]
            for p in people if p is not None and p.active]


def recipients(s: Session, unit_id: int | None) -> list[int]:
    """Everyone the roster is published to: the unit's people (not the upper union)."""
    return [pid for pid in s.exec(select(Person.id).where(
        Person.unit_id == unit_id, Person.active == True, Person.verified == True,  # noqa: E712
        Person.role != "upper_union").order_by(col(Person.id))) if pid is not None]


# --- publication ---------------------------------------------------------------------------


def publish(s: Session, unit_id: int, entries: list[DutyEntry], *, now: datetime,
            zone: ZoneInfo, run: str, change: bool = False) -> int:
    """Publish entries to every employee of the unit; return how many were told. An entry
    published after its last day (two working days before it) is late: the director is
    told which, and when they should have been published. A visit to the site (带案下访)
    is scheduled with its case, not by the rotation, and is never late. A change (`change`)
    is told to everyone but keeps the day's first publication time and lateness. A
    reception already over is left out: nobody can go to it any more."""
    entries = [e for e in entries if datetime.combine(e.day, e.end, zone) > now]
    if not entries:
        return 0
    cal = workdays.load(s)
    today = _today(now, zone)
    entries = sorted(entries, key=lambda e: (e.day, e.start))
    late: list[list[Any]] = []
    shown: list[list[Any]] = []
    for e in entries:
        due = roster.publish_by(cal, e.day)
        row = s.exec(select(DutyPublished).where(DutyPublished.duty_entry_id == e.id)).first()
        if row is None:
            assert e.id is not None
            row = DutyPublished(duty_entry_id=e.id, leader_id=e.leader_id, published_at=now,
                                due_on=due)
        # A correction names the leader the employees were told of before.
        was = s.get(Person, row.leader_id) if change and row.leader_id != e.leader_id else None
        shown.append(["duty.slot_was", {**slot(s, e), "was": was.name}] if was is not None
                     else ["duty.slot", slot(s, e)])
        row.leader_id = e.leader_id
        if not change or row.id is None:
            # A change keeps the day's first publication: whether that was on time is what
            # the rule asks, and a change announced at once is not a late publication.
            row.published_at, row.due_on = now, due
            row.late = today > due and e.form != "onsite"
            if row.late:
                late.append(["roster.late_line", {**slot(s, e), "due_on": due.isoformat()}])
        s.add(row)
    # Held for a reader WeChat cannot reach now, it is worth nothing once the last
    # reception it lists is over (store/outbox.py: STALE_AFTER).
    last = max(datetime.combine(e.day, e.end, zone) for e in entries).astimezone(UTC)
    params = {"lines": shown,
              "union_lines": union_lines(s, plan_of(s, unit_id)),
              "actions": [["menu.booking", "flow:booking"]],
              outbox.STALE_AFTER: last.isoformat()}
    people = recipients(s, unit_id)
    message = "notice.roster_changed" if change else "notice.roster_published"
    # Only the employees are invited to book. A leader on duty reads their own days; the
    # staff, the director and the other leaders read the roster as the team that runs it
    # and receives on it (TEAM_NOTICE), with the roster's view, not the booking. A change
    # was told to the leaders it moves by its own words (duty_taken, duty_swapped).
    receivers = {p.id for p in people_of(s, unit_id, DUTY_ROLES)}
    team = {p.id for p in people_of(s, unit_id, TEAM)}
    own: dict[int, list[list[Any]]] = {}
    for e in entries if not change else []:
        if e.leader_id in receivers:
            own.setdefault(e.leader_id, []).append(["duty.own_line", slot(s, e)])
    for_team = {**params, "actions": [["menu.cal_roster_view", "query:roster"]]}
    rows = []
    for pid in people:
        if pid in own:
            rows.append({"key": f"roster:{run}:{pid}", "recipient_id": pid,
                         "message": "notice.duty_yours",
                         "params": {"lines": own[pid], outbox.STALE_AFTER: last.isoformat()}})
        elif pid in team:
            rows.append({"key": f"roster:{run}:{pid}", "recipient_id": pid,
                         "message": TEAM_NOTICE[message], "params": for_team})
        else:
            rows.append({"key": f"roster:{run}:{pid}", "recipient_id": pid, "message": message,
                         "params": params})
    outbox.add_many(s, rows, now=now)
    if late:
        for pid in (p.id for p in people_of(s, unit_id, ("director",)) if p.id is not None):
            outbox.enqueue(s, key=f"roster:{run}:late:{pid}", recipient_id=pid,
                           message="notice.roster_late", now=now, priority=outbox.ALERT,
                           params={"lines": late, "count": len(late)})
    s.flush()
    return len(people)


def unpublished(s: Session, unit_id: int, first: date, last: date) -> list[DutyEntry]:
    done = select(DutyPublished.duty_entry_id)
    return list(s.exec(select(DutyEntry).where(
        DutyEntry.unit_id == unit_id, col(DutyEntry.day) >= first, col(DutyEntry.day) <= last,
        col(DutyEntry.id).not_in(done)).order_by(col(DutyEntry.day))).all())


def next_publication(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo) -> date:
    """The day of the next scheduled publication after `now`."""
    weekday, at, _ = schedule_of(plan_of(s, unit_id))
    day = _today(now, zone)
    while (weekday is not None and day.weekday() != weekday) \
            or datetime.combine(day, at, zone) <= now:
        day += timedelta(days=1)
    return day


def waits_from(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo) -> date:
    """The first last-publication day (roster.publish_by) that can wait for the next
    scheduled publication: an entry whose last day comes before it must go out now."""
    _, at, _ = schedule_of(plan_of(s, unit_id))
    nxt = next_publication(s, unit_id, now=now, zone=zone)
    # A publication after the day's last-chance check comes after that check has already
    # published the entries whose last day it is.
    return nxt if at <= CHECK_AT else nxt + timedelta(days=1)


def cannot_wait(s: Session, unit_id: int, cal: workdays.WorkCalendar, *, now: datetime,
                zone: ZoneInfo) -> date:
    """The last working day whose reception must be published before the next scheduled
    publication, counted in working days: across a holiday (国庆, 春节) this reaches
    well past the schedule's horizon in calendar days."""
    today = _today(now, zone)
    until = waits_from(s, unit_id, now=now, zone=zone)
    last, day = today, today
    for _ in range(REACH_LIMIT):
        day = cal.next_workday(day + timedelta(days=1))
        if roster.publish_by(cal, day) >= until:
            break
        last = day
    return last


def publish_overdue(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo,
                    run: str) -> int:
    """When entries cannot wait any more (their last day is today or past; those past it
    are late), publish them at once, in one post with every other entry that could not
    wait for the next scheduled publication either: a workroom starting mid-week tells its
    employees once, not once a day until its first weekly post."""
    cal = workdays.load(s)
    today = _today(now, zone)
    pending = [(e, roster.publish_by(cal, e.day))
               for e in unpublished(s, unit_id, today, today + timedelta(days=40))]
    if not any(by <= today for _, by in pending):
        return 0
    until = waits_from(s, unit_id, now=now, zone=zone)
    due = [e for e, by in pending if by < until or by <= today]
    return publish(s, unit_id, due, now=now, zone=zone, run=run)


def _republish(s: Session, unit_id: int, entries: list[DutyEntry], *, now: datetime,
               zone: ZoneInfo, run: str) -> None:
    """Entries already published whose leader changed go out again, as a change."""
    shown = [e for e in entries if s.exec(select(DutyPublished).where(
        DutyPublished.duty_entry_id == e.id)).first() is not None]
    publish(s, unit_id, shown, now=now, zone=zone, run=run, change=True)


# --- building the roster ---------------------------------------------------------------------


def generate(s: Session, unit_id: int, start: date, count: int, *, now: datetime,
             zone: ZoneInfo, through: date | None = None, reason: str = "@roster.reason.plan",
             run: str = "") -> Changes:
    """Put the plan's rotation on the roster for `count` working days from `start`; a
    day whose rotation leader changed (away) goes to the new one with its bookings."""
    plan = plan_of(s, unit_id)
    if plan is None or not plan.leaders:
        raise Refusal("roster.no_plan")
    cal = workdays.load(s)
    wanted = dict(roster.rotation_days(s, unit_id, plan.leaders, start, count, cal, through))
    days = roster.days_from(cal, start, count, through)
    out = Changes()
    existing: dict[date, list[DutyEntry]] = {}
    for e in s.exec(select(DutyEntry).where(DutyEntry.unit_id == unit_id,
                                            col(DutyEntry.day) >= days[0],
                                            col(DutyEntry.day) <= days[-1])):
        existing.setdefault(e.day, []).append(e)
    for day in days:
        leader_id = wanted.get(day)
        if leader_id is None:
            out.uncovered.append(day)
            continue
        here = existing.get(day, [])
        if any(e.leader_id == leader_id and e.form != "onsite" for e in here):
            continue
        # The day's rotation reception is moved, even when the plan changed since (a leader
        # taken out of it, new hours or place): a second entry would double the day. An
        # on-site visit (带案下访), or a reception of another form by a leader outside the
        # rotation (one the file gave), is not the rotation's.
        rota = [e for e in here if e.form != "onsite"
                and (e.leader_id in plan.leaders or e.form == plan.form)]
        if rota:
            reassign(s, rota[0], leader_id, now=now, reason=reason, run=run or "gen")
            out.moved.append(rota[0])
            continue
        leader = s.get(Person, leader_id)
        if leader is None:
            continue
        entry = DutyEntry(unit_id=unit_id, day=day, start=plan.start, end=plan.end,
                          place=plan.place, leader_id=leader_id, form=plan.form,
                          post=leader.post, portfolio=leader.portfolio)
        s.add(entry)
        out.created.append(entry)
    s.flush()
    _republish(s, unit_id, out.moved, now=now, zone=zone, run=f"{run or 'gen'}:change")
    return out


def reassign(s: Session, entry: DutyEntry, leader_id: int, *, now: datetime, reason: str,
             run: str, tell_leaders: bool = True) -> list[Booking]:
    """Give a day to another leader: its bookings go with it, the booked employees are told,
    and (unless a swap tells them itself) both leaders."""
    old = s.get(Person, entry.leader_id)
    new = s.get(Person, leader_id)
    if new is None:
        raise Refusal("roster.gone")
    entry.leader_id, entry.post, entry.portfolio = leader_id, new.post, new.portfolio
    s.add(entry)
    booked = list(s.exec(select(Booking).where(Booking.duty_entry_id == entry.id,
                                               Booking.status == "booked")).all())
    words = {**slot(s, entry), "date": entry.day.isoformat(),
             "old": old.name if old else "", "new": new.name, "reason": reason,
             "bookings": len(booked)}
    for b in booked:  # each may keep it, or choose another reception
        outbox.enqueue(s, key=f"duty:{run}:{entry.id}:visit:{b.id}", recipient_id=b.person_id,
                       message="notice.duty_visit_moved", now=now, priority=outbox.ALERT,
                       params={**words, "number": b.number,
                               "actions": bookings.change_buttons(b)})
    if tell_leaders:
        if old is not None and old.id is not None:
            outbox.enqueue(s, key=f"duty:{run}:{entry.id}:given:{old.id}", recipient_id=old.id,
                           message="notice.duty_given", now=now, priority=outbox.ALERT,
                           params=words)
        # The leader who takes the day reads who is coming and about what.
        outbox.enqueue(s, key=f"duty:{run}:{entry.id}:taken:{leader_id}",
                       recipient_id=leader_id, message="notice.duty_taken_booked" if booked
                       else "notice.duty_taken", now=now, priority=outbox.ALERT,
                       params={**words, "visitor_lines": bookings.visitor_lines(s, booked)})
    return booked


def swap(s: Session, first: DutyEntry, second: DutyEntry, *, reason: str, by: Person,
         now: datetime, zone: ZoneInfo, run: str) -> tuple[int, int]:
    """Swap two days between their leaders; return the bookings on each day. `run` names
    this swap (its form): the keys of its notices."""
    today = _today(now, zone)
    a, b = first.leader_id, second.leader_id
    if first.day < today or second.day < today:
        raise Refusal("duty_swap.past")
    if a == b or first.day == second.day:
        raise Refusal("duty_swap.same")
    if "onsite" in (first.form, second.form):  # arranged with its case, not the rotation's
        raise Refusal("duty_swap.gone")
    away = roster.away_check(s, first.unit_id)
    for leader, day in ((b, first.day), (a, second.day)):
        person = s.get(Person, leader)
        if away(leader, day):
            raise Refusal("duty_swap.away", name=person.name if person else "",
                          date=day.isoformat())
        if s.exec(select(DutyEntry).where(DutyEntry.unit_id == first.unit_id,
                                          DutyEntry.day == day,
                                          DutyEntry.leader_id == leader)).first() is not None:
            raise Refusal("duty_swap.taken", name=person.name if person else "",
                          date=day.isoformat())
    one = reassign(s, first, b, now=now, reason=reason, run=run, tell_leaders=False)
    two = reassign(s, second, a, now=now, reason=reason, run=run, tell_leaders=False)
    for day, leader in ((first.day, b), (second.day, a)):
        row = s.exec(select(DutyOverride).where(DutyOverride.unit_id == first.unit_id,
                                                DutyOverride.day == day)).first()
        row = row or DutyOverride(unit_id=first.unit_id, day=day, leader_id=leader)
        row.leader_id, row.reason, row.by_id, row.created_at = leader, reason, by.id, now
        s.add(row)
    pa, pb = s.get(Person, a), s.get(Person, b)
    for me, other, gave, took, gave_n, coming in ((pa, pb, second, first, len(one), two),
                                                  (pb, pa, first, second, len(two), one)):
        # `gave`: the entry now theirs; the other day's bookings went to the other leader.
        # `coming`: the bookings of the day now theirs: who comes, about what, as a
        # booking's push names them.
        if me is None or me.id is None:
            continue
        them = other.name if other else ""
        outbox.enqueue(s, key=f"duty:{run}:swapped:{me.id}", recipient_id=me.id,
                       message=_swapped_key(gave_n, len(coming)), now=now,
                       priority=outbox.ALERT,
                       params={"swap": _swapped_by(by, me, other), "other": them,
                               "reason": reason, "old_date": took.day.isoformat(),
                               "new_date": gave.day.isoformat(),
                               "start": gave.start.strftime("%H:%M"),
                               "end": gave.end.strftime("%H:%M"), "place": gave.place,
                               "gave": gave_n, "took": len(coming),
                               "visitor_lines": bookings.visitor_lines(s, coming)})
    s.flush()
    _republish(s, first.unit_id, [first, second], now=now, zone=zone, run=run)
    return len(one), len(two)


def _swapped_by(by: Person, me: Person, other: Person | None) -> dict[str, str]:
    """Who swapped, as the leader `me` reads it: they did it themselves, the other leader
    swapped their own day with theirs, or someone else (the staff) swapped the two."""
    them = other.name if other else ""
    if by.id == me.id:
        return {"say": "notice.duty_swap_by.you", "other": them}
    if other is not None and by.id == other.id:
        return {"say": "notice.duty_swap_by.them", "by": by.name}
    return {"say": "notice.duty_swap_by.staff", "by": by.name, "other": them}


def _swapped_key(gave: int, took: int) -> str:
    """A swapped leader's notice: a line on the bookings handed over only when there are
    some; who comes on the new day, or that nobody has booked it."""
    return ("notice.duty_swapped_gave" if gave else "notice.duty_swapped") \
        + ("_booked" if took else "")


def set_away(s: Session, unit_id: int, person: Person, first: date, last: date, kind: str,
             *, now: datetime, zone: ZoneInfo) -> Changes:
    """Record a leader away and give their days in that span to the next leaders."""
    assert person.id is not None
    s.add(LeaderAway(unit_id=unit_id, person_id=person.id, first_day=first, last_day=last,
                     kind=kind, source="chat", created_at=now))
    s.flush()
    today = _today(now, zone)
    mine = s.exec(select(DutyEntry).where(
        DutyEntry.unit_id == unit_id, DutyEntry.leader_id == person.id,
        col(DutyEntry.form) != "onsite",
        col(DutyEntry.day) >= max(first, today), col(DutyEntry.day) <= last)).all()
    out = Changes()
    if not mine:
        return out
    if plan_of(s, unit_id) is None:
        raise Refusal("roster.no_plan")
    for day in sorted({e.day for e in mine}):
        got = hand_over(s, unit_id, day, now=now, zone=zone, run=f"away:{person.id}:{day}")
        out.moved += got.moved
        out.uncovered += got.uncovered
    return out


def hand_over(s: Session, unit_id: int, day: date, *, now: datetime, zone: ZoneInfo,
              run: str) -> Changes:
    """Give a day whose rotation leader changed to the one the rotation now names, the way
    a swap does: its bookings go along, the booked employees and both leaders are told, a
    published day is published again."""
    if not workdays.load(s).is_workday(day):
        return Changes()
    away = roster.away_check(s, unit_id)
    reason = "@roster.reason.plan"
    for e in s.exec(select(DutyEntry).where(DutyEntry.unit_id == unit_id, DutyEntry.day == day,
                                            col(DutyEntry.form) != "onsite")):
        kind = away_kind(s, unit_id, e.leader_id, day)
        if kind is not None:
            reason = f"@roster.reason.{kind}"
    # A swapped day is no longer the rotation's once its leader is away: the absence frees it.
    override = s.exec(select(DutyOverride).where(DutyOverride.unit_id == unit_id,
                                                 DutyOverride.day == day)).first()
    if override is not None and away(override.leader_id, day):
        s.delete(override)
        s.flush()
    return generate(s, unit_id, day, 1, now=now, zone=zone, reason=reason, run=run)


def away_kind(s: Session, unit_id: int, person_id: int, day: date) -> str | None:
    """Why a leader is away on a day (leave, trip), or None when they are not."""
    row = s.exec(select(LeaderAway).where(
        LeaderAway.unit_id == unit_id, LeaderAway.person_id == person_id,
        col(LeaderAway.first_day) <= day, col(LeaderAway.last_day) >= day)
        .order_by(col(LeaderAway.id).desc())).first()
    return row.kind if row is not None else None


def load_file(s: Session, spec: org.OrgSpec, *, now: datetime, zone: ZoneInfo
              ) -> org.LoadReport:
    """Load the organisation file; a day it gives to another leader (a leader away, the
    rotation edited) is handed over at once as in chat, bookings and publication included
    (the load's hand-over timers, taken here, are not fired again by the sweep)."""
    rep = org.load_org(s, spec, now=now)
    unit = s.exec(select(Unit).where(Unit.key == spec.unit.key)).one()
    assert unit.id is not None
    moved: list[date] = []
    for day in rep.handover:
        got = _hand_over_timer(s, unit.id, day, now=now, zone=zone)
        moved += [e.day for e in got.moved]
        rep.uncovered += got.uncovered
    rep.handover = moved
    # The open cases of whoever left the file go to who answers for them now, at once.
    for person in s.exec(select(Person).where(col(Person.key).in_(rep.deactivated))):
        rep.handed_on += [m.case.number for m in assignment.hand_over(s, person, now=now,
                                                                         zone=zone)]
    return rep


def _hand_over_timer(s: Session, unit_id: int, day: date, *, now: datetime,
                     zone: ZoneInfo) -> Changes:
    """Take a day's hand-over timer and hand the day over, once per load."""
    row = timers.take(s, kind=roster.HANDOVER, ref=f"{unit_id}:{day}", now=now)
    if row is None or plan_of(s, unit_id) is None:
        return Changes()
    # Each load is its own event: the time of the load (the timer's due time) names its
    # notices, so a load that changes nothing tells nobody anything twice.
    stamp = row.due_at.strftime("%Y%m%dT%H%M%S%f")
    return hand_over(s, unit_id, day, now=now, zone=zone, run=f"file:{stamp}:{day}")


def warn_unknown_years(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo) -> int:
    """Tell the staff (the director, if there are none) once, weeks ahead, that a year
    the roster or its deadlines reach into has no holiday data: until its lunar holidays
    and swapped workdays are added to the organisation file (calendar:), it counts only
    weekends and the fixed-date holidays, and the roster may fall on the Spring Festival."""
    cal = workdays.load(s)
    today = _today(now, zone)
    reach = max(today + WARN_AHEAD, roster.last_entry_day(s, unit_id) or today)
    told = 0
    for year in range(today.year, reach.year + 1):
        prefix = f"calendar:{unit_id}:{year}:"
        if cal.knows(year) or s.exec(select(Notification.id).where(
                col(Notification.idempotency_key).startswith(prefix))).first() is not None:
            continue
        people = people_of(s, unit_id, ("staff",)) or people_of(s, unit_id, ("director",))
        for p in people:
            outbox.enqueue(s, key=f"{prefix}{p.id}", recipient_id=p.id,
                           message="notice.calendar_unknown", now=now,
                           priority=outbox.ALERT, params={"year": year})
            told += 1
    return told


def publish_what_cannot_wait(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo,
                             run: str) -> int:
    """Put on the roster and publish, late if need be, what could not wait for the next
    publication (the daily check; and a workroom's file loaded mid-week, whose workers
    can book a reception from then on, not from the day's check at 17:00)."""
    plan = plan_of(s, unit_id)
    if plan is not None and plan.leaders:
        # Rostered days not generated yet (a publication missed, a short horizon) are
        # put on the roster before they are due, not found missing after.
        today = _today(now, zone)
        last = cannot_wait(s, unit_id, workdays.load(s), now=now, zone=zone)
        if last > today:
            generate(s, unit_id, today, 1, now=now, zone=zone, through=last, run=run)
    warn_unknown_years(s, unit_id, now=now, zone=zone)
    return publish_overdue(s, unit_id, now=now, zone=zone, run=run)


# --- what the scheduler runs ------------------------------------------------------------------


class RosterJobs:
    """Timer handlers: the scheduled publication and the daily last-chance check."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def publish(self, ref: str) -> int:
        """Extend the roster by the plan over the horizon and publish what is new."""
        unit_id, _, _day = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=PUBLISH, ref=ref, now=now) is None:
                return 0
            plan = plan_of(s, int(unit_id))
            _, _, horizon = schedule_of(plan)
            today = _today(now, self.zone)
            # The horizon, or further: every day that could not wait for the next one.
            last = max(today + timedelta(days=horizon),
                       cannot_wait(s, int(unit_id), workdays.load(s), now=now, zone=self.zone))
            if plan is not None and plan.leaders:
                generate(s, int(unit_id), today, 1, now=now, zone=self.zone, through=last,
                         run=f"pub:{ref}")
            warn_unknown_years(s, int(unit_id), now=now, zone=self.zone)
            entries = unpublished(s, int(unit_id), today, last)
            return publish(s, int(unit_id), entries, now=now, zone=self.zone,
                           run=f"pub:{ref}")

    def handover(self, ref: str) -> int:
        """Hand over a day an organisation load gave to another leader."""
        unit_id, _, day = ref.partition(":")
        with transaction(self.db) as s:
            got = _hand_over_timer(s, int(unit_id), date.fromisoformat(day),
                                   now=self.clock.now(), zone=self.zone)
            return len(got.moved)

    def check(self, ref: str) -> int:
        """Put on the roster and publish, late if need be, what could not wait for the
        next publication."""
        unit_id, _, _day = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=CHECK, ref=ref, now=now) is None:
                return 0
            return publish_what_cannot_wait(s, int(unit_id), now=now, zone=self.zone,
                                            run=f"check:{ref}")


# --- the staff's roster flow -----------------------------------------------------------------

_HOURS = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-–~至到]\s*(\d{1,2})[:：](\d{2})$")


def parse_hours(text: str) -> tuple[time, time] | None:
    """"08:30-11:30" (also with ：, ～, 至 or 到) as start and end; None if it is not
    a time span that ends after it starts."""
    m = _HOURS.match(text.strip())
    try:
        start = time(int(m[1]), int(m[2])) if m else None
        end = time(int(m[3]), int(m[4])) if m else None
    except ValueError:
        return None
    if start is None or end is None or start >= end:
        return None
    return start, end
_AT = re.compile(r"^(\d{1,2})[:：](\d{2})$")
_SPLIT = re.compile(r"[,，、;；\s]+")


def _people_named(s: Session, unit_id: int | None, text: str) -> tuple[list[Person], str]:
    """Leaders named in `text` (names or keys, in order); the first unknown name, if any."""
    found: list[Person] = []
    for word in [w for w in _SPLIT.split(text.strip()) if w]:
        p = s.exec(select(Person).where(Person.unit_id == unit_id, Person.active == True,  # noqa: E712
                                        col(Person.role).in_(DUTY_ROLES),
                                        (Person.name == word) | (Person.key == word))).first()
        if p is None:
            return found, word
        if p not in found:
            found.append(p)
    return found, ""


def roster_action(ctx: HandlerContext, sub: Submission) -> Result:
    """Run the staff's roster action: generate, plan, away, schedule."""
    action = sub.answers["action"]
    try:
        return _ACTIONS[action](ctx, sub)
    except Refusal as err:
        return Result(err.key, err.params, back_to="action")


def _generate(ctx: HandlerContext, sub: Submission) -> Result:
    s, unit_id = ctx.session, ctx.unit_id()
    assert unit_id is not None
    start = date.fromisoformat(sub.answers["start"])
    if start < ctx.today:
        return Result("roster.past", {}, back_to="start")
    got = generate(s, unit_id, start, int(sub.answers["days"]), now=ctx.now, zone=ctx.zone,
                   run=f"gen:{sub.draft_id}")
    published = publish_overdue(s, unit_id, now=ctx.now, zone=ctx.zone,
                                run=f"gen:{sub.draft_id}:due")
    return Result("roster.done.generate", {
        "created": len(got.created), "moved": len(got.moved),
        "uncovered": ", ".join(d.isoformat() for d in got.uncovered) or "-",
        "published": published})


def _plan(ctx: HandlerContext, sub: Submission) -> Result:
    s, a, unit_id = ctx.session, sub.answers, ctx.unit_id()
    assert unit_id is not None
    leaders, unknown = _people_named(s, unit_id, a["leaders"])
    if unknown or not leaders:
        return Result("roster.unknown_leader", {"name": unknown or a["leaders"]},
                      back_to="leaders")
    union, unknown = _people_named(s, unit_id, a.get("union") or "")
    if unknown:
        return Result("roster.unknown_leader", {"name": unknown}, back_to="union")
    hours = parse_hours(a["hours"])
    if hours is None:
        return Result("roster.bad_hours", {}, back_to="hours")
    start, end = hours
    plan = plan_of(s, unit_id) or RosterPlan(unit_id=unit_id, start=start, end=end,
                                             place=a["place"], updated_at=ctx.now)
    plan.leaders = [p.id for p in leaders if p.id is not None]
    plan.union_leaders = [p.id for p in union if p.id is not None]
    plan.start, plan.end, plan.place, plan.form = start, end, a["place"], a["form"]
    plan.source, plan.updated_at = "chat", ctx.now
    s.add(plan)
    sep = catalog.t(sub.lang, "list.sep")
    return Result("roster.done.plan", {"leaders": sep.join(p.name for p in leaders),
                                       "union": sep.join(p.name for p in union) or "-"})


def _away(ctx: HandlerContext, sub: Submission) -> Result:
    s, a, unit_id = ctx.session, sub.answers, ctx.unit_id()
    assert unit_id is not None
    person = s.get(Person, int(a["leader"]))
    if person is None or person.unit_id != unit_id or person.role not in DUTY_ROLES:
        return Result("roster.gone", {}, back_to="leader")
    first, last = date.fromisoformat(a["first"]), date.fromisoformat(a["last"])
    if last < first:
        return Result("roster.bad_span", {}, back_to="last")
    got = set_away(s, unit_id, person, first, last, a["kind"], now=ctx.now, zone=ctx.zone)
    return Result("roster.done.away", {
        "name": person.name, "first": first.isoformat(), "last": last.isoformat(),
        "moved": len(got.moved),
        "uncovered": ", ".join(d.isoformat() for d in got.uncovered) or "-"})


def _schedule(ctx: HandlerContext, sub: Submission) -> Result:
    s, a, unit_id = ctx.session, sub.answers, ctx.unit_id()
    plan = plan_of(s, unit_id)
    if plan is None:
        return Result("roster.no_plan", {}, back_to="action")
    m = _AT.match(a["at"].strip())
    try:
        at = time(int(m[1]), int(m[2])) if m else None
    except ValueError:
        at = None
    if at is None:
        return Result("roster.bad_at", {}, back_to="at")
    plan.publish_weekday = None if a["weekday"] == "daily" else int(a["weekday"])
    plan.publish_at, plan.horizon_days, plan.updated_at = at, int(a["horizon"]), ctx.now
    s.add(plan)
    # The next runs are planned afresh: drop the ones planned on the old schedule.
    for t in timers_of(s, PUBLISH, f"{unit_id}:"):
        if t.done_at is None and t.due_at > ctx.now:
            s.delete(t)
    return Result("roster.done.schedule", words(sub.lang, {
        "weekday": f"@opt.publish_day.{a['weekday']}", "at": at.strftime("%H:%M"),
        "horizon": plan.horizon_days}))


def timers_of(s: Session, kind: str, prefix: str) -> list[Timer]:
    return list(s.exec(select(Timer).where(Timer.kind == kind,
                                           col(Timer.ref).startswith(prefix))).all())


_ACTIONS = {"generate": _generate, "plan": _plan, "away": _away, "schedule": _schedule}


def duty_swap(ctx: HandlerContext, sub: Submission) -> Result:
    """Swap the chosen days of two leaders (a leader swaps one of their own)."""
    s = ctx.session
    first = s.get(DutyEntry, int(sub.answers["mine"]))
    second = s.get(DutyEntry, int(sub.answers["other"]))
    unit_id = ctx.unit_id()
    # The form names the swap: carried out again (a repeated submission) it swaps nothing
    # back, while any later swap is a form of its own.
    run = f"swap:{sub.draft_id}"
    done = s.exec(select(Notification.id).where(
        col(Notification.idempotency_key).startswith(f"duty:{run}:swapped:"))).first()
    if done is not None and first is not None and second is not None:
        moved = len(s.exec(select(Booking.id).where(
            col(Booking.duty_entry_id).in_([first.id, second.id]),
            Booking.status == "booked")).all())
        return _swapped(s, first, second, moved)
    if first is None or first.unit_id != unit_id or (
            ctx.actor.role == "leader" and first.leader_id != ctx.actor.id):
        return Result("duty_swap.gone", {}, back_to="mine")
    if second is None or second.unit_id != unit_id:
        return Result("duty_swap.gone", {}, back_to="other")
    try:
        one, two = swap(s, first, second, reason=sub.answers["reason"], by=ctx.actor,
                        now=ctx.now, zone=ctx.zone, run=run)
    except Refusal as err:
        return Result(err.key, err.params, back_to="other")
    return _swapped(s, first, second, one + two)


def _swapped(s: Session, first: DutyEntry, second: DutyEntry, moved: int) -> Result:
    a, b = s.get(Person, second.leader_id), s.get(Person, first.leader_id)
    # With no booking on either day, no booked employee was told anything.
    return Result("duty_swap.done" if moved else "duty_swap.done_none",
                  {"first": first.day.isoformat(), "second": second.day.isoformat(),
                   "a": a.name if a else "", "b": b.name if b else "", "moved": moved})
