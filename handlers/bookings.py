"""Visit bookings followed to the day: reminders, and a leader's reschedule.

The employee and the leader are reminded the day before (24 hours) and an hour before the
reception; the reminders follow the booking when the leader moves it and stop when it is
cancelled. Keys carry the duty entry, so a moved booking gets reminders of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from conversations.clock import Clock
from conversations.flow import Result, Submission
from handlers.context import HandlerContext
from store import outbox, timers
from store.db import transaction
from store.models import Booking, DutyEntry, Person

KIND = "booking_remind"
BEFORE = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def starts_at(entry: DutyEntry, zone: ZoneInfo) -> datetime:
    return datetime.combine(entry.day, entry.start, zone)


def schedule(session: Session, booking: Booking, entry: DutyEntry, *, now: datetime,
             zone: ZoneInfo) -> None:
    """Set the booking's two reminders; one already past is not set."""
    for stage, before in BEFORE.items():
        due = starts_at(entry, zone) - before
        if due > now:
            timers.schedule(session, kind=KIND, ref=f"{booking.id}:{stage}", due_at=due)
        else:
            timers.cancel(session, kind=KIND, ref=f"{booking.id}:{stage}", now=now)


def cancel(session: Session, booking: Booking, *, now: datetime) -> None:
    for stage in BEFORE:
        timers.cancel(session, kind=KIND, ref=f"{booking.id}:{stage}", now=now)


def params(session: Session, booking: Booking, entry: DutyEntry) -> dict[str, object]:
    leader = session.get(Person, entry.leader_id)
    visitor = session.get(Person, booking.person_id)
    return {"number": booking.number, "date": entry.day.isoformat(),
            "start": entry.start.strftime("%H:%M"), "end": entry.end.strftime("%H:%M"),
            "place": entry.place, "topic": booking.topic,
            "leader": leader.name if leader else "",
            "visitor": visitor.name if visitor and visitor.verified and visitor.name
            else "@person.unverified"}


class BookingReminders:
    """Timer handler: remind the employee and the leader of a visit."""

    def __init__(self, db: Engine, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def fire(self, ref: str) -> int:
        booking_id, _, stage = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=KIND, ref=ref, now=now) is None:
                return 0
            booking = s.get(Booking, int(booking_id))
            entry = s.get(DutyEntry, booking.duty_entry_id) if booking else None
            if booking is None or entry is None or booking.status != "booked":
                return 0
            words = params(s, booking, entry)
            for who, recipient in (("visitor", booking.person_id), ("leader", entry.leader_id)):
                outbox.enqueue(s, key=f"booking:{booking.id}:{stage}:{entry.id}:{who}",
                               recipient_id=recipient, now=now, priority=outbox.ALERT,
                               message=f"notice.booking_remind_{stage}_{who}", params=words)
            return 2


def reschedule_booking(ctx: HandlerContext, sub: Submission) -> Result:
    """The leader moves a booking to another published reception; the employee is told."""
    s = ctx.session
    booking = s.get(Booking, int(sub.answers["booking"]))
    old = s.get(DutyEntry, booking.duty_entry_id) if booking else None
    if booking is None or old is None or booking.status != "booked" \
            or old.leader_id != ctx.actor.id:
        return Result("reschedule_booking.gone", {}, back_to="booking")
    entry = s.get(DutyEntry, int(sub.answers["slot"]))
    if entry is None or entry.day < ctx.today or entry.leader_id != ctx.actor.id:
        return Result("booking.slot_gone", {}, back_to="slot")
    if entry.id == old.id:
        return Result("reschedule_booking.same", {}, back_to="slot")
    assert entry.id is not None
    booking.duty_entry_id = entry.id
    s.add(booking)
    before = params(s, booking, old)
    after = params(s, booking, entry)
    outbox.enqueue(s, key=f"booking:{booking.id}:moved:{entry.id}", recipient_id=booking.person_id,
                   message="notice.booking_rescheduled", now=ctx.now, priority=outbox.ALERT,
                   params={**after, "old_date": before["date"], "old_start": before["start"],
                           "reason": sub.answers["reason"]})
    schedule(s, booking, entry, now=ctx.now, zone=ctx.zone)
    return Result("reschedule_booking.done", {"number": booking.number, "date": after["date"],
                                              "start": after["start"]})
