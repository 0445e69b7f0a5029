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
from handlers import alerts, bookings, notices
from handlers.context import HandlerContext, people_of
from store import outbox
from store.calendar_models import Invitation, VisitRecord
from store.models import (
    Booking,
    Case,
    CaseEvent,
    DutyEntry,
    IdentityRead,
    Person,
    Workshop,
)
from store.numbers import next_number

RECENT_DAYS = 14  # visits of the last two weeks can still be recorded


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
        # The leader who received: the actor, or the leader whose visit the staff fill in.
        leader = s.get(Person, entry.leader_id) if entry is not None else ctx.actor
        assert leader is not None and leader.id is not None
        row = VisitRecord(
            number=next_number(s, "J", ctx.today.year), draft_key=sub.draft_id,
            unit_id=ctx.unit_id(), duty_entry_id=entry.id if entry else None,
            booking_id=booking.id if booking else None, leader_id=leader.id,
            visited_on=entry.day if entry else ctx.today, form=_form(ctx, entry, booking),
            visitor=a["visitor"], visitor_unit=a["unit"], problem=a["problem"],
            cause=a["cause"], opinion=a["opinion"], responsible=a["responsible"],
            solved=solved, result=a.get("result") or "",
            instruction=None if solved else a["instruction"], created_at=ctx.now)
        s.add(row)
        s.flush()
        if not solved:
            row.case_id = open_case(ctx, row, a["category"], booking, sub.lang, leader).id
            s.add(row)
    case = s.get(Case, row.case_id) if row.case_id is not None else None
    if case is not None:
        handler = s.get(Person, case.handler_id) if case.handler_id else None
        return Result("visit_record.done_case", {
            "number": row.number, "case": case.number, "due_on": case.due_on.isoformat(),
            "handler": handler.name if handler else ""})
    return Result("visit_record.done", {"number": row.number})


def visit_missed(ctx: HandlerContext, sub: Submission) -> Result:
    """Record in the ledger that a booked visitor did not come (未到): the booking is closed
    and its employee, if the workroom can reach them, told how to book again."""
    s = ctx.session
    row = s.exec(select(VisitRecord).where(VisitRecord.draft_key == sub.draft_id)).first()
    if row is None:
        value = str(sub.answers["visit"])
        booking = s.get(Booking, int(value)) if value.isdigit() else None
        entry = s.get(DutyEntry, booking.duty_entry_id) if booking else None
        if booking is None or entry is None or booking.status != "booked" \
                or not _receives(ctx, entry) or bookings.recorded(s, booking) is not None:
            return Result("visit_missed.gone", {}, back_to="visit")
        if not bookings.over(entry, ctx):  # they may still come
            return Result("visit_missed.not_over", {"number": booking.number,
                                                    "end": entry.end.strftime("%H:%M")},
                          back_to="visit")
        assert ctx.actor.id is not None and booking.id is not None
        visitor = s.get(Person, booking.person_id)
        shop = s.get(Workshop, visitor.workshop_id) \
            if visitor is not None and visitor.workshop_id is not None else None
        row = VisitRecord(
            number=next_number(s, "J", ctx.today.year), draft_key=sub.draft_id,
            unit_id=ctx.unit_id(), duty_entry_id=entry.id, booking_id=booking.id,
            leader_id=entry.leader_id, visited_on=entry.day, form=_form(ctx, entry, booking),
            visitor=visitor.name if visitor is not None and visitor.verified else "",
            visitor_unit=shop.name if shop else "", problem=booking.topic, cause="",
            opinion="", responsible="", solved=False, came=False, result="",
            created_at=ctx.now)
        s.add(row)
        booking.status = "missed"
        s.add(booking)
        bookings.cancel(s, booking, now=ctx.now)
        if alerts.reachable(s, booking.person_id, texts=ctx.texts):
            outbox.enqueue(s, key=f"booking:{booking.id}:missed", recipient_id=booking.person_id,
                           message="notice.booking_missed", now=ctx.now,
                           params={**bookings.params(s, booking, entry),
                                   "actions": [["menu.booking", "flow:booking"],
                                               ["menu.complaint", "flow:complaint"]]})
    booking = s.get(Booking, row.booking_id) if row.booking_id is not None else None
    told = booking is not None and alerts.reachable(s, booking.person_id, texts=ctx.texts)
    return Result("visit_missed.done" if told else "visit_missed.done_untold",
                  {"number": row.number, "booking": booking.number if booking else ""})


def _receives(ctx: HandlerContext, entry: DutyEntry) -> bool:
    """Whether the actor records this reception's visits: its leader, or a staff member
    of its unit filling in what the leader left out (handlers/bookings.py)."""
    if ctx.actor.role == "staff":
        return entry.unit_id == ctx.unit_id()
    return entry.leader_id == ctx.actor.id


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
    if not num.isdigit() or (kind != "b" and ctx.actor.role == "staff"):
        return None  # the staff fill in a booked visit, not a walk-in they did not see
    booking = s.get(Booking, int(num)) if kind == "b" else None
    entry = s.get(DutyEntry, booking.duty_entry_id if booking else int(num)) \
        if kind in ("b", "e") else None
    if entry is None or not _receives(ctx, entry) or entry.day > ctx.today:
        return None
    if booking is not None and s.exec(select(VisitRecord.id).where(
            VisitRecord.booking_id == booking.id)).first() is not None:
        return None
    return entry, booking


def open_case(ctx: HandlerContext, record: VisitRecord, category: str,
              booking: Booking | None, lang: str, leader: Person | None = None) -> Case:
    """Register the unsolved problem as a case carrying the instruction of the leader who
    received the visit (`leader`: the actor unless the staff fill it in)."""
    leader = leader or ctx.actor
    from handlers import records  # every case is registered there (and records imports us)

    s = ctx.session
    unit_id = ctx.unit_id()
    assert ctx.actor.id is not None
    # The visitor who booked is the case's complainant, verified or not, as a complaint
    # filed by someone unverified keeps them: the reply reaches the chat they booked from.
    complainant = s.get(Person, booking.person_id) if booking else None
    shop = s.get(Workshop, complainant.workshop_id) \
        if complainant is not None and complainant.workshop_id is not None else None
    answers = {"identity": "named", "workshop": shop.key if shop else None,
               "category": category, "description": record.problem,
               "since": record.visited_on.isoformat(), "affected": 1, "cosigners": 0,
               "outcome": ""}
    case = records._register_case(
        ctx, Submission("visit_record", answers, f"visit:{record.draft_key}", lang),
        records.Behalf(complainant, "reception", leader.id or ctx.actor.id, record.number))
    handler_id = case.handler_id
    assert case.id is not None and handler_id is not None
    s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="instructed",
                    note=record.instruction or ""))
    params = {"number": case.number, "category": category, "leader": leader.name,
              "instruction": record.instruction or "", "problem": record.problem,
              "visitor": record.visitor, "ledger": record.number,
              "due_on": case.due_on.isoformat(), "actions": notices.work_on(case.id)}
    if handler_id != ctx.actor.id:
        if complainant is not None:
            s.add(IdentityRead(case_id=case.id, reader_id=handler_id, purpose="case_alert",
                               at=ctx.now))
        alerts.raise_alert(ctx, subject="case", subject_id=case.id, recipient_id=handler_id,
                           message="notice.case_instructed", params=params,
                           priority=outbox.ALERT)
    for staff in people_of(s, unit_id, ("staff",)):
        outbox.enqueue(s, key=f"case:{case.id}:instructed:{staff.id}", recipient_id=staff.id,
                       message="notice.case_instructed_staff", now=ctx.now,
                       params={"number": case.number, "category": category,
                               "leader": leader.name, "due_on": case.due_on.isoformat()})
    if booking is not None and complainant is not None and alerts.reachable(
            s, complainant.id, texts=ctx.texts):
        # The visitor is told what their visit became, as a complaint's filing tells its
        # complainant: the number, the due date and where to follow it.
        outbox.enqueue(s, key=f"case:{case.id}:instructed:visitor", recipient_id=complainant.id,
                       message="notice.case_instructed_visitor", now=ctx.now,
                       params={"number": case.number, "due_on": case.due_on.isoformat(),
                               "days": case.deadline_days, "booking": booking.number,
                               "date": record.visited_on.isoformat(),
                               "leader": leader.name,
                               "actions": [["menu.my_cases", "query:my_cases"]]})
    return case

