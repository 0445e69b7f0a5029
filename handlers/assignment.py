"""Who holds a case, so that none is silently lost (包人包案, 件件有着落).

- A new case goes to the leader responsible for its category; while that leader is away
  (leave or business trip: the organisation file's `away:`, or leave recorded in chat for
  the roster) it goes to the workroom's director, who owns the workroom and is the first
  to be alerted (DOMAIN), and the words say why.
- A 交办 waits for its handler's 收到: not confirmed (nor worked on) once ACK_WORKDAYS
  full working days have passed, the handler is reminded to confirm it, and the staff and
  the director are told who has not taken which case, with the button to pass it on
  (转办); at DAY_STARTS of a working day, never at the hour of a 交办 sent at night. Both
  are told again each working morning while it stays unconfirmed, ACK_TELLS times in all,
  the last saying so. A timer row per alert (ACK_WATCH).
- A person who leaves the organisation file (store/org.py marks them inactive and leaves
  a PERSON_LEFT timer) hands their open cases on: each goes to whoever the
  responsibilities now name for its category (or the director), with a 交办 to them and a
  line on its timeline; the staff and the director are told in one push which cases moved
  to whom.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.clock import Clock
from handlers import notices
from handlers.context import HandlerContext, people_of
from handlers.lifecycle import OPEN, WORKING
from scheduler import workdays
from store import outbox, timers
from store.calendar_models import LeaderAway
from store.db import transaction
from store.models import (
    Acknowledgement,
    Alert,
    Case,
    CaseEvent,
    Notification,
    Person,
    Responsibility,
)
from store.org import PERSON_LEFT

log = logging.getLogger(__name__)

# timer: a case alert's 收到 awaited (ref: the alert id; "<alert id>:<n>" for the n-th time
# it is told, after the first)
ACK_WATCH = "case_ack_watch"
ACK_WORKDAYS = 1  # a 交办 not confirmed within this many working days is raised
ACK_TELLS = 3  # on this many working mornings in all, then no more
DAY_STARTS = time(9, 0)  # the working morning: when a 交办 not confirmed is raised


# --- who takes a case --------------------------------------------------------------------


@dataclass(frozen=True)
class Assignee:
    """Who takes a case of a category: `person`; `instead_of` the leader responsible,
    away (`away`: leave | trip) until `until`, when they are passed over."""

    person: Person | None
    instead_of: Person | None = None
    away: str | None = None
    until: date | None = None


def away_on(session: Session, unit_id: int | None, person_id: int, day: date
            ) -> LeaderAway | None:
    """The absence (leave, trip; from the file or recorded in chat) of a person on a day."""
    if unit_id is None:
        return None
    return session.exec(select(LeaderAway).where(
        LeaderAway.unit_id == unit_id, LeaderAway.person_id == person_id,
        col(LeaderAway.first_day) <= day, col(LeaderAway.last_day) >= day)
        .order_by(col(LeaderAway.last_day).desc(), col(LeaderAway.id).desc())).first()


def assignee(session: Session, unit_id: int | None, category: str, day: date, *,
             but: int | None = None) -> Assignee:
    """Who takes a case of `category` on `day`: the leader responsible for it; the
    director when that leader is away that day or is `but` (a person who has left); None
    when the unit names nobody for the category."""
    owner = session.exec(select(Responsibility).where(
        Responsibility.unit_id == unit_id, Responsibility.category == category)).first()
    if owner is None:
        return Assignee(None)
    leader = session.get(Person, owner.leader_id)
    directors = [p for p in people_of(session, unit_id, ("director",)) if p.id != but]
    director = directors[0] if directors else None
    if leader is not None and leader.active and leader.id != but:
        assert leader.id is not None
        gone = away_on(session, unit_id, leader.id, day)
        if gone is None or director is None or director.id == leader.id:
            return Assignee(leader)
        return Assignee(director, instead_of=leader, away=gone.kind, until=gone.last_day)
    return Assignee(director)


AWAY_EVENT = "leader_away"  # the timeline's line of a case given to the director instead


def away_note(who: Assignee) -> str:
    """The timeline note of a case given to someone else while its leader is away:
    "kind|until|leader|handler" (handlers.notices.note_words puts it in words)."""
    assert who.instead_of is not None and who.person is not None and who.until is not None
    return f"{who.away}|{who.until.isoformat()}|{who.instead_of.name}|{who.person.name}"


@dataclass(frozen=True)
class Away:
    """Why a case is not with the leader responsible: away (leave | trip) until a day."""

    kind: str
    until: str
    leader: str
    handler: str


def parse_away(note: str) -> Away | None:
    parts = note.split("|", 3)
    return Away(*parts) if len(parts) == 4 else None


def away_of(session: Session, case: Case) -> Away | None:
    """Why the case was registered with someone other than its leader, if it was."""
    row = session.exec(select(CaseEvent.note).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == AWAY_EVENT)
        .order_by(col(CaseEvent.id))).first()
    return parse_away(row) if row is not None else None


# --- the 交办 awaits its 收到 ----------------------------------------------------------------


def ack_due(session: Session, now: datetime, zone: ZoneInfo) -> datetime:
    """When a case alert given out `now` is first raised if not confirmed: at DAY_STARTS
    of the working day after ACK_WORKDAYS full working days (a working day begun before
    it was given out does not count): given out Tuesday at 10:00 or at 23:30, Thursday
    at 09:00; on Tuesday at 08:00, Wednesday at 09:00; on a Saturday, Tuesday at 09:00."""
    cal = workdays.load(session)
    local = now.astimezone(zone)
    day = local.date()
    if not cal.is_workday(day) or local.time() > DAY_STARTS:
        day += timedelta(days=1)
    last = cal.workdays(day, ACK_WORKDAYS)[-1]
    return datetime.combine(cal.next_workday(last + timedelta(days=1)), DAY_STARTS, zone)


def _next_morning(session: Session, now: datetime, zone: ZoneInfo) -> datetime:
    """DAY_STARTS of the working day after `now`'s."""
    cal = workdays.load(session)
    day = cal.next_workday(now.astimezone(zone).date() + timedelta(days=1))
    return datetime.combine(day, DAY_STARTS, zone)


def _ref(alert_id: int, told: int) -> str:
    """The watch's timer ref before it is told the `told`-th time (1: the first)."""
    return str(alert_id) if told == 1 else f"{alert_id}:{told}"


def watch(session: Session, alert: Alert, *, now: datetime, zone: ZoneInfo) -> None:
    """Arm the alert's watch (handlers.alerts.raise_alert does it for every case alert
    that asks for 收到; only the handler's is followed up when it fires). A watch armed
    again (the case given back to them) starts over."""
    assert alert.id is not None
    for told in range(2, ACK_TELLS + 1):
        timers.cancel(session, kind=ACK_WATCH, ref=_ref(alert.id, told), now=now)
    timers.schedule(session, kind=ACK_WATCH, ref=_ref(alert.id, 1),
                    due_at=ack_due(session, now, zone))


def unwatch(session: Session, alert_id: int, *, now: datetime) -> None:
    for told in range(1, ACK_TELLS + 1):
        timers.cancel(session, kind=ACK_WATCH, ref=_ref(alert_id, told), now=now)


def _unconfirmed(s: Session, alert: Alert, now: datetime, zone: ZoneInfo,
                 told: int = 1) -> int:
    """The handler has not taken the case: remind them to confirm it, and tell the staff
    and the director (the `told`-th time; the last says it is), and watch for the next
    working morning unless it was the last."""
    case = s.get(Case, alert.subject_id)
    handler = s.get(Person, alert.recipient_id)
    if case is None or case.id is None or handler is None:
        return 0
    if case.status not in WORKING or case.handler_id != handler.id \
            or alert.passed_at is not None:
        return 0  # passed on, answered or closed since
    if not handler.active:  # left, their cases not handed on yet: handed on now
        hand_over(s, handler, now=now, zone=zone)
        return 0
    if s.exec(select(Acknowledgement.id).where(
            Acknowledgement.alert_id == alert.id)).first() is not None:
        return 0
    assert alert.id is not None
    last = told >= ACK_TELLS
    facts = {"number": case.number, "category": case.category,
             "assigned_at": alert.created_at.isoformat(), "days": ACK_WORKDAYS + told - 1,
             "due_on": case.due_on.isoformat()}
    # Their 收到 button again: the 交办 itself may be far up the chat, or was never seen.
    message, said = notices.as_letter(s, case, "notice.case_ack_remind", facts)
    if handler.role == "director":  # "the staff and the director know": she is the director
        message += "_director"
    outbox.enqueue(s, key=f"case:{case.id}:ack_remind:{alert.id}:{told}",
                   recipient_id=handler.id, message=message, params=said,
                   alert_id=alert.id, now=now, priority=outbox.ALERT)
    others = [p for p in people_of(s, case.unit_id, ("staff", "director"))
              if p.id != handler.id]
    # A letter written to them by name is theirs to read (领导亲自阅示): the staff are
    # asked to remind them, not offered to pass it to someone else.
    own = case.letter and case.addressed_to == handler.id
    params = {**facts, "handler": handler.name, "times": ACK_TELLS,
              "actions": [] if own else [["nav.reassign_case",
                                          f"flow:case_action?case={case.id}&action=reassign"]]}
    message, params = notices.as_letter(
        s, case, "notice.case_unconfirmed_last" if last else "notice.case_unconfirmed", params)
    if own:
        message = message.replace("notice.letter_unconfirmed", "notice.letter_unconfirmed_own")
    suffix = "" if told == 1 else f":{told}"  # the first keeps the key it always had
    for p in others:
        outbox.enqueue(s, key=f"case:{case.id}:unconfirmed:{alert.id}:{p.id}{suffix}",
                       recipient_id=p.id, message=message, params=params,
                       now=now, priority=outbox.ALERT)
    if others and told == 1:
        s.add(CaseEvent(case_id=case.id, at=now, note=handler.name,  # told: not herself
                        kind="unconfirmed_staff" if handler.role == "director"
                        else "unconfirmed"))
    if not last:
        timers.schedule(s, kind=ACK_WATCH, ref=_ref(alert.id, told + 1),
                        due_at=_next_morning(s, now, zone))
    log.info("case %s: 交办 to %s not confirmed (%d/%d), %d told", case.number, handler.key,
             told, ACK_TELLS, len(others))
    return len(others) + 1


# --- a person who leaves hands their cases on --------------------------------------------


@dataclass(frozen=True)
class Moved:
    case: Case
    to: Person | None


def hand_over(s: Session, person: Person, *, now: datetime, zone: ZoneInfo) -> list[Moved]:
    """Give the open cases of a person who is no longer active to whoever the
    responsibilities now name for each category (or the director), each with a 交办 to
    them and a line on its timeline; tell the staff and the director in one push which
    cases moved to whom. Their PERSON_LEFT timer is done with it. Running it again (the
    sweep, a reminder that found the case with them) moves nothing twice."""
    from handlers import alerts, casework, deadlines  # they import this module

    assert person.id is not None
    timers.take(s, kind=PERSON_LEFT, ref=str(person.id), now=now)
    if person.active:
        return []
    cases = s.exec(select(Case).where(Case.handler_id == person.id, col(Case.status).in_(OPEN))
                   .order_by(col(Case.id))).all()
    if not cases:
        return []
    today = now.astimezone(zone).date()
    moved: list[Moved] = []
    for case in cases:
        assert case.id is not None
        who = assignee(s, case.unit_id, case.category, today, but=person.id).person
        moved.append(Moved(case, who))
        if who is None or who.id is None:
            continue
        event = CaseEvent(case_id=case.id, at=now, kind="handler_left",
                          note=f"{person.name} → {who.name}")
        s.add(event)
        case.handler_id = who.id
        s.add(case)
        s.flush()
        # What was waiting for the one who left about this case goes nowhere now: its
        # notices, and its alerts to them (their 交办, with who complained), pending or held.
        theirs = select(Alert.id).where(Alert.subject == "case", Alert.subject_id == case.id,
                                        Alert.recipient_id == person.id)
        for n in s.exec(select(Notification).where(
                Notification.recipient_id == person.id,
                col(Notification.status).in_(("pending", outbox.HELD)),
                or_(col(Notification.idempotency_key).startswith(f"case:{case.id}:"),
                    col(Notification.alert_id).in_(theirs)))):
            n.status, n.last_error = "cancelled", "the handler left"
            s.add(n)
        deadlines.schedule(s, case, now=now, zone=zone)
        casework.alert_new_handler(
            HandlerContext(s, now, who, "system", zone, ""), case, who.id,
            "notice.case_left_to_you", {"old": person.name, "status": f"@status.{case.status}"},
            occasion=f"left{event.id}")
        if case.letter and case.addressed_to == person.id and case.complainant_id \
                and alerts.reachable(s, case.complainant_id):
            # Written to them by name: the writer hears who reads it now.
            outbox.enqueue(s, key=f"case:{case.id}:letter_left:{event.id}", now=now,
                           recipient_id=case.complainant_id, message="notice.letter_handed_on",
                           params={"number": case.number, "old": person.name,
                                   "name": who.name})
    lines = [["notice.case_left_line" if m.to is not None else "notice.case_left_nobody",
              {"number": m.case.number, "category": m.case.category,
               "name": m.to.name if m.to is not None else ""}] for m in moved]
    unit_id = cases[0].unit_id
    for p in people_of(s, unit_id, ("staff", "director")):
        outbox.enqueue(s, key=f"left:{person.id}:{now.isoformat()}:{p.id}", recipient_id=p.id,
                       message="notice.cases_of_leaver", now=now, priority=outbox.ALERT,
                       params={"name": person.name, "count": len(moved), "lines": lines,
                               "actions": [["menu.open_cases", "query:open_cases"]]})
    log.info("%s left: %d open cases handed on", person.key, len(moved))
    return moved


# --- what the scheduler runs ------------------------------------------------------------------


class AssignmentTimers:
    """Timer handlers: a 交办's watch, and a person who left."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def ack_watch(self, ref: str) -> int:
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=ACK_WATCH, ref=ref, now=now) is None:
                return 0
            alert_id, _, told = ref.partition(":")
            alert = s.get(Alert, int(alert_id))
            if alert is None or alert.subject != "case":
                return 0
            return _unconfirmed(s, alert, now, self.zone, int(told or 1))

    def person_left(self, ref: str) -> int:
        now = self.clock.now()
        with transaction(self.db) as s:
            person = s.get(Person, int(ref))
            if person is None:
                timers.take(s, kind=PERSON_LEFT, ref=ref, now=now)
                return 0
            return len(hand_over(s, person, now=now, zone=self.zone))
