"""Case deadlines as timer rows: reminders to the handler, escalation when overdue.

The handler is reminded at half the deadline, 7 days and 1 day before it, and when it has
passed; an overdue case goes to the handler's supervisor at once and to the director
`escalate_after` days later, each told which case, how late, and what was done so far.
A director told already as the supervisor (the handler is a leader) is reminded then, in
words that say so, and the case goes no higher.
The director's own case goes nowhere: she is reminded as its handler at both steps.
Every push has an idempotency key with the due date, so a timer fired twice sends nothing
twice, and a new deadline (extension, reopening) gets reminders of its own.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.clock import Clock
from handlers import notices
from handlers.context import people_of
from handlers.identity import display_name
from handlers.lifecycle import OPEN, Refused, check, supervisor_of
from store import outbox, timers
from store.db import transaction
from store.models import Case, CaseEvent, Notification, Person, Timer

log = logging.getLogger(__name__)
KIND = "case_deadline"
STAGES = ("half", "week", "day", "overdue", "director")
REMIND_AT = time(9, 0)  # reminders arrive at the start of a working morning
EVENTS_SHOWN = 6
ESCALATE_AFTER_DAYS = 3  # overdue: the supervisor at once, the director this much later


def plan(case: Case, *, escalate_after: int = ESCALATE_AFTER_DAYS) -> dict[str, date]:
    """The day of each reminder and escalation step of the running deadline."""
    start = case.deadline_from or case.due_on - timedelta(days=case.deadline_days)
    span = (case.due_on - start).days
    return {
        "half": start + timedelta(days=span // 2),
        "week": case.due_on - timedelta(days=7),
        "day": case.due_on - timedelta(days=1),
        "overdue": case.due_on + timedelta(days=1),
        "director": case.due_on + timedelta(days=1 + escalate_after),
    }


def schedule(session: Session, case: Case, *, now: datetime, zone: ZoneInfo,
             escalate_after: int = ESCALATE_AFTER_DAYS,
             stages: tuple[str, ...] = STAGES) -> None:
    """Set the case's timers for its running deadline; steps already past are not set.

    An extension passes the stages after "half": the half-way reminder was about the
    deadline as first set and is not sent again.
    """
    assert case.id is not None
    today = now.astimezone(zone).date()
    for stage, day in plan(case, escalate_after=escalate_after).items():
        if stage not in stages:
            continue
        ref = f"{case.id}:{stage}"
        if day <= today and stage in ("half", "week", "day"):
            timers.cancel(session, kind=KIND, ref=ref, now=now)
            continue
        due = datetime.combine(max(day, today), REMIND_AT, zone)
        timers.schedule(session, kind=KIND, ref=ref, due_at=max(due, now))


def ensure_all(session: Session, *, now: datetime, zone: ZoneInfo) -> int:
    """Give every open case without deadline timers its timers (cases registered before
    this release); return how many cases got them. Running it again changes nothing."""
    armed = {ref.split(":")[0] for ref in session.exec(
        select(Timer.ref).where(Timer.kind == KIND))}
    count = 0
    for case in session.exec(select(Case).where(col(Case.status).in_(OPEN))):
        if str(case.id) not in armed:
            schedule(session, case, now=now, zone=zone)
            count += 1
    return count


def cancel(session: Session, case: Case, *, now: datetime) -> None:
    """Stop every reminder of the case (it was closed)."""
    for stage in STAGES:
        timers.cancel(session, kind=KIND, ref=f"{case.id}:{stage}", now=now)


def done_so_far(session: Session, case: Case) -> list[list[str]]:
    """The latest timeline entries as [time, kind, note], for an escalation notice."""
    rows = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                        .order_by(col(CaseEvent.at).desc(), col(CaseEvent.id).desc())
                        .limit(EVENTS_SHOWN)).all()
    return [[e.at.isoformat(), e.kind, e.note] for e in reversed(rows)]


def _told_overdue(s: Session, case: Case, person_id: int) -> bool:
    """Whether the person was told of the running deadline's overdue step (the
    supervisor, the staff), so the director's step is no news to them."""
    key = f"case:{case.id}:overdue:{case.due_on}:{person_id}"
    return s.exec(select(Notification.id).where(
        Notification.idempotency_key == key)).first() is not None


class CaseReminders:
    """Fire one reminder or escalation step of a case (a timer handler)."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def fire(self, ref: str) -> int:
        """Send what the step owes; return how many pushes were queued."""
        case_id, _, stage = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=KIND, ref=ref, now=now) is None:
                return 0  # another sweeper fired it, or the case was closed meanwhile
            case = s.get(Case, int(case_id))
            if case is None or case.status not in OPEN or case.handler_id is None:
                return 0
            handler = s.get(Person, case.handler_id)
            if handler is not None and not handler.active:
                # Due before their cases were handed on: handed on now, so that the step
                # goes to who answers for the case, never to someone who has left.
                from handlers import assignment  # it schedules this module's timers

                assignment.hand_over(s, handler, now=now, zone=self.zone)
            return self._send(s, case, stage, now)

    @staticmethod
    def _button(s: Session, case: Case, recipient: int) -> dict[str, Any]:
        """"办理此问题" for who can act on the case in chat: its handler, the director, and
        the leader told of a staff member's overdue case while they may urge it (催办: a
        case still being worked on; a replied one has nothing for them)."""
        person = s.get(Person, recipient)
        if recipient == case.handler_id or (person is not None and person.role == "director"):
            return {"actions": notices.work_on(case.id)}
        if person is not None:
            try:
                check(s, case, "urge", person)
            except Refused:
                return {}
            return {"actions": notices.work_on(case.id)}
        return {}

    def _send(self, s: Session, case: Case, stage: str, now: datetime) -> int:
        today = now.astimezone(self.zone).date()
        handler = s.get(Person, case.handler_id)
        params: dict[str, Any] = {
            "number": case.number, "category": case.category, "due_on": case.due_on.isoformat(),
            "days_left": (case.due_on - today).days, "late": (today - case.due_on).days,
            "handler": display_name(handler), "status": f"@status.{case.status}",
        }
        sends: list[tuple[int | None, str]] = []
        above: set[int] = set()  # those above the handler told now: the case "went up"
        # The director handling a case herself (an "other" complaint, one she took over
        # when it was reopened) has nobody above her: overdue, she is reminded as its
        # handler, at once and again at the director's step, and nothing "goes up".
        own = handler is not None and handler.role == "director"
        if stage in ("half", "week", "day"):
            sends.append((case.handler_id, f"notice.case_remind_{stage}"))
        elif own:
            sends.append((case.handler_id, "notice.case_overdue_own"))
            if stage == "overdue":  # the staff supervise every case (督办): told, may urge
                sends += [(p.id, "notice.case_escalated") for p in people_of(
                    s, case.unit_id, ("staff",)) if p.id is not None and p.id != case.handler_id]
        elif stage == "overdue":
            boss = supervisor_of(s, case)
            sends.append((case.handler_id, "notice.case_overdue" if boss is not None
                          else "notice.case_overdue_own"))
            if boss is not None and boss.id is not None:
                sends.append((boss.id, "notice.case_escalated"))
                above.add(boss.id)
            # The workroom's staff supervise every case (督办): told, and they may urge it.
            sends += [(p.id, "notice.case_escalated") for p in people_of(
                s, case.unit_id, ("staff",)) if p.id is not None and p.id != case.handler_id]
        elif stage == "director":
            for director in s.exec(select(Person).where(
                    Person.role == "director", Person.unit_id == case.unit_id,
                    Person.active == True)):  # noqa: E712
                if director.id is None:
                    continue
                if _told_overdue(s, case, director.id):
                    # She was told it went up when it fell overdue, as the supervisor of
                    # a leader: now a reminder that it still is, and it goes no higher.
                    sends.append((director.id, "notice.case_still_overdue"))
                    continue
                sends.append((director.id, "notice.case_escalated"))
                if director.id != case.handler_id:
                    above.add(director.id)
        # What was done so far: the escalations only (the handler knows it).
        params["events"] = done_so_far(s, case) if stage in ("overdue", "director") else []
        queued, told = 0, set()
        gone = {p.id for p in s.exec(select(Person).where(
            col(Person.id).in_([r for r, _ in sends if r is not None]),
            Person.active == False))}  # noqa: E712
        for recipient, message in sends:
            if recipient is None or recipient in gone:  # nothing to one who has left
                continue
            key = f"case:{case.id}:{stage}:{case.due_on}:{recipient}"
            if s.exec(select(Notification.id).where(
                    Notification.idempotency_key == key)).first() is None:
                told.add(recipient)
            # A letter's reminders name it as one (写给陈丽华的信), not as a problem.
            message, said = notices.as_letter(
                s, case, message, {**params, **self._button(s, case, recipient)})
            outbox.enqueue(s, key=key, recipient_id=recipient, message=message, params=said,
                           now=now, priority=outbox.ALERT)
            queued += 1
        # The timeline says the case went up when someone above the handler was told now:
        # not again when the step fires anew for a new handler (a reassigned overdue case)
        # and those above were told already. The director's own case says it is overdue
        # with her (once: the director's step is only her reminder).
        if own:
            if stage == "overdue" and case.handler_id in told:
                s.add(CaseEvent(case_id=case.id or 0, at=now, kind="overdue_own",
                                note=f"{params['late']}"))
        elif (stage == "overdue" and (told & above if above else told)) \
                or (stage == "director" and told & above):
            s.add(CaseEvent(case_id=case.id or 0, at=now, kind=f"escalated_{stage}",
                            note=f"{params['late']}"))
        log.info("case %s: %s step sent to %d", case.number, stage, queued)
        return queued
