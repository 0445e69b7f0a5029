"""The reception rotation: which leader receives on which working day.

One function decides it for the organisation file and for the roster built in chat: the
leaders take the working days in turn, counted from a fixed date (so a reload on another
day keeps each day's leader), a leader away that day (leave, business trip) or out on a
visit to the site (带案下访) is skipped for the next one in the rotation, and a day set by
hand (a swap) keeps its leader.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from scheduler.workdays import WorkCalendar
from store.calendar_models import DutyOverride, LeaderAway, RosterPlan
from store.models import DutyEntry

ANCHOR = date(2024, 1, 1)
HANDOVER = "roster_handover"  # timer: a day the organisation file gave to another leader
PUBLISH_LEAD_WORKDAYS = 2  # 至少提前两天公示 (000 制度(二) 三)
AWAY_KINDS = ("leave", "trip")
_K = TypeVar("_K", bound=Hashable)


def turn_of(day: date, cal: WorkCalendar) -> int:
    """The position of a working day in the rotation: working days since the anchor."""
    if day >= ANCHOR:
        return cal.count(ANCHOR, day)
    return -cal.count(day, ANCHOR)


def rotate(leaders: Sequence[_K], days: Sequence[date], cal: WorkCalendar, *,
           away: Callable[[_K, date], bool] = lambda _k, _d: False,
           overrides: Mapping[date, _K] | None = None) -> list[tuple[date, _K]]:
    """(day, leader) for consecutive working days; a day nobody can take is left out."""
    if not days or not leaders:
        return []
    first = turn_of(days[0], cal)
    out: list[tuple[date, _K]] = []
    for i, day in enumerate(days):
        if overrides and day in overrides:
            out.append((day, overrides[day]))
            continue
        for k in range(len(leaders)):
            who = leaders[(first + i + k) % len(leaders)]
            if not away(who, day):
                out.append((day, who))
                break
    return out


def days_from(cal: WorkCalendar, start: date, count: int, through: date | None = None
              ) -> list[date]:
    """`count` working days from `start` on, or more to reach `through`."""
    days = cal.workdays(start, count)
    while through is not None and days and days[-1] < through:
        days += cal.workdays(days[-1] + timedelta(days=1), 1)
    return days


def publish_by(cal: WorkCalendar, day: date) -> date:
    """The last day the duty of `day` may be published: two working days before it."""
    found, cursor = 0, day
    while found < PUBLISH_LEAD_WORKDAYS:
        cursor -= timedelta(days=1)
        if cal.is_workday(cursor):
            found += 1
    return cursor


def away_check(session: Session, unit_id: int) -> Callable[[int, date], bool]:
    """Whether a leader (person id) is away on a day, from the unit's LeaderAway rows."""
    rows = session.exec(select(LeaderAway).where(LeaderAway.unit_id == unit_id)).all()
    spans: dict[int, list[tuple[date, date]]] = {}
    for r in rows:
        spans.setdefault(r.person_id, []).append((r.first_day, r.last_day))

    def check(person_id: int, day: date) -> bool:
        return any(a <= day <= b for a, b in spans.get(person_id, ()))
    return check


def onsite_check(session: Session, unit_id: int, since: date) -> Callable[[int, date], bool]:
    """Whether a leader is out on a visit to the site with a case (带案下访) that day: an
    extra reception, which leaves the day's rotation reception to the next leader."""
    rows = session.exec(select(DutyEntry).where(
        DutyEntry.unit_id == unit_id, DutyEntry.form == "onsite",
        col(DutyEntry.day) >= since)).all()
    busy = {(e.leader_id, e.day) for e in rows}
    return lambda person_id, day: (person_id, day) in busy


def overrides_of(session: Session, unit_id: int, since: date) -> dict[date, int]:
    rows = session.exec(select(DutyOverride).where(DutyOverride.unit_id == unit_id,
                                                   col(DutyOverride.day) >= since)).all()
    return {r.day: r.leader_id for r in rows}


def last_entry_day(session: Session, unit_id: int) -> date | None:
    row = session.exec(select(DutyEntry).where(DutyEntry.unit_id == unit_id)
                       .order_by(col(DutyEntry.day).desc())).first()
    return row.day if row is not None else None


def has_duty_days(session: Session, unit_id: int | None, person_id: int, today: date) -> bool:
    """Whether a leader has reception days of their own to swap: on the rotation, or with
    a reception to come that a swap may move (a visit to the site goes with its case). A
    union leader who receives any day and is given no day has none."""
    plan = session.exec(select(RosterPlan).where(RosterPlan.unit_id == unit_id)).first()
    if plan is not None and person_id in plan.leaders:
        return True
    return session.exec(select(DutyEntry.id).where(
        DutyEntry.unit_id == unit_id, DutyEntry.leader_id == person_id,
        col(DutyEntry.day) >= today, col(DutyEntry.form) != "onsite")).first() is not None


def rotation_days(session: Session, unit_id: int, leaders: Sequence[int], start: date,
                  count: int, cal: WorkCalendar, through: date | None = None
                  ) -> list[tuple[date, int]]:
    """The rotation over `count` working days from `start` (or through `through`), with
    the unit's leaves, trips, visits to the site and swapped days applied."""
    days = days_from(cal, start, count, through)
    away, onsite = away_check(session, unit_id), onsite_check(session, unit_id, start)
    return rotate(list(leaders), days, cal,
                  away=lambda leader, day: away(leader, day) or onsite(leader, day),
                  overrides=overrides_of(session, unit_id, start))


def sync_from_file(session: Session, unit_id: int, *, leaders: Sequence[int],
                   union_leaders: Sequence[int], hours: tuple[time, time] | None,
                   place: str | None, form: str | None,
                   away: Sequence[tuple[int, date, date, str]], now: datetime) -> None:
    """Make the unit's plan and file-given absences what the organisation file says (the
    publication schedule and absences recorded in chat are the staff's and stay)."""
    if hours is not None and place is not None and form is not None:
        plan = session.exec(select(RosterPlan).where(RosterPlan.unit_id == unit_id)).first()
        values: dict[str, Any] = {"leaders": list(leaders), "union_leaders": list(union_leaders),
                                  "start": hours[0], "end": hours[1], "place": place,
                                  "form": form, "source": "file"}
        if plan is None:
            plan = RosterPlan(unit_id=unit_id, updated_at=now, **values)
        elif any(getattr(plan, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(plan, k, v)
            plan.updated_at = now
        session.add(plan)
    old = {(r.person_id, r.first_day, r.last_day, r.kind): r for r in session.exec(
        select(LeaderAway).where(LeaderAway.unit_id == unit_id, LeaderAway.source == "file"))}
    for person_id, first, last, kind in away:
        if old.pop((person_id, first, last, kind), None) is None:
            session.add(LeaderAway(unit_id=unit_id, person_id=person_id, first_day=first,
                                   last_day=last, kind=kind, source="file", created_at=now))
    for row in old.values():
        session.delete(row)
    session.flush()
