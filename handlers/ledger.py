"""The visit ledger (接访台帐): the leader records each visit after it, in chat.

A problem solved on the spot is recorded with its result. One that is not becomes a case
with the leader's instruction (交办): a leader case led by the receiving leader, handled by
the leader responsible for its category (谁主管、谁负责), followed by the deadline
machinery, its four forms (四单: registration, assignment, supervision, completion)
exportable from the case's timeline (000 制度(二) 五–七; 001 (四)).
"""

from __future__ import annotations

from sqlmodel import select

from conversations.flow import Result, Submission
from handlers import alerts, deadlines
from handlers.context import HandlerContext
from scheduler import workdays
from store import outbox
from store.calendar_models import Invitation, VisitRecord
from store.models import (
    Booking,
    Case,
    CaseEvent,
    DutyEntry,
    IdentityRead,
    Person,
    Responsibility,
)
from store.numbers import next_number

RECENT_DAYS = 14  # visits of the last two weeks can still be recorded
LEADER_CASE_DAYS = 90  # an instructed case is a leader case (as in handlers.records)


def visit_record(ctx: HandlerContext, sub: Submission) -> Result:
    """Record a visit in the ledger; an unsolved problem becomes an instructed case."""
    s, a = ctx.session, sub.answers
    row = s.exec(select(VisitRecord).where(VisitRecord.draft_key == sub.draft_id)).first()
    if row is None:
        found = _visit(ctx, str(a["visit"]))
        if found is None:
            return Result("visit_record.gone", {}, back_to="visit")
        entry, booking = found
        assert ctx.actor.id is not None
        solved = a["solved"] == "yes"
        row = VisitRecord(
            number=next_number(s, "J", ctx.today.year), draft_key=sub.draft_id,
            unit_id=ctx.unit_id(), duty_entry_id=entry.id if entry else None,
            booking_id=booking.id if booking else None, leader_id=ctx.actor.id,
            visited_on=entry.day if entry else ctx.today, form=_form(ctx, entry, booking),
            visitor=a["visitor"], visitor_unit=a["unit"], problem=a["problem"],
            cause=a["cause"], opinion=a["opinion"], responsible=a["responsible"],
            solved=solved, result=a.get("result") or "",
            instruction=None if solved else a["instruction"], created_at=ctx.now)
        s.add(row)
        s.flush()
        if not solved:
            row.case_id = open_case(ctx, row, a["category"], booking).id
            s.add(row)
    case = s.get(Case, row.case_id) if row.case_id is not None else None
    if case is not None:
        handler = s.get(Person, case.handler_id) if case.handler_id else None
        return Result("visit_record.done_case", {
            "number": row.number, "case": case.number, "due_on": case.due_on.isoformat(),
            "handler": handler.name if handler else ""})
    return Result("visit_record.done", {"number": row.number})


def _form(ctx: HandlerContext, entry: DutyEntry | None, booking: Booking | None) -> str:
    """The reception's form; a booking made by an invitation was an invited appointment."""
    if booking is not None and ctx.session.exec(select(Invitation.id).where(
            Invitation.booking_id == booking.id)).first() is not None:
        return "invited"
    return entry.form if entry is not None else "fixed"


def _visit(ctx: HandlerContext, value: str) -> tuple[DutyEntry | None, Booking | None] | None:
    """The reception (and booking) a ledger option names, if it is the actor's to record."""
    s = ctx.session
    if value == "now":  # a union leader receiving without a roster entry
        return (None, None) if ctx.actor.role == "director" else None
    kind, num = value[:1], value[1:]
    if not num.isdigit():
        return None
    booking = s.get(Booking, int(num)) if kind == "b" else None
    entry = s.get(DutyEntry, booking.duty_entry_id if booking else int(num)) \
        if kind in ("b", "e") else None
    if entry is None or entry.leader_id != ctx.actor.id or entry.day > ctx.today:
        return None
    if booking is not None and s.exec(select(VisitRecord.id).where(
            VisitRecord.booking_id == booking.id)).first() is not None:
        return None
    return entry, booking


def open_case(ctx: HandlerContext, record: VisitRecord, category: str,
              booking: Booking | None) -> Case:
    """Register the unsolved problem as a case carrying the leader's instruction."""
    s = ctx.session
    unit_id = ctx.unit_id()
    owner = s.exec(select(Responsibility).where(Responsibility.unit_id == unit_id,
                                                Responsibility.category == category)).first()
    handler_id = owner.leader_id if owner else ctx.actor.id
    visitor = s.get(Person, booking.person_id) if booking else None
    complainant = visitor if visitor is not None and visitor.verified else None
    case = Case(
        number=next_number(s, "C", ctx.today.year), draft_key=f"visit:{record.draft_key}",
        unit_id=unit_id, category=category, description=record.problem,
        since=record.visited_on.isoformat(), affected=1,
        workshop_id=complainant.workshop_id if complainant else None, outcome_wanted="",
        anonymous=False, complainant_id=complainant.id if complainant else None,
        handler_id=handler_id, leader_case=True, leader_case_reason="reception",
        status="assigned", deadline_days=LEADER_CASE_DAYS,
        due_on=workdays.load(s).due_date(ctx.today, LEADER_CASE_DAYS),
        deadline_from=ctx.today, channel=ctx.channel, created_at=ctx.now,
        lead_leader_id=ctx.actor.id)
    s.add(case)
    s.flush()
    assert case.id is not None and handler_id is not None
    s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="registered",
                    note=record.number))
    s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="instructed",
                    note=record.instruction or ""))
    deadlines.schedule(s, case, now=ctx.now, zone=ctx.zone)
    params = {"number": case.number, "category": category, "leader": ctx.actor.name,
              "instruction": record.instruction or "", "problem": record.problem,
              "visitor": record.visitor, "ledger": record.number,
              "due_on": case.due_on.isoformat()}
    if handler_id != ctx.actor.id:
        if complainant is not None:
            s.add(IdentityRead(case_id=case.id, reader_id=handler_id, purpose="case_alert",
                               at=ctx.now))
        alerts.raise_alert(ctx, subject="case", subject_id=case.id, recipient_id=handler_id,
                           message="notice.case_instructed", params=params,
                           priority=outbox.ALERT)
    for staff in s.exec(select(Person).where(Person.unit_id == unit_id, Person.role == "staff",
                                             Person.active == True)):  # noqa: E712
        outbox.enqueue(s, key=f"case:{case.id}:instructed:{staff.id}", recipient_id=staff.id,
                       message="notice.case_instructed_staff", now=ctx.now,
                       params={"number": case.number, "category": category,
                               "leader": ctx.actor.name, "due_on": case.due_on.isoformat()})
    return case

