"""Visit bookings followed to the day: reminders, the visit ledger, a leader's reschedule.

The employee and the leader are reminded the day before (24 hours) and an hour before the
reception; the reminders follow the booking when the leader moves it and stop when it is
cancelled. Keys carry the duty entry, so a moved booking gets reminders of its own.

When a reception with bookings has ended, the leader on duty is told which booked
visitors are still missing from the visit ledger (接访台帐, 000 制度(二) 六), with the
button that opens it. Its timer is set on the duty entry when a booking is put on it (made,
moved to it, an invitation accepted); what is missing is counted when it fires, so a
cancelled or recorded visit is not named, and nothing is sent when none is missing. A visit
still missing is not left as a hole in the ledger: the leader is reminded once more the
next working day at 09:00, and the working day after that the staff (who keep the ledgers;
the director if there are none) are told, with the button that records it. Each step
counts again what is missing: once all is recorded (or marked 未到), nothing more comes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from conversations import catalog
from conversations.clock import Clock
from conversations.flow import Result, Submission
from handlers.context import HandlerContext, people_of
from scheduler import workdays
from store import outbox, timers
from store.calendar_models import VisitRecord
from store.db import transaction
from store.models import Booking, DutyEntry, Person, Timer

KIND = "booking_remind"
BEFORE = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
LEDGER = "visit_ledger"  # one per duty entry, due when its reception ends
LEDGER_AGAIN = "visit_ledger_again"  # the leader again, the next working day
LEDGER_STAFF = "visit_ledger_staff"  # then the staff, the working day after
CHASE_AT = time(9, 0)
TOPIC_SHOWN = 30
# Visitors a reception expects: booked, or invited (重点约访) and not yet answering.
EXPECTED = ("booked", "invited")


def starts_at(entry: DutyEntry, zone: ZoneInfo) -> datetime:
    return datetime.combine(entry.day, entry.start, zone)


def ends_at(entry: DutyEntry, zone: ZoneInfo) -> datetime:
    return datetime.combine(entry.day, entry.end, zone)


def schedule(session: Session, booking: Booking, entry: DutyEntry, *, now: datetime,
             zone: ZoneInfo) -> None:
    """Set the booking's two reminders; one already past is not set. The reception's
    visit-ledger reminder is set with them."""
    arm_ledger(session, entry, zone=zone)
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


def arm_ledger(session: Session, entry: DutyEntry, *, zone: ZoneInfo) -> None:
    """Set the reception's visit-ledger reminder for when it ends; one that has fired is
    left alone (the leader is told once per reception)."""
    ref = str(entry.id)
    row = session.exec(select(Timer).where(Timer.kind == LEDGER, Timer.ref == ref)).first()
    if row is None or row.done_at is None:
        timers.schedule(session, kind=LEDGER, ref=ref, due_at=ends_at(entry, zone))


def ensure_ledger(session: Session, *, now: datetime, zone: ZoneInfo) -> int:
    """Give every reception with a booking, from yesterday on, its visit-ledger reminder
    if it has none (bookings made before this release); return how many got one. Running
    it again changes nothing."""
    armed = set(session.exec(select(Timer.ref).where(Timer.kind == LEDGER)))
    since = now.astimezone(zone).date() - timedelta(days=1)
    entries = session.exec(select(DutyEntry).where(
        col(DutyEntry.day) >= since, col(DutyEntry.id).in_(
            select(Booking.duty_entry_id).where(Booking.status == "booked")))).all()
    count = 0
    for entry in entries:
        if str(entry.id) not in armed:
            arm_ledger(session, entry, zone=zone)
            count += 1
    return count


def recorded_ids() -> SelectOfScalar[int] | SelectOfScalar[None]:
    """The bookings in the visit ledger (a subquery): their visit took place."""
    return select(VisitRecord.booking_id).where(col(VisitRecord.booking_id).is_not(None))


def recorded(session: Session, booking: Booking) -> VisitRecord | None:
    """The visit ledger's entry of the booking, once it is recorded."""
    return session.exec(select(VisitRecord).where(VisitRecord.booking_id == booking.id)).first()


def unrecorded(session: Session, entry: DutyEntry) -> list[Booking]:
    """The reception's expected visits (booked, or invited without an answer) not yet in
    the visit ledger, in booking order."""
    return list(session.exec(select(Booking).where(
        Booking.duty_entry_id == entry.id, col(Booking.status).in_(EXPECTED),
        col(Booking.id).not_in(recorded_ids())).order_by(col(Booking.id))).all())


def reschedule_button(booking: Booking | None = None) -> list[list[str]]:
    """The `actions` of a booking's push to its leader: "调整接访预约", that booking chosen
    when it can still be moved (a cancelled one cannot: the flow then asks which)."""
    if booking is None or booking.status != "booked":
        return [["menu.reschedule_booking", "flow:reschedule_booking"]]
    return [["menu.reschedule_booking", f"flow:reschedule_booking?booking={booking.id}"]]


def next_morning(session: Session, day: date, zone: ZoneInfo) -> datetime:
    """09:00 of the first working day after `day`."""
    after = workdays.load(session).next_workday(day + timedelta(days=1))
    return datetime.combine(after, CHASE_AT, zone)


class LedgerReminder:
    """Timer handlers: the reception has ended; tell its leader who is not in the ledger,
    remind them once more, then tell the staff."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def _missing(self, s: Session, kind: str, ref: str, now: datetime
                 ) -> tuple[DutyEntry, list[Booking]] | None:
        """The reception of a due chase step, taken, and what it still misses."""
        if timers.take(s, kind=kind, ref=ref, now=now) is None:
            return None
        entry = s.get(DutyEntry, int(ref)) if ref.isdigit() else None
        if entry is None:
            return None
        missing = unrecorded(s, entry)
        return (entry, missing) if missing else None

    def again(self, ref: str) -> int:
        """The next working day: the leader is reminded once more of what is missing."""
        now = self.clock.now()
        with transaction(self.db) as s:
            found = self._missing(s, LEDGER_AGAIN, ref, now)
            if found is None:
                return 0
            entry, missing = found
            outbox.enqueue(s, key=f"visit_ledger:{entry.id}:again", recipient_id=entry.leader_id,
                           message="notice.visit_ledger_again", now=now, priority=outbox.ALERT,
                           params=self._params(s, entry, missing))
            today = now.astimezone(self.zone).date()
            timers.schedule(s, kind=LEDGER_STAFF, ref=ref,
                            due_at=next_morning(s, today, self.zone))
            return 1

    def staff(self, ref: str) -> int:
        """A working day later, still missing: the staff (else the director) are told,
        with the buttons that record it, as the leader was."""
        now = self.clock.now()
        with transaction(self.db) as s:
            found = self._missing(s, LEDGER_STAFF, ref, now)
            if found is None:
                return 0
            entry, missing = found
            leader = s.get(Person, entry.leader_id)
            told = people_of(s, entry.unit_id, ("staff",)) \
                or people_of(s, entry.unit_id, ("director",))
            params = {**self._params(s, entry, missing), "leader": leader.name if leader else ""}
            for p in told:
                outbox.enqueue(s, key=f"visit_ledger:{entry.id}:staff:{p.id}", recipient_id=p.id,
                               message="notice.visit_ledger_staff", now=now,
                               priority=outbox.ALERT, params=params)
            return len(told)

    def fire(self, ref: str) -> int:
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=LEDGER, ref=ref, now=now) is None:
                return 0
            entry = s.get(DutyEntry, int(ref))
            if entry is None:
                return 0
            if now < ends_at(entry, self.zone):  # its hours were moved later meanwhile
                timers.schedule(s, kind=LEDGER, ref=ref, due_at=ends_at(entry, self.zone))
                return 0
            missing = unrecorded(s, entry)
            if not missing:
                return 0
            today = now.astimezone(self.zone).date()
            outbox.enqueue(s, key=f"visit_ledger:{entry.id}", recipient_id=entry.leader_id,
                           message="notice.visit_ledger_due" if today == entry.day
                           else "notice.visit_ledger_due_late",
                           now=now, priority=outbox.ALERT,
                           params=self._params(s, entry, missing))
            timers.schedule(s, kind=LEDGER_AGAIN, ref=ref,
                            due_at=next_morning(s, today, self.zone))
            return 1

    @staticmethod
    def _params(s: Session, entry: DutyEntry, missing: list[Booking]) -> dict[str, Any]:
        lines = []
        for b in missing:
            visitor = s.get(Person, b.person_id)
            lines.append(["notice.visit_ledger_line", {
                "number": b.number, "topic": b.topic[:TOPIC_SHOWN],
                "visitor": visitor.name if visitor and visitor.verified and visitor.name
                else "@person.unverified"}])
        # One visit missing: the button opens the ledger with it chosen. Recording that a
        # visitor did not come (未到) is chosen in the list, never one tap: the worker is
        # told at once that they missed it.
        value = f"flow:visit_record?visit=b{missing[0].id}" if len(missing) == 1 \
            else "flow:visit_record"
        return {"date": entry.day.isoformat(), "start": entry.start.strftime("%H:%M"),
                "end": entry.end.strftime("%H:%M"), "place": entry.place,
                "count": len(missing), "visitor_lines": lines,
                "actions": [["menu.cal_visit_record", value],
                            ["menu.cal_visit_missed", "flow:visit_missed"]]}


class BookingReminders:
    """Timer handler: remind the employee and the leader of a visit."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

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
            # A reminder held for a reader WeChat cannot reach now is worth nothing once
            # the visit has begun (store/outbox.py: STALE_AFTER).
            begins = datetime.combine(entry.day, entry.start, self.zone).astimezone(UTC)
            words = {**params(s, booking, entry), outbox.STALE_AFTER: begins.isoformat()}
            for who, recipient in (("visitor", booking.person_id), ("leader", entry.leader_id)):
                # The leader, reminded the day before or the hour before, can still move it.
                told = words if who == "visitor" else {
                    **words, "actions": reschedule_button(booking)}
                outbox.enqueue(s, key=f"booking:{booking.id}:{stage}:{entry.id}:{who}",
                               recipient_id=recipient, now=now, priority=outbox.ALERT,
                               message=f"notice.booking_remind_{stage}_{who}", params=told)
            return 2


def over(entry: DutyEntry, ctx: HandlerContext) -> bool:
    """A reception nobody can still go to: an earlier day's, or today's that has ended."""
    return entry.day < ctx.today or (
        entry.day == ctx.today and entry.end <= ctx.now.astimezone(ctx.zone).time())


def under_way(entry: DutyEntry, ctx: HandlerContext) -> bool:
    """Today's reception that has begun and not ended: a visitor booking now comes now."""
    return entry.day == ctx.today and entry.start <= ctx.now.astimezone(ctx.zone).time() \
        and not over(entry, ctx)


def move_refusal(session: Session, booking_id: str, entry_id: str
                 ) -> tuple[str, dict[str, Any]] | None:
    """Why the visit `booking_id` cannot be moved to the reception `entry_id`: it is
    booked there already, or its employee holds another booking there (two identical
    visits in their "My bookings"). None when it can, or when either is not found (the
    form's handler says so)."""
    booking = session.get(Booking, int(booking_id)) if booking_id.isdigit() else None
    if booking is None or not entry_id.isdigit():
        return None
    if booking.duty_entry_id == int(entry_id):
        return "reschedule_booking.same", {}
    other = session.exec(select(Booking).where(
        Booking.person_id == booking.person_id, Booking.duty_entry_id == int(entry_id),
        Booking.status == "booked", Booking.id != booking.id)).first()
    if other is not None:
        return "reschedule_booking.taken", {"number": booking.number, "other": other.number}
    return None


def change_buttons(booking: Booking) -> list[list[str]]:
    """The `actions` of the push telling an employee their day went to another leader:
    keep the booking (one tap), or choose another reception for it."""
    return [["change_booking.keep_button", f"flow:change_booking?booking={booking.id}&slot=keep"],
            ["change_booking.other_button", f"flow:change_booking?booking={booking.id}"]]


def visitor_lines(session: Session, booked: list[Booking]) -> list[list[Any]]:
    """Who is coming and about what, a line each, for the leader who receives them: the
    name of a verified employee, else that they are unverified."""
    out: list[list[Any]] = []
    for b in booked:
        visitor = session.get(Person, b.person_id)
        out.append(["notice.booking_line", {
            "number": b.number, "topic": b.topic[:TOPIC_SHOWN],
            "visitor": visitor.name if visitor and visitor.verified and visitor.name
            else "@person.unverified"}])
    return out


def change_booking(ctx: HandlerContext, sub: Submission) -> Result:
    """The employee keeps a booking whose day went to another leader, or moves it to
    another reception: the leaders of both are told, its reminders follow it."""
    s = ctx.session
    value = str(sub.answers["booking"])
    booking = s.get(Booking, int(value)) if value.isdigit() else None
    old = s.get(DutyEntry, booking.duty_entry_id) if booking else None
    if booking is None or old is None or booking.person_id != ctx.actor.id:
        return Result("change_booking.gone", {}, back_to="booking")
    if sub.answers["slot"] == "keep" or booking.duty_entry_id == int(sub.answers["slot"]):
        if booking.status != "booked":
            return Result("change_booking.gone", {}, back_to="booking")
        return Result("change_booking.kept", {**params(s, booking, old), **_weekday(sub, old)})
    if booking.status != "booked" or over(old, ctx) or recorded(s, booking) is not None:
        return Result("change_booking.gone", {}, back_to="booking")
    entry = s.get(DutyEntry, int(sub.answers["slot"]))
    if entry is None or entry.unit_id != old.unit_id or over(entry, ctx):
        return Result("booking.slot_gone", {}, back_to="slot")
    other = s.exec(select(Booking).where(
        Booking.person_id == booking.person_id, Booking.duty_entry_id == entry.id,
        Booking.status == "booked")).first()
    if other is not None:
        return Result("booking.already", {"number": other.number}, back_to="slot")
    assert entry.id is not None
    booking.duty_entry_id = entry.id
    s.add(booking)
    before, after = params(s, booking, old), params(s, booking, entry)
    outbox.enqueue(s, key=f"booking:{booking.id}:left:{old.id}", recipient_id=old.leader_id,
                   message="notice.booking_changed_away", now=ctx.now,
                   params={**before, "new_date": after["date"], "new_start": after["start"],
                           "new_leader": after["leader"]})
    now = under_way(entry, ctx)
    outbox.enqueue(s, key=f"booking:{booking.id}:leader:{entry.id}", recipient_id=entry.leader_id,
                   message="notice.booking_now" if now else "notice.booking_new", now=ctx.now,
                   priority=outbox.ALERT if now else outbox.ROUTINE,
                   params={**after, "form": entry.form, "actions": reschedule_button(booking)})
    schedule(s, booking, entry, now=ctx.now, zone=ctx.zone)
    return Result("change_booking.done", {**after, **_weekday(sub, entry)})


def _weekday(sub: Submission, entry: DutyEntry) -> dict[str, str]:
    return {"weekday": catalog.t(sub.lang, f"weekday.{entry.day.weekday()}")}


def reschedule_booking(ctx: HandlerContext, sub: Submission) -> Result:
    """The leader moves a booking to another published reception; the employee is told."""
    s = ctx.session
    booking = s.get(Booking, int(sub.answers["booking"]))
    old = s.get(DutyEntry, booking.duty_entry_id) if booking else None
    if booking is None or old is None or booking.status != "booked" \
            or old.leader_id != ctx.actor.id:
        return Result("reschedule_booking.gone", {}, back_to="booking")
    # A visit that took place is not moved: its employee would be told it moved and be
    # reminded of a visit they already had (the employee's own cancel refuses it too).
    done = recorded(s, booking)
    if done is not None:
        return Result("reschedule_booking.recorded", {"number": booking.number,
                                                      "ledger": done.number},
                      back_to="booking")
    if over(old, ctx):
        return Result("reschedule_booking.over", {"number": booking.number},
                      back_to="booking")
    entry = s.get(DutyEntry, int(sub.answers["slot"]))
    if entry is None or over(entry, ctx) or entry.leader_id != ctx.actor.id:
        return Result("booking.slot_gone", {}, back_to="slot")
    assert entry.id is not None and booking.id is not None
    refused = move_refusal(s, str(booking.id), str(entry.id))
    if refused is not None:  # the same reception, or one its employee has booked
        return Result(*refused, back_to="slot")
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
                                              "start": after["start"], **_weekday(sub, entry)})
