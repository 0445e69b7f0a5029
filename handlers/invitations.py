"""Invited appointments (重点约访) and visits to the site with the case (带案下访).

The staff invite the complainant of an open case to a published reception: the employee
accepts in one tap, or chooses another reception; the visit is then an ordinary booking
(reminders, ledger), its ledger entry marked as an invited appointment. A visit to the
site puts an on-site reception on the roster at the workshop, and tells the leader and
the workshop's liaison (000 制度(二) 四; 001 (一)).

An invitation is not lost while it waits for its answer: the receiving leader is told at
once that an invited visitor may come (and again when the answer comes), the employee is
reminded once the day before if still silent, the visitor stays on the leader's list of
visits missing from the ledger, and a reception that ends unanswered tells the inviting
staff member it lapsed, with the button that invites again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from conversations.clock import Clock
from conversations.flow import Result, Submission
from handlers import bookings, lifecycle
from handlers.context import HandlerContext, people_of
from handlers.roster import DUTY_ROLES, parse_hours, slot
from handlers.screening import liaisons_of
from store import outbox, timers
from store.calendar_models import Invitation, VisitRecord
from store.db import transaction
from store.models import Booking, Case, CaseEvent, DutyEntry, Person, Workshop
from store.numbers import next_number

REMIND = "invite_remind"  # the employee, still silent, the day before the reception
LAPSE = "invite_lapse"  # the reception ended unanswered: the inviting staff member is told
REMIND_BEFORE = timedelta(days=1)


def _answers(invite_id: int) -> list[list[str]]:
    return [["opt.invite_answer.accept", f"flow:invitation?invite={invite_id}&answer=accept"],
            ["opt.invite_answer.other", f"flow:invitation?invite={invite_id}&answer=other"]]


def _words(s: Session, entry: DutyEntry, case: Case, note: str) -> dict[str, Any]:
    return {**slot(s, entry), "date": entry.day.isoformat(), "number": case.number,
            "category": case.category, "note": note}


def _visitor(s: Session, person_id: int | None) -> str:
    """The invited complainant's name as the leader and the staff see it."""
    p = s.get(Person, person_id) if person_id is not None else None
    return p.name if p is not None and p.verified and p.name else "@person.unverified"


def again_button(case: Case) -> list[list[str]]:
    """The `actions` that invite the complainant of `case` again, in one tap."""
    return [["opt.invite_again", f"flow:invite?kind=invited&case={case.id}"]]


def _arm(s: Session, inv: Invitation, entry: DutyEntry, *, now: datetime,
         zone: ZoneInfo) -> None:
    """Set the invitation's reminder (the day before, unless that has passed) and its
    lapse (when the reception ends); the reception's ledger reminder names the visitor."""
    ref = str(inv.id)
    remind_at = bookings.starts_at(entry, zone) - REMIND_BEFORE
    if remind_at > now:
        timers.schedule(s, kind=REMIND, ref=ref, due_at=remind_at)
    timers.schedule(s, kind=LAPSE, ref=ref, due_at=bookings.ends_at(entry, zone))
    bookings.arm_ledger(s, entry, zone=zone)


def _disarm(s: Session, inv: Invitation, *, now: datetime) -> None:
    for kind in (REMIND, LAPSE):
        timers.cancel(s, kind=kind, ref=str(inv.id), now=now)


def invite(ctx: HandlerContext, sub: Submission) -> Result:
    """Invite a complainant to a reception, or schedule a visit to the site."""
    s, a = ctx.session, sub.answers
    done = s.exec(select(Invitation).where(Invitation.draft_key == sub.draft_id)).first()
    case = s.get(Case, int(a["case"])) if str(a["case"]).isdigit() else None
    if done is None and (case is None or case.unit_id != ctx.unit_id()
                         or case.status not in lifecycle.OPEN):
        return Result("invite.gone", {}, back_to="case")
    if done is not None:
        case = s.get(Case, done.case_id)
    assert case is not None
    if a["kind"] == "invited":
        return _invited(ctx, sub, case, done)
    return _onsite(ctx, sub, case, done)


def _invited(ctx: HandlerContext, sub: Submission, case: Case,
             done: Invitation | None) -> Result:
    s, a = ctx.session, sub.answers
    if done is None:
        if case.complainant_id is None:
            return Result("invite.anonymous", {"number": case.number}, back_to="case")
        entry = s.get(DutyEntry, int(a["slot"]))
        if entry is None or entry.unit_id != ctx.unit_id() or bookings.over(entry, ctx):
            return Result("booking.slot_gone", {}, back_to="slot")
        assert entry.id is not None and case.id is not None
        booking = Booking(number=next_number(s, "V", ctx.today.year), draft_key=sub.draft_id,
                          duty_entry_id=entry.id, person_id=case.complainant_id,
                          topic=f"{case.number}: {a['note']}", status="invited",
                          channel=ctx.channel, created_at=ctx.now)
        s.add(booking)
        s.flush()
        done = Invitation(unit_id=ctx.unit_id(), kind="invited", case_id=case.id,
                          duty_entry_id=entry.id, booking_id=booking.id, note=a["note"],
                          by_id=ctx.actor.id, draft_key=sub.draft_id, created_at=ctx.now)
        s.add(done)
        s.flush()
        assert done.id is not None
        s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="invited",
                        note=f"{entry.day.isoformat()} {booking.number}"))
        words = _words(s, entry, case, a["note"])
        outbox.enqueue(s, key=f"invite:{done.id}:ask", recipient_id=case.complainant_id,
                       message="notice.invite_invited", now=ctx.now, priority=outbox.ALERT,
                       params={**words, "actions": _answers(done.id)})
        # The leader receiving that day hears of it now, not only if an answer comes.
        outbox.enqueue(s, key=f"invite:{done.id}:leader:{entry.leader_id}",
                       recipient_id=entry.leader_id, message="notice.invite_leader",
                       now=ctx.now, priority=outbox.ALERT,
                       params={**words, "visitor": _visitor(s, case.complainant_id),
                               "by": ctx.actor.name})
        _arm(s, done, entry, now=ctx.now, zone=ctx.zone)
    entry = s.get(DutyEntry, done.duty_entry_id)
    leader = s.get(Person, entry.leader_id) if entry else None
    return Result("invite.done_invited", {"number": case.number,
                                          "date": entry.day.isoformat() if entry else "",
                                          "leader": leader.name if leader else ""})


def _onsite(ctx: HandlerContext, sub: Submission, case: Case,
            done: Invitation | None) -> Result:
    s, a = ctx.session, sub.answers
    if done is None:
        leader = s.get(Person, int(a["leader"]))
        if leader is None or leader.unit_id != ctx.unit_id() or leader.role not in DUTY_ROLES:
            return Result("invite.gone", {}, back_to="leader")
        day = date.fromisoformat(a["day"])
        if day < ctx.today:
            return Result("invite.past", {}, back_to="day")
        hours = parse_hours(a["hours"])
        if hours is None:
            return Result("roster.bad_hours", {}, back_to="hours")
        start, end = hours
        shop = s.exec(select(Workshop).where(Workshop.unit_id == ctx.unit_id(),
                                             Workshop.key == a["workshop"])).first()
        if shop is None or shop.id is None or case.id is None:
            return Result("invite.gone", {}, back_to="workshop")
        if s.exec(select(DutyEntry).where(DutyEntry.unit_id == ctx.unit_id(),
                                          DutyEntry.day == day,
                                          DutyEntry.leader_id == leader.id)).first():
            return Result("invite.busy", {"name": leader.name, "date": day.isoformat()},
                          back_to="day")
        assert ctx.unit_id() is not None and leader.id is not None
        entry = DutyEntry(unit_id=ctx.unit_id() or 0, day=day, start=start, end=end,
                          place=shop.name, leader_id=leader.id, post=leader.post,
                          portfolio=leader.portfolio, form="onsite")
        s.add(entry)
        s.flush()
        assert entry.id is not None
        done = Invitation(unit_id=ctx.unit_id(), kind="onsite", case_id=case.id,
                          duty_entry_id=entry.id, workshop_id=shop.id, note=a["note"],
                          status="scheduled", by_id=ctx.actor.id, draft_key=sub.draft_id,
                          created_at=ctx.now)
        s.add(done)
        s.flush()
        s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="onsite",
                        note=f"{day.isoformat()} {shop.name}"))
        words = _words(s, entry, case, a["note"])
        for pid, message in [(leader.id, "notice.onsite_leader"),
                             *((p.id, "notice.onsite_liaison") for p in liaisons_of(s, shop.id))]:
            outbox.enqueue(s, key=f"invite:{done.id}:{message}:{pid}", recipient_id=pid,
                           message=message, now=ctx.now, priority=outbox.ALERT, params=words)
    shown = s.get(DutyEntry, done.duty_entry_id)
    leader_p = s.get(Person, shown.leader_id) if shown else None
    return Result("invite.done_onsite", {"number": case.number,
                                         "date": shown.day.isoformat() if shown else "",
                                         "leader": leader_p.name if leader_p else "",
                                         "workshop": shown.place if shown else ""})


def invitation(ctx: HandlerContext, sub: Submission) -> Result:
    """The invited employee accepts, or books another published reception instead."""
    s, a = ctx.session, sub.answers
    inv = s.get(Invitation, int(a["invite"])) if str(a["invite"]).isdigit() else None
    booking = s.get(Booking, inv.booking_id) if inv and inv.booking_id else None
    if inv is None or booking is None or booking.person_id != ctx.actor.id:
        return Result("invitation.gone", {}, back_to="invite")
    case = s.get(Case, inv.case_id)
    assert case is not None
    if inv.status not in ("invited", "accepted", "moved"):  # lapsed: its reception is over
        return Result("invitation.gone", {}, back_to="invite")
    if inv.status == "invited":
        old = s.get(DutyEntry, booking.duty_entry_id)
        entry: DutyEntry | None = old
        if a["answer"] == "other":
            entry = s.get(DutyEntry, int(a["slot"]))
            if entry is None or entry.unit_id != inv.unit_id or bookings.over(entry, ctx):
                return Result("booking.slot_gone", {}, back_to="slot")
        elif old is not None and bookings.over(old, ctx):  # accepted after the reception
            return Result("invitation.over", {}, back_to="answer")
        assert entry is not None and entry.id is not None and old is not None
        booking.duty_entry_id, booking.status = entry.id, "booked"
        inv.duty_entry_id, inv.answered_at = entry.id, ctx.now
        inv.status = "accepted" if entry.id == old.id else "moved"
        s.add_all([booking, inv])
        _disarm(s, inv, now=ctx.now)
        bookings.schedule(s, booking, entry, now=ctx.now, zone=ctx.zone)
        words = {**_words(s, entry, case, inv.note), "visitor": ctx.actor.name,
                 "old_date": old.day.isoformat(), "booking": booking.number,
                 "answer": f"@opt.invite_answer.{a['answer']}"}
        told = {entry.leader_id, old.leader_id, inv.by_id}
        for pid in sorted(p for p in told if p is not None):
            outbox.enqueue(s, key=f"invite:{inv.id}:answered:{pid}", recipient_id=pid,
                           message="notice.invite_answered", now=ctx.now,
                           priority=outbox.ALERT, params=words)
    shown = s.get(DutyEntry, booking.duty_entry_id)
    assert shown is not None
    leader = s.get(Person, shown.leader_id)
    return Result("invitation.done", {"number": booking.number, "date": shown.day.isoformat(),
                                      "start": shown.start.strftime("%H:%M"),
                                      "place": shown.place,
                                      "leader": leader.name if leader else ""})


class InvitationTimers:
    """Timer handlers: remind the silent employee; tell the staff an invitation lapsed."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def _waiting(self, s: Session, kind: str, ref: str
                 ) -> tuple[Invitation, DutyEntry, Case, Booking] | None:
        """The invitation of a due timer, taken, if it still waits for its answer."""
        if timers.take(s, kind=kind, ref=ref, now=self.clock.now()) is None:
            return None
        inv = s.get(Invitation, int(ref)) if ref.isdigit() else None
        if inv is None or inv.status != "invited" or inv.booking_id is None:
            return None
        entry, case = s.get(DutyEntry, inv.duty_entry_id), s.get(Case, inv.case_id)
        booking = s.get(Booking, inv.booking_id)
        if entry is None or case is None or booking is None:
            return None
        return inv, entry, case, booking

    def remind(self, ref: str) -> int:
        """Remind the employee once, the day before, of an invitation not yet answered."""
        now = self.clock.now()
        with transaction(self.db) as s:
            found = self._waiting(s, REMIND, ref)
            if found is None:
                return 0
            inv, entry, case, booking = found
            if case.status not in lifecycle.OPEN or now >= bookings.starts_at(entry, self.zone):
                return 0
            outbox.enqueue(s, key=f"invite:{inv.id}:remind", recipient_id=booking.person_id,
                           message="notice.invite_remind", now=now, priority=outbox.ALERT,
                           params={**_words(s, entry, case, inv.note),
                                   "actions": _answers(int(ref))})
            return 1

    def lapse(self, ref: str) -> int:
        """The reception ended with the invitation unanswered: it lapses, and the staff
        member who sent it is told (the staff, or the director, if they have left), with
        the button that invites again. A visitor who came all the same, recorded in the
        ledger, and a case closed meanwhile need nobody told."""
        now = self.clock.now()
        with transaction(self.db) as s:
            found = self._waiting(s, LAPSE, ref)
            if found is None:
                return 0
            inv, entry, case, booking = found
            if now < bookings.ends_at(entry, self.zone):  # its hours were moved later
                timers.schedule(s, kind=LAPSE, ref=ref, due_at=bookings.ends_at(entry, self.zone))
                return 0
            inv.status = "lapsed"
            s.add(inv)
            came = s.exec(select(VisitRecord.id).where(
                VisitRecord.booking_id == booking.id)).first() is not None
            if came or case.status not in lifecycle.OPEN:
                return 0
            by = s.get(Person, inv.by_id) if inv.by_id is not None else None
            told = [by] if by is not None and by.active else \
                people_of(s, inv.unit_id, ("staff",)) or people_of(s, inv.unit_id, ("director",))
            params = {**_words(s, entry, case, inv.note), "booking": booking.number,
                      "visitor": _visitor(s, booking.person_id), "actions": again_button(case)}
            for p in told:
                outbox.enqueue(s, key=f"invite:{inv.id}:lapsed:{p.id}", recipient_id=p.id,
                               message="notice.invite_lapsed", now=now,
                               priority=outbox.ALERT, params=params)
            return len(told)
